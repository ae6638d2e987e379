"""The push channel against a real HTTP server in this process.

The server (ThreadingHTTPServer on 127.0.0.1, HTTP/1.1 keep-alive) plays three parts: Google's
OAuth token endpoint (it verifies the JWT's RS256 signature with the service account's public
key and its claims before issuing an access token), the FCM HTTP v1 endpoint (it checks the
Bearer token, the project in the path and the message JSON) and a generic push webhook. Each part
is scriptable per request (status, headers, body, delay) and records what it received, so tests
assert at the receiving end: how many requests, how many connections, what was delivered.
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from cartnudge.channels.base import Envelope, Result, Retries
from cartnudge.channels.push import (
    FCM_SCOPE,
    JWT_BEARER_GRANT,
    PushChannel,
    PushSettings,
    parse_payload,
    push_payload,
)
from cartnudge.errors import ChannelError

HOST = "127.0.0.1"
PROJECT = "shop-test-123"
CLIENT_EMAIL = "cartnudge@shop-test-123.iam.gserviceaccount.com"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
WEBHOOK_SECRET = "whsec-0123456789-very-secret"
LINK = "https://shop.example.jp/cart/restore?token=abc"
FOREVER = 1_000_000


# -- the server ---------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list: JSON; str/bytes: as is
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    times: int = 1  # how many requests in a row get this reply


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class PushServer(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True  # server_close() joins every connection's thread

    def __init__(self, public_key: rsa.RSAPublicKey) -> None:
        super().__init__((HOST, 0), _Handler)
        self.public_key = public_key
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.connections = 0
        self.open_sockets: set[socket.socket] = set()
        self.problems: list[str] = []
        self.expires_in = 3600
        self.issued: list[str] = []
        self.valid_tokens: set[str] = set()
        self.assertions: list[str] = []
        self.claims: list[dict[str, Any]] = []
        self.token_replies: list[Reply] = []
        self.fcm_requests: list[Received] = []
        self.fcm_replies: list[Reply] = []
        self.delivered: list[dict[str, Any]] = []
        self.webhook_requests: list[Received] = []
        self.webhook_replies: list[Reply] = []

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/token"

    @property
    def webhook_url(self) -> str:
        return f"{self.base_url}/webhook"

    def revoke_tokens(self) -> None:
        with self.lock:
            self.valid_tokens.clear()

    def stop(self) -> None:
        self.stopping.set()
        self.shutdown()
        with self.lock:
            sockets = list(self.open_sockets)
        for sock in sockets:  # idle keep-alive connections: end their threads
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self.server_close()

    @staticmethod
    def _scripted(replies: list[Reply]) -> Reply | None:
        if not replies:
            return None
        reply = replies[0]
        reply.times -= 1
        if reply.times <= 0:
            replies.pop(0)
        return reply

    def _problem(self, what: str) -> Reply:
        self.problems.append(what)
        return Reply(400, {"error": {"code": 400, "status": "TEST_SERVER", "message": what}})

    # The three parts; called with the lock held.

    def token(self, req: Received) -> Reply:
        if req.headers.get("content-type") != "application/x-www-form-urlencoded":
            return self._problem(f"token: content-type {req.headers.get('content-type')}")
        form = parse_qs(req.body.decode())
        if form.get("grant_type") != [JWT_BEARER_GRANT]:
            return self._problem(f"token: grant_type {form.get('grant_type')}")
        assertion = form.get("assertion", [""])[0]
        self.assertions.append(assertion)
        try:
            head, body, signature = assertion.split(".")
            self.public_key.verify(
                _unb64(signature),
                f"{head}.{body}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except (ValueError, InvalidSignature):
            self.problems.append("token: bad JWT signature")
            return Reply(
                400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
            )
        header, claims = json.loads(_unb64(head)), json.loads(_unb64(body))
        self.claims.append(claims)
        expected = {"alg": "RS256", "typ": "JWT"}
        if {k: header.get(k) for k in expected} != expected:
            return self._problem(f"token: JWT header {header}")
        if claims.get("iss") != CLIENT_EMAIL or claims.get("scope") != FCM_SCOPE:
            return self._problem(f"token: iss/scope {claims}")
        if claims.get("aud") != self.token_url:
            return self._problem(f"token: aud {claims.get('aud')}")
        if claims.get("exp", 0) - claims.get("iat", 0) != 3600:
            return self._problem(f"token: exp-iat {claims}")
        scripted = self._scripted(self.token_replies)
        if scripted is not None:
            return scripted
        token = f"ya29.test-access-token-{len(self.issued) + 1}"
        self.issued.append(token)
        self.valid_tokens.add(token)
        return Reply(
            200, {"access_token": token, "expires_in": self.expires_in, "token_type": "Bearer"}
        )

    def fcm(self, req: Received) -> Reply:
        self.fcm_requests.append(req)
        auth = req.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.valid_tokens:
            return Reply(
                401,
                {
                    "error": {
                        "code": 401,
                        "message": "Request had invalid authentication credentials.",
                        "status": "UNAUTHENTICATED",
                    }
                },
            )
        if not req.headers.get("content-type", "").startswith("application/json"):
            return self._problem(f"fcm: content-type {req.headers.get('content-type')}")
        try:
            message = req.json()["message"]
            assert isinstance(message["token"], str) and message["token"]
            assert set(message["notification"]) == {"title", "body"}
            assert all(isinstance(v, str) for v in message.get("data", {}).values())
        except (ValueError, KeyError, TypeError, AssertionError):
            return self._problem(f"fcm: bad message {req.body!r}")
        scripted = self._scripted(self.fcm_replies)
        if scripted is not None and scripted.status != 200:
            return scripted
        self.delivered.append(message)
        name = f"projects/{PROJECT}/messages/0:{len(self.delivered)}"
        return Reply(200, {"name": name}, delay=scripted.delay if scripted else 0.0)

    def webhook(self, req: Received) -> Reply:
        self.webhook_requests.append(req)
        scripted = self._scripted(self.webhook_replies)
        if scripted is not None:
            return scripted
        return Reply(202, {"id": len(self.webhook_requests)})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every answer has a Content-Length
    server: PushServer

    def setup(self) -> None:
        super().setup()
        with self.server.lock:
            self.server.connections += 1
            self.server.open_sockets.add(self.connection)

    def finish(self) -> None:
        with self.server.lock:
            self.server.open_sockets.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def handle(self) -> None:
        with contextlib.suppress(OSError):  # the client went away (after its read timeout)
            super().handle()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        req = Received(
            self.path, {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length)
        )
        srv = self.server
        with srv.lock:
            if self.path == "/token":
                reply = srv.token(req)
            elif self.path == f"/v1/projects/{PROJECT}/messages:send":
                reply = srv.fcm(req)
            elif self.path == "/webhook":
                reply = srv.webhook(req)
            else:
                reply = srv._problem(f"unexpected path {self.path}")
        if reply.delay and srv.stopping.wait(reply.delay):
            self.close_connection = True
            return
        body = reply.body
        if isinstance(body, dict | list):
            data, ctype = json.dumps(body).encode(), "application/json; charset=UTF-8"
        else:
            data = body.encode() if isinstance(body, str) else (body or b"")
            ctype = "text/plain; charset=utf-8"
        self.send_response(reply.status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


# -- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem_of(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def service_account_json(key: rsa.RSAPrivateKey, token_uri: str = GOOGLE_TOKEN_URI) -> str:
    return json.dumps(
        {
            "type": "service_account",
            "project_id": PROJECT,
            "private_key_id": "kid-0001",
            "private_key": pem_of(key),
            "client_email": CLIENT_EMAIL,
            "client_id": "1234567890",
            "token_uri": token_uri,
        }
    )


def secret_pieces(key: rsa.RSAPrivateKey) -> list[str]:
    """Everything of the key that must never show: the PEM and each of its base64 lines."""
    pem = pem_of(key)
    return [pem, "PRIVATE KEY", *(line for line in pem.splitlines() if len(line) > 20)]


@pytest.fixture
def server(rsa_key: rsa.RSAPrivateKey) -> Iterator[PushServer]:
    srv = PushServer(rsa_key.public_key())
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    try:
        yield srv
    finally:
        srv.stop()
        thread.join(5)


class Clock:
    def __init__(self) -> None:
        self.now = 1_750_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sleeps() -> list[float]:
    return []


MakeChannel = Callable[..., PushChannel]


@pytest.fixture
def make_channel(
    server: PushServer, rsa_key: rsa.RSAPrivateKey, clock: Clock, sleeps: list[float]
) -> Iterator[MakeChannel]:
    """A channel on the test server: FCM by default, ``provider="webhook"`` for the webhook."""
    made: list[PushChannel] = []

    def make(
        *, secret: str | None = None, real_sleep: bool = False, **overrides: Any
    ) -> PushChannel:
        if overrides.get("provider") == "webhook":
            fields: dict[str, Any] = {
                "enabled": True,
                "provider": "webhook",
                "url": server.webhook_url,
                "headers": {"Authorization": "Bearer {secret}", "X-Shop": "demo-shop"},
                "secret_env": "PUSH_WEBHOOK_SECRET",
                "timeout": 2.0,
            }
            default_secret = WEBHOOK_SECRET
        else:
            fields = {
                "enabled": True,
                "provider": "fcm",
                "project_id": PROJECT,
                "service_account_env": "FCM_SERVICE_ACCOUNT",
                "endpoint": server.base_url,
                "token_uri": server.token_url,
                "timeout": 2.0,
            }
            default_secret = service_account_json(rsa_key)
        fields.update(overrides)
        retries = Retries(3, 0.01) if real_sleep else Retries(3, 0.01, sleeps.append)
        channel = PushChannel(
            PushSettings(**fields),
            default_secret if secret is None else secret,
            retries=retries,
            clock=clock,
        )
        made.append(channel)
        return channel

    yield make
    for channel in made:
        channel.close()


def envelope(i: int, token: str | None = None, data: bytes | None = None) -> Envelope:
    payload = push_payload(
        "カートに商品が残っています",
        f"山田様、スニーカー {i} 点がカートに残っています",
        LINK,
        {"order_id": 1000 + i, "coupon": "SAVE10"},
    )
    return Envelope(
        delivery_id=i,
        recipient=token or f"device-token-{i}",
        sender="",
        message_id=f"<{i}.push@cartnudge>",
        data=payload if data is None else data,
    )


def unregistered(code: int = 404) -> Reply:
    return Reply(
        code,
        {
            "error": {
                "code": code,
                "message": "Requested entity was not found.",
                "status": "NOT_FOUND",
                "details": [
                    {
                        "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                        "errorCode": "UNREGISTERED",
                    }
                ],
            }
        },
    )


def invalid_argument(field_name: str, message: str) -> Reply:
    return Reply(
        400,
        {
            "error": {
                "code": 400,
                "message": message,
                "status": "INVALID_ARGUMENT",
                "details": [
                    {
                        "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                        "errorCode": "INVALID_ARGUMENT",
                    },
                    {
                        "@type": "type.googleapis.com/google.rpc.BadRequest",
                        "fieldViolations": [{"field": field_name, "description": message}],
                    },
                ],
            }
        },
    )


# -- payload ------------------------------------------------------------------------------------


def test_push_payload_round_trip() -> None:
    raw = push_payload("タイトル", "本文", LINK, {"order_id": 7, "coupon": "X"})
    assert "タイトル".encode() in raw  # UTF-8, not \u escapes
    message = parse_payload(raw)
    assert (message.title, message.body, message.link) == ("タイトル", "本文", LINK)
    assert message.data == {"order_id": 7, "coupon": "X"}
    assert parse_payload(push_payload("t", "b")).data == {}


@pytest.mark.parametrize("raw", [b"not json", b"[]", b'{"body": "no title"}', b"\xff\xfe"])
def test_malformed_payload_is_permanent_and_not_sent(
    make_channel: MakeChannel, server: PushServer, raw: bytes
) -> None:
    with make_channel() as channel:
        [result] = channel.send([envelope(1, data=raw)])
    assert result.result is Result.PERMANENT
    assert result.detail.startswith("malformed push payload")
    assert not result.hard_bounce
    assert server.fcm_requests == []


# -- FCM ----------------------------------------------------------------------------------------


def test_batch_of_three_one_token_one_connection(
    make_channel: MakeChannel, server: PushServer
) -> None:
    with make_channel() as channel:
        results = channel.send([envelope(1), envelope(2), envelope(3)])
    assert [r.result for r in results] == [Result.SENT] * 3
    assert [r.delivery_id for r in results] == [1, 2, 3]
    assert results[0].detail == f"projects/{PROJECT}/messages/0:1"
    assert len(server.claims) == 1  # one access token for the whole batch
    assert server.connections == 1  # token request and three sends on one kept-alive connection
    assert [m["token"] for m in server.delivered] == [
        "device-token-1",
        "device-token-2",
        "device-token-3",
    ]
    assert server.problems == []


def test_fcm_message_json(make_channel: MakeChannel, server: PushServer) -> None:
    with make_channel(android_click_action="OPEN_CART") as channel:
        [result] = channel.send([envelope(5)])
    assert result.result is Result.SENT
    [request] = server.fcm_requests
    assert request.path == f"/v1/projects/{PROJECT}/messages:send"
    assert request.headers["authorization"] == f"Bearer {server.issued[0]}"
    assert request.json() == {
        "message": {
            "token": "device-token-5",
            "notification": {
                "title": "カートに商品が残っています",
                "body": "山田様、スニーカー 5 点がカートに残っています",
            },
            "data": {"order_id": "1005", "coupon": "SAVE10", "link": LINK},
            "webpush": {"fcm_options": {"link": LINK}},
            "android": {"notification": {"click_action": "OPEN_CART"}},
        }
    }


def test_jwt_is_signed_with_the_key_and_claims_are_right(
    make_channel: MakeChannel, server: PushServer, rsa_key: rsa.RSAPrivateKey, clock: Clock
) -> None:
    make_channel().open()
    assert server.problems == []  # the server verified signature and claims
    [assertion] = server.assertions
    head, body, signature = assertion.split(".")
    rsa_key.public_key().verify(
        _unb64(signature), f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    assert json.loads(_unb64(head)) == {"alg": "RS256", "typ": "JWT", "kid": "kid-0001"}
    assert json.loads(_unb64(body)) == {
        "iss": CLIENT_EMAIL,
        "scope": "https://www.googleapis.com/auth/firebase.messaging",
        "aud": server.token_url,  # push.token_uri overrides the JSON's Google URI
        "iat": int(clock.now),
        "exp": int(clock.now) + 3600,
    }


def test_token_uri_from_the_service_account(
    make_channel: MakeChannel, server: PushServer, rsa_key: rsa.RSAPrivateKey
) -> None:
    channel = make_channel(token_uri=None, secret=service_account_json(rsa_key, server.token_url))
    with channel:
        [result] = channel.send([envelope(1)])
    assert result.result is Result.SENT
    assert server.claims[0]["aud"] == server.token_url


def test_token_cached_then_refreshed_before_expiry(
    make_channel: MakeChannel, server: PushServer, clock: Clock
) -> None:
    with make_channel() as channel:
        assert channel.send([envelope(1)])[0].result is Result.SENT
        clock.advance(3000)  # 10 minutes left: still used
        assert channel.send([envelope(2)])[0].result is Result.SENT
        assert len(server.issued) == 1
        clock.advance(400)  # under 5 minutes left: refreshed first
        assert channel.send([envelope(3)])[0].result is Result.SENT
    assert len(server.issued) == 2
    bearers = [r.headers["authorization"] for r in server.fcm_requests]
    assert bearers == [f"Bearer {server.issued[0]}"] * 2 + [f"Bearer {server.issued[1]}"]
    assert server.claims[1]["iat"] == int(clock.now)


def test_401_refreshes_the_token_once_and_sends_once(
    make_channel: MakeChannel, server: PushServer
) -> None:
    with make_channel() as channel:
        server.revoke_tokens()  # the cached token is no longer accepted
        [result] = channel.send([envelope(1)])
    assert result.result is Result.SENT
    assert len(server.issued) == 2
    assert [r.headers["authorization"][7:] for r in server.fcm_requests] == server.issued
    assert len(server.delivered) == 1


def test_401_with_a_fresh_token_leaves_the_batch_for_later(
    make_channel: MakeChannel, server: PushServer
) -> None:
    unauthenticated = Reply(401, {"error": {"code": 401, "status": "UNAUTHENTICATED"}}, times=2)
    server.fcm_replies.append(unauthenticated)
    with make_channel() as channel:
        first, second = channel.send([envelope(1), envelope(2)])
    # credentials refused: the channel is throttled for the run (issue 10), nobody charged
    assert first.result is Result.THROTTLED and "fresh access token" in first.detail
    assert second.result is Result.THROTTLED and second.detail.startswith("not tried")
    assert not second.tried
    assert len(server.fcm_requests) == 2  # one refresh for message 1, nothing for message 2
    assert server.delivered == []


@pytest.mark.parametrize(
    ("reply", "hard_bounce"),
    [
        (unregistered(404), True),
        (unregistered(400), True),
        (
            invalid_argument(
                "message.token", "The registration token is not a valid FCM registration token"
            ),
            True,
        ),
        (invalid_argument("message.data", "Invalid data payload key: from"), False),
        (
            Reply(
                403,
                {
                    "error": {
                        "code": 403,
                        "status": "PERMISSION_DENIED",
                        "details": [{"errorCode": "SENDER_ID_MISMATCH"}],
                    }
                },
            ),
            False,
        ),
        (
            Reply(
                404, {"error": {"code": 404, "status": "NOT_FOUND", "message": "no such project"}}
            ),
            False,
        ),
    ],
    ids=[
        "404-unregistered",
        "400-unregistered",
        "invalid-token",
        "invalid-data",
        "403",
        "404-bare",
    ],
)
def test_refusals_are_permanent_and_not_retried(
    make_channel: MakeChannel, server: PushServer, reply: Reply, hard_bounce: bool
) -> None:
    server.fcm_replies.append(reply)
    with make_channel() as channel:
        first, second = channel.send([envelope(1), envelope(2)])
    assert first.result is Result.PERMANENT
    assert first.hard_bounce is hard_bounce
    assert first.detail.startswith(str(reply.status))
    assert second.result is Result.SENT  # the channel goes on with the next message
    assert len(server.fcm_requests) == 2


def test_503_then_200_sent_once_honouring_retry_after(
    make_channel: MakeChannel, server: PushServer, sleeps: list[float]
) -> None:
    server.fcm_replies.append(
        Reply(503, {"error": {"status": "UNAVAILABLE"}}, {"Retry-After": "2"})
    )
    with make_channel() as channel:
        [result] = channel.send([envelope(1)])
    assert result.result is Result.SENT
    assert len(server.fcm_requests) == 2
    assert len(server.delivered) == 1
    assert sleeps == [2.0]  # at least what Retry-After asked, not the 0.01 s backoff


def test_503_forever_is_temporary_after_max_tries(
    make_channel: MakeChannel, server: PushServer
) -> None:
    server.fcm_replies.append(Reply(503, {"error": {"status": "UNAVAILABLE"}}, times=FOREVER))
    with make_channel(real_sleep=True) as channel:  # tenacity really sleeps 0.01 s, then 0.02 s
        [result] = channel.send([envelope(1)])
    assert result.result is Result.TEMPORARY
    assert result.detail == "503 UNAVAILABLE (gave up after 3 tries)"
    assert len(server.fcm_requests) == 3


def test_a_long_retry_after_is_left_for_a_later_sweep(
    make_channel: MakeChannel, server: PushServer, sleeps: list[float]
) -> None:
    server.fcm_replies.append(
        Reply(429, {"error": {"status": "RESOURCE_EXHAUSTED"}}, {"Retry-After": "3600"})
    )
    with make_channel() as channel:
        [result] = channel.send([envelope(1)])
    assert result.result is Result.THROTTLED  # the quota: the channel waits for a later sweep
    assert "later sweep" in result.detail
    assert len(server.fcm_requests) == 1
    assert sleeps == []


def test_read_timeout_is_in_doubt_and_not_retried(
    make_channel: MakeChannel, server: PushServer
) -> None:
    server.fcm_replies.append(Reply(200, delay=1.0))  # answers after the client gave up
    with make_channel(timeout=0.3) as channel:
        first, second = channel.send([envelope(1), envelope(2)])
    assert first.result is Result.IN_DOUBT
    assert "ReadTimeout" in first.detail and "not retried" in first.detail
    assert second.result is Result.SENT  # on a new connection
    assert len(server.fcm_requests) == 2
    assert server.connections == 2


def test_bad_credentials_fail_at_open_without_the_key(
    make_channel: MakeChannel, server: PushServer, rsa_key: rsa.RSAPrivateKey
) -> None:
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    channel = make_channel(secret=service_account_json(other_key))  # not the registered key
    with pytest.raises(ChannelError) as info:
        channel.open()
    message = str(info.value)
    assert message.startswith(f"push fcm {PROJECT}: token request answered 400 invalid_grant")
    assert "\n" not in message
    shown = message + "".join(traceback.format_exception(info.value))
    for piece in [*secret_pieces(other_key), *server.assertions]:
        assert piece not in shown
    assert server.problems == ["token: bad JWT signature"]
    assert server.fcm_requests == []


def test_token_endpoint_down_fails_at_open(make_channel: MakeChannel, server: PushServer) -> None:
    server.token_replies.append(Reply(503, "down for maintenance", times=FOREVER))
    with pytest.raises(ChannelError, match="cannot get an access token: .*503 .*gave up after 3"):
        make_channel().open()
    assert len(server.claims) == 3


@pytest.mark.parametrize(
    ("overrides", "secret", "expected"),
    [
        ({"project_id": ""}, "ok", "push.project_id is missing"),
        ({}, "", "no service-account JSON"),
        ({}, "{not json", "is not valid JSON"),
        ({}, "drop-key", "has no private_key"),
        ({}, "bad-key", "is not a PEM private key"),
        ({}, "no-token-uri", "has no token_uri"),
    ],
)
def test_unusable_fcm_configuration_fails_at_open(
    make_channel: MakeChannel,
    server: PushServer,
    rsa_key: rsa.RSAPrivateKey,
    overrides: dict[str, Any],
    secret: str,
    expected: str,
) -> None:
    account = json.loads(service_account_json(rsa_key))
    if secret == "ok":
        secret = json.dumps(account)
    elif secret == "drop-key":
        del account["private_key"]
        secret = json.dumps(account)
    elif secret == "bad-key":
        account["private_key"] = (
            "-----BEGIN PRIVATE KEY-----\nSECRETBUTGARBAGE0123456789\n-----END PRIVATE KEY-----\n"
        )
        secret = json.dumps(account)
    elif secret == "no-token-uri":
        del account["token_uri"]
        secret = json.dumps(account)
        overrides = {**overrides, "token_uri": None}
    channel = make_channel(secret=secret, **overrides)
    with pytest.raises(ChannelError, match=expected) as info:
        channel.open()
    assert "\n" not in str(info.value)
    for piece in [*secret_pieces(rsa_key), "SECRETBUTGARBAGE"]:
        assert piece not in str(info.value)
    assert server.connections == 0


def test_send_without_open_opens_and_close_releases(
    make_channel: MakeChannel, server: PushServer
) -> None:
    channel = make_channel()
    assert channel.send([]) == []
    assert server.connections == 0  # nothing to send: not even a token
    assert channel.send([envelope(1)])[0].result is Result.SENT
    channel.close()
    channel.close()  # twice is fine
    assert "ya29" not in repr(channel) and repr(channel) == f"PushChannel(fcm {PROJECT})"


# -- webhook ------------------------------------------------------------------------------------


def test_webhook_posts_payload_token_and_secret_header(
    make_channel: MakeChannel, server: PushServer
) -> None:
    with make_channel(provider="webhook") as channel:
        results = channel.send([envelope(1), envelope(2)])
    assert [r.result for r in results] == [Result.SENT, Result.SENT]
    assert results[0].detail == '202 {"id": 1}'
    first = server.webhook_requests[0]
    assert first.json() == {
        "title": "カートに商品が残っています",
        "body": "山田様、スニーカー 1 点がカートに残っています",
        "link": LINK,
        "data": {"order_id": 1001, "coupon": "SAVE10"},
        "token": "device-token-1",
    }
    assert first.headers["authorization"] == f"Bearer {WEBHOOK_SECRET}"
    assert first.headers["x-shop"] == "demo-shop"
    assert first.headers["idempotency-key"] == "<1.push@cartnudge>"
    assert first.headers["content-type"].startswith("application/json")
    assert server.connections == 1
    assert server.claims == []  # no OAuth for a webhook


@pytest.mark.parametrize(
    ("status", "result", "hard_bounce"),
    [
        (410, Result.PERMANENT, True),
        (404, Result.THROTTLED, False),  # a wrong URL: never suppress every token for it
        (400, Result.PERMANENT, False),
        (401, Result.THROTTLED, False),
    ],
)
def test_webhook_refusals(
    make_channel: MakeChannel,
    server: PushServer,
    status: int,
    result: Result,
    hard_bounce: bool,
) -> None:
    server.webhook_replies.append(Reply(status, f"refused; you sent {WEBHOOK_SECRET}"))
    with make_channel(provider="webhook") as channel:
        [answer] = channel.send([envelope(1)])
    assert answer.result is result
    assert answer.hard_bounce is hard_bounce
    # never the secret, even echoed
    assert answer.detail.startswith(f"{status} refused; you sent ***")
    assert WEBHOOK_SECRET not in answer.detail
    assert len(server.webhook_requests) == 1


def test_webhook_5xx_retried_then_sent_and_timeout_in_doubt(
    make_channel: MakeChannel, server: PushServer, sleeps: list[float]
) -> None:
    server.webhook_replies += [
        Reply(500, "oops"),
        Reply(502, "bad gateway"),
        Reply(202, "ok"),
        Reply(200, delay=1.0),
    ]
    with make_channel(provider="webhook", timeout=0.3) as channel:
        first, second = channel.send([envelope(1), envelope(2)])
    assert first.result is Result.SENT
    assert len(sleeps) == 2
    assert second.result is Result.IN_DOUBT
    assert len(server.webhook_requests) == 4


def test_webhook_5xx_forever_is_temporary(make_channel: MakeChannel, server: PushServer) -> None:
    server.webhook_replies.append(Reply(503, "busy", times=FOREVER))
    with make_channel(provider="webhook") as channel:
        [answer] = channel.send([envelope(1)])
    assert answer.result is Result.TEMPORARY
    assert answer.detail == "503 busy (gave up after 3 tries)"
    assert len(server.webhook_requests) == 3


@pytest.mark.parametrize(
    ("overrides", "secret", "expected"),
    [
        ({}, "", r"push.headers.Authorization uses \{secret\} but there is no secret"),
        ({"url": ""}, WEBHOOK_SECRET, "push.url is missing"),
        ({"url": "ftp://example.jp/push"}, WEBHOOK_SECRET, "must be an http"),
        ({"url": "https://example.jp:99999/push"}, WEBHOOK_SECRET, "must be an http"),
        ({"headers": {"X-Key": "a\r\nb: {secret}"}}, WEBHOOK_SECRET, "line breaks"),
    ],
)
def test_unusable_webhook_configuration_fails_at_open(
    make_channel: MakeChannel,
    overrides: dict[str, Any],
    secret: str,
    expected: str,
) -> None:
    channel = make_channel(provider="webhook", secret=secret, **overrides)
    with pytest.raises(ChannelError, match=expected) as info:
        channel.open()
    assert WEBHOOK_SECRET not in str(info.value)


def test_settings_are_strict() -> None:
    with pytest.raises(ValueError, match="extra"):
        PushSettings(provider="fcm", projectid="typo")  # type: ignore[call-arg]
    with pytest.raises(ValueError):
        PushSettings(provider="apns")  # type: ignore[arg-type]
    assert PushSettings().enabled is False and PushSettings().provider == "fcm"


def test_an_http2_clients_internal_keyerror_leaves_the_message_in_doubt(
    make_channel: MakeChannel, server: PushServer
) -> None:
    """httpcore's synchronous HTTP/2 client raised KeyError (its stream bookkeeping) when the
    server closed a connection with streams in flight (seen in CI): the request may have left,
    so the message is in doubt, never retried and never a traceback out of the sweep."""
    with make_channel() as channel:
        channel.send([envelope(1)])  # the token, and the client, are ready
        real_post = channel._client.post
        calls: list[str] = []

        def broken_post(url: str, **kw: Any) -> Any:
            if url.endswith("messages:send"):
                calls.append(url)
                raise KeyError(7)
            return real_post(url, **kw)

        channel._client.post = broken_post
        [result] = channel.send([envelope(2)])
    assert result.result is Result.IN_DOUBT
    assert "in doubt" in result.detail and len(calls) == 1  # not retried
