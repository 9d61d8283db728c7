"""``chorus newsletter``: make, check, render and send the newsletter (a thin layer over
chorus.newsletter)."""

from __future__ import annotations

import email
import email.policy
import html
import os
import shlex
import sys
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from chorus.common.config import ConfigError
from chorus.common.sanitize import plain_text
from chorus.fetch.faces import faces
from chorus.members.registry import Member
from chorus.members.takedowns import Takedowns, TakedownsError, load_takedowns
from chorus.newsletter.addresses import AddressError, parse_address
from chorus.newsletter.channel import ChannelError, channels, claim, refuse_another
from chorus.newsletter.check import Finding, check_message, check_period
from chorus.newsletter.collect import Post, collect, default_summary, new_members
from chorus.newsletter.email import (
    EMAIL_PLACEHOLDER,
    SAMPLE_ADDRESS,
    EmailError,
    Rendered,
    build_message,
    from_address,
    public_site_url,
    render,
    site_host,
)
from chorus.newsletter.issue import (
    FILE_NAME,
    Issue,
    Problem,
    create_issue,
    generated_fields,
    issue_path,
    load_issues,
    new_issue_text,
    next_period,
    period_label,
    subject_in_step,
    update_issue,
)
from chorus.newsletter.send import (
    Ledger,
    SendError,
    SmtpSettings,
    envelope_sender,
    read_subscribers,
    send_issue,
    send_one,
)
from chorus.newsletter.services import SERVICES, ServiceError, push, record_path
from chorus.newsletter.settings import NewsletterConfig

if TYPE_CHECKING:
    from email.message import EmailMessage

    from chorus.cli.common import Site

console = Console(stderr=False, highlight=False)
errors = Console(stderr=True, highlight=False)
DATE = click.DateTime(formats=["%Y-%m-%d"])
FORCE_HELP = (
    "Send even though the issue went out through another channel (SMTP, Buttondown or "
    "listmonk): subscribers on both lists get it twice."
)
PUBLISH_HELP = (
    "Use publishconf.py next to the settings file, as `chorus build --publish` does: emails "
    "need the site's public SITEURL for their links."
)


@click.group()
def newsletter() -> None:
    """Make, check and send the community newsletter (issues in content/newsletter/).

    \b
    An issue's round:
      chorus newsletter new              # start the next issue: content/newsletter/NNNN.md
      (write the editor's intro in that file)
      chorus newsletter build            # fill it from the period's posts
      chorus newsletter check --publish  # what would break in mail clients
      chorus newsletter send --publish   # over SMTP (or: push --service buttondown)
    """


# Shared steps -----------------------------------------------------------------------------


def _config(site: Site) -> NewsletterConfig:
    try:
        return NewsletterConfig.from_settings(site.settings)
    except ConfigError as error:
        raise click.UsageError(f"{site.settings_file}: {error}") from None


def _publishing(site: Site, publish: bool) -> Site:
    """The site as published (publishconf.py) when asked for."""
    if not publish:
        return site
    path = site.settings_file.with_name("publishconf.py")
    if not path.is_file():
        raise click.UsageError(f"--publish needs {path}")
    return type(site)(path)


def _issues(config: NewsletterConfig) -> list[Issue]:
    return _load(config)[0]


def _load(config: NewsletterConfig) -> tuple[list[Issue], list[Problem]]:
    issues, problems = load_issues(config.issues_dir)
    for problem in problems:
        errors.print(f"[red]error[/red] {escape(str(problem))}", soft_wrap=True)
    return issues, problems


def _pick(config: NewsletterConfig, number: int | None) -> Issue:
    """The issue numbered ``number``, or the latest one, which must be valid: acting on the
    one before it instead would send (or check) an issue the editor did not mean."""
    issues, problems = _load(config)
    if number is None:
        newest = max((i.number for i in issues), default=0)
        broken = sorted(
            {
                problem.path
                for problem in problems
                if (named := FILE_NAME.match(problem.path.name)) and int(named["number"]) > newest
            }
        )
        if broken:
            raise click.ClickException(
                f"the latest issue file, {_where(broken[-1])}, is not valid (above): fix it, "
                "or name the issue to use"
            )
    if not issues:
        raise click.ClickException(
            f"no valid issue in {config.issues_dir}: start one with `chorus newsletter new`"
        )
    if number is None:
        return issues[-1]
    for issue in issues:
        if issue.number == number:
            return issue
    raise click.ClickException(
        f"no valid issue {number} in {config.issues_dir} (there are: "
        f"{', '.join(str(i.number) for i in issues)})"
    )


def _members(site: Site) -> dict[str, Member]:
    registry = site.registry()
    for problem in registry.problems:
        errors.print(
            f"[yellow]warning[/yellow] member file skipped: {escape(str(problem))}",
            soft_wrap=True,
        )
    return dict(registry.members)


def _takedowns(site: Site) -> Takedowns:
    """The posts taken down, which issues not sent yet leave out."""
    try:
        return load_takedowns(site.config.takedowns_file)
    except TakedownsError as error:
        raise click.ClickException(str(error)) from None


def _render(site: Site, issue: Issue) -> tuple[NewsletterConfig, Rendered, str]:
    config = _config(site)
    try:
        site_url = public_site_url(config.site_url)
        members = _members(site)
        rendered = render(
            issue,
            members,
            config,
            site_url=site_url,
            takedowns=_takedowns(site),
            faces=faces(members, site.config),
        )
    except EmailError as error:
        raise click.ClickException(str(error)) from None
    return config, rendered, site_url


def _issue_date(issue: Issue, config: NewsletterConfig) -> datetime:
    return datetime.combine(issue.date, time(0), config.timezone)


def _findings(
    config: NewsletterConfig, message: EmailMessage, issue: Issue | None = None
) -> list[Finding]:
    findings = check_message(
        message, budget=config.size_budget, allowed=[config.unsubscribe_url or ""]
    )
    if issue is not None:
        findings.extend(check_period(issue))
    for finding in findings:
        colour = "red" if finding.severity == "error" else "yellow"
        errors.print(
            f"[{colour}]{finding.severity}[/{colour}] {finding.rule}: {escape(finding.message)}",
            soft_wrap=True,
        )
    return findings


def _errors(findings: list[Finding]) -> int:
    return sum(finding.severity == "error" for finding in findings)


def _where(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# Commands ---------------------------------------------------------------------------------


@newsletter.command("new", short_help="Start the next issue.")
@click.option("--date", "issue_date", type=DATE, help="The issue's date.  [default: today]")
@click.option(
    "--days",
    type=click.IntRange(min=1),
    help="Days the issue covers (CHORUS_NEWSLETTER_PERIOD_DAYS).",
)
@click.option("--start", type=DATE, help="First day of the period (instead of the computed one).")
@click.option("--end", type=DATE, help="Last day of the period (instead of the computed one).")
@click.pass_obj
def new(
    site: Site,
    issue_date: datetime | None,
    days: int | None,
    start: datetime | None,
    end: datetime | None,
) -> None:
    """Start the next issue: content/newsletter/NNNN.md with its number, date, period and
    subject, and an intro for the editor to write.

    The first issue covers the week (CHORUS_NEWSLETTER_PERIOD_DAYS) before its date; each
    later one starts the day after the previous one ended.

    \b
    Example:
      chorus newsletter new --date 2026-11-23
    """
    config = _config(site)
    issues = _issues(config)
    on = issue_date.date() if issue_date else datetime.now(config.timezone).date()
    taken = [
        int(found["number"])
        for path in (config.issues_dir.glob("*.md") if config.issues_dir.is_dir() else [])
        if (found := FILE_NAME.match(path.name))
    ]
    number = max(taken, default=0) + 1
    previous = issues[-1] if issues else None
    first, last = next_period(previous, on, days or config.period_days)
    if start:
        first = start.date()
        last = first + timedelta(days=(days or config.period_days) - 1)
    if end:
        last = end.date()
    if first > last:
        raise click.UsageError(f"the period would end ({last}) before it starts ({first})")
    subject = f"{config.title} #{number}: {period_label(first, last)}"
    path = issue_path(config.issues_dir, number)
    text = new_issue_text(
        number=number, title=config.title, subject=subject, issue_date=on, start=first, end=last
    )
    try:
        create_issue(path, text)
    except FileExistsError as error:
        raise click.ClickException(str(error)) from None
    if previous is not None and previous.status != "sent":
        errors.print(
            f"[yellow]note[/yellow] issue {previous.number} is still {previous.status}",
            soft_wrap=True,
        )
    console.print(
        f"[green]started[/green] issue {number}, {escape(period_label(first, last))}: "
        f"{escape(_where(path))}\nNext: write the intro in that file, then "
        f"[bold]chorus newsletter build {number}[/bold].",
        soft_wrap=True,
    )


@newsletter.command("build", short_help="Fill an issue from the period's posts.")
@click.argument("number", type=int, required=False)
@click.option("--force", is_flag=True, help="Rebuild an issue that was already sent.")
@click.pass_obj
def build(site: Site, number: int | None, force: bool) -> None:
    """Fill an issue (the latest, or NUMBER) with the published original articles and curated
    posts of its period, grouped into sections, and with the members who joined then.

    Only `items`, `new_members` (and an empty `summary`) are rewritten: the intro and the
    editor's other fields stay as they are. Run it again after approving more posts.

    \b
    Example:
      chorus newsletter build 12
    """
    config = _config(site)
    issue = _pick(config, number)
    if issue.status == "sent" and not force:
        raise click.ClickException(
            f"issue {issue.number} was sent already; rebuilding it would make the site differ "
            "from what subscribers got (use --force if you mean it)"
        )
    members = _members(site)
    posts = site_posts(site)
    items = collect(
        posts,
        start=issue.period_start,
        end=issue.period_end,
        timezone=config.timezone,
        members=members,
        sections=config.sections,
        exclude=issue.exclude,
    )
    joined = new_members(members, issue.period_start, issue.period_end)
    changes: dict[str, Any] = generated_fields(items, joined)
    subject = subject_in_step(issue)
    if subject != issue.subject:
        changes["subject"] = subject
        console.print(f"Subject now in step with the period: {escape(subject)}", soft_wrap=True)
    if not issue.summary:
        names = {handle: member.name for handle, member in members.items()}
        changes["summary"] = default_summary(items, names)
    assert issue.source is not None
    update_issue(issue.source, changes)
    table = Table(title=f"Issue {issue.number}", title_justify="left", show_edge=False)
    table.add_column("section")
    table.add_column("posts", justify="right")
    sections: dict[str, int] = {}
    for item in items:
        sections[item.section] = sections.get(item.section, 0) + 1
    for section, count in sections.items():
        table.add_row(escape(section), str(count))
    console.print(table)
    people = {item.author for item in items} | {i.shared_by for i in items if i.shared_by}
    console.print(
        f"{len(items)} post(s) from {period_label(issue.period_start, issue.period_end)}, "
        f"{len(people)} contributor(s), {len(joined)} new member(s): "
        f"{escape(_where(issue.source))}",
        soft_wrap=True,
    )
    if not items:
        errors.print(
            "[yellow]note[/yellow] no published post in this period (drafts waiting? "
            "`chorus approve`)",
            soft_wrap=True,
        )
    console.print(
        f"Next: {_check_command(site, issue.number)}, then set `status: ready` to publish it "
        "on the site.",
        soft_wrap=True,
    )


def _check_command(site: Site, number: int) -> str:
    """The `newsletter check` command for this issue that works here: --publish when only
    publishconf.py has the public SITEURL that emails need."""
    command = "chorus"
    if site.settings_file != Path("pelicanconf.py"):
        command += f" --settings {shlex.quote(str(site.settings_file))}"
    command += f" newsletter check {number}"
    for publish in (False, True):
        if publish and not site.settings_file.with_name("publishconf.py").is_file():
            break
        try:
            public_site_url(_config(_publishing(site, publish)).site_url)
        except EmailError:
            continue
        return f"[bold]{escape(command + (' --publish' if publish else ''))}[/bold]"
    return (
        f"set SITEURL to the site's public address in publishconf.py, then "
        f"[bold]{escape(command)} --publish[/bold]"
    )


@newsletter.command("check", short_help="Find what would break the email.")
@click.argument("number", type=int, required=False)
@click.option("--publish", is_flag=True, help=PUBLISH_HELP)
@click.option(
    "--eml",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Check this .eml file instead of an issue.",
)
@click.pass_obj
def check(site: Site, number: int | None, publish: bool, eml: Path | None) -> None:
    """Check an issue's email (the latest, or NUMBER) for what breaks mail: HTML over the size
    budget (Gmail clips at 102 KB), relative or non-http(s) URLs, data: URIs, images without
    alt text, a subject under 10 or over 78 characters, duplicate links, leftover
    placeholders, links missing from the plain text. Exits 1 on any error.

    \b
    Example:
      chorus newsletter check --publish
      chorus newsletter check --eml newsletter-email/issue-0003.eml
    """
    site = _publishing(site, publish)
    issue: Issue | None = None
    if eml is not None:
        config = _config(site)
        message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
        what = _where(eml)
    else:
        issue = _pick(_config(site), number)
        config, rendered, site_url = _render(site, issue)
        message = build_message(
            rendered, config, site_url=site_url, date=_issue_date(issue, config)
        )
        what = f"issue {issue.number}"
        if not issue.published:
            errors.print(
                f"[yellow]note[/yellow] issue {issue.number} is a draft: set `status: ready` "
                "when it is done",
                soft_wrap=True,
            )
    findings = _findings(config, message, issue)
    failed = _errors(findings)
    if failed:
        errors.print(f"[red]{what}: {failed} error(s)[/red]; fix them and check again.")
        sys.exit(1)
    warnings = len(findings)
    console.print(
        f"[green]✓[/green] {what} passes every check"
        + (f" ({warnings} warning(s))" if warnings else ""),
        soft_wrap=True,
    )


@newsletter.command("email", short_help="Write an issue's .eml, .html and .txt.")
@click.argument("number", type=int, required=False)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, file_okay=False),
    default="newsletter-email",
    show_default=True,
    help="Directory to write into.",
)
@click.option("--publish", is_flag=True, help=PUBLISH_HELP)
@click.pass_obj
def email_files(site: Site, number: int | None, output: Path, publish: bool) -> None:
    """Write an issue's email (the latest, or NUMBER): issue-NNNN.eml (the MIME message:
    plain text then HTML), issue-NNNN.html and issue-NNNN.txt, to preview or to hand to
    another tool.

    \b
    Example:
      chorus newsletter email 3 --publish -o /tmp/issue
    """
    site = _publishing(site, publish)
    issue = _pick(_config(site), number)
    config, rendered, site_url = _render(site, issue)
    message = build_message(rendered, config, site_url=site_url, date=_issue_date(issue, config))
    output.mkdir(parents=True, exist_ok=True)
    stem = output / f"issue-{issue.number:04d}"
    written = []
    # The .eml keeps {email} for a tool that fills it; the copies to look at show a sample.
    review = rendered.personalised(SAMPLE_ADDRESS)
    for suffix, data in (
        (".eml", message.as_bytes()),
        (".html", review.html.encode("utf-8")),
        (".txt", review.text.encode("utf-8")),
    ):
        path = stem.with_suffix(suffix)
        path.write_bytes(data)
        written.append(path)
    for path in written:
        console.print(f"[green]wrote[/green] {escape(_where(path))}", soft_wrap=True)
    if review is not rendered:
        console.print(
            f"The .html and .txt show the unsubscribe link for a sample address, "
            f"{SAMPLE_ADDRESS}; the .eml keeps {EMAIL_PLACEHOLDER}, which `send` fills in.",
            soft_wrap=True,
        )
    _findings(config, message, issue)


@newsletter.command("send", short_help="Send an issue over SMTP.")
@click.argument("number", type=int, required=False)
@click.option("--dry-run", is_flag=True, help="Say who would get it; send nothing.")
@click.option("--to", "to", metavar="ADDRESS", help="Send one test copy to ADDRESS only.")
@click.option(
    "--subscribers",
    "subscribers_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The list file.  [default: CHORUS_NEWSLETTER_SUBSCRIBERS]",
)
@click.option("--publish", is_flag=True, help=PUBLISH_HELP)
@click.option("--force-second-channel", "force_channel", is_flag=True, help=FORCE_HELP)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show a progress bar (default: when writing to a terminal).",
)
@click.pass_obj
def send(
    site: Site,
    number: int | None,
    dry_run: bool,
    to: str | None,
    subscribers_file: Path | None,
    publish: bool,
    force_channel: bool,
    progress: bool | None,
) -> None:
    """Send an issue (the latest, or NUMBER) to every address of the subscriber list over
    SMTP (CHORUS_SMTP_HOST, _PORT, _SECURITY; CHORUS_SMTP_USER and CHORUS_SMTP_PASSWORD from
    the environment), at most CHORUS_NEWSLETTER_RATE messages per second.

    A ledger (CHORUS_NEWSLETTER_LEDGER_DIR/NNNN.jsonl) records each address the server took
    or refused for good (5xx), so nobody gets an issue twice and a run that stopped halfway
    resumes where it was: run the same command again. Addresses refused for now (4xx) are
    tried again later in the run, then by the next run. The issue is `sent` once every
    address is delivered or refused for good; exits 1 while any is left. An issue that went
    out through Buttondown or listmonk is not sent again here.

    \b
    Example:
      chorus newsletter send --publish --to me@example.org   # a test copy
      chorus newsletter send --publish --dry-run
      chorus newsletter send --publish
    """
    site = _publishing(site, publish)
    issue = _pick(_config(site), number)
    config, rendered, site_url = _render(site, issue)
    sent_on = datetime.now(config.timezone)
    base = build_message(rendered, config, site_url=site_url, date=sent_on)
    findings = _findings(config, base, issue)
    envelope = envelope_sender(from_address(config, site_url))

    def smtp() -> SmtpSettings:
        try:
            return SmtpSettings.from_config(config, os.environ, helo=site_host(site_url))
        except SendError as error:
            raise click.ClickException(str(error)) from None

    if to is not None:
        try:
            test_to = parse_address(to)
        except AddressError as error:
            raise click.BadParameter(f"{to!r} {error}", param_hint="--to") from None
        message = build_message(
            rendered,
            config,
            site_url=site_url,
            to=test_to.address,
            date=sent_on,
            subject_prefix="[Test] ",
        )
        try:
            send_one(message, to=test_to, envelope_from=envelope, smtp=smtp())
        except SendError as error:
            raise click.ClickException(str(error)) from None
        console.print(
            f"[green]sent[/green] a test copy of issue {issue.number} to "
            f"{escape(test_to.address)} (not in the ledger)",
            soft_wrap=True,
        )
        return
    if not issue.published:
        raise click.ClickException(
            f"issue {issue.number} is a draft: set `status: ready` in "
            f"{_where(issue.source or config.issues_dir)} when it is done"
        )
    if _errors(findings) and not dry_run:
        raise click.ClickException("the email has errors (above); nothing was sent")
    problem = _unsubscribe_problem(config.unsubscribe_url)
    if problem and not dry_run:
        raise click.ClickException(problem)
    try:
        refuse_another(config.ledger_dir, issue.number, "smtp", force=force_channel)
        subscribers, notes = read_subscribers(subscribers_file or config.subscribers)
    except (ChannelError, SendError) as error:
        raise click.ClickException(str(error)) from None
    for note in notes:
        errors.print(f"[yellow]skipped[/yellow] {escape(note)}", soft_wrap=True)
    ledger = Ledger(config.ledger_dir, issue.number)
    done, refused = ledger.delivered(), ledger.refused()
    pending = [s for s in subscribers if s.key not in done and s.key not in refused]
    settled = len(subscribers) - len(pending)
    if dry_run:
        console.print(
            f"Dry run: issue {issue.number} would go to {len(pending)} of {len(subscribers)} "
            f"subscriber(s); {settled} have it already or were refused for good "
            f"({escape(_where(ledger.path))}).",
            soft_wrap=True,
        )
        for subscriber in pending[:10]:
            console.print(f"  {escape(subscriber.address)}", soft_wrap=True)
        if len(pending) > 10:
            console.print(f"  ... and {len(pending) - 10} more", soft_wrap=True)
        if problem:
            errors.print(f"[yellow]note[/yellow] {escape(problem)}", soft_wrap=True)
        console.print("Nothing was sent.")
        return
    if not pending:
        _print_refused(
            [(s.address, refused[s.key]["refused"]) for s in subscribers if s.key in refused]
        )
        console.print(
            f"Nothing to send: all {len(subscribers)} subscriber(s) have issue {issue.number} "
            f"or were refused for good ({escape(_where(ledger.path))}).",
            soft_wrap=True,
        )
        _mark_sent(issue)
        return
    settings = smtp()
    show = console.is_terminal if progress is None else progress
    try:
        with (
            ledger.locked(),
            Progress(
                TextColumn("Sending"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=errors,
                disable=not show,
                transient=True,
            ) as bar,
        ):
            claim(config.ledger_dir, issue.number, "smtp", force=force_channel)
            task = bar.add_task("", total=len(pending))
            report = send_issue(
                subscribers,
                ledger,
                make_message=lambda subscriber: build_message(
                    rendered, config, site_url=site_url, to=subscriber.address, date=sent_on
                ),
                envelope_from=envelope,
                smtp=settings,
                rate=config.rate,
                on_delivered=lambda _address: bar.update(task, advance=1),
            )
    except (ChannelError, SendError) as error:
        raise click.ClickException(str(error)) from None
    _print_refused(report.refused_before + report.refused)
    for address, reason in report.deferred:
        errors.print(
            f"[yellow]deferred[/yellow] {escape(address)}: {escape(reason)}", soft_wrap=True
        )
    console.print(
        f"Issue {issue.number}: {len(report.delivered)} sent now, {report.already} had it "
        f"already, {len(report.refused_before) + len(report.refused)} refused for good, "
        f"{len(report.deferred)} deferred, {len(report.remaining)} not tried. "
        f"Ledger: {escape(_where(ledger.path))}",
        soft_wrap=True,
    )
    if report.error:
        errors.print(
            f"[red]stopped[/red]: {escape(report.error)}. Run the same command again to send "
            "to the rest: nobody gets the issue twice.",
            soft_wrap=True,
        )
    if report.complete:
        _mark_sent(issue)
        return
    if report.deferred and not report.error:
        errors.print(
            "Deferred addresses (the server said: try later) are tried again by the next run.",
            soft_wrap=True,
        )
    sys.exit(1)


def _print_refused(refused: list[tuple[str, str]]) -> None:
    """The addresses refused for good, each with the server's reply: never tried again."""
    for address, reason in refused:
        errors.print(f"[red]refused[/red] {escape(address)}: {escape(reason)}", soft_wrap=True)
    if refused:
        errors.print(
            f"{len(refused)} address(es) refused for good are not tried again: remove them "
            "from the list, or fix and re-add them for the next issue.",
            soft_wrap=True,
        )


def _unsubscribe_problem(url: str | None) -> str | None:
    if not url:
        return (
            "CHORUS_NEWSLETTER_UNSUBSCRIBE_URL is not set: bulk mail needs a working "
            "unsubscribe link (Gmail and Yahoo require one-click unsubscribe). See the README."
        )
    if "{{" in url or "*|" in url:
        return (
            f"the unsubscribe URL {url!r} is a mail service's placeholder, which nothing fills "
            "in over SMTP: push the issue to that service instead, or set an https URL"
        )
    return None


def _mark_sent(issue: Issue) -> None:
    if issue.status != "sent" and issue.source is not None:
        update_issue(issue.source, {"status": "sent"})
        console.print(f"Issue {issue.number} marked `status: sent`.")


@newsletter.command("push", short_help="Push an issue as a draft to Buttondown or listmonk.")
@click.argument("number", type=int, required=False)
@click.option("--service", type=click.Choice(SERVICES), required=True, help="Where to push.")
@click.option(
    "--send",
    "send_now",
    is_flag=True,
    help="Also send it from the service now. Without this flag it stays a draft.",
)
@click.option("--publish", is_flag=True, help=PUBLISH_HELP)
@click.option("--force-second-channel", "force_channel", is_flag=True, help=FORCE_HELP)
@click.pass_obj
def push_command(
    site: Site,
    number: int | None,
    service: str,
    send_now: bool,
    publish: bool,
    force_channel: bool,
) -> None:
    """Hand an issue (the latest, or NUMBER) to a newsletter service as a draft to review
    there: Buttondown (CHORUS_BUTTONDOWN_API_KEY in the environment) or listmonk
    (CHORUS_LISTMONK_URL, CHORUS_LISTMONK_LISTS; CHORUS_LISTMONK_USER and
    CHORUS_LISTMONK_TOKEN in the environment). Pushing again updates the same draft; nothing
    is sent without --send, and an issue sent once (here, over SMTP or through the other
    service) is never sent again.

    \b
    Example:
      chorus newsletter push --service buttondown --publish
      chorus newsletter push --service buttondown --publish --send
    """
    site = _publishing(site, publish)
    issue = _pick(_config(site), number)
    config, rendered, site_url = _render(site, issue)
    message = build_message(rendered, config, site_url=site_url, date=_issue_date(issue, config))
    if _errors(_findings(config, message, issue)):
        raise click.ClickException("the email has errors (above); nothing was pushed")
    if send_now and not issue.published:
        raise click.ClickException(f"issue {issue.number} is a draft: set `status: ready` first")
    if config.unsubscribe_url and "{email}" in config.unsubscribe_url:
        errors.print(
            f"[yellow]note[/yellow] {service} does not fill {{email}} in the unsubscribe URL; "
            "set CHORUS_NEWSLETTER_UNSUBSCRIBE_URL to its own placeholder (see the README)",
            soft_wrap=True,
        )
    record = record_path(config.ledger_dir, issue.number, service)
    try:
        result = push(
            service,
            rendered,
            record=record,
            environ=os.environ,
            send=send_now,
            buttondown_api_url=config.buttondown_api_url,
            listmonk_url=config.listmonk_url,
            listmonk_lists=config.listmonk_lists,
            title=config.title,
            from_address=config.from_address,
            force_channel=force_channel,
        )
    except ServiceError as error:
        raise click.ClickException(str(error)) from None
    if result.status == "sent":
        console.print(
            f"[green]sent[/green] issue {issue.number} through {service} (id {result.id})"
        )
        _mark_sent(issue)
    else:
        console.print(
            f"[green]draft[/green] issue {issue.number} is a draft at {service} (id "
            f"{escape(result.id)}); review it there. Nothing was sent.",
            soft_wrap=True,
        )


@newsletter.command("list", short_help="List the issues and their status.")
@click.pass_obj
def list_issues(site: Site) -> None:
    """List every issue: number, status, date, period, posts, how many subscribers the
    ledger says have it and were refused for good, the channel it went out through, and its
    subject.

    \b
    Example:
      chorus newsletter list
    """
    config = _config(site)
    issues = _issues(config)
    table = Table(show_edge=False)
    numbers = ("posts", "delivered", "refused")
    for column in ("issue", "status", "date", "period", *numbers, "channel", "subject"):
        table.add_column(column, justify="right" if column in numbers else "left")
    for issue in issues:
        ledger = Ledger(config.ledger_dir, issue.number)
        try:
            went = ", ".join(channels(config.ledger_dir, issue.number))
        except ChannelError as error:
            errors.print(f"[red]error[/red] {escape(str(error))}", soft_wrap=True)
            went = "?"
        table.add_row(
            str(issue.number),
            issue.status,
            issue.date.isoformat(),
            period_label(issue.period_start, issue.period_end),
            str(len(issue.items)),
            str(len(ledger.delivered())),
            str(len(ledger.refused())),
            went,
            escape(issue.subject),
        )
    console.print(table)
    if not issues:
        console.print("No issues yet: start one with `chorus newsletter new`.")


# Reading the site's posts -----------------------------------------------------------------


def site_posts(site: Site) -> list[Post]:
    """The site's published articles, read by Pelican exactly as a build reads them (its
    readers, the site's plugins and settings), as plain records for the core."""
    from pelican import Pelican
    from pelican.generators import ArticlesGenerator

    settings = dict(site.settings)
    pelican = Pelican(settings)  # registers the plugins, whose readers and signals apply
    context = {
        **pelican.settings,
        "generated_content": {},
        "static_links": set(),
        "static_content": {},
        "localsiteurl": pelican.settings["SITEURL"],
    }
    generator = ArticlesGenerator(
        context=context,
        settings=pelican.settings,
        path=pelican.path,
        theme=pelican.theme,
        output_path=pelican.output_path,
    )
    generator.generate_context()
    return [_post(article) for article in generator.articles]


def _post(article: Any) -> Post:
    metadata = getattr(article, "metadata", {}) or {}
    member = getattr(article, "member", None)
    authors = tuple(str(author) for author in getattr(article, "authors", None) or ())
    if member and not ({"author", "authors"} & set(metadata)):
        # Pelican gave it the site's AUTHOR, which says nothing of who wrote it: the member.
        authors = ()
    if getattr(article, "chorus_author", None):
        # A group blog's post: its writer, the member shared it (collect.credit).
        authors = (str(article.chorus_author),)
    return Post(
        # Curated titles are escaped once, Markdown ones are plain text (see macros.html).
        title=html.unescape(str(article.title)),
        url=article.url,
        date=article.date,
        category=str(article.category) if getattr(article, "category", None) else None,
        tags=tuple(str(tag) for tag in getattr(article, "tags", None) or ()),
        member=member,
        authors=authors,
        original_url=getattr(article, "chorus_original_url", None),
        summary=plain_text(str(getattr(article, "summary", "") or "")),
        consent=getattr(article, "chorus_consent", None),
    )
