"""The GitHub Actions workflows of the site template: actionlint (with shellcheck) passes, and
every `chorus` command line they run names a real command and real options."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
import yaml

from chorus.cli.main import main
from chorus.onboarding.scaffold import SiteAnswers, create_site

BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(BIN))
    assert found, f"{name} is missing: `make test` installs it (the test extras)"
    return found


@pytest.fixture(scope="module")
def workflows(tmp_path_factory) -> dict[str, dict]:
    root = tmp_path_factory.mktemp("site")
    create_site(
        root,
        SiteAnswers(
            name="Knit", url="https://knit.example", editor="Ana", contact="a@knit.example"
        ),
    )
    directory = root / ".github" / "workflows"
    return {path.name: path for path in sorted(directory.glob("*.yml"))}


def load(path: Path) -> dict:
    # PyYAML reads the key `on` as True (YAML 1.1); GitHub reads it as "on".
    data = yaml.safe_load(path.read_text())
    data["on"] = data.pop(True, data.get("on"))
    return data


def test_there_are_the_four_workflows(workflows):
    assert sorted(workflows) == ["deploy.yml", "fetch.yml", "members.yml", "newsletter.yml"]


def test_actionlint_and_shellcheck_pass(workflows):
    result = subprocess.run(
        [
            tool("actionlint"),
            "-no-color",
            "-oneline",
            "-shellcheck",
            tool("shellcheck"),
            *map(str, workflows.values()),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_runs_shellcheck(tmp_path):
    """The linter is not silently skipping the scripts: an unquoted variable is caught."""
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: rm $FILES\n"
    )
    result = subprocess.run(
        [tool("actionlint"), "-no-color", "-shellcheck", tool("shellcheck"), str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1 and "SC2086" in result.stdout


def test_permissions_are_minimal(workflows):
    for name, path in workflows.items():
        data = load(path)
        assert "permissions" in data, f"{name}: no top-level permissions"
        everything = [data["permissions"]] + [
            job.get("permissions", {}) for job in data["jobs"].values()
        ]
        for permissions in everything:
            assert permissions not in ("write-all", "read-all"), name
    assert load(workflows["members.yml"])["permissions"] == {"contents": "read"}
    assert load(workflows["deploy.yml"])["permissions"] == {"contents": "read"}
    deploy = load(workflows["deploy.yml"])["jobs"]["deploy"]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}


def test_triggers(workflows):
    fetch = load(workflows["fetch.yml"])["on"]
    assert "schedule" in fetch and "workflow_dispatch" in fetch
    assert load(workflows["deploy.yml"])["on"]["push"] == {"branches": ["main"]}
    members = load(workflows["members.yml"])["on"]
    assert members == {"pull_request": {"paths": ["content/members/**"]}}
    newsletter = load(workflows["newsletter.yml"])["on"]
    assert list(newsletter) == ["workflow_dispatch"]
    assert newsletter["workflow_dispatch"]["inputs"]["action"]["options"] == [
        "check",
        "test",
        "send",
        "push",
    ]


def test_deploy_uses_the_pages_actions(workflows):
    text = workflows["deploy.yml"].read_text()
    assert "chorus build --publish" in text
    assert "actions/upload-pages-artifact@" in text and "actions/deploy-pages@" in text


def test_deploy_keeps_the_render_cache_but_not_the_last_mentions_manifest(workflows):
    steps = load(workflows["deploy.yml"])["jobs"]["build"]["steps"]
    [cache] = [step for step in steps if step.get("uses", "").startswith("actions/cache@")]
    assert cache["with"]["path"].split() == ["cache", "!cache/chorus/mentions.json"]
    names = [step.get("name") or step["uses"] for step in steps]
    assert names.index(cache["name"]) < names.index("Build")


CHORUS_LINE = re.compile(r"(?:^|[\s|&(/])chorus\s+([^|&;)>]*)")


def chorus_commands(script: str) -> list[list[str]]:
    """Every `chorus ...` command line in a shell script, as words."""
    found = []
    for line in script.replace("\\\n", " ").splitlines():
        if line.lstrip().startswith("#"):
            continue
        for match in CHORUS_LINE.finditer(line):
            found.append(shlex.split(match.group(1), comments=True))
    return found


def resolve(words: list[str], where: str) -> str:
    """The command that ``chorus WORDS`` runs; fails unless it and its options exist."""
    words = list(words)
    command: click.Command = main
    used = ["chorus"]
    while isinstance(command, click.Group) and words:
        found = command.get_command(click.Context(command), words[0])
        if found is None:
            break
        command = found
        used.append(words.pop(0))
    assert not isinstance(command, click.Group), f"{where}: {' '.join(used)} is a group"
    options = {opt for param in command.params for opt in param.opts + param.secondary_opts}
    for word in words:
        if word.startswith("--"):
            assert word.split("=")[0] in options, f"{where}: {' '.join(used)} {word}"
    return " ".join(used)


def workflow_scripts(path: Path) -> list[str]:
    return [
        step["run"]
        for job in load(path)["jobs"].values()
        for step in job.get("steps", [])
        if "run" in step
    ]


def test_every_chorus_command_in_a_workflow_exists(workflows):
    seen = {
        resolve(words, name)
        for name, path in workflows.items()
        for script in workflow_scripts(path)
        for words in chorus_commands(script)
    }
    assert {
        "chorus fetch",
        "chorus approve",
        "chorus build",
        "chorus members check",
        "chorus members preview",
        "chorus mentions send",
        "chorus newsletter build",
        "chorus newsletter check",
        "chorus newsletter send",
        "chorus newsletter push",
    } <= seen


def code_blocks(page: Path, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", page.read_text(), re.DOTALL | re.MULTILINE)


def test_the_gitlab_and_cron_recipes_in_the_docs_hold_together(tmp_path):
    deploy = Path(__file__).resolve().parent.parent / "docs" / "deploy.md"
    [gitlab] = [block for block in code_blocks(deploy, "yaml") if "pages:" in block]
    jobs = yaml.safe_load(gitlab)
    assert {"members", "fetch", "pages", "newsletter"} <= set(jobs)
    assert jobs["pages"]["artifacts"]["paths"] == ["public"]
    scripts = [
        line for job in ("members", "fetch", "pages", "newsletter") for line in jobs[job]["script"]
    ]
    script = tmp_path / "gitlab.sh"
    script.write_text("#!/bin/sh\nset -eu\n" + "\n".join(scripts) + "\n")
    [cron] = [block for block in code_blocks(deploy, "sh") if "rsync" in block]
    (tmp_path / "update.sh").write_text(cron)
    for path in (script, tmp_path / "update.sh"):
        result = subprocess.run(
            [tool("shellcheck"), "--shell=bash", "--exclude=SC2154", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout
    seen = {resolve(words, "docs/deploy.md") for words in chorus_commands("\n".join(scripts))}
    seen |= {resolve(words, "docs/deploy.md") for words in chorus_commands(cron)}
    assert {"chorus fetch", "chorus approve", "chorus build", "chorus members preview"} <= seen


def run_step(path: Path, name: str, site: Path, outputs: Path) -> dict[str, str]:
    """Run the step ``name`` of workflow ``path`` in ``site`` with bash, as a runner does (the
    environment it sets for the step, GITHUB_OUTPUT); the outputs the step wrote."""
    [step] = [
        s for job in load(path)["jobs"].values() for s in job["steps"] if s.get("name") == name
    ]
    outputs.write_text("")
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_OUTPUT": str(outputs),
        "GITHUB_STEP_SUMMARY": str(outputs.with_name("summary.md")),
        "GITHUB_REF_NAME": "main",
    }
    subprocess.run(["bash", "-e", "-c", step["run"]], cwd=site, env=env, check=True)
    return dict(line.split("=", 1) for line in outputs.read_text().splitlines() if "=" in line)


def git(site: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=site, capture_output=True, text=True, check=True)
    return done.stdout


def knit_site(tmp_path: Path) -> Path:
    """A site as `chorus init` makes it, in ``tmp_path``/site."""
    site = tmp_path / "site"
    create_site(
        site,
        SiteAnswers(
            name="Knit", url="https://knit.example", editor="Ana", contact="a@knit.example"
        ),
    )
    return site


def push_to_new_origin(site: Path, tmp_path: Path) -> Path:
    """``site`` committed as it is and pushed to a new bare repository: the workflows' origin."""
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "--quiet", "--bare", "-b", "main", str(origin)], check=True)
    git(site, "init", "--quiet", "-b", "main")
    git(site, "-c", "user.name=Ana", "-c", "user.email=a@knit.example", "add", "--all")
    git(site, "-c", "user.name=Ana", "-c", "user.email=a@knit.example", "commit", "-qm", "Start")
    git(site, "remote", "add", "origin", str(origin))
    git(site, "push", "--quiet", "origin", "main")
    return origin


def test_a_fetch_with_nothing_new_starts_no_build(tmp_path):
    """The scheduled fetch starts the deploy (the build) only when git has something new: run
    its own Fetch and Commit steps twice in a real site and repository (the demo feeds, offline);
    the first brings posts, the second nothing, and commits, pushes and deploys nothing."""
    site = knit_site(tmp_path)
    origin = push_to_new_origin(site, tmp_path)
    fetch = site / ".github" / "workflows" / "fetch.yml"
    outputs = tmp_path / "outputs"

    runs = []
    for _ in range(2):
        assert run_step(fetch, "Fetch", site, outputs) == {"status": "0"}
        runs.append(run_step(fetch, "Commit the published posts", site, outputs))
        runs[-1]["origin"] = git(origin, "rev-parse", "main").strip()
    assert runs[0]["pushed"] == "true"
    assert runs[1] == {"pushed": "false", "origin": runs[0]["origin"]}
    assert git(site, "status", "--porcelain") == ""  # the second fetch wrote nothing at all

    steps = load(fetch)["jobs"]["fetch"]["steps"]
    [deploy] = [step for step in steps if step.get("name") == "Deploy the new posts"]
    assert deploy["if"] == "steps.commit.outputs.pushed == 'true'"
    assert "deploy.yml" in deploy["run"]
    # Nothing else starts a build: the deploy runs on pushes to main and by hand only.
    assert set(load(fetch.parent / "deploy.yml")["on"]) == {"push", "workflow_dispatch"}


def test_the_scheduled_fetch_commits_the_images_and_avatars_it_keeps(tmp_path, feed_server):
    """What the fetch keeps under content/images/ (post images, avatars) is committed with the
    posts: the deploy builds from the repository, and would show neither without them."""
    from test_fetch import rss
    from test_media import picture

    site = knit_site(tmp_path)
    image = feed_server.add("/img/swatch.png", picture(color="green"))
    avatar = feed_server.add("/img/bea.png", picture(size=(300, 300), color="purple"))
    feed = feed_server.add(
        "/feed.xml",
        rss(
            "<item><title>Swatches</title><link>https://bea.example/swatches/</link>"
            f'<description>&lt;p&gt;&lt;img src="{image}" alt="A swatch"&gt;&lt;/p&gt;'
            "</description></item>"
        ),
    )
    (site / "content" / "members" / "bea.md").write_text(
        f"---\nname: Bea\nsite: https://bea.example/\nfeeds:\n  - {feed}\n"
        f"avatar: {avatar}\nconsent: full\ntrusted: true\n---\nBea knits.\n"
    )
    origin = push_to_new_origin(site, tmp_path)
    fetch = site / ".github" / "workflows" / "fetch.yml"
    outputs = tmp_path / "outputs"

    before = set(git(origin, "ls-tree", "-r", "--name-only", "main").split())
    assert run_step(fetch, "Fetch", site, outputs) == {"status": "0"}
    assert run_step(fetch, "Commit the published posts", site, outputs)["pushed"] == "true"
    pushed = git(origin, "ls-tree", "-r", "--name-only", "main").split()
    [post] = [path for path in pushed if path.startswith("content/community/bea/")]
    kept = [path for path in pushed if path.startswith("content/images/community/")]
    faces = [p for p in pushed if p.startswith("content/images/avatars/") and p not in before]
    assert len(kept) == 1 and len(faces) == 3  # the image; the avatar at 64, 128 and 256 px
    text = git(origin, "show", f"main:{post}")
    assert kept[0].removeprefix("content/") in text and image not in text
    assert git(site, "status", "--porcelain") == ""  # nothing the fetch wrote was left out
