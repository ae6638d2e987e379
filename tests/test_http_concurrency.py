"""SMS, push and LINE with several requests in flight (issue 14, point 5), against a real HTTP
server in this process (tests/http_server.py): the requests really overlap (the server holds
the first ones until all of them have arrived), every envelope's result comes back in order,
the channel's rate limit holds over all of them (read on the limiter's injectable clock), a
connection dropped with several requests in flight loses nothing and sends nothing twice, and a
429 with Retry-After pauses every request of the channel instead of dropping anything."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from cartnudge.app import App
from cartnudge.channels.base import Channel, Envelope, Result, Retries
from cartnudge.channels.line import LineChannel, LineSettings
from cartnudge.channels.memory import MemoryChannel
from cartnudge.channels.push import PushChannel, PushSettings, push_payload
from cartnudge.channels.ratelimit import Limiter
from cartnudge.channels.sms import SmsChannel, SmsSettings
from cartnudge.config import load_config
from cartnudge.core.ratelimit import RateLimit
from cartnudge.sweep import Sweep
from tests.conftest import write_config
from tests.http_server import HttpServer, Reply, Request
from tests.shop import ShopBuilder
from tests.test_idempotency import AFTER_LEASE, finish, spawn, statuses, sweep_in_a_new_process
from tests.test_sweep_channels import NOON_JST, input_flow, left_lp_form, sms_gateway

LINE_TOKEN = "line-channel-access-token-0123456789"
OK = Reply.json(200, {"id": "accepted", "name": "projects/p/messages/1"})


class SlotClock:
    """A clock standing still at 100 s, whose sleep records the slot asked for: the limiter's
    schedule is read back without any real waiting (as in tests/test_smtp_connections.py)."""

    def __init__(self) -> None:
        self.slots: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return 100.0

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slots.append(100.0 + seconds)


class Gate:
    """A responder: the first ``hold`` requests wait until all of them have arrived (so they are
    in flight together; a client sending one at a time breaks the gate after ``timeout`` and is
    answered nothing), then each gets ``answer(request)``. ``most``: the most requests the
    server was answering at once."""

    def __init__(self, hold: int, answer: Callable[[Request], Reply], timeout: float = 5.0) -> None:
        self.hold = hold
        self.answer = answer
        self._barrier = threading.Barrier(hold, timeout=timeout)
        self._lock = threading.Lock()
        self._arrived = 0
        self._in_flight = 0
        self.most = 0

    def __call__(self, request: Request) -> Reply:
        with self._lock:
            self._in_flight += 1
            self.most = max(self.most, self._in_flight)
            first = self._arrived < self.hold
            self._arrived += 1
        try:
            if first:
                self._barrier.wait()
            return self.answer(request)
        finally:
            with self._lock:
                self._in_flight -= 1


@dataclass(frozen=True)
class Kind:
    """One channel as these tests drive it."""

    name: str
    make: Callable[..., Channel]  # (server, concurrency, limiter, sleep) -> channel
    envelope: Callable[[int], Envelope]
    who: Callable[[Request], str]  # the recipient a request is for
    recipient: Callable[[int], str]
    is_message: Callable[[Request], bool] = lambda request: True


def _sms(server: HttpServer, concurrency: int, limiter: Limiter | None, sleep: Any) -> Channel:
    settings = SmsSettings(
        enabled=True, url=f"{server.url}/sms", sender="Shop", timeout=2, concurrency=concurrency
    )
    return SmsChannel(settings, None, retries=Retries(backoff=0.01, sleep=sleep), limiter=limiter)


def _phone(i: int) -> str:
    return f"+81901234{i:04d}"


def _sms_envelope(i: int) -> Envelope:
    return Envelope(100 + i, _phone(i), "", f"sms-{i}", f"カート {i}\n配信停止:x".encode())


def _webhook(server: HttpServer, concurrency: int, limiter: Limiter | None, sleep: Any) -> Channel:
    settings = PushSettings(
        enabled=True, provider="webhook", url=f"{server.url}/push", timeout=2,
        concurrency=concurrency,
    )  # fmt: skip
    return PushChannel(settings, None, retries=Retries(backoff=0.01, sleep=sleep), limiter=limiter)


def _device(i: int) -> str:
    return f"device-token-{i:04d}"


def _push_envelope(i: int) -> Envelope:
    data = push_payload("カートに商品が残っています", f"{i} 点", "https://shop.example.jp/c")
    return Envelope(100 + i, _device(i), "", f"push-{i}", data)


_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_PEM = _KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()


def _fcm(server: HttpServer, concurrency: int, limiter: Limiter | None, sleep: Any) -> Channel:
    settings = PushSettings(
        enabled=True, provider="fcm", project_id="p", service_account_env="SA",
        endpoint=server.url, token_uri=f"{server.url}/token", timeout=2, concurrency=concurrency,
    )  # fmt: skip
    account = json.dumps({"client_email": "sa@p.iam.gserviceaccount.com", "private_key": _PEM})
    return PushChannel(
        settings, account, retries=Retries(backoff=0.01, sleep=sleep), limiter=limiter
    )


def _line(server: HttpServer, concurrency: int, limiter: Limiter | None, sleep: Any) -> Channel:
    assert limiter is None, "LINE has no rate limit of its own"
    settings = LineSettings(enabled=True, base_url=server.url, timeout=2, concurrency=concurrency)
    return LineChannel(settings, LINE_TOKEN, retries=Retries(sleep=sleep))


def _user(i: int) -> str:
    return f"U{i:032x}"


def _line_envelope(i: int) -> Envelope:
    messages = [{"type": "text", "text": f"message {i}"}]
    return Envelope(100 + i, _user(i), "", f"line-{i}", json.dumps(messages).encode())


SMS = Kind("sms", _sms, _sms_envelope, lambda r: r.json()["to"], _phone)
WEBHOOK = Kind("push-webhook", _webhook, _push_envelope, lambda r: r.json()["token"], _device)
FCM = Kind(
    "push-fcm",
    _fcm,
    _push_envelope,
    lambda r: r.json()["message"]["token"],
    _device,
    is_message=lambda r: r.path.endswith("messages:send"),
)
LINE = Kind("line", _line, _line_envelope, lambda r: r.json()["to"], _user)


def token_endpoint(answer: Callable[[Request], Reply]) -> Callable[[Request], Reply]:
    """``answer`` for messages; the OAuth token endpoint answers a token of its own."""

    def respond(request: Request) -> Reply:
        if request.path == "/token":
            return Reply.json(200, {"access_token": "ya29.test-token", "expires_in": 3600})
        return answer(request)

    return respond


@pytest.fixture
def server() -> Iterator[HttpServer]:
    with HttpServer() as running:
        yield running


def delivered(server: HttpServer, kind: Kind) -> Counter[str]:
    """Whom the messages the server received were for (answered or not)."""
    return Counter(kind.who(r) for r in server.requests if kind.is_message(r))


@pytest.mark.parametrize("kind", [SMS, WEBHOOK, FCM, LINE], ids=lambda k: k.name)
def test_requests_are_in_flight_together_and_the_results_come_back_in_envelope_order(
    server: HttpServer, kind: Kind
) -> None:
    gate = Gate(4, lambda request: OK)
    server.default = token_endpoint(gate)
    batch = [kind.envelope(i) for i in range(12)]
    with kind.make(server, 4, None, lambda _s: None) as channel:
        results = channel.send(batch)
        again = channel.send([kind.envelope(i) for i in range(12, 16)])  # same connections
    assert [r.delivery_id for r in results] == [e.delivery_id for e in batch]
    assert {r.result for r in results + again} == {Result.SENT}
    assert gate.most == 4  # four requests really were in flight at once
    assert delivered(server, kind) == Counter(kind.recipient(i) for i in range(16))
    assert server.connections <= 4  # at most one connection per request in flight, kept


@pytest.mark.parametrize("kind", [SMS, WEBHOOK, FCM], ids=lambda k: k.name)
def test_a_connection_dropped_with_several_requests_in_flight_loses_nothing_and_repeats_nothing(
    server: HttpServer, kind: Kind
) -> None:
    """The first four requests are in flight together; the server hangs up on two of them
    after reading them whole: exactly those two are in doubt (never retried), every other
    envelope is sent once, on the connections left or new ones."""
    dropped = {kind.recipient(1), kind.recipient(2)}

    def answer(request: Request) -> Reply:
        return Reply(drop=True) if kind.who(request) in dropped else OK

    server.default = token_endpoint(Gate(4, answer))
    batch = [kind.envelope(i) for i in range(12)]
    with kind.make(server, 4, None, lambda _s: None) as channel:
        results = channel.send(batch)
    assert [r.delivery_id for r in results] == [e.delivery_id for e in batch]
    assert [r.result for r in results] == [Result.SENT] + [Result.IN_DOUBT] * 2 + [Result.SENT] * 9
    assert all("never sent twice" in r.detail for r in results[1:3])
    # Every envelope reached the server exactly once, the two in doubt included.
    assert delivered(server, kind) == Counter(kind.recipient(i) for i in range(12))


def test_line_repeats_a_dropped_push_under_its_retry_key_and_it_is_taken_once(
    server: HttpServer,
) -> None:
    """LINE's retry key makes a repeat safe: a push whose connection dropped with others in
    flight is tried again with the same key, LINE answers 409 "already accepted" for it, and
    nobody gets a message twice."""
    accepted: dict[str, int] = {}
    lock = threading.Lock()

    def answer(request: Request) -> Reply:
        key = request.header("X-Line-Retry-Key") or ""
        with lock:
            seen = key in accepted
            accepted[key] = accepted.get(key, 0) + 1
        if seen:
            return Reply.json(409, {"message": "The retry key is already accepted"})
        return Reply(drop=True) if request.json()["to"] in (_user(1), _user(2)) else OK

    server.default = Gate(4, answer)
    with LINE.make(server, 4, None, lambda _s: None) as channel:
        results = channel.send([_line_envelope(i) for i in range(12)])
    assert {r.result for r in results} == {Result.SENT}
    assert len(accepted) == 12  # one key per delivery, each taken by the first request
    assert sorted(accepted.values()) == [1] * 10 + [2] * 2  # the two dropped ones, repeated


@pytest.mark.parametrize("kind", [SMS, WEBHOOK], ids=lambda k: k.name)
def test_the_rate_limit_holds_over_a_minute_across_concurrent_requests(
    server: HttpServer, kind: Kind
) -> None:
    clock = SlotClock()
    limiter = Limiter(RateLimit(per_second=2), clock=clock, sleep=clock.sleep)
    server.default = OK
    with kind.make(server, 4, limiter, lambda _s: None) as channel:
        results = channel.send([kind.envelope(i) for i in range(200)])
    assert {r.result for r in results} == {Result.SENT}
    # Two at once (one second's burst), then every slot 0.5 s after the last, each taken by
    # exactly one of the four concurrent requests.
    assert sorted(clock.slots) == pytest.approx([100 + 0.5 * k for k in range(1, 199)])
    leave = sorted([100.0] * (200 - len(clock.slots)) + clock.slots)
    busiest = max(sum(1 for t in leave if start <= t < start + 60) for start in leave)
    assert busiest <= 2 * 60 * 1.05  # within 5 % over any minute


@pytest.mark.parametrize("kind", [SMS, WEBHOOK, FCM], ids=lambda k: k.name)
def test_429_with_retry_after_pauses_every_concurrent_request_and_drops_nothing(
    server: HttpServer, kind: Kind
) -> None:
    """Four requests in flight; the first is answered 429 "Retry-After: 5", the other three a
    moment later: every request that starts after the 429, the repeat of the refused one
    included, waits for the pause (its slot is at 105 s or later); nothing is throttled,
    everything is sent once."""
    refused: list[str] = []

    def answer(request: Request) -> Reply:
        if kind.who(request) == kind.recipient(0) and not refused:
            refused.append(kind.who(request))
            return Reply.json(429, {"error": "slow down"}, {"Retry-After": "5"})
        return Reply.json(200, {"id": "ok"}, delay=0.3 if len(server.requests) <= 5 else 0)

    server.default = token_endpoint(Gate(4, answer))
    clock = SlotClock()
    limiter = Limiter(RateLimit(per_second=1000), clock=clock, sleep=clock.sleep)
    waits: list[float] = []
    with kind.make(server, 4, limiter, waits.append) as channel:
        results = channel.send([kind.envelope(i) for i in range(12)])
    assert {r.result for r in results} == {Result.SENT}
    assert refused == [kind.recipient(0)]
    assert Counter(kind.who(r) for r in server.requests if kind.is_message(r)) == Counter(
        [kind.recipient(0)] + [kind.recipient(i) for i in range(12)]
    )
    # The eight envelopes not yet started and the refused one's repeat: all after the pause.
    assert len(clock.slots) == 9 and min(clock.slots) >= 105.0


def test_a_refreshed_access_token_is_fetched_once_for_every_request_in_flight(
    server: HttpServer,
) -> None:
    """FCM answers 401 to four requests in flight with the first access token: one thread
    fetches a new one, the others use it; each message is then sent once."""
    tokens = iter(["ya29.first", "ya29.second", "ya29.third"])
    lock = threading.Lock()

    def respond(request: Request) -> Reply:
        if request.path == "/token":
            with lock:
                return Reply.json(200, {"access_token": next(tokens), "expires_in": 3600})
        if request.header("Authorization") == "Bearer ya29.first":
            return Reply.json(401, {"error": {"status": "UNAUTHENTICATED"}})
        return OK

    gate = Gate(4, respond)
    server.default = lambda request: respond(request) if request.path == "/token" else gate(request)
    with FCM.make(server, 4, None, lambda _s: None) as channel:
        results = channel.send([_push_envelope(i) for i in range(8)])
    assert {r.result for r in results} == {Result.SENT}
    assert sum(1 for r in server.requests if r.path == "/token") == 2  # at open, then once
    sent = [r for r in server.requests if r.header("Authorization") == "Bearer ya29.second"]
    assert Counter(FCM.who(r) for r in sent) == Counter(_device(i) for i in range(8))


def test_concurrency_and_http2_come_from_the_configuration() -> None:
    sms = SmsSettings.model_validate({"enabled": True, "url": "https://gw.example.jp/s"})
    assert (sms.concurrency, sms.http2) == (1, False)
    push = PushSettings.model_validate({"concurrency": 8})
    assert (push.concurrency, push.http2) == (8, False)
    assert LineSettings.model_validate({"concurrency": 3}).concurrency == 3
    with pytest.raises(ValueError, match="concurrency"):
        SmsSettings.model_validate({"concurrency": 0})


# -- the sweep: records and crashes with four SMS requests in flight ----------------------------


def sms_sweep_config(shop: ShopBuilder, tmp_path: Path, gateway: HttpServer, batch: int) -> Path:
    from tests.conftest import base_config

    data = base_config(shop.url, tmp_path)
    data["flows"].update(input_flow(["sms"]))
    data["sms"] = dict(sms_gateway(f"{gateway.url}/sms"), concurrency=4, timeout=5)
    data["sweep"]["send_batch"] = batch
    return write_config(tmp_path, data)


def lp_visitors(shop: ShopBuilder, n: int) -> set[str]:
    """``n`` visitors who left the LP form with their phone number, due at noon; their E.164
    numbers."""
    for i in range(n):
        left_lp_form(shop, NOON_JST - timedelta(hours=2, minutes=i), phone=f"090-1234-{5600 + i}")
    return {f"+81901234{5600 + i}" for i in range(n)}


def test_a_sweep_sending_four_sms_at_a_time_records_dropped_ones_in_doubt_and_the_rest_sent(
    sqlite_shop: ShopBuilder, tmp_path: Path
) -> None:
    phones = lp_visitors(sqlite_shop, 12)
    arrived: list[str] = []

    def answer(request: Request) -> Reply:
        arrived.append(request.json()["to"])
        return Reply(drop=True) if len(arrived) in (2, 3) else Reply.json(201, {"id": "SM"})

    with HttpServer() as gateway:
        gateway.default = Gate(4, answer)
        app = App(load_config(sms_sweep_config(sqlite_shop, tmp_path, gateway, 6)))
        first = Sweep(app, MemoryChannel(), now=NOON_JST).run()
        second = Sweep(app, MemoryChannel(), now=NOON_JST + timedelta(hours=1)).run()
        app.dispose()
    assert (first.sent, second.sent) == (10, 0)
    assert statuses(sqlite_shop) == Counter(sent=10, in_doubt=2)
    assert Counter(arrived) == Counter(phones)  # each once, the two in doubt included


@pytest.mark.slow
def test_a_sweep_killed_with_four_sms_in_flight_sends_nothing_twice(
    sqlite_shop: ShopBuilder, tmp_path: Path
) -> None:
    """kill -9 of the sweeping process from the gateway when the 7th SMS request has arrived,
    before it is answered: several requests are in flight. The killed batch is left in doubt,
    every other visitor gets one SMS from the next run."""
    phones = lp_visitors(sqlite_shop, 30)
    arrived: list[str] = []
    proc: list[subprocess.Popen[str]] = []

    def answer(request: Request) -> Reply:
        arrived.append(request.json()["to"])
        if len(arrived) == 7 and proc:
            os.kill(proc[0].pid, signal.SIGKILL)
            return Reply(drop=True)
        return Reply.json(201, {"id": "SM"}, delay=0.05)

    with HttpServer(default=answer) as gateway:
        config = sms_sweep_config(sqlite_shop, tmp_path, gateway, 10)
        proc.append(spawn(config, NOON_JST))
        finish(proc[0], expect_rc=-signal.SIGKILL)
        left_sending = statuses(sqlite_shop)["sending"]
        assert 0 < left_sending <= 10  # only the batch in the channel's hands
        rerun = sweep_in_a_new_process(config, NOON_JST + AFTER_LEASE)
        later = sweep_in_a_new_process(config, NOON_JST + AFTER_LEASE + timedelta(minutes=4))
    assert rerun["in_doubt_found"] == left_sending
    assert later["sent"] == 0
    assert statuses(sqlite_shop) == Counter(sent=30 - left_sending, in_doubt=left_sending)
    got = Counter(arrived)
    assert max(got.values()) == 1  # nothing sent twice
    assert len(phones - set(got)) <= left_sending  # every loss is reported in doubt


# -- HTTP/2 -------------------------------------------------------------------------------------


def test_fcm_over_http2_multiplexes_the_requests_in_flight_on_one_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """push.http2 (opt-in) against a real HTTP/2 server over TLS that offers only h2:
    the access token and eight messages go over one connection, four streams open at once."""
    from tests.h2_server import H2Server

    def answer(method: str, path: str, body: bytes) -> tuple[int, Any]:
        if path == "/token":
            return 200, {"access_token": "ya29.over-h2", "expires_in": 3600}
        return 200, {"name": f"projects/p/messages/{json.loads(body)['message']['token']}"}

    with H2Server(tmp_path, answer, hold=4, wait=0.5) as server:
        monkeypatch.setenv("SSL_CERT_FILE", str(server.ca_file))  # httpx trusts it then
        settings = PushSettings(
            enabled=True, provider="fcm", project_id="p", service_account_env="SA",
            endpoint=server.url, token_uri=f"{server.url}/token", timeout=5, concurrency=4,
            http2=True,
        )  # fmt: skip
        account = json.dumps({"client_email": "sa@p.iam.gserviceaccount.com", "private_key": _PEM})
        with PushChannel(settings, account, retries=Retries(sleep=lambda _s: None)) as channel:
            results = channel.send([_push_envelope(i) for i in range(8)])
    assert [r.result for r in results] == [Result.SENT] * 8
    assert [r.detail for r in results] == [f"projects/p/messages/{_device(i)}" for i in range(8)]
    assert server.protocols == ["h2"] and server.connections == 1
    assert server.most_open == 4  # four streams in flight on that one connection
    sent = [path for _, path, _ in server.requests if path.endswith("messages:send")]
    assert len(sent) == 8
