"""A real HTTP/2 server over TLS in the test process (the ``h2`` protocol library), for proving
that a channel with ``http2`` on multiplexes its concurrent requests on one connection.

It listens on 127.0.0.1 with a certificate for that address, made here and written to
``ca_file`` (point ``SSL_CERT_FILE`` at it: httpx then trusts it), offers only ``h2`` by ALPN,
and answers every request with ``answer(method, path, body)`` (status and JSON). It holds the
requests of a connection until ``hold`` of them are open at once (or ``wait`` seconds pass), then
answers them all, so ``most_open`` shows whether the client really had several streams in
flight on one connection. ``connections`` counts the TLS connections, ``requests`` records
(connection number, path, body)."""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h2.config
import h2.connection
import h2.events
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HOST = "127.0.0.1"
Answer = Callable[[str, str, bytes], tuple[int, Any]]


def self_signed(directory: Path) -> tuple[Path, Path]:
    """(certificate, key) for 127.0.0.1, written as PEM under ``directory``; the certificate
    is its own CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "h2-cert.pem", directory / "h2-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


class H2Server:
    """The server; a context manager that starts and stops it."""

    def __init__(self, directory: Path, answer: Answer, *, hold: int = 1, wait: float = 2.0):
        self.ca_file, key_file = self_signed(directory)
        self._tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._tls.load_cert_chain(self.ca_file, key_file)
        self._tls.set_alpn_protocols(["h2"])
        self.answer = answer
        self.hold = hold
        self.wait = wait
        self.connections = 0
        self.most_open = 0
        self.protocols: list[str | None] = []
        self.requests: list[tuple[int, str, bytes]] = []
        self._lock = threading.Lock()
        self._listener = socket.create_server((HOST, 0))
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    @property
    def url(self) -> str:
        return f"https://{HOST}:{self._listener.getsockname()[1]}"

    def __enter__(self) -> H2Server:
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._listener.close()

    def _accept(self) -> None:
        self._listener.settimeout(0.1)  # a blocked accept() would not see the stop
        while not self._stopping.is_set():
            try:
                raw, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            raw.settimeout(None)
            with self._lock:
                self.connections += 1
                number = self.connections
            thread = threading.Thread(target=self._serve, args=(raw, number), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, raw: socket.socket, number: int) -> None:
        try:
            sock = self._tls.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError):
            raw.close()
            return
        with contextlib.suppress(OSError, ssl.SSLError), sock:
            self.protocols.append(sock.selected_alpn_protocol())
            conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
            conn.initiate_connection()
            sock.sendall(conn.data_to_send())
            sock.settimeout(self.wait)
            streams: dict[int, tuple[str, str, bytearray]] = {}
            ready: list[int] = []
            while not self._stopping.is_set():
                try:
                    data = sock.recv(65536)
                except TimeoutError:
                    data = None  # nobody sent more: answer what is held
                if data == b"":
                    return
                for event in conn.receive_data(data) if data else ():
                    if isinstance(event, h2.events.RequestReceived):
                        headers = {k.decode(): v.decode() for k, v in event.headers}
                        streams[event.stream_id] = (
                            headers[":method"],
                            headers[":path"],
                            bytearray(),
                        )
                    elif isinstance(event, h2.events.DataReceived):
                        streams[event.stream_id][2].extend(event.data)
                        conn.acknowledge_received_data(len(event.data), event.stream_id)
                    elif isinstance(event, h2.events.StreamEnded):
                        ready.append(event.stream_id)
                with self._lock:
                    self.most_open = max(self.most_open, len(ready))
                if ready and (len(ready) >= self.hold or data is None):
                    for stream_id in ready:
                        method, path, body = streams.pop(stream_id)
                        with self._lock:
                            self.requests.append((number, path, bytes(body)))
                        status, doc = self.answer(method, path, bytes(body))
                        payload = json.dumps(doc).encode()
                        conn.send_headers(
                            stream_id,
                            [
                                (":status", str(status)),
                                ("content-type", "application/json"),
                                ("content-length", str(len(payload))),
                            ],
                        )
                        conn.send_data(stream_id, payload, end_stream=True)
                    ready.clear()
                sock.sendall(conn.data_to_send())
