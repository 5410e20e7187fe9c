"""Addresses an HTTP endpoint of Batcher listens on (``batcher serve --listen``, the intake).

Loopback by default: what ``batcher serve`` tells about a workspace (its counts, who drives it)
is for this machine unless the user says otherwise, so a non-loopback address is refused
unless explicitly allowed. Pure: no I/O, no name lookups.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from batcher_gui.domain.errors import InvalidInput

#: Names that mean this machine only. Other names are not looked up: refused unless public.
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


@dataclass(frozen=True, slots=True)
class ListenAddress:
    """A host and port to listen on (port 0: any free port)."""

    host: str
    port: int

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    def url(self, port: int | None = None) -> str:
        """``http://host:port`` (IPv6 hosts in brackets); ``port`` overrides (the bound one)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port if port is None else port}"

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def is_loopback(host: str) -> bool:
    """True for an address (or a well-known name) that only this machine can reach."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_listen(text: str, *, option: str = "--listen") -> ListenAddress:
    """``HOST:PORT``, ``[IPv6]:PORT`` or ``:PORT`` (loopback) into a :class:`ListenAddress`.

    Raises InvalidInput saying what is wrong and what is expected.
    """
    value = text.strip()
    expected = f"{option} takes HOST:PORT (e.g. 127.0.0.1:9187 or [::1]:9187), not {text!r}"
    if value.startswith("["):
        host, sep, rest = value[1:].partition("]")
        if not sep or not rest.startswith(":"):
            raise InvalidInput(expected)
        port_text = rest[1:]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise InvalidInput(f"{option}: {host!r} is not an IPv6 address") from None
    else:
        host, sep, port_text = value.rpartition(":")
        if not sep or ":" in host:
            raise InvalidInput(expected)
        host = host or "127.0.0.1"
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise InvalidInput(f"{option}: the port must be a number from 0 to 65535, not "
                           f"{port_text!r}")
    if not host or any(c.isspace() or c in "/?#@" for c in host):
        raise InvalidInput(expected)
    return ListenAddress(host, int(port_text))


def require_loopback(address: ListenAddress, *, allowed: bool, option: str = "--listen",
                     allow_flag: str = "--listen-public") -> None:
    """Refuse a non-loopback address unless ``allowed`` (the user gave ``allow_flag``)."""
    if address.loopback or allowed:
        return
    raise InvalidInput(
        f"{option} {address} would answer other machines too (it is not a loopback "
        f"address): give {allow_flag} as well if that is meant (e.g. in a container, behind a "
        f"firewall), or listen on 127.0.0.1")
