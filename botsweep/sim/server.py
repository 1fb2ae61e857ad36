"""The sim's HTTP/1.1 server: a threaded stdlib server with keep-alive, on loopback.

``with SimServer(world) as base_url:`` serves a world on a free port in a background
thread (tests, the demo); ``botsweep sim serve`` runs the same thing in the foreground.
The request logic lives in :mod:`botsweep.sim.api`; this module only moves bytes:
one ``sendall`` per small reply (headers and body together, TCP_NODELAY), so that a
keep-alive client is never held up by Nagle's algorithm; a big body follows its head
with ``MSG_MORE`` instead of being copied.

Faults that are not replies are done here: ``timeout`` holds the connection for
``timeout_fault_s`` seconds and then closes it without a reply; ``reset`` closes the
socket with SO_LINGER 0, which sends a TCP RST.
"""

from __future__ import annotations

import logging
import socket
import socketserver
import struct
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from botsweep.errors import InputError
from botsweep.sim.api import SimApp
from botsweep.sim.faults import FaultSpec
from botsweep.sim.world import World, load_world

__all__ = ["SimServer"]

_log = logging.getLogger("botsweep.sim")
_REASONS = {s.value: s.phrase for s in HTTPStatus}
_MSG_MORE = getattr(socket, "MSG_MORE", 0)
_COPY_BELOW = 16384  # bytes: smaller bodies are joined to their head and sent at once


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "botsweep-sim"
    sys_version = ""
    timeout = 120  # an idle keep-alive connection is closed after this many seconds
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(min(length, 1 << 20))
            if length > 1 << 20:  # the rest of the body would be read as the next request
                self.close_connection = True
        reply = self.server.app.handle(self.command, self.path, self.headers.get("Authorization"))
        if reply.action == "timeout":
            self.server.stopping.wait(self.server.timeout_fault_s)
            self.close_connection = True
            return
        if reply.action == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        lines = [f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Unknown')}",
                 "Server: botsweep-sim", f"Content-Length: {len(reply.body)}"]
        lines += [f"{name}: {value}" for name, value in reply.headers]
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        body = b"" if self.command == "HEAD" else reply.body  # HEAD: the length, no body
        if len(body) < _COPY_BELOW:
            self.connection.sendall(head + body)
        else:  # no copy of a big body: MSG_MORE keeps head and body in the same segments
            self.connection.sendall(head, _MSG_MORE)
            self.connection.sendall(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        _log.debug("%s %s", self.address_string(), format % args)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: SimApp, timeout_fault_s: float) -> None:
        self.app = app
        self.timeout_fault_s = timeout_fault_s
        self.stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls getfqdn(), a DNS lookup that can hang; skip it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up is routine (debug); anything else is a bug (error)."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            _log.debug("client %s went away: %s", client_address, error)
        else:
            _log.error("sim failed on a request from %s", client_address, exc_info=True)

    def track(self, conn: socket.socket, alive: bool) -> None:
        with self._conn_lock:
            (self._connections.add if alive else self._connections.discard)(conn)

    def close_connections(self) -> None:
        with self._conn_lock:
            conns = list(self._connections)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class SimServer:
    """Serve a world as the X API v2 on ``host:port`` (port 0 picks a free one).

    ``tokens`` are the accepted bearer tokens, one per token of a pool; rate limits are
    kept per token.  ``rate_limits`` overrides the defaults per endpoint key
    (``followers``, ``following``, ``users``, ``users_by``, ``user_by_username``, ``user``,
    ``tweets``, or ``*``).  ``clock`` is the wall clock (for tests); ``timeout_fault_s`` is
    how long a ``timeout`` fault holds the connection.
    """

    def __init__(self, world: World | Path | str, *, host: str = "127.0.0.1", port: int = 0,
                 time_scale: float = 1.0, tokens: tuple[str, ...] | list[str] = ("sim-token",),
                 rate_limits: dict[str, int] | list[str] | None = None,
                 faults: str | FaultSpec | None = None, rng_seed: int = 0,
                 timeout_fault_s: float = 10.0,
                 clock: Callable[[], float] | None = None) -> None:
        if not isinstance(world, World):
            world = load_world(world)
        tokens = tuple(tokens)
        if not tokens or any(not t or any(c.isspace() for c in t) for t in tokens):
            raise InputError("--token: give at least one token, without spaces")
        if time_scale <= 0:
            raise InputError(f"--time-scale {time_scale}: must be greater than 0")
        self.host, self.port = host, int(port)
        self.timeout_fault_s = float(timeout_fault_s)
        self.app = SimApp(world, time_scale=time_scale, tokens=tokens, rate_limits=rate_limits,
                          faults=faults, rng_seed=rng_seed, clock=clock or time.time)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def world(self) -> World:
        return self.app.world

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the sim server is not running; call start() first")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> str:
        """Bind and serve in a background thread; return the base URL."""
        if self._httpd is not None:
            return self.base_url
        try:
            self._httpd = _HTTPServer((self.host, self.port), self.app, self.timeout_fault_s)
        except OSError as exc:
            raise InputError(f"--port {self.port}: cannot listen on {self.host}:{self.port}: "
                             f"{exc.strerror or exc}") from None
        if self.host not in ("127.0.0.1", "localhost", "::1"):
            _log.warning("sim listening on %s, not loopback: anyone who can reach it can "
                         "use it", self.host)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={
            "poll_interval": 0.05}, name="botsweep-sim", daemon=True)
        self._thread.start()
        _log.info("sim serving %s (%d accounts) at %s", self.world.name,
                  len(self.world.accounts), self.base_url)
        return self.base_url

    def stop(self) -> None:
        """Stop serving, drop open connections, and wait for the server thread."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.stopping.set()
        httpd.shutdown()
        httpd.server_close()
        httpd.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def stats(self) -> dict[str, Any]:
        """What ``GET /_sim/stats`` returns: requests by endpoint and status, 429s, faults."""
        return self.app.stats_snapshot()

    def world_time(self) -> datetime:
        """The world's clock now (what the Date header says)."""
        return self.app.world_time()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
