"""E-mail addresses from hostile text: exactly one address per line, or a reason why not.

A subscriber line, a ``send --to`` argument and the configured sender all come through here.
Nothing in a display name can change where mail goes: control characters (a bare CR splits a
header in some parsers), a second address, a group or an address hidden behind a name refuse
the whole line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.errors import NonASCIILocalPartDefect
from email.headerregistry import HeaderRegistry

import idna

# C0 and C1 controls and the Unicode line and paragraph separators: str.splitlines() and
# some mail parsers break lines at each of them.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_ADDRESS = re.compile(r"^[^@\s<>\"(),;:\[\]\\]+@[^@\s<>\"(),;:\[\]\\]+\.[^@\s<>\"(),;:\[\]\\]+$")
_HEADERS = HeaderRegistry()


class AddressError(ValueError):
    """Not exactly one usable e-mail address; the message says why."""


@dataclass(frozen=True)
class Subscriber:
    """One address of the list, as written there (Unicode allowed), and its display name."""

    address: str
    name: str = ""

    @property
    def key(self) -> str:
        """Addresses compare without regard to case (as every real mailbox does)."""
        return self.address.casefold()

    @property
    def wire(self) -> str:
        """The address for RCPT TO and the To header: the domain in IDNA (ASCII)."""
        return ascii_domain(self.address)

    @property
    def needs_smtputf8(self) -> bool:
        """A non-ASCII local part can only travel over a server that offers SMTPUTF8."""
        return not self.wire.isascii()


def control_character(text: str) -> str | None:
    """The first control character in ``text``, named (``CR``, ``LF``, ``U+0000``), or None."""
    found = _CONTROL.search(text)
    if found is None:
        return None
    return {"\r": "CR", "\n": "LF", "\t": "TAB"}.get(found[0], f"U+{ord(found[0]):04X}")


def parse_address(text: str) -> Subscriber:
    """Exactly one address from ``address``, ``<address>`` or ``Name <address>``."""
    control = control_character(text)
    if control is not None:
        raise AddressError(f"holds a control character ({control}), which could split headers")
    try:
        header = _HEADERS("to", text)
        addresses = header.addresses
    except (ValueError, IndexError):  # an encoded word in the name that decodes to CR/LF
        raise AddressError("is not an e-mail address") from None
    if len(addresses) > 1:
        raise AddressError(f"holds {len(addresses)} addresses: write one address a line")
    if any(group.display_name is not None for group in header.groups):
        raise AddressError("is a group (``name: address;``), not one address")
    defects = [d for d in header.defects if not isinstance(d, NonASCIILocalPartDefect)]
    if not addresses or defects or not _ADDRESS.match(addresses[0].addr_spec):
        raise AddressError("is not an e-mail address")
    address = addresses[0].addr_spec
    try:
        ascii_domain(address)
    except idna.IDNAError as error:
        raise AddressError(f"has a domain that is not a valid name ({error})") from None
    return Subscriber(address, addresses[0].display_name)


def ascii_domain(address: str) -> str:
    """``address`` with its domain in IDNA 2008 (punycode), which every server understands."""
    local, _, domain = address.rpartition("@")
    if domain.isascii():
        return address
    return f"{local}@{idna.encode(domain, uts46=True).decode('ascii')}"
