"""Handing an issue to a newsletter service as a draft: Buttondown or listmonk.

A push creates a draft (or updates the one an earlier push made) and records it beside the
send ledger; nothing is sent unless the caller says so (``send=True``), and an issue recorded
as sent is never pushed again.
"""

from __future__ import annotations

import base64
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chorus import __version__
from chorus.common.files import write_atomic
from chorus.newsletter.channel import ChannelError, claim, refuse_another
from chorus.newsletter.email import Rendered

log = logging.getLogger(__name__)
SERVICES = ("buttondown", "listmonk")
BUTTONDOWN_KEY = "CHORUS_BUTTONDOWN_API_KEY"
LISTMONK_USER = "CHORUS_LISTMONK_USER"
LISTMONK_TOKEN = "CHORUS_LISTMONK_TOKEN"
TIMEOUT = 30.0


class ServiceError(Exception):
    """The service refused or could not be reached; the message says what it answered."""


@dataclass(frozen=True)
class Push:
    """What a service holds for an issue, as recorded after a push."""

    service: str
    id: str
    status: str  # "draft" or "sent"
    pushed_at: str


def record_path(ledger_dir: Path, number: int, service: str) -> Path:
    return ledger_dir / f"{number:04d}.{service}.json"


def read_record(path: Path) -> Push | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Push(**{key: str(data[key]) for key in ("service", "id", "status", "pushed_at")})
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError) as error:
        raise ServiceError(f"{path} is not a push record ({error}); fix or remove it") from None


def write_record(path: Path, push: Push) -> None:
    write_atomic(path, json.dumps(asdict(push), indent=1) + "\n", durable=True)


def push(
    service: str,
    rendered: Rendered,
    *,
    record: Path,
    environ: Mapping[str, str],
    send: bool = False,
    buttondown_api_url: str = "https://api.buttondown.com/v1",
    listmonk_url: str | None = None,
    listmonk_lists: tuple[int, ...] = (),
    title: str = "",
    from_address: str | None = None,
    force_channel: bool = False,
) -> Push:
    """Create or update the issue's draft at ``service``; with ``send``, then send it, unless
    the issue went out through another channel (``force_channel`` sends it all the same)."""
    if service not in SERVICES:
        raise ServiceError(f"unknown service {service!r}: use one of {', '.join(SERVICES)}")
    previous = read_record(record)
    if previous is not None and previous.status == "sent":
        raise ServiceError(
            f"issue {rendered.number} was already sent through {service} "
            f"(campaign {previous.id}, {record}); it is never sent twice"
        )
    if send:
        try:  # before the service is touched
            refuse_another(record.parent, rendered.number, service, force=force_channel)
        except ChannelError as error:
            raise ServiceError(str(error)) from None
    existing = previous.id if previous else None
    if service == "buttondown":
        client: _Client = _Buttondown(buttondown_api_url, _secret(environ, BUTTONDOWN_KEY))
    else:
        if not listmonk_url:
            raise ServiceError("set CHORUS_LISTMONK_URL to your listmonk's address")
        if not listmonk_lists:
            raise ServiceError("set CHORUS_LISTMONK_LISTS to the ids of the lists to send to")
        client = _Listmonk(
            listmonk_url,
            _secret(environ, LISTMONK_USER),
            _secret(environ, LISTMONK_TOKEN),
            listmonk_lists,
            name=f"{title} #{rendered.number}".strip(),
            from_address=from_address,
        )
    identifier = client.save(rendered, existing)
    result = Push(service, identifier, "draft", datetime.now(UTC).isoformat())
    write_record(record, result)  # the draft exists now, whatever happens next
    if send:
        try:
            claim(record.parent, rendered.number, service, force=force_channel)
        except ChannelError as error:
            raise ServiceError(str(error)) from None
        client.send(identifier)
        result = Push(service, identifier, "sent", datetime.now(UTC).isoformat())
        write_record(record, result)
    return result


def _secret(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name)
    if not value:
        raise ServiceError(f"set {name} in the environment (never in a file in the repository)")
    return value


class _Client:
    def __init__(self, base: str, authorization: str, service: str) -> None:
        self.base = base.rstrip("/")
        self.authorization = authorization
        self.service = service

    def save(self, rendered: Rendered, existing: str | None) -> str:
        raise NotImplementedError

    def send(self, identifier: str) -> None:
        raise NotImplementedError

    def request(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(
            self.base + path,
            data=json.dumps(body).encode("utf-8"),
            method=method,
            headers={
                "Authorization": self.authorization,
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": f"Chorus/{__version__} newsletter",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                text = response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            detail = error.read().decode("utf-8", "replace")[:500]
            raise ServiceError(
                f"{self.service} answered {error.code} to {method} {path}: {detail or error.reason}"
            ) from None
        except (urllib.error.URLError, OSError) as error:
            raise ServiceError(f"cannot reach {self.service} at {self.base}: {error}") from None
        try:
            data = json.loads(text) if text.strip() else {}
        except ValueError:
            raise ServiceError(f"{self.service} answered {method} {path} with no JSON") from None
        return data if isinstance(data, dict) else {}


class _Buttondown(_Client):
    """https://docs.buttondown.com/api-emails-introduction: POST /emails creates an email,
    PATCH /emails/<id> edits it; a status of ``about_to_send`` sends it."""

    def __init__(self, base: str, key: str) -> None:
        super().__init__(base, f"Token {key}", "Buttondown")

    def save(self, rendered: Rendered, existing: str | None) -> str:
        body = {
            "subject": rendered.subject,
            "body": rendered.html,
            "description": rendered.preheader,
            "status": "draft",
        }
        if existing:
            data = self.request("PATCH", f"/emails/{existing}", body)
        else:
            data = self.request("POST", "/emails", body)
        identifier = data.get("id") or existing
        if not identifier:
            raise ServiceError("Buttondown created the email but did not say its id")
        return str(identifier)

    def send(self, identifier: str) -> None:
        self.request("PATCH", f"/emails/{identifier}", {"status": "about_to_send"})


class _Listmonk(_Client):
    """https://listmonk.app/docs/apis/campaigns/: POST /api/campaigns creates a draft
    campaign, PUT /api/campaigns/<id> updates it, PUT .../status {"status": "running"} sends."""

    def __init__(
        self,
        base: str,
        user: str,
        token: str,
        lists: tuple[int, ...],
        *,
        name: str,
        from_address: str | None,
    ) -> None:
        credentials = base64.b64encode(f"{user}:{token}".encode()).decode()
        super().__init__(base, f"Basic {credentials}", "listmonk")
        self.lists = list(lists)
        self.name = name
        self.from_address = from_address

    def save(self, rendered: Rendered, existing: str | None) -> str:
        body: dict[str, Any] = {
            "name": self.name or rendered.subject,
            "subject": rendered.subject,
            "lists": self.lists,
            "type": "regular",
            "content_type": "html",
            "body": rendered.html,
            "altbody": rendered.text,
        }
        if self.from_address:
            body["from_email"] = self.from_address
        if existing:
            data = self.request("PUT", f"/api/campaigns/{existing}", body)
        else:
            data = self.request("POST", "/api/campaigns", body)
        campaign = data.get("data") if isinstance(data.get("data"), dict) else {}
        identifier = campaign.get("id") or existing
        if not identifier:
            raise ServiceError("listmonk created the campaign but did not say its id")
        return str(identifier)

    def send(self, identifier: str) -> None:
        self.request("PUT", f"/api/campaigns/{identifier}/status", {"status": "running"})
