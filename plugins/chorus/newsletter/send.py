"""Sending an issue over SMTP: a rate limit, and a ledger so that nobody gets it twice.

The ledger is one append-only file per issue, one JSON line per address the server accepted,
written and flushed to disk right after the server says yes and before the next message goes
out. A run that dies (the server drops, the process is killed) leaves a ledger that names
exactly who has the issue; the next run skips them and sends to everyone else.

The one gap no client can close is between the server accepting a message and the ledger
line reaching the disk: a kill in that instant means that address gets the issue again on
resume. Each copy carries the same Message-ID for the same address, so mailboxes that
de-duplicate (Gmail does) show it once.
"""

from __future__ import annotations

import json
import logging
import os
import re
import smtplib
import ssl
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; the ledger still prevents double sends
    fcntl = None  # type: ignore[assignment]

from chorus.newsletter.settings import NewsletterConfig

log = logging.getLogger(__name__)
USER_VARIABLE = "CHORUS_SMTP_USER"
PASSWORD_VARIABLE = "CHORUS_SMTP_PASSWORD"
RETRY_DELAYS = (2.0, 10.0, 30.0)  # seconds before each reconnection after a dropped connection
TIMEOUT = 60.0
_ADDRESS = re.compile(r"^[^@\s<>\"(),;:]+@[^@\s<>\"(),;:]+\.[^@\s<>\"(),;:]+$")
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


class SendError(Exception):
    """Sending cannot start or go on; the message says why and what to do."""


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to connect; credentials come from the environment only."""

    host: str
    port: int
    security: str  # starttls | tls | none
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    helo: str | None = None  # the name we give in EHLO (the site's host)
    timeout: float = TIMEOUT

    @classmethod
    def from_config(
        cls, config: NewsletterConfig, environ: Mapping[str, str], *, helo: str | None = None
    ) -> SmtpSettings:
        if not config.smtp_host:
            raise SendError(
                "CHORUS_SMTP_HOST is not set: name your mail server (and CHORUS_SMTP_PORT, "
                "CHORUS_SMTP_SECURITY) in the site's settings"
            )
        user = environ.get(USER_VARIABLE) or None
        password = environ.get(PASSWORD_VARIABLE) or None
        if bool(user) != bool(password):
            raise SendError(f"set both {USER_VARIABLE} and {PASSWORD_VARIABLE}, or neither")
        if user and config.smtp_security == "none" and config.smtp_host not in _LOOPBACK:
            raise SendError(
                "CHORUS_SMTP_SECURITY is 'none', so the password would cross the network in "
                "clear text: use starttls or tls"
            )
        return cls(
            host=config.smtp_host,
            port=config.smtp_port,
            security=config.smtp_security,
            user=user,
            password=password,
            helo=helo,
        )


@dataclass(frozen=True)
class Subscriber:
    address: str
    name: str = ""

    @property
    def key(self) -> str:
        """Addresses compare without regard to case (as every real mailbox does)."""
        return self.address.casefold()


def read_subscribers(path: Path) -> tuple[list[Subscriber], list[str]]:
    """The list file: one address per line (``Name <address>`` too), ``#`` comments.

    Returns the subscribers in file order, each address once, and a note per line skipped.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise SendError(
            f"no subscriber list at {path}: write one address per line there, or point "
            "CHORUS_NEWSLETTER_SUBSCRIBERS at your list (keep it out of git)"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise SendError(f"cannot read the subscriber list {path}: {error}") from None
    subscribers: list[Subscriber] = []
    seen: dict[str, int] = {}
    notes: list[str] = []
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, address = parseaddr(line)
        if not _ADDRESS.match(address):
            notes.append(f"{path.name}:{number}: {line!r} is not an e-mail address; skipped")
            continue
        subscriber = Subscriber(address, name)
        if subscriber.key in seen:
            notes.append(
                f"{path.name}:{number}: {address} is already on line {seen[subscriber.key]}; "
                "it gets one copy"
            )
            continue
        seen[subscriber.key] = number
        subscribers.append(subscriber)
    return subscribers, notes


class Ledger:
    """Who has an issue: ``<ledger dir>/<NNNN>.jsonl``, one line per accepted message."""

    def __init__(self, directory: Path, number: int) -> None:
        self.path = directory / f"{number:04d}.jsonl"

    def delivered(self) -> dict[str, dict[str, str]]:
        """Address (casefolded) -> its ledger line, for every delivery recorded."""
        records: dict[str, dict[str, str]] = {}
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return records
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                records[str(record["address"]).casefold()] = record
            except (ValueError, KeyError, TypeError):
                # Only a process killed in the middle of a write leaves half a line; the
                # message it was about was accepted, but its address is unreadable.
                log.warning("%s:%d: unreadable ledger line ignored", self.path, number)
        return records

    def record(self, address: str, message_id: str, at: datetime) -> None:
        """Append one delivery and force it to disk before returning."""
        line = json.dumps(
            {"address": address, "message_id": message_id, "sent_at": at.isoformat()},
            ensure_ascii=False,
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size and not self._ends_with_newline():
                line = "\n" + line  # after a torn line, start a fresh one
            os.write(fd, (line + "\n").encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)

    def _ends_with_newline(self) -> bool:
        with self.path.open("rb") as handle:
            handle.seek(-1, os.SEEK_END)
            return handle.read(1) == b"\n"

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Refuse to run two sends of one issue at once (each would skip only its own)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_suffix(".lock")
        with lock_path.open("w") as handle:
            if fcntl is not None:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    raise SendError(
                        f"another `chorus newsletter send` of this issue is running "
                        f"({lock_path} is locked); wait for it to finish"
                    ) from None
            yield


@dataclass
class SendReport:
    """What one run did."""

    delivered: list[str] = field(default_factory=list)
    already: int = 0  # in the ledger before this run
    failed: list[tuple[str, str]] = field(default_factory=list)  # (address, server's reason)
    remaining: list[str] = field(default_factory=list)  # not tried: the run had to stop
    error: str | None = None  # why the run stopped early

    @property
    def complete(self) -> bool:
        return not self.failed and not self.remaining and self.error is None


def connect(smtp: SmtpSettings) -> smtplib.SMTP:
    """An SMTP session, encrypted as configured and logged in when credentials are given."""
    helo = smtp.helo or "localhost"
    if smtp.security == "tls":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            smtp.host,
            smtp.port,
            local_hostname=helo,
            timeout=smtp.timeout,
            context=ssl.create_default_context(),
        )
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, local_hostname=helo, timeout=smtp.timeout)
    try:
        client.ehlo()
        if smtp.security == "starttls":
            client.starttls(context=ssl.create_default_context())
            client.ehlo()
        if smtp.user and smtp.password:
            client.login(smtp.user, smtp.password)
    except BaseException:
        _close(client)
        raise
    return client


def _close(client: smtplib.SMTP | None) -> None:
    if client is None:
        return
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


def send_issue(
    subscribers: Sequence[Subscriber],
    ledger: Ledger,
    *,
    make_message: Callable[[str], EmailMessage],
    envelope_from: str,
    smtp: SmtpSettings,
    rate: float,
    on_delivered: Callable[[str], None] | None = None,
    retry_delays: Sequence[float] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> SendReport:
    """Send to every subscriber the ledger does not name yet, at most ``rate`` per second.

    A dropped connection is re-opened (after each of ``retry_delays``, by default
    RETRY_DELAYS) and the run goes on where it was; an address the server refuses is
    reported and tried again by the next run.
    """
    report = SendReport()
    delays = RETRY_DELAYS if retry_delays is None else retry_delays
    done = ledger.delivered()
    pending = [s for s in subscribers if s.key not in done]
    report.already = len(subscribers) - len(pending)
    interval = 1.0 / rate
    last_sent: float | None = None
    client: smtplib.SMTP | None = None
    retries = 0
    index = 0

    def give_up(reason: str) -> None:
        report.error = reason
        report.remaining = [s.address for s in pending[index:]]

    def retry(reason: str) -> bool:
        """Wait before the next attempt; False once every retry is spent."""
        nonlocal retries
        if retries >= len(delays):
            give_up(reason)
            return False
        log.warning("%s; retrying in %ss", reason, delays[retries])
        sleep(delays[retries])
        retries += 1
        return True

    try:
        while index < len(pending):
            subscriber = pending[index]
            if client is None:
                try:
                    client = connect(smtp)
                except smtplib.SMTPAuthenticationError as error:
                    give_up(f"the server refused the login: {_reason(error)}")
                    break
                except (smtplib.SMTPException, OSError) as error:
                    if retry(f"cannot connect to {smtp.host}:{smtp.port}: {_reason(error)}"):
                        continue
                    break
            if last_sent is not None:
                wait = last_sent + interval - clock()
                if wait > 0:
                    sleep(wait)
            message = make_message(subscriber.address)
            try:
                last_sent = clock()
                client.send_message(message, from_addr=envelope_from, to_addrs=[subscriber.address])
            except smtplib.SMTPRecipientsRefused as error:
                report.failed.append((subscriber.address, _reason(error)))
                index += 1
                continue
            except smtplib.SMTPSenderRefused as error:
                give_up(f"the server refused the sender {envelope_from}: {_reason(error)}")
                break
            except (
                smtplib.SMTPResponseException,
                smtplib.SMTPServerDisconnected,
                OSError,
            ) as error:
                if isinstance(error, smtplib.SMTPResponseException) and error.smtp_code != 421:
                    # The server turned this message down; the next one may pass.
                    report.failed.append((subscriber.address, _reason(error)))
                    index += 1
                    continue
                # 421 or a dropped connection: nothing was accepted; reconnect, same address.
                _close(client)
                client = None
                if retry(f"the connection to {smtp.host} was lost: {_reason(error)}"):
                    continue
                break
            except smtplib.SMTPException as error:
                report.failed.append((subscriber.address, _reason(error)))
                index += 1
                continue
            ledger.record(subscriber.address, str(message["Message-ID"]), datetime.now(UTC))
            report.delivered.append(subscriber.address)
            retries = 0
            index += 1
            if on_delivered is not None:
                on_delivered(subscriber.address)
    finally:
        _close(client)
    return report


def send_one(message: EmailMessage, *, to: str, envelope_from: str, smtp: SmtpSettings) -> None:
    """A single message (a test send): no ledger, errors raised as SendError."""
    client = None
    try:
        client = connect(smtp)
        client.send_message(message, from_addr=envelope_from, to_addrs=[to])
    except (smtplib.SMTPException, OSError) as error:
        raise SendError(f"test send to {to} failed: {_reason(error)}") from None
    finally:
        _close(client)


def envelope_sender(from_header: str) -> str:
    """The bare address of a From header, for MAIL FROM."""
    return parseaddr(from_header)[1]


def _reason(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        reasons = [f"{code} {_text(text)}" for code, text in error.recipients.values()]
        return "; ".join(reasons) or "refused"
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {_text(error.smtp_error)}"
    return str(error) or type(error).__name__


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
