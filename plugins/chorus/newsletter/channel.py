"""Which channel an issue went out through: one record per issue, beside the send ledger.

An issue goes to the subscribers through one channel (SMTP, Buttondown or listmonk): a second
one would give everyone on both lists a second copy. ``claim`` records the channel before the
first message leaves and refuses any other, unless the caller forces it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from chorus.common.files import write_atomic

CHANNELS = ("smtp", "buttondown", "listmonk")
FORCE_OPTION = "--force-second-channel"


class ChannelError(Exception):
    """The issue went out through another channel; the message says which and how to force."""


def record_path(ledger_dir: Path, number: int) -> Path:
    return ledger_dir / f"{number:04d}.channel.json"


def channels(ledger_dir: Path, number: int) -> list[str]:
    """The channels issue ``number`` went out through, in order (none yet: empty)."""
    return [str(entry["channel"]) for entry in _entries(record_path(ledger_dir, number))]


def refuse_another(ledger_dir: Path, number: int, channel: str, *, force: bool = False) -> None:
    """Raise ChannelError if issue ``number`` went out through a channel other than this one."""
    used = channels(ledger_dir, number)
    if channel not in used and used and not force:
        raise ChannelError(
            f"issue {number} went out through {' and '.join(used)} already "
            f"({record_path(ledger_dir, number)}): sending it through {channel} too would give "
            f"every subscriber on both a second copy. Pass {FORCE_OPTION} if you mean it"
        )


def claim(ledger_dir: Path, number: int, channel: str, *, force: bool = False) -> None:
    """Record that issue ``number`` goes out through ``channel``; refuse a second channel."""
    refuse_another(ledger_dir, number, channel, force=force)
    path = record_path(ledger_dir, number)
    if channel in channels(ledger_dir, number):
        return
    entries = [*_entries(path), {"channel": channel, "since": datetime.now(UTC).isoformat()}]
    text = json.dumps({"issue": number, "channels": entries}, indent=1) + "\n"
    write_atomic(path, text, durable=True)


def _entries(path: Path) -> list[dict[str, str]]:
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))["channels"]
        if not all(isinstance(e, dict) and e.get("channel") in CHANNELS for e in entries):
            raise ValueError("an entry names no known channel")
    except FileNotFoundError:
        return []
    except (ValueError, KeyError, TypeError) as error:
        raise ChannelError(f"{path} is not a channel record ({error}); fix or remove it") from None
    return entries
