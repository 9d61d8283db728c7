"""Sending an issue over SMTP: a rate limit, and a ledger so that nobody gets it twice.

The ledger is one append-only file per issue, one JSON line per address the server accepted
(or refused for good), written and flushed to disk right after the server answers and before
the next message goes out. A run that dies (the server drops, the process is killed) leaves a
ledger that names exactly who has the issue; the next run mends a torn last line, skips them
and sends to everyone else. Addresses refused for now (4xx) are not recorded: they are tried
again later in the run and by the next one.

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
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; the ledger still prevents double sends
    fcntl = None  # type: ignore[assignment]

from chorus.newsletter.addresses import AddressError, Subscriber, ascii_domain, parse_address
from chorus.newsletter.settings import NewsletterConfig

log = logging.getLogger(__name__)
USER_VARIABLE = "CHORUS_SMTP_USER"
PASSWORD_VARIABLE = "CHORUS_SMTP_PASSWORD"
RETRY_DELAYS = (2.0, 10.0, 30.0)  # seconds before each reconnection after a dropped connection
# Seconds before each new try of the addresses refused for now (4xx) within one run; servers
# that greylist ask for a few minutes. The next run tries the rest again.
DEFERRED_DELAYS = (30.0, 120.0, 300.0)
TIMEOUT = 60.0
_TORN_ADDRESS = re.compile(r'^\{"address": "(?P<address>(?:[^"\\]|\\.)*)"')
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


def read_subscribers(path: Path) -> tuple[list[Subscriber], list[str]]:
    """The list file: one address per line (``Name <address>`` too), ``#`` comments.

    Returns the subscribers in file order, each address once, and a note per line refused.
    Lines end at LF (CRLF too) only: any other control character refuses its line.
    """
    try:
        data = path.read_bytes().removeprefix(b"\xef\xbb\xbf")  # no newline translation: CR is data
    except FileNotFoundError:
        raise SendError(
            f"no subscriber list at {path}: write one address per line there, or point "
            "CHORUS_NEWSLETTER_SUBSCRIBERS at your list (keep it out of git)"
        ) from None
    except OSError as error:
        raise SendError(f"cannot read the subscriber list {path}: {error}") from None
    subscribers: list[Subscriber] = []
    seen: dict[str, int] = {}
    notes: list[str] = []
    for number, raw in enumerate(data.split(b"\n"), 1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            # One line saved in another encoding costs that line, not the issue's whole send.
            notes.append(f"{path.name}:{number}: not UTF-8 (save the list as UTF-8); line refused")
            continue
        line = line.removesuffix("\r").strip(" \t")
        if not line or line.startswith("#"):
            continue
        try:
            subscriber = parse_address(line)
        except AddressError as error:
            notes.append(f"{path.name}:{number}: {line!r} {error}; line refused")
            continue
        if subscriber.key in seen:
            notes.append(
                f"{path.name}:{number}: {subscriber.address} is already on line "
                f"{seen[subscriber.key]}; it gets one copy"
            )
            continue
        seen[subscriber.key] = number
        subscribers.append(subscriber)
    return subscribers, notes


class Ledger:
    """Who has an issue: ``<ledger dir>/<NNNN>.jsonl``, one line per address settled.

    A delivered line names the address and its Message-ID; a refused line names the address
    and the server's permanent (5xx) reply, so it is never tried again.
    """

    def __init__(self, directory: Path, number: int) -> None:
        self.path = directory / f"{number:04d}.jsonl"

    def _records(self) -> Iterator[dict[str, str]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        for number, line in enumerate(text.split("\n"), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                record["address"] = str(record["address"])
            except (ValueError, KeyError, TypeError):
                # Only a process killed in the middle of a write leaves half a line, and
                # only as the last one: the next send repairs it (``repair``).
                log.warning("%s:%d: unreadable ledger line ignored", self.path, number)
                continue
            yield record

    def delivered(self) -> dict[str, dict[str, str]]:
        """Address (casefolded) -> its ledger line, for every delivery recorded."""
        return {r["address"].casefold(): r for r in self._records() if "refused" not in r}

    def refused(self) -> dict[str, dict[str, str]]:
        """Address (casefolded) -> its ledger line, for every permanent refusal recorded."""
        delivered = self.delivered()
        return {
            key: record
            for record in self._records()
            if "refused" in record and (key := record["address"].casefold()) not in delivered
        }

    def record(self, address: str, message_id: str, at: datetime) -> None:
        """Append one delivery and force it to disk before returning."""
        self._append({"address": address, "message_id": message_id, "sent_at": at.isoformat()})

    def record_refusal(self, address: str, reason: str, at: datetime) -> None:
        """Append one permanent refusal (the server's reply) and force it to disk."""
        self._append({"address": address, "refused": reason, "at": at.isoformat()})

    def _append(self, record: dict[str, str]) -> None:
        line = json.dumps(record, ensure_ascii=False)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (line + "\n").encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)

    def repair(self) -> str | None:
        """Cut a torn last line (a kill during a write) off the file; say what was done.

        A torn delivery line whose address is whole is written again in full: the server had
        accepted that message before the line was begun.
        """
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        if not data or data.endswith(b"\n"):
            return None
        cut = data.rfind(b"\n") + 1
        torn = data[cut:].decode("utf-8", "replace")
        try:
            whole = json.loads(torn)
        except ValueError:
            whole = None
        with self.path.open("r+b") as handle:
            handle.truncate(cut)
            os.fsync(handle.fileno())
        if isinstance(whole, dict) and "address" in whole:
            self._append(whole)  # only its line end was missing
            return f"{self.path}: the last line had no line end; completed it"
        found = _TORN_ADDRESS.match(torn)
        if found and '"message_id"' in torn:
            address = json.loads(f'"{found["address"]}"')
            self.record(address, "", datetime.now(UTC))
            return f"{self.path}: repaired the torn last line (delivered to {address})"
        return f"{self.path}: removed the torn last line {torn[:60]!r}"

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
    already: int = 0  # delivered before this run
    refused: list[tuple[str, str]] = field(default_factory=list)  # (address, reply): for good
    refused_before: list[tuple[str, str]] = field(default_factory=list)  # by earlier runs
    deferred: list[tuple[str, str]] = field(default_factory=list)  # 4xx after every retry
    remaining: list[str] = field(default_factory=list)  # not tried: the run had to stop
    error: str | None = None  # why the run stopped early

    @property
    def complete(self) -> bool:
        """Every address delivered or permanently refused: the issue is sent."""
        return not self.deferred and not self.remaining and self.error is None


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


class _Refused(Exception):
    """This address is turned down for good (a 5xx reply, or SMTPUTF8 needed and missing)."""


class _Deferred(Exception):
    """This address is turned down for now (a 4xx reply): try it again later."""


class _Lost(Exception):
    """The connection is gone (or the server closes it, 421): reconnect, same address."""


def _deliver(client: smtplib.SMTP, message: EmailMessage, sender: str, to: Subscriber) -> None:
    """One message to one address, its outcome raised as _Refused, _Deferred or _Lost."""
    if to.needs_smtputf8 and not client.has_extn("smtputf8"):
        raise _Refused(
            "the server does not offer SMTPUTF8, which an address with non-ASCII characters "
            "before the @ needs"
        )
    try:
        client.send_message(message, from_addr=sender, to_addrs=[to.wire])
    except smtplib.SMTPRecipientsRefused as error:
        [(code, _)] = error.recipients.values() or [(550, b"")]
        raise _outcome(code, _reason(error)) from None
    except smtplib.SMTPSenderRefused:
        raise
    except smtplib.SMTPResponseException as error:
        raise _outcome(error.smtp_code, _reason(error)) from None
    except (smtplib.SMTPServerDisconnected, OSError) as error:
        raise _Lost(_reason(error)) from None
    except smtplib.SMTPException as error:
        raise _Deferred(_reason(error)) from None


def _outcome(code: int, reason: str) -> Exception:
    if code == 421:  # the server is closing the connection: nothing was accepted
        return _Lost(reason)
    return _Refused(reason) if 500 <= code < 600 else _Deferred(reason)


def send_issue(
    subscribers: Sequence[Subscriber],
    ledger: Ledger,
    *,
    make_message: Callable[[Subscriber], EmailMessage],
    envelope_from: str,
    smtp: SmtpSettings,
    rate: float,
    on_delivered: Callable[[str], None] | None = None,
    retry_delays: Sequence[float] | None = None,
    deferred_delays: Sequence[float] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> SendReport:
    """Send to every subscriber the ledger does not name yet, at most ``rate`` per second.

    A dropped connection is re-opened (after each of ``retry_delays``, by default
    RETRY_DELAYS) and the run goes on where it was. An address refused for good (5xx) is
    recorded and never tried again; one refused for now (4xx) is tried again after each of
    ``deferred_delays`` (DEFERRED_DELAYS), and by the next run if it is still refused.
    """
    report = SendReport()
    delays = RETRY_DELAYS if retry_delays is None else retry_delays
    later_delays = DEFERRED_DELAYS if deferred_delays is None else deferred_delays
    repaired = ledger.repair()
    if repaired:
        log.warning("%s", repaired)
    done = ledger.delivered()
    refused = ledger.refused()
    report.refused_before = [
        (s.address, refused[s.key]["refused"]) for s in subscribers if s.key in refused
    ]
    report.already = sum(s.key in done for s in subscribers)
    pending = deque(s for s in subscribers if s.key not in done and s.key not in refused)
    deferred: dict[str, tuple[Subscriber, str]] = {}
    rounds = 0
    interval = 1.0 / rate
    last_sent: float | None = None
    client: smtplib.SMTP | None = None
    retries = 0

    def give_up(reason: str) -> None:
        report.error = reason
        report.remaining = [s.address for s in pending]
        report.remaining += [s.address for s, _ in deferred.values()]
        deferred.clear()

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
        while pending or (deferred and rounds < len(later_delays)):
            if not pending:
                # Every address tried once more: the ones refused for now get another go.
                log.warning(
                    "%d address(es) refused for now; trying them again in %ss",
                    len(deferred),
                    later_delays[rounds],
                )
                _close(client)  # an idle connection would be dropped while we wait
                client = None
                sleep(later_delays[rounds])
                rounds += 1
                pending.extend(subscriber for subscriber, _ in deferred.values())
                deferred.clear()
            subscriber = pending[0]
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
            message = make_message(subscriber)
            try:
                last_sent = clock()
                _deliver(client, message, envelope_from, subscriber)
            except _Refused as error:
                pending.popleft()
                ledger.record_refusal(subscriber.address, str(error), datetime.now(UTC))
                report.refused.append((subscriber.address, str(error)))
                continue
            except _Deferred as error:
                pending.popleft()
                deferred[subscriber.key] = (subscriber, str(error))
                continue
            except smtplib.SMTPSenderRefused as error:
                give_up(f"the server refused the sender {envelope_from}: {_reason(error)}")
                break
            except _Lost as error:
                _close(client)
                client = None
                if retry(f"the connection to {smtp.host} was lost: {error}"):
                    continue
                break
            pending.popleft()
            ledger.record(subscriber.address, str(message["Message-ID"]), datetime.now(UTC))
            report.delivered.append(subscriber.address)
            retries = 0
            if on_delivered is not None:
                on_delivered(subscriber.address)
    finally:
        _close(client)
    report.deferred = [(subscriber.address, reason) for subscriber, reason in deferred.values()]
    return report


def send_one(
    message: EmailMessage, *, to: Subscriber, envelope_from: str, smtp: SmtpSettings
) -> None:
    """A single message (a test send): no ledger, errors raised as SendError."""
    client = None
    try:
        client = connect(smtp)
        _deliver(client, message, envelope_from, to)
    except (_Refused, _Deferred, _Lost) as error:
        raise SendError(f"test send to {to.address} failed: {error}") from None
    except (smtplib.SMTPException, OSError) as error:
        raise SendError(f"test send to {to.address} failed: {_reason(error)}") from None
    finally:
        _close(client)


def envelope_sender(from_header: str) -> str:
    """The bare address of a From header, for MAIL FROM (its domain in IDNA)."""
    return ascii_domain(parse_address(from_header).address)


def _reason(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        reasons = [f"{code} {_text(text)}" for code, text in error.recipients.values()]
        return "; ".join(reasons) or "refused"
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {_text(error.smtp_error)}"
    return str(error) or type(error).__name__


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
