# Chorus: `make site` builds the demo community, `make test` runs the whole suite.
# Both set up their own virtual environment on first use; nothing else needs installing by hand.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CHORUS := $(BIN)/chorus

.PHONY: site fetch build serve publish test lint bench screenshot dist clean help docs
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

# setuptools cautions on every editable install that folders named like a package may shadow
# it; ours are the package (plugins/chorus), so the caution is noise on a first `make site`.
PIP    := PYTHONWARNINGS="ignore:Editable installation" $(BIN)/python -m pip

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet --editable .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) install --quiet --editable '.[test]'
	touch $@

$(VENV)/.installed-dist: $(VENV)/.installed
	$(PIP) install --quiet --editable '.[dist]'
	touch $@

# The browser tests drive Debian's Chromium (Playwright's own browser download is not used).
$(VENV)/.chromium: | $(VENV)/.installed
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	touch $@

site: $(VENV)/.installed  ## Fetch the demo feeds (files in the repo, offline) and build into output/
	$(CHORUS) fetch --no-progress
	$(CHORUS) build --strict

fetch: $(VENV)/.installed  ## Fetch every member's feed into content/community/
	$(CHORUS) fetch

build: $(VENV)/.installed  ## Build the site into output/ without fetching
	$(CHORUS) build

serve: $(VENV)/.installed  ## Build, serve on http://127.0.0.1:8000 and rebuild on changes
	$(CHORUS) serve

publish: $(VENV)/.installed  ## Build with publishconf.py for deployment
	$(CHORUS) build --publish

docs: $(VENV)/.installed  ## Regenerate docs/cli.md from every command's --help
	$(BIN)/python -m chorus.cli.docs > docs/cli.md.tmp && mv docs/cli.md.tmp docs/cli.md

test: $(VENV)/.installed-test $(VENV)/.chromium  ## Install the test dependencies and run the whole suite
	$(BIN)/python -m pytest -n auto

lint: $(VENV)/.installed-test  ## Check style with ruff
	$(BIN)/ruff check plugins tests bench
	$(BIN)/ruff format --check plugins tests bench

bench: $(VENV)/.installed-test  ## Run the benchmarks (fetch 500 feeds, build 2,000 posts)
	$(BIN)/python bench/run.py

screenshot: $(VENV)/.installed-test $(VENV)/.chromium  ## Regenerate docs/screenshots/ (375 and 1280 px, light and dark)
	$(BIN)/python -m pytest -q tests/test_browser.py -k readme_screenshots
	mkdir -p docs/screenshots
	cp tests/artifacts/screenshots/readme-*.png docs/screenshots/

dist: $(VENV)/.installed-dist  ## Build the sdist and the wheel into dist/ and check them
	rm -rf dist
	$(BIN)/python -m build --outdir dist .
	$(BIN)/twine check --strict dist/*

clean:  ## Remove the output, the built distributions and the virtual environment
	rm -rf output dist $(VENV) .pytest_cache bench/results
