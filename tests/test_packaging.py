"""What `pip install pelican-chorus` ships: the core, every plugin, the theme and the site
template, found alike by an editable install and by a wheel installed elsewhere."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib.resources import files
from pathlib import Path

import pytest

from sites import REPO


def listed_packages() -> list[str]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    return config["packages"]


def test_every_package_under_plugins_is_listed():
    found = {"chorus_theme"}
    for init in (REPO / "plugins").rglob("__init__.py"):
        relative = init.parent.relative_to(REPO / "plugins")
        if "site_template" not in relative.parts and "__pycache__" not in relative.parts:
            found.add(".".join(relative.parts))
    assert sorted(found) == sorted(listed_packages())


def test_the_installed_package_finds_the_theme_and_the_template():
    import chorus_theme

    assert Path(chorus_theme.PATH, "templates", "base.html").is_file()
    assert Path(chorus_theme.PATH, "static", "css", "style.css").is_file()
    template = files("chorus.onboarding") / "site_template"
    assert (template / "dot-github" / "workflows" / "fetch.yml").is_file()
    assert (template / "pelicanconf.py.jinja").is_file()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of the sources, offline."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    junk = shutil.ignore_patterns("*.egg-info", "__pycache__", ".*.tmp")
    shutil.copytree(REPO / "plugins", source / "plugins", ignore=junk)
    shutil.copytree(REPO / "theme", source / "theme", ignore=junk)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
            "--wheel-dir",
            str(root / "dist"),
            str(source),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # No BuildBackendWarning (setuptools took the template's folders for packages, once).
    assert "Warning" not in result.stderr, result.stderr
    [built] = (root / "dist").glob("pelican_chorus-*.whl")
    return built


def test_the_wheel_holds_every_part(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in (
        "chorus/cli/main.py",
        "chorus/newsletter/__init__.py",
        "chorus/onboarding/site_template/pelicanconf.py.jinja",
        "chorus/onboarding/site_template/dot-github/workflows/deploy.yml",
        "chorus/onboarding/site_template/dot-gitignore",
        "chorus/onboarding/site_template/content/sample-feeds/example.xml",
        "chorus_members/__init__.py",
        "chorus_credit/__init__.py",
        "chorus_theme/__init__.py",
        "chorus_theme/templates/base.html",
        "chorus_theme/templates/email/issue.html",
        "chorus_theme/static/css/style.css",
    ):
        assert name in names, name


def test_a_site_made_from_the_installed_wheel_builds(wheel, tmp_path):
    """Installed away from this repository, `chorus init` then `chorus build` use the packaged
    plugins, theme and template: nothing of the checkout."""
    target = tmp_path / "site-packages"
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--target",
            str(target),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert install.returncode == 0, install.stderr
    # The wheel's copy comes first on the path, before this checkout's editable install.
    env = {**os.environ, "PYTHONPATH": str(target)}

    def run(*args: str, cwd: Path) -> str:
        result = subprocess.run(
            [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    where = json.loads(
        run(
            "-c",
            "import json, chorus, chorus_theme, chorus_members; print(json.dumps("
            "[chorus.__file__, chorus_theme.PATH, chorus_members.__file__]))",
            cwd=tmp_path,
        )
    )
    assert all(path.startswith(str(target)) for path in where), where
    run(
        "-m", "chorus", "init", "site", "--no-input", "--name", "Wheel", "--url",
        "https://wheel.example", "--editor", "Ed", "--contact", "ed@wheel.example",
        cwd=tmp_path,
    )  # fmt: skip
    site = tmp_path / "site"
    run("-m", "chorus", "fetch", "--no-progress", cwd=site)
    run("-m", "chorus", "build", "--publish", "--strict", cwd=site)
    page = (site / "output" / "members" / "example" / "index.html").read_text()
    assert "Example Member" in page and "https://wheel.example/" in page
    assert (site / "output" / "theme" / "css" / "style.css").is_file()


def test_a_fresh_environment_installs_the_wheel_and_the_site_it_inits_makes_itself(wheel, tmp_path):
    """What a new community does: install Chorus, `chorus init`, then the new site's own
    `make site`, which sets up the site's .venv from the requirements.txt that init wrote.
    Dependencies come from the package index (or pip's cache); Chorus from the wheel."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "VIRTUAL_ENV", "CHORUS_SETTINGS")
    }

    def run(*args: str | Path, cwd: Path = tmp_path) -> str:
        result = subprocess.run(
            [str(arg) for arg in args], cwd=cwd, env=env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout + result.stderr

    venv = tmp_path / "venv"
    # Without a pip of its own (ensurepip is the slow part): this pip installs into it.
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    run(sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install", "-q", wheel)
    said = run(
        venv / "bin" / "chorus", "init", "loom", "--no-input", "--name", "Loom", "--url",
        "https://loom.example", "--editor", "Rosa", "--contact", "editors@loom.example",
    )  # fmt: skip
    site = tmp_path / "loom"
    requirements = (site / "requirements.txt").read_text()
    # Installed from a file: the line installs that very wheel, and says it works here only.
    assert requirements.splitlines()[-1] == f"pelican-chorus @ {wheel.as_uri()}"
    assert "this machine only" in " ".join(requirements.replace("#", " ").split())
    assert "this machine only" in " ".join(said.split())
    run("make", "site", cwd=site)
    installed = run(site / ".venv" / "bin" / "python", "-m", "pip", "show", "pelican-chorus")
    assert "Version: " in installed
    page = (site / "output" / "members" / "example" / "index.html").read_text()
    assert "Example Member" in page
    assert (site / "output" / "index.html").is_file()


def test_the_release_workflow_builds_on_a_version_tag_and_publishes_without_a_token():
    import yaml

    from test_workflows import tool

    path = REPO / ".github" / "workflows" / "release.yml"
    lint = subprocess.run(
        [tool("actionlint"), "-no-color", "-oneline", "-shellcheck", tool("shellcheck"), path],
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    workflow = yaml.safe_load(path.read_text())
    assert workflow[True] == {"push": {"tags": ["v*"]}}  # PyYAML reads `on` as True
    assert workflow["permissions"] == {}
    build, publish = workflow["jobs"]["build"], workflow["jobs"]["publish"]
    assert any(step.get("run") == "make dist" for step in build["steps"])
    assert build["permissions"] == {"contents": "read"}
    # Trusted publishing: an OIDC token for this job only, no password or API token anywhere.
    assert publish["needs"] == "build"
    assert publish["permissions"] == {"id-token": "write"}
    [upload] = [
        step for step in publish["steps"] if "gh-action-pypi-publish" in step.get("uses", "")
    ]
    assert "with" not in upload
    assert "secrets." not in path.read_text()


def test_the_version_has_one_source():
    import chorus

    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert project["project"]["name"] == "pelican-chorus"
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "chorus.__version__"}
    from importlib import metadata

    assert metadata.version("pelican-chorus") == chorus.__version__
