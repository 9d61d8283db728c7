"""Sending the newsletter: a real SMTP server (aiosmtpd) on 127.0.0.1 receives the messages and
the tests parse them back; runs cut off by a dying server or a killed sender resume with every
address served exactly once; drafts pushed to an HTTP API on 127.0.0.1."""

from __future__ import annotations

import email
import email.policy
import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from bs4 import BeautifulSoup

from chorus.newsletter import send as send_module
from chorus.newsletter.issue import read_issue, update_issue
from chorus.newsletter.send import SendError, SmtpSettings
from chorus.newsletter.settings import NewsletterConfig
from newsletter_helpers import (
    INTRO,
    SITE_URL,
    make_issue,
    publish,
    write_intro,
)

SUBSCRIBERS = [f"reader{n}@example.org" for n in range(10)]


@pytest.fixture(autouse=True)
def _quick_retries_no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    # A dropped server is retried after these pauses (seconds), not the real ones.
    monkeypatch.setattr(send_module, "RETRY_DELAYS", (0.05, 0.2))
    for name in ("CHORUS_SMTP_USER", "CHORUS_SMTP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)


# A real SMTP server -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """An aiosmtpd handler: keeps every message it accepts, with its envelope and arrival."""

    def __init__(self) -> None:
        self.accepted: list[tuple[str, list[str], bytes, float]] = []
        self.refuse: set[str] = set()  # 550 to RCPT
        self.refuse_data: set[str] = set()  # 554 to DATA
        self.defer: dict[str, int] = {}  # 451 to RCPT this many more times (-1: always)
        self.attempts: list[str] = []  # every RCPT, in order
        self.mail_options: list[list[str]] = []  # of each message accepted
        # Called on each DATA before accepting; a returned reply string is sent instead.
        self.before_accept: Any = None
        self.logins: list[tuple[bytes, bytes]] = []

    async def handle_RCPT(self, server, session, envelope, address, options):
        self.attempts.append(address)
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        if self.defer.get(address, 0):
            self.defer[address] -= 1
            return "451 4.7.1 greylisted, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.before_accept is not None:
            reply = self.before_accept(server)
            if reply:
                return reply
        if set(envelope.rcpt_tos) & self.refuse_data:
            return "554 5.7.1 message refused as spam"
        self.mail_options.append(list(envelope.mail_options))
        self.accepted.append(
            (envelope.mail_from, list(envelope.rcpt_tos), envelope.content, time.monotonic())
        )
        return "250 OK: queued"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        self.logins.append((auth_data.login, auth_data.password))
        ok = (auth_data.login, auth_data.password) == (b"editor", b"s3cret")
        return AuthResult(success=ok, handled=False)  # let the server answer 535

    def recipients(self) -> list[str]:
        return [to for _, tos, _, _ in self.accepted for to in tos]

    def messages(self) -> list[email.message.EmailMessage]:
        return [
            email.message_from_bytes(content, policy=email.policy.default)
            for _, _, content, _ in self.accepted
        ]


class SmtpServer:
    def __init__(self, inbox: Inbox, **options: Any) -> None:
        self.inbox = inbox
        self.port = free_port()
        self.controller = Controller(inbox, hostname="127.0.0.1", port=self.port, **options)
        self.running = False
        self.lock = threading.Lock()

    def start(self) -> SmtpServer:
        self.controller.start()
        self.running = True
        return self

    def stop(self) -> None:
        with self.lock:
            if self.running:
                self.running = False
                self.controller.stop()


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def smtp_server(inbox):
    server = SmtpServer(inbox).start()
    yield server
    server.stop()


@pytest.fixture
def sending(community, cli, smtp_server, tmp_path):
    """The community site with a ready issue, a list of 10 subscribers and the test server."""
    subscribers = tmp_path / "private" / "subscribers.txt"
    subscribers.parent.mkdir()
    subscribers.write_text(
        "# the demo list\n" + "\n".join(SUBSCRIBERS[:5]) + "\nReader Six <reader5@example.org>\n"
        + "\n".join(SUBSCRIBERS[6:]) + "\nREADER0@example.org\nnot an address\n"
    )  # fmt: skip
    use_server(community, smtp_server.port, subscribers=str(subscribers))
    path = make_issue(community, cli)
    return community, path


def use_server(site: Any, port: int, **settings: Any) -> None:
    options = {
        "CHORUS_SMTP_HOST": "127.0.0.1",
        "CHORUS_SMTP_PORT": port,
        "CHORUS_SMTP_SECURITY": "none",
        "CHORUS_NEWSLETTER_RATE": 1000,
        "CHORUS_NEWSLETTER_LEDGER_DIR": str(site.root / "private" / "ledger"),
    }
    if "subscribers" in settings:
        options["CHORUS_NEWSLETTER_SUBSCRIBERS"] = settings.pop("subscribers")
    publish(site, **{**options, **settings})


def ledger_lines(site: Any) -> list[dict[str, str]]:
    path = site.root / "private" / "ledger" / "0001.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# Sending ----------------------------------------------------------------------------------


def test_every_subscriber_gets_one_well_formed_message(sending, cli, inbox):
    site, path = sending
    result = cli("newsletter", "send")
    assert "10 sent now" in result.output
    output = " ".join(result.output.split())
    assert "subscribers.txt:13: 'not an address' is not an e-mail address; line refused" in output
    assert "READER0@example.org is already on line 2; it gets one copy" in output
    assert sorted(inbox.recipients()) == sorted(SUBSCRIBERS)
    messages = inbox.messages()
    ids = [message["Message-ID"] for message in messages]
    assert len(set(ids)) == 10
    for (mail_from, [to], _, _), message in zip(inbox.accepted, messages, strict=True):
        assert mail_from == "newsletter@loom.example"
        assert message["To"] == to
        assert message.get_content_type() == "multipart/alternative"
        plain, html = list(message.iter_parts())
        assert (plain.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
        assert message["List-Id"] == '"The Loom Collective newsletter" <newsletter.loom.example>'
        unsubscribe = f"https://lists.loom.example/unsubscribe?address={to}"
        assert message["List-Unsubscribe"] == f"<{unsubscribe}>"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        page = BeautifulSoup(html.get_content(), "html.parser")
        links = {a["href"] for a in page.find_all("a", href=True)}
        assert unsubscribe in links and f"{SITE_URL}/newsletter/1/" in links
        text = plain.get_content()
        assert all(link in text for link in links), links - {u for u in links if u in text}
        assert all(link.startswith("https://") for link in links)
    assert {line["address"] for line in ledger_lines(site)} == set(SUBSCRIBERS)
    issue, _ = read_issue(path)
    assert issue.status == "sent"
    again = cli("newsletter", "send")
    assert "Nothing to send: all 10 subscriber(s) have issue 1" in " ".join(again.output.split())
    assert len(inbox.accepted) == 10


def test_a_server_that_dies_mid_send_then_a_resumed_run_serves_the_rest_once(
    sending, cli, inbox, smtp_server
):
    site, path = sending

    def die_after_three(server: Any) -> str | None:
        if len(inbox.accepted) < 3:
            return None
        if smtp_server.running:
            threading.Thread(target=smtp_server.stop, daemon=True).start()
        return "421 4.3.2 shutting down"  # to this message, and any that comes before it is down

    inbox.before_accept = die_after_three
    stopped = cli("newsletter", "send", expect=1)
    output = " ".join(stopped.output.split())
    assert "3 sent now" in output and "7 not tried" in output and "Run the same command" in output
    assert len(ledger_lines(site)) == 3
    assert read_issue(path)[0].status == "ready"

    second = Inbox()
    replacement = SmtpServer(second).start()
    try:
        use_server(site, replacement.port)
        resumed = cli("newsletter", "send")
    finally:
        replacement.stop()
    assert "7 sent now, 3 had it already" in " ".join(resumed.output.split())
    delivered = Counter(inbox.recipients() + second.recipients())
    assert delivered == Counter(SUBSCRIBERS)  # everyone, exactly once
    assert len(ledger_lines(site)) == 10
    assert read_issue(path)[0].status == "sent"


def test_a_dropped_connection_is_reopened_in_the_same_run(sending, cli, inbox):
    dropped = []

    def drop_once(server: Any) -> str | None:
        if len(inbox.accepted) == 4 and not dropped:
            dropped.append(True)
            server.transport.close()  # hang up before answering: nothing was accepted
            return "250 never heard"
        return None

    inbox.before_accept = drop_once
    result = cli("newsletter", "send")
    assert dropped and "10 sent now" in " ".join(result.output.split())
    assert Counter(inbox.recipients()) == Counter(SUBSCRIBERS)


def test_a_killed_sender_resumes_with_nothing_lost_and_nothing_twice(sending, cli, inbox):
    site, _ = sending
    victim: dict[str, subprocess.Popen[bytes]] = {}

    def kill_sender_after_four(server: Any) -> str | None:
        if len(inbox.accepted) == 4:
            inbox.before_accept = None
            os.kill(victim["process"].pid, signal.SIGKILL)
            return "451 4.3.0 try again later"
        return None

    inbox.before_accept = kill_sender_after_four
    victim["process"] = subprocess.Popen(
        [sys.executable, "-m", "chorus", "--settings", str(site.settings_file), "newsletter",
         "send", "--no-progress"],
        cwd=site.root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    assert victim["process"].wait(timeout=60) == -signal.SIGKILL
    assert len(inbox.accepted) == 4 and len(ledger_lines(site)) == 4

    resumed = cli("newsletter", "send")
    assert "6 sent now, 4 had it already" in " ".join(resumed.output.split())
    assert Counter(inbox.recipients()) == Counter(SUBSCRIBERS)


def write_ledger(site: Any, text: str) -> Path:
    path = site.root / "private" / "ledger" / "0001.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def delivered_line(address: str) -> str:
    return json.dumps({"address": address, "message_id": f"<{address}>", "sent_at": "now"})


@pytest.mark.parametrize(
    ("torn", "resent"),
    [
        ('{"address": "reader3@example.org", "message_id": "<issue-0', []),
        ('{"addr', ["reader3@example.org"]),
    ],
    ids=["address-whole", "address-torn"],
)
def test_a_torn_last_ledger_line_is_repaired_on_resume(sending, cli, inbox, caplog, torn, resent):
    """A kill in the middle of a ledger write leaves half a line; the next run mends it."""
    site, path = sending
    lines = [delivered_line(address) for address in SUBSCRIBERS[:3]]
    ledger = write_ledger(site, "\n".join(lines) + "\n" + torn)
    result = cli("newsletter", "send")
    assert sorted(inbox.recipients()) == sorted(resent + SUBSCRIBERS[4:])
    assert "torn last line" in caplog.text
    text = ledger.read_text()
    assert text.endswith("\n")
    records = [json.loads(line) for line in text.splitlines()]  # every line whole
    assert Counter(r["address"] for r in records) == Counter(SUBSCRIBERS)
    assert "sent now" in result.output and read_issue(path)[0].status == "sent"
    caplog.clear()
    cli("newsletter", "list")
    cli("newsletter", "send")
    assert "unreadable ledger line" not in caplog.text and "torn" not in caplog.text


def test_permanent_refusals_are_recorded_and_never_retried(sending, cli, inbox):
    site, path = sending
    inbox.refuse = {"reader3@example.org"}
    inbox.refuse_data = {"reader5@example.org"}
    result = cli("newsletter", "send")
    output = " ".join(result.output.split())
    assert "refused reader3@example.org: 550 5.1.1 no such mailbox" in output
    assert "refused reader5@example.org: 554 5.7.1 message refused as spam" in output
    assert "8 sent now" in output and "2 refused for good" in output
    refused = {line["address"]: line["refused"] for line in ledger_lines(site) if "refused" in line}
    assert refused == {
        "reader3@example.org": "550 5.1.1 no such mailbox",
        "reader5@example.org": "554 5.7.1 message refused as spam",
    }
    assert read_issue(path)[0].status == "sent"  # everyone delivered or refused for good
    tried = len(inbox.attempts)
    again = " ".join(cli("newsletter", "send").output.split())
    assert "Nothing to send" in again and "refused reader3@example.org: 550" in again
    assert len(inbox.attempts) == tried  # never asked again
    listed = cli("newsletter", "list").output
    row = next(line for line in listed.splitlines() if line.strip().startswith("1 "))
    cells = [cell.strip() for cell in row.split("\u2502")]
    assert cells[5:8] == ["8", "2", "smtp"], listed  # delivered, refused, channel
    assert Counter(inbox.recipients()) == Counter(set(SUBSCRIBERS) - set(refused))


def test_temporary_refusals_are_retried_in_the_run_and_by_the_next(
    sending, cli, inbox, monkeypatch, caplog
):
    site, path = sending
    monkeypatch.setattr(send_module, "DEFERRED_DELAYS", (0.05, 0.1))
    inbox.defer = {"reader2@example.org": 2, "reader7@example.org": -1}  # twice; always
    result = cli("newsletter", "send", expect=1)
    output = " ".join(result.output.split())
    assert "deferred reader7@example.org: 451 4.7.1 greylisted" in output
    assert "9 sent now" in output and "1 deferred" in output and "0 refused" in output
    assert inbox.attempts.count("reader2@example.org") == 3  # delivered on its third try
    assert inbox.attempts.count("reader7@example.org") == 3
    waits = re.findall(r"refused for now; trying them again in ([0-9.]+)s", caplog.text)
    assert waits == ["0.05", "0.1"]  # backing off between the rounds
    assert "reader7@example.org" not in {line["address"] for line in ledger_lines(site)}
    assert read_issue(path)[0].status == "ready"
    inbox.defer = {}
    resumed = " ".join(cli("newsletter", "send").output.split())
    assert "1 sent now, 9 had it already" in resumed
    assert Counter(inbox.recipients()) == Counter(SUBSCRIBERS)
    assert read_issue(path)[0].status == "sent"


def test_the_rate_limit_spaces_messages(sending, cli, inbox):
    site, _ = sending
    use_server(site, inbox_port(site), CHORUS_NEWSLETTER_RATE=25)
    started = time.monotonic()
    cli("newsletter", "send")
    assert time.monotonic() - started >= 9 / 25
    assert len(inbox.accepted) == 10


def test_messages_leave_one_interval_apart(smtp_server, inbox, tmp_path):
    """The spacing itself, on a clock that moves only when the sender waits."""
    from email.message import EmailMessage

    now = [100.0]
    sent_at: list[float] = []

    def message(address: str) -> EmailMessage:
        sent_at.append(now[0])
        mail = EmailMessage()
        mail["Subject"], mail["Message-ID"] = "Rate", f"<{address}>"
        mail.set_content("hello")
        return mail

    def wait(seconds: float) -> None:
        now[0] += seconds

    report = send_module.send_issue(
        [send_module.Subscriber(address) for address in SUBSCRIBERS[:5]],
        send_module.Ledger(tmp_path, 1),
        make_message=message,
        envelope_from="newsletter@loom.example",
        smtp=SmtpSettings("127.0.0.1", smtp_server.port, "none"),
        rate=4,
        clock=lambda: now[0],
        sleep=wait,
    )
    assert report.complete and len(inbox.accepted) == 5
    gaps = [later - earlier for earlier, later in itertools.pairwise(sent_at)]
    assert gaps == pytest.approx([0.25] * 4)


def inbox_port(site: Any) -> int:
    return NewsletterConfig.from_settings(site.settings()).smtp_port


def test_dry_run_and_test_sends_leave_the_ledger_alone(sending, cli, inbox):
    site, _ = sending
    dry = " ".join(cli("newsletter", "send", "--dry-run").output.split())
    assert "would go to 10 of 10 subscriber(s)" in dry and "Nothing was sent" in dry
    assert inbox.accepted == []
    cli("newsletter", "send", "--to", "editor@loom.example")
    [(_, [to], _, _)] = inbox.accepted
    [message] = inbox.messages()
    assert to == "editor@loom.example" and message["Subject"].startswith("[Test] ")
    assert ledger_lines(site) == []


def test_credentials_come_from_the_environment(community, cli, inbox, tmp_path, monkeypatch):
    server = SmtpServer(inbox, authenticator=inbox.authenticate, auth_require_tls=False).start()
    try:
        subscribers = tmp_path / "list.txt"
        subscribers.write_text("one@example.org\n")
        use_server(community, server.port, subscribers=str(subscribers))
        make_issue(community, cli)
        monkeypatch.setenv("CHORUS_SMTP_USER", "editor")
        monkeypatch.setenv("CHORUS_SMTP_PASSWORD", "wrong")
        refused = cli("newsletter", "send", expect=1)
        assert "the server refused the login" in " ".join(refused.output.split())
        monkeypatch.setenv("CHORUS_SMTP_PASSWORD", "s3cret")
        cli("newsletter", "send")
        assert inbox.logins[-1] == (b"editor", b"s3cret")
        assert inbox.recipients() == ["one@example.org"]
    finally:
        server.stop()


def test_secrets_in_the_settings_file_are_refused(community, cli):
    community.write_settings(CHORUS_SMTP_PASSWORD="hunter2")
    result = cli("newsletter", "send", expect=2)
    assert "CHORUS_SMTP_PASSWORD is a secret" in " ".join(result.output.split())


def test_no_password_in_clear_over_the_network(community):
    community.write_settings(CHORUS_SMTP_HOST="mail.example.org", CHORUS_SMTP_SECURITY="none")
    config = NewsletterConfig.from_settings(community.settings())
    environment = {"CHORUS_SMTP_USER": "editor", "CHORUS_SMTP_PASSWORD": "s3cret"}
    with pytest.raises(SendError, match="clear text"):
        SmtpSettings.from_config(config, environment)
    with pytest.raises(SendError, match="set both"):
        SmtpSettings.from_config(config, {"CHORUS_SMTP_USER": "editor"})
    community.write_settings(CHORUS_SMTP_SECURITY="tls")
    settings = SmtpSettings.from_config(
        NewsletterConfig.from_settings(community.settings()), environment
    )
    assert (settings.port, settings.user) == (465, "editor")
    assert "s3cret" not in repr(settings)


@pytest.mark.parametrize(
    ("setting", "says"),
    [
        ({"CHORUS_NEWSLETTER_UNSUBSCRIBE_URL": None}, "UNSUBSCRIBE_URL is not set"),
        ({"CHORUS_NEWSLETTER_UNSUBSCRIBE_URL": "{{ unsubscribe_url }}"}, "placeholder"),
    ],
    ids=["no-unsubscribe-url", "service-placeholder"],
)
def test_send_needs_a_working_unsubscribe_url(sending, cli, inbox, setting, says):
    site, _ = sending
    site.write_settings(**setting)
    assert says in " ".join(cli("newsletter", "send", expect=1).output.split())
    assert inbox.accepted == []


def test_a_draft_is_not_sent(sending, cli, inbox):
    _, path = sending
    from chorus.newsletter.issue import update_issue

    update_issue(path, {"status": "draft"})
    assert "is a draft" in cli("newsletter", "send", expect=1).output
    assert inbox.accepted == []


# Newsletter services ----------------------------------------------------------------------


class ApiServer:
    """An HTTP API on 127.0.0.1 that records every request and answers from a table."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str], Any]] = []
        self.answers: dict[tuple[str, str], tuple[int, Any]] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                headers = {k.lower(): v for k, v in self.headers.items()}
                server.requests.append((self.command, self.path, headers, body))
                status, payload = server.answers.get((self.command, self.path), (404, {}))
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_PUT = answer

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"


@pytest.fixture
def api():
    server = ApiServer()
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture
def pushing(community, cli, api, monkeypatch, tmp_path):
    publish(
        community,
        CHORUS_NEWSLETTER_UNSUBSCRIBE_URL="{{ unsubscribe_url }}",
        CHORUS_BUTTONDOWN_API_URL=f"{api.base}/v1",
        CHORUS_LISTMONK_URL=api.base,
        CHORUS_LISTMONK_LISTS=[3, 5],
        CHORUS_NEWSLETTER_LEDGER_DIR=str(tmp_path / "ledger"),
    )
    monkeypatch.setenv("CHORUS_BUTTONDOWN_API_KEY", "bd-key")
    monkeypatch.setenv("CHORUS_LISTMONK_USER", "chorus")
    monkeypatch.setenv("CHORUS_LISTMONK_TOKEN", "lm-token")
    path = make_issue(community, cli)
    return community, path


def test_buttondown_gets_a_draft_and_sends_only_when_told(pushing, cli, api):
    _, path = pushing
    api.answers[("POST", "/v1/emails")] = (201, {"id": "em_1", "status": "draft"})
    api.answers[("PATCH", "/v1/emails/em_1")] = (200, {"id": "em_1"})
    first = cli("newsletter", "push", "--service", "buttondown").output
    assert "is a draft at buttondown (id em_1)" in first and "Nothing was sent" in first
    [(method, where, headers, body)] = api.requests
    assert (method, where) == ("POST", "/v1/emails")
    assert headers["authorization"] == "Token bd-key"
    assert body["status"] == "draft"
    assert body["subject"] == read_issue(path)[0].subject
    page = BeautifulSoup(body["body"], "html.parser")
    assert page.find("a", string="Unsubscribe")["href"] == "{{ unsubscribe_url }}"

    cli("newsletter", "push", "--service", "buttondown")  # updates the same draft
    assert [(m, p) for m, p, _, _ in api.requests][1:] == [("PATCH", "/v1/emails/em_1")]
    assert api.requests[-1][3]["status"] == "draft"
    assert read_issue(path)[0].status == "ready"

    cli("newsletter", "push", "--service", "buttondown", "--send")
    assert api.requests[-1][1:] == (
        "/v1/emails/em_1",
        api.requests[-1][2],
        {"status": "about_to_send"},
    )
    assert read_issue(path)[0].status == "sent"
    count = len(api.requests)
    again = cli("newsletter", "push", "--service", "buttondown", "--send", expect=1)
    assert "never sent twice" in again.output and len(api.requests) == count


def test_listmonk_gets_a_campaign_for_its_lists(pushing, cli, api):
    api.answers[("POST", "/api/campaigns")] = (200, {"data": {"id": 7, "status": "draft"}})
    api.answers[("PUT", "/api/campaigns/7")] = (200, {"data": {"id": 7}})
    api.answers[("PUT", "/api/campaigns/7/status")] = (200, {"data": {"id": 7}})
    cli("newsletter", "push", "--service", "listmonk")
    [(method, where, headers, body)] = api.requests
    assert (method, where) == ("POST", "/api/campaigns")
    assert headers["authorization"] == "Basic Y2hvcnVzOmxtLXRva2Vu"  # chorus:lm-token
    assert body["lists"] == [3, 5] and body["content_type"] == "html"
    assert body["type"] == "regular" and "Ada on looms" in body["altbody"]
    assert body["name"] == "The Loom Collective newsletter #1"
    cli("newsletter", "push", "--service", "listmonk", "--send")
    assert [(m, p) for m, p, _, _ in api.requests][1:] == [
        ("PUT", "/api/campaigns/7"),
        ("PUT", "/api/campaigns/7/status"),
    ]
    assert api.requests[-1][3] == {"status": "running"}


def test_a_service_error_is_reported_and_nothing_is_recorded(pushing, cli, api, tmp_path):
    api.answers[("POST", "/v1/emails")] = (400, {"detail": "subject is too long"})
    result = cli("newsletter", "push", "--service", "buttondown", expect=1)
    output = " ".join(result.output.split())
    assert "Buttondown answered 400" in output and "subject is too long" in output
    assert not (tmp_path / "ledger" / "0001.buttondown.json").exists()


def test_push_needs_the_services_credentials(pushing, cli, monkeypatch):
    monkeypatch.delenv("CHORUS_BUTTONDOWN_API_KEY")
    result = cli("newsletter", "push", "--service", "buttondown", expect=1)
    assert "set CHORUS_BUTTONDOWN_API_KEY in the environment" in " ".join(result.output.split())


def test_ledger_and_list_stay_out_of_the_site(sending, cli):
    site, _ = sending
    cli("newsletter", "send")
    site.build()
    assert not list(site.output.rglob("*.jsonl"))
    assert not [p for p in site.output.rglob("*") if "subscribers" in p.name]
    assert Path(site.root / "private" / "ledger" / "0001.jsonl").stat().st_mode & 0o077 == 0


# Hostile lists, headers and addresses ------------------------------------------------------


def test_a_list_line_goes_to_its_one_address_or_is_refused(sending, cli, inbox, tmp_path):
    """A bare CR, a second address, a group or an address behind a name: never a recipient."""
    listed = tmp_path / "hostile.txt"
    listed.write_bytes(
        b"first@example.org\n"
        b"Evil Name\rBcc: victim@attacker.example <ok@example.org>\n"
        b"a@example.org, b@attacker.example\n"
        b"Group: c@attacker.example;\n"
        b"d@attacker.example <e@example.org>\n"
        b'"Bcc: f@attacker.example" <named@example.org>\n'
        b"crlf@example.org\r\n"
        b"Ren\xe9 <latin1@example.org>\n"  # saved in Latin-1: that line, not the send
    )
    result = cli("newsletter", "send", "--subscribers", str(listed))
    output = " ".join(result.output.split())
    assert sorted(inbox.recipients()) == [
        "crlf@example.org",
        "first@example.org",
        "named@example.org",
    ]
    assert "hostile.txt:8: not UTF-8" in output
    assert "hostile.txt:2:" in output and "control character (CR)" in output
    assert "hostile.txt:3:" in output and "holds 2 addresses" in output
    assert "hostile.txt:4:" in output and "is a group" in output
    assert "hostile.txt:5:" in output and "line refused" in output
    for message, (_, [to], _, _) in zip(inbox.messages(), inbox.accepted, strict=True):
        assert message["To"] == to and message["Bcc"] is None
        assert "attacker" not in str(message["To"])


@pytest.mark.parametrize(
    "to", ["foo", "a@example.org, b@example.org", "a@example.org\r\nBcc: v@attacker.example"]
)
def test_a_test_send_address_is_checked_like_a_list_line(sending, cli, inbox, to):
    result = cli("newsletter", "send", "--to", to, expect=2)
    assert "--to" in result.output and "Traceback" not in result.output
    assert inbox.attempts == []


def test_line_breaks_in_the_subject_or_the_sender_are_named(sending, cli, inbox):
    site, path = sending
    text = path.read_text(encoding="utf-8")
    update_issue(path, {"subject": "Loom\rBcc: v@attacker.example"})
    assert r'"Loom\rBcc: v@attacker.example"' in path.read_text()  # escaped: one line
    for command in ("check", "email", "send"):
        result = cli("newsletter", command, expect=1)
        output = " ".join(result.output.split())
        assert f"{path.name}: subject: holds a control character (CR)" in output, command
        assert result.exception is None or isinstance(result.exception, SystemExit)
    path.write_text(text)
    for setting in ("CHORUS_NEWSLETTER_FROM", "CHORUS_NEWSLETTER_TITLE"):
        site.write_settings(**{setting: "Loom\r\nBcc: v@attacker.example <news@loom.example>"})
        for command in ("check", "email", "send"):
            output = " ".join(cli("newsletter", command, expect=2).output.split())
            assert "pelicanconf.py" in output and f"{setting} holds a control character" in output
        site.write_settings(**{setting: None})
    assert inbox.attempts == []


def test_an_address_with_non_ascii_characters(community, cli, tmp_path):
    """IDNA for the domain always; SMTPUTF8 for the local part when the server offers it, else
    that one address is refused and recorded, and the rest get the issue."""
    listed = tmp_path / "list.txt"
    listed.write_text(
        "first@example.org\njosé@example.test\nana@münchen.example\nlast@example.org\n",
        encoding="utf-8",
    )
    plain = Inbox()
    server = SmtpServer(plain, enable_SMTPUTF8=False).start()
    try:
        use_server(community, server.port, subscribers=str(listed))
        path = make_issue(community, cli)
        output = " ".join(cli("newsletter", "send").output.split())
    finally:
        server.stop()
    assert plain.recipients() == [
        "first@example.org",
        "ana@xn--mnchen-3ya.example",
        "last@example.org",
    ]
    assert "refused josé@example.test: the server does not offer SMTPUTF8" in output
    [refusal] = [line for line in ledger_lines(community) if "refused" in line]
    assert refusal["address"] == "josé@example.test" and "SMTPUTF8" in refusal["refused"]
    assert read_issue(path)[0].status == "sent"

    update_issue(path, {"status": "ready"})
    (community.root / "private" / "ledger" / "0001.jsonl").unlink()
    utf8 = Inbox()
    server = SmtpServer(utf8).start()  # aiosmtpd's Controller offers SMTPUTF8
    try:
        use_server(community, server.port, subscribers=str(listed))
        cli("newsletter", "send")
    finally:
        server.stop()
    assert "josé@example.test" in utf8.recipients()
    [message] = [m for m in utf8.messages() if "jos" in m["To"]]
    assert message["To"] == "josé@example.test"
    assert "SMTPUTF8" in utf8.mail_options[utf8.recipients().index("josé@example.test")]


def test_every_message_and_the_eml_are_7bit_with_short_lines(sending, cli, inbox, tmp_path):
    _, path = sending
    long_line = "Zoë wove a très long line " * 60  # one paragraph, far over 76 characters
    write_intro(path, INTRO + "\n" + long_line + "\n")
    cli("newsletter", "send")
    cli("newsletter", "email", "-o", str(tmp_path / "out"))
    eml = (tmp_path / "out" / "issue-0001.eml").read_bytes()
    for raw in [content for _, _, content, _ in inbox.accepted] + [eml]:
        assert raw.isascii()  # nothing 8-bit, whatever the server offered
        message = email.message_from_bytes(raw, policy=email.policy.default)
        for part in message.iter_parts():
            assert part["Content-Transfer-Encoding"] == "quoted-printable"
            body = part.as_bytes().split(b"\n\n", 1)[1]
            assert max(len(line.rstrip(b"\r")) for line in body.split(b"\n")) <= 76
        plain = message.get_body(preferencelist=("plain",)).get_content()
        assert "Zoë wove a très long line" in plain
    assert all("BODY=8BITMIME" not in options for options in inbox.mail_options)


# One channel per issue -------------------------------------------------------------------


def test_an_issue_sent_over_smtp_is_not_sent_again_through_a_service(
    sending, cli, inbox, api, monkeypatch
):
    site, _ = sending
    site.write_settings(CHORUS_BUTTONDOWN_API_URL=f"{api.base}/v1")
    cli("newsletter", "send")
    api.answers[("POST", "/v1/emails")] = (201, {"id": "em_1"})
    api.answers[("PATCH", "/v1/emails/em_1")] = (200, {"id": "em_1"})
    monkeypatch.setenv("CHORUS_BUTTONDOWN_API_KEY", "bd-key")
    refused = cli("newsletter", "push", "--service", "buttondown", "--send", expect=1)
    assert "went out through smtp already" in " ".join(refused.output.split())
    assert "--force-second-channel" in refused.output and api.requests == []
    cli("newsletter", "push", "--service", "buttondown")  # a draft sends nothing: allowed
    forced = cli(
        "newsletter", "push", "--service", "buttondown", "--send", "--force-second-channel"
    )
    assert "sent issue 1 through buttondown" in forced.output
    assert api.requests[-1][3] == {"status": "about_to_send"}
    record = json.loads((site.root / "private" / "ledger" / "0001.channel.json").read_text())
    assert [entry["channel"] for entry in record["channels"]] == ["smtp", "buttondown"]
    assert len(inbox.accepted) == 10


def test_an_issue_sent_through_a_service_is_not_sent_again_over_smtp(
    pushing, cli, api, smtp_server, inbox, tmp_path
):
    site, _ = pushing
    api.answers[("POST", "/api/campaigns")] = (200, {"data": {"id": 7}})
    api.answers[("PUT", "/api/campaigns/7/status")] = (200, {"data": {"id": 7}})
    cli("newsletter", "push", "--service", "listmonk", "--send")
    listed = tmp_path / "list.txt"
    listed.write_text("\n".join(SUBSCRIBERS) + "\n")
    site.write_settings(
        CHORUS_SMTP_HOST="127.0.0.1",
        CHORUS_SMTP_PORT=smtp_server.port,
        CHORUS_SMTP_SECURITY="none",
        CHORUS_NEWSLETTER_UNSUBSCRIBE_URL="https://lists.loom.example/unsubscribe?a={email}",
        CHORUS_NEWSLETTER_SUBSCRIBERS=str(listed),
    )
    refused = " ".join(cli("newsletter", "send", expect=1).output.split())
    assert "issue 1 went out through listmonk already" in refused
    assert inbox.attempts == []
    buttondown = cli("newsletter", "push", "--service", "buttondown", "--send", expect=1)
    assert "went out through listmonk" in " ".join(buttondown.output.split())
    assert all("/v1/" not in where for _, where, _, _ in api.requests)
    cli("newsletter", "send", "--force-second-channel")
    assert sorted(inbox.recipients()) == sorted(SUBSCRIBERS)
