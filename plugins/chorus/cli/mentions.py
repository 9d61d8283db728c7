"""``chorus mentions``: send Webmentions for the published site (a thin layer over
chorus.mentions)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.markup import escape

from chorus.common.config import DEFAULTS, ConfigError, SendConfig
from chorus.mentions.dispatch import MAX_ATTEMPTS, LogError, SendLog, Sent, plan, run
from chorus.mentions.manifest import ManifestError, load_manifest, manifest_path

if TYPE_CHECKING:
    from chorus.cli.common import Site

console = Console(stderr=False, highlight=False)
errors = Console(stderr=True, highlight=False)

STYLE = {
    "sent": ("green", "sent"),
    "dry_run": ("cyan", "would send"),
    "no_endpoint": ("dim", "no endpoint"),
    "refused": ("yellow", "refused"),
    "rejected": ("yellow", "rejected"),
    "failed": ("red", "failed"),
}
WHY = {
    "new": "",
    "updated": " (page updated)",
    "retry": " (retry)",
    "removed": " (link removed)",
    "deleted": " (page deleted)",
}


@click.group()
def mentions() -> None:
    """Send Webmentions from the published site to the pages it links to."""


@mentions.command("send", short_help="Send Webmentions for the published site.")
@click.option(
    "--dry-run", is_flag=True, help="Discover endpoints and list what would be sent; send nothing."
)
@click.option(
    "--manifest",
    "manifest_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The pages and their links, written by the build. "
    "[default: CACHE_PATH/chorus/mentions.json]",
)
@click.option(
    "--log",
    "log_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The send log to read and update. [default: content/webmention-log.json]",
)
@click.pass_obj
def send(site: Site, dry_run: bool, manifest_file: Path | None, log_file: Path | None) -> None:
    """Send a Webmention (or a Pingback) from each published page to every page it links to.

    Works from the manifest that `chorus build --publish` writes, and from the send log in
    content/webmention-log.json (commit it): a mention is sent once, sent again when its page
    changes or is deleted. A receiver's 4xx answer is final until the page changes; failures
    (network errors, timeouts, 5xx, 429) are tried again after 1 hour, 6 hours and 1 day, then
    given up until the page changes. Exits 1 if any mention failed.

    \b
    Example:
      chorus build --publish
      chorus mentions send --dry-run    # what would be sent, and to which endpoints
      chorus mentions send
    """
    settings = site.settings
    config = site.config  # validates every CHORUS_* setting, with the file named on error
    manifest_file = manifest_file or manifest_path(settings)
    log_file = log_file or config.content_dir / str(
        settings.get("CHORUS_WEBMENTION_LOG") or DEFAULTS["CHORUS_WEBMENTION_LOG"]
    )
    try:
        site_url, pages = load_manifest(manifest_file)
        send_config = SendConfig.from_settings(settings, site_url=site_url)
        log = SendLog.load(log_file)
    except (ManifestError, LogError) as error:
        raise click.ClickException(str(error)) from None
    except ConfigError as error:
        raise click.UsageError(f"{site.settings_file}: {error}") from None

    sends = plan(pages, log)
    if not sends:
        console.print(
            f"Nothing to send: {len(pages)} page(s), every mention up to date "
            f"({escape(_path(log_file))}).",
            soft_wrap=True,
        )
        return
    results = run(sends, log, send_config, dry_run=dry_run)
    for sent in results:
        _print_sent(sent)
    _print_summary(results, dry_run, log_file)
    if any(sent.result.failed for sent in results):
        sys.exit(1)


def _print_sent(sent: Sent) -> None:
    colour, label = STYLE[sent.result.outcome]
    result, planned = sent.result, sent.send
    endpoint = result.endpoint
    via = f"\n    {endpoint.kind} endpoint {escape(endpoint.url)}" if endpoint else ""
    console.print(
        f"[{colour}]{label}[/{colour}] {escape(planned.source)} -> {escape(planned.target)}"
        f"{WHY[planned.why]}{via}\n    {escape(result.reason)}",
        soft_wrap=True,
        markup=True,
        highlight=False,
    )


def _print_summary(results: list[Sent], dry_run: bool, log_file: Path) -> None:
    counts: dict[str, int] = {}
    for sent in results:
        counts[sent.result.outcome] = counts.get(sent.result.outcome, 0) + 1
    parts = [
        f"{counts[outcome]} {STYLE[outcome][1]}"
        for outcome in ("sent", "dry_run", "no_endpoint", "refused", "rejected", "failed")
        if counts.get(outcome)
    ]
    console.print(", ".join(parts) + ".", soft_wrap=True)
    if dry_run:
        console.print("Dry run: nothing was sent and the log was not changed.", soft_wrap=True)
    else:
        console.print(
            f"Log: {escape(_path(log_file))} (commit it, so nothing is sent twice).", soft_wrap=True
        )
    if counts.get("failed"):
        errors.print(
            f"[red]{counts['failed']} mention(s) failed[/red]; the others were sent. "
            "Failed ones are tried again after a wait (1 hour, 6 hours, 1 day), "
            f"{MAX_ATTEMPTS} tries in all, by later runs of `chorus mentions send`.",
            soft_wrap=True,
        )


def _path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
