"""Listen addresses: what is parsed, what counts as loopback, what is refused and why."""

from __future__ import annotations

import pytest

from batcher_gui.domain.errors import InvalidInput
from batcher_gui.domain.listen import ListenAddress, is_loopback, parse_listen, require_loopback


@pytest.mark.parametrize(("text", "host", "port", "loopback"), [
    ("127.0.0.1:9187", "127.0.0.1", 9187, True),
    ("127.8.9.10:1", "127.8.9.10", 1, True),
    (":9187", "127.0.0.1", 9187, True),
    ("localhost:0", "localhost", 0, True),
    ("[::1]:9187", "::1", 9187, True),
    ("0.0.0.0:9187", "0.0.0.0", 9187, False),
    ("[::]:80", "::", 80, False),
    ("10.1.2.3:65535", "10.1.2.3", 65535, False),
    ("db.example.com:9187", "db.example.com", 9187, False),
])
def test_addresses_parse(text: str, host: str, port: int, loopback: bool) -> None:
    address = parse_listen(text)
    assert (address.host, address.port, address.loopback) == (host, port, loopback)


@pytest.mark.parametrize(("text", "said"), [
    ("9187", "takes HOST:PORT"),
    ("127.0.0.1", "takes HOST:PORT"),
    ("::1:9187", "takes HOST:PORT"),
    ("[::1]9187", "takes HOST:PORT"),
    ("[nothost]:1", "is not an IPv6 address"),
    ("127.0.0.1:http", "the port must be a number"),
    ("127.0.0.1:70000", "the port must be a number"),
    ("127.0.0.1:-1", "the port must be a number"),
    ("user@host:1", "takes HOST:PORT"),
    ("http://127.0.0.1:1", "takes HOST:PORT"),
])
def test_bad_addresses_say_what_is_expected(text: str, said: str) -> None:
    with pytest.raises(InvalidInput, match=said):
        parse_listen(text)


def test_urls_bracket_ipv6_and_use_the_bound_port() -> None:
    assert ListenAddress("::1", 0).url(4321) == "http://[::1]:4321"
    assert ListenAddress("127.0.0.1", 9187).url() == "http://127.0.0.1:9187"
    assert str(ListenAddress("::1", 5)) == "[::1]:5"


def test_public_addresses_need_the_flag() -> None:
    require_loopback(parse_listen("127.0.0.1:1"), allowed=False)
    require_loopback(parse_listen("0.0.0.0:1"), allowed=True)
    with pytest.raises(InvalidInput, match="give --intake-public as well"):
        require_loopback(parse_listen("0.0.0.0:1"), allowed=False, option="--intake",
                         allow_flag="--intake-public")
    assert not is_loopback("localhost.example.com") and is_loopback("LOCALHOST")
