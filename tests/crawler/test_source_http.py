"""XSource over a real loopback socket: the host rewrite, the timeout, a dropped connection."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from botsweep.crawler.clock import FakeClock
from botsweep.crawler.source import XSource
from botsweep.errors import Transient, Unreachable

KEY = "SIM_TOKEN"
TOKEN = "loopback-secret-token-42"


class _Handler(BaseHTTPRequestHandler):
    release = threading.Event()
    seen: list[tuple[str, str | None]] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.seen.append((self.path, self.headers.get("Authorization")))
        if self.path.startswith("/2/users/1/followers"):
            self.release.wait(5)  # hangs until the test is over: the client must time out
            return
        if self.path.startswith("/2/users/2/followers"):
            self.connection.shutdown(socket.SHUT_RDWR)  # drop the connection, no reply
            return
        body = json.dumps({"data": [{"id": "77", "username": "sim"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("x-rate-limit-limit", "300")
        self.send_header("x-rate-limit-remaining", "299")
        self.send_header("x-rate-limit-reset", "1700000900")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture()
def server() -> Iterator[str]:
    _Handler.release.clear()
    _Handler.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    _Handler.release.set()
    httpd.shutdown()
    httpd.server_close()


def test_requests_reach_the_configured_host(server: str) -> None:
    with XSource({KEY: TOKEN}, base_url=server, clock=FakeClock()) as source:
        page = source.lookup_users([77], token_key=KEY)
    assert page.items[0]["username"] == "sim" and page.rate is not None
    path, auth = _Handler.seen[0]
    assert path.startswith("/2/users?") and "ids=77" in path and auth == f"Bearer {TOKEN}"


def test_a_silent_server_times_out_quickly(server: str) -> None:
    source = XSource({KEY: TOKEN}, base_url=server, timeout_s=0.3, clock=FakeClock())
    started = time.monotonic()
    with pytest.raises(Transient) as info:
        source.followers(1, None, token_key=KEY)
    assert info.value.kind == "timeout"
    assert time.monotonic() - started < 3.0
    source.close()


def test_a_dropped_connection_is_transient(server: str) -> None:
    source = XSource({KEY: TOKEN}, base_url=server, timeout_s=2, clock=FakeClock())
    with pytest.raises(Transient) as info:
        source.followers(2, None, token_key=KEY)
    assert info.value.kind == "reset"
    assert TOKEN not in str(info.value)
    source.close()


def test_nothing_listening_is_unreachable_and_the_request_never_left() -> None:
    with socket.socket() as probe:  # a free port, closed again: connection refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    source = XSource({KEY: TOKEN}, base_url=f"http://127.0.0.1:{port}", timeout_s=1)
    with pytest.raises(Unreachable) as info:
        source.lookup_users([1], token_key=KEY)
    assert info.value.kind == "unreachable" and info.value.sent is False
    assert info.value.reason == "connection refused"
    assert f"127.0.0.1:{port}" in str(info.value) and TOKEN not in str(info.value)
    source.close()


def test_a_host_that_does_not_resolve_is_unreachable() -> None:
    source = XSource({KEY: TOKEN}, base_url="http://botsweep-no-such-host.invalid",
                     timeout_s=2)
    with pytest.raises(Unreachable) as info:
        source.lookup_users([1], token_key=KEY)
    assert info.value.sent is False and info.value.kind == "unreachable"
    source.close()


def test_a_slow_reply_is_an_ordinary_retry_and_a_dropped_one_is_unreachable(
    server: str,
) -> None:
    source = XSource({KEY: TOKEN}, base_url=server, timeout_s=0.3, clock=FakeClock())
    with pytest.raises(Transient) as slow:
        source.followers(1, None, token_key=KEY)
    assert not isinstance(slow.value, Unreachable)  # connected and sent: it uses an attempt
    with pytest.raises(Unreachable) as dropped:
        source.followers(2, None, token_key=KEY)
    assert dropped.value.sent is True and dropped.value.kind == "reset"
    source.close()
