"""A real SMTP server in the test process (aiosmtpd on 127.0.0.1), scriptable per RCPT and DATA.

The handler records what it accepted and counts connections, RCPTs and QUITs, so tests can
assert "delivered exactly once" and "one connection for the whole batch". A :class:`Script`
says what goes wrong and how many times: a 451 for the first N RCPTs or DATAs, a fixed reply
for given recipients, the connection dropped before DATA or after the whole message arrived,
a stalled answer. Counters go down as they fire, so "the first N times, then accept".
"""

from __future__ import annotations

import asyncio
import base64
import shutil
import socket
import ssl
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
from aiosmtpd.smtp import Envelope as SmtpEnvelope
from aiosmtpd.smtp import Session as SmtpSession

HOST = "127.0.0.1"
FOREVER = sys.maxsize  # a count that never runs out
TEMPFAIL = "451 4.3.0 try again later"
SLOW_DOWN = "451 4.7.1 rate limited, slow down"  # a provider's "too fast": throttled
USER_UNKNOWN = "550 5.1.1 user unknown"


def free_port(host: str = HOST) -> int:
    """A port nothing listens on right now (aiosmtpd's Controller needs a concrete one)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class Script:
    """What the server does wrong, and how many more times."""

    tempfail_rcpt: int = 0  # answer TEMPFAIL to the next N RCPTs
    throttle_rcpt: int = 0  # answer SLOW_DOWN to the next N RCPTs
    pipelining: bool = False  # offer PIPELINING in the EHLO answer (RFC 2920)
    tempfail_data: int = 0  # answer TEMPFAIL after the next N messages arrived
    rcpt_replies: dict[str, str] = field(default_factory=dict)  # recipient -> fixed reply
    drop_at_rcpt: int = 0  # close the connection on the next N RCPTs (before DATA)
    drop_after_data: int = 0  # close it after the next N whole messages, before answering
    stall_rcpt: int = 0  # do not answer the next N RCPTs for stall_seconds
    stall_seconds: float = 5.0
    # After this many accepted messages, answer every further message with data_reply (e.g. a
    # provider's daily quota: "550 5.4.5 Daily user sending quota exceeded").
    data_reply_after: int | None = None
    data_reply: str = ""
    # After this many accepted messages the server "dies": it hangs up on the next message and
    # refuses every new session with 421.
    dead_after: int | None = None
    # Refuse AUTH with a reply that echoes what the client sent (as some servers log it back):
    # the base64 of the AUTH PLAIN exchange and of the password.
    echo_auth: bool = False
    # Called with the number of whole messages arrived so far, before the server answers the
    # latest (a test kills the sending process there: a crash with messages in flight).
    on_data: Callable[[int], None] | None = None


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes  # as it arrived: CRLF line ends, dot-stuffing undone


class ScriptedHandler:
    """aiosmtpd handler hooks; runs on the server's thread, read by the test afterwards."""

    def __init__(self, credentials: tuple[str, str] | None = None) -> None:
        self.script = Script()
        self.credentials = credentials
        self.connections = 0  # first greeting of each connection
        self.quits = 0
        self.rcpt_calls = 0
        self.logins: list[str] = []
        self.messages: list[Received] = []  # accepted with 250
        self.arrived: list[bytes] = []  # every whole message that arrived, answered or not

    async def handle_EHLO(
        self,
        server: SMTP,
        session: SmtpSession,
        envelope: SmtpEnvelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        # aiosmtpd starts a new session after STARTTLS (with session.ssl set): same connection.
        if session.host_name is None and session.ssl is None:
            self.connections += 1
        session.host_name = hostname  # the 5-argument hook must set it itself
        if self._dead():
            await _drop(server)
        if self.script.pipelining:  # aiosmtpd reads pipelined commands line by line anyway
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_HELO(
        self, server: SMTP, session: SmtpSession, envelope: SmtpEnvelope, hostname: str
    ) -> str:
        self.connections += 1
        session.host_name = hostname
        return f"250 {server.hostname}"

    async def handle_QUIT(self, server: SMTP, session: SmtpSession, envelope: SmtpEnvelope) -> str:
        self.quits += 1
        return "221 Bye"

    async def handle_RCPT(
        self,
        server: SMTP,
        session: SmtpSession,
        envelope: SmtpEnvelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        self.rcpt_calls += 1
        script = self.script
        if script.drop_at_rcpt > 0:
            script.drop_at_rcpt -= 1
            return await _drop(server)
        if script.stall_rcpt > 0:
            script.stall_rcpt -= 1
            await asyncio.sleep(script.stall_seconds)  # cancelled when the client hangs up
        if address in script.rcpt_replies:
            return script.rcpt_replies[address]
        if script.tempfail_rcpt > 0:
            script.tempfail_rcpt -= 1
            return TEMPFAIL
        if script.throttle_rcpt > 0:
            script.throttle_rcpt -= 1
            return SLOW_DOWN
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: SmtpEnvelope) -> str:
        content = envelope.original_content or b""
        self.arrived.append(content)
        script = self.script
        if script.on_data is not None:
            script.on_data(len(self.arrived))
        if self._dead():
            return await _drop(server)
        if script.data_reply_after is not None and len(self.messages) >= script.data_reply_after:
            return script.data_reply
        if script.drop_after_data > 0:
            script.drop_after_data -= 1
            return await _drop(server)
        if script.tempfail_data > 0:
            script.tempfail_data -= 1
            return TEMPFAIL
        self.messages.append(
            Received(str(envelope.mail_from), tuple(envelope.rcpt_tos), bytes(content))
        )
        return f"250 2.0.0 OK queued as {len(self.messages)}"

    def _dead(self) -> bool:
        return self.script.dead_after is not None and len(self.messages) >= self.script.dead_after

    def authenticate(
        self,
        server: SMTP,
        session: SmtpSession,
        envelope: SmtpEnvelope,
        mechanism: str,
        auth_data: Any,
    ) -> AuthResult:
        """aiosmtpd authenticator: the one login/password pair it was built with."""
        ok = (
            self.credentials is not None
            and isinstance(auth_data, LoginPassword)
            and (auth_data.login.decode(), auth_data.password.decode()) == self.credentials
        )
        if self.script.echo_auth and isinstance(auth_data, LoginPassword):
            blob = b"\0" + auth_data.login + b"\0" + auth_data.password
            echoed = " ".join(base64.b64encode(b).decode() for b in (blob, auth_data.password))
            password = auth_data.password.decode()
            return AuthResult(
                success=False,
                handled=False,
                message=f"535 5.7.8 Authentication failed for {echoed} ({password})",
            )
        if ok:
            self.logins.append(auth_data.login.decode())
        # handled=False: let aiosmtpd answer "535 5.7.8 Authentication credentials invalid".
        return AuthResult(success=ok, handled=False)


async def _drop(server: SMTP) -> str:
    """Hang up without answering. aiosmtpd cancels this hook when it notices the connection
    is gone, so nothing is ever written to a closed transport."""
    assert server.transport is not None
    server.transport.close()
    never: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    return await never


@dataclass
class SmtpServer:
    host: str
    port: int
    handler: ScriptedHandler
    controller: Controller
    running: bool = True

    @property
    def script(self) -> Script:
        return self.handler.script

    def stop(self) -> None:
        """Stop listening (a test of a server that went away); safe to call twice."""
        if self.running:
            self.running = False
            self.controller.stop()


@contextmanager
def running_server(
    *,
    credentials: tuple[str, str] | None = None,
    starttls: ssl.SSLContext | None = None,
    implicit_tls: ssl.SSLContext | None = None,
) -> Iterator[SmtpServer]:
    """An aiosmtpd server on 127.0.0.1 for the duration of the ``with`` block.

    ``credentials`` turns AUTH on (offered without TLS unless ``starttls`` is given, as only a
    test should); ``starttls`` offers STARTTLS with that server context; ``implicit_tls`` makes
    it an SMTPS server.
    """
    handler = ScriptedHandler(credentials)
    kwargs: dict[str, Any] = {}
    if credentials is not None:
        kwargs.update(authenticator=handler.authenticate, auth_require_tls=starttls is not None)
    if starttls is not None:
        kwargs.update(tls_context=starttls)
    port = free_port()
    controller = Controller(
        handler,
        hostname=HOST,
        port=port,
        server_hostname="smtp.cartnudge.test",  # not socket.getfqdn(): no DNS in tests
        ssl_context=implicit_tls,
        **kwargs,
    )
    controller.start()
    server = SmtpServer(HOST, port, handler, controller)
    try:
        yield server
    finally:
        server.stop()


@dataclass(frozen=True)
class Certificate:
    """A self-signed certificate for 127.0.0.1, trusted by clients via SSL_CERT_FILE."""

    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


def make_certificate(directory: Path) -> Certificate | None:
    """Generate the certificate with the ``openssl`` tool, or None when it is not installed."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            f"/CN={HOST}",
            "-addext",
            f"subjectAltName=IP:{HOST}",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return Certificate(cert, key)
