"""A real HTTP/1.1 server in the test process, scriptable per request (for SMS and push tests).

``http.server.ThreadingHTTPServer`` on 127.0.0.1, a free port, one thread per connection,
keep-alive (``HTTP/1.1``, always a Content-Length), so clients reuse connections as they would
with a real gateway. Every request is recorded (method, path, headers, body, which connection
it came on) before it is answered, so "received exactly once" is asserted at the far end.

Answers come from a script: queued :class:`Reply` objects (or callables of the request) are
used one per request, then ``default``. A reply may wait before answering (a slow gateway, to
provoke client timeouts) or drop the connection without answering. Waits end early when the
server stops, and stopping closes every connection, so a test never hangs on its server::

    with HttpServer() as server:
        server.script(Reply(429, {"Retry-After": "0"}), Reply.json(200, {"id": "m1"}))
        ...  # talk to server.url
        assert server.connections == 1
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs

HOST = "127.0.0.1"


def free_port(host: str = HOST) -> int:
    """A port nothing listens on right now: a client connecting there is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Reply:
    """One scripted answer."""

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | str = b""
    delay: float = 0.0  # seconds to wait before answering (ends early when the server stops)
    drop: bool = False  # close the connection instead of answering (after the delay)

    @classmethod
    def json(
        cls, status: int, data: Any, headers: Mapping[str, str] | None = None, **kw: Any
    ) -> Reply:
        return cls(
            status,
            {"Content-Type": "application/json", **(headers or {})},
            json.dumps(data),
            **kw,
        )

    @property
    def data(self) -> bytes:
        return self.body.encode("utf-8") if isinstance(self.body, str) else self.body


Responder = Reply | Callable[["Request"], Reply]


@dataclass(frozen=True)
class Request:
    """One request as it arrived."""

    method: str
    path: str
    headers: Message  # case-insensitive: request.headers["content-type"]
    body: bytes
    connection: int  # 1 for the first connection the server accepted, 2 for the next, ...

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, list[str]]:
        """An ``application/x-www-form-urlencoded`` body, each field a list of its values."""
        return parse_qs(self.body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the client may send many requests on one socket
    disable_nagle_algorithm = True  # headers and body go out at once, not 40 ms apart
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.number = self.server.number_of(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.connection_closed(self.connection)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        pass  # the test's output is not the place for an access log

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():  # trailers, then the blank line
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _answer(self) -> None:
        request = Request(
            self.command, self.path, self.headers, self._read_body(), connection=self.number
        )
        reply = self.server.owner._record(request)
        if reply.delay and self.server.owner._stopping.wait(reply.delay):
            self.close_connection = True
            return  # stopping: do not answer
        if reply.drop:
            self.close_connection = True
            return
        data = reply.data
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _answer


class _Server(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True  # server_close() joins the connection threads

    def __init__(self, owner: HttpServer) -> None:
        self.owner = owner
        self._lock = threading.Lock()
        self.opened = 0
        self.live: dict[socket.socket, int] = {}  # open connections and their numbers
        super().__init__((HOST, 0), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        # Counted here, on the accepting thread, so stop() knows every socket it must close.
        with self._lock:
            self.opened += 1
            self.live[request] = self.opened
        super().process_request(request, client_address)

    def number_of(self, sock: socket.socket) -> int:
        with self._lock:
            return self.live.get(sock, 0)

    def connection_closed(self, sock: socket.socket) -> None:
        with self._lock:
            self.live.pop(sock, None)

    def close_connections(self) -> None:
        with self._lock:
            live = list(self.live)
        for sock in live:
            with contextlib.suppress(OSError):  # already closed by the client
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hung up (timeouts, closed sockets) is what these tests provoke


class HttpServer:
    """The server, its script and what it saw; a context manager that starts and stops it."""

    def __init__(self, default: Responder | None = None) -> None:
        self.default: Responder = default if default is not None else Reply.json(200, {})
        self.requests: list[Request] = []
        self._replies: deque[Responder] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._connections_at_stop = 0

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> HttpServer:
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, end waits, close every connection, join every thread. Idempotent."""
        server, self._server = self._server, None
        if server is None:
            return
        self._connections_at_stop = server.opened
        self._stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> HttpServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- what tests use ----------------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._server is not None, "the server is not running"
        return int(self._server.server_address[1])

    @property
    def host(self) -> str:
        return HOST

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def connections(self) -> int:
        """How many TCP connections the server has accepted so far."""
        return self._server.opened if self._server is not None else self._connections_at_stop

    def script(self, *replies: Responder) -> None:
        """Answer the next requests with ``replies``, in order, then with ``default``."""
        with self._lock:
            self._replies.extend(replies)

    def _record(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
            responder = self._replies.popleft() if self._replies else self.default
        return responder(request) if callable(responder) else responder
