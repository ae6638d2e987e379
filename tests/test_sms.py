"""SMS: phone numbers, segment counting, the footer, and the channel against a real HTTP server.

The channel talks to tests/http_server.py (a real HTTP/1.1 server in this process) scripted to
answer the way gateways do (429 with Retry-After, 503, 400, 401, a stall, a dropped connection),
and what arrived is asserted at the server: exact JSON, form fields, headers, how many requests
and on how many connections. Waits between tries go to a recorder instead of the clock, so the
backoff and Retry-After are asserted exactly and cost no time.
"""

from __future__ import annotations

import base64
import json
import logging
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from pydantic import ValidationError

from cartnudge.channels.base import Envelope, Result, Retries, SendResult
from cartnudge.channels.ratelimit import Limiter
from cartnudge.channels.sms import (
    DEFAULT_BODY,
    MAX_WAIT,
    BodyTemplate,
    SmsChannel,
    SmsSettings,
    retry_after_seconds,
    settings_problem,
)
from cartnudge.core.phones import mask_phone, normalise_phone
from cartnudge.errors import ChannelError, TemplateError
from cartnudge.messages.sms_text import (
    GSM_BASIC,
    GSM_EXTENSION,
    SmsLength,
    check_length,
    segments,
    with_footer,
)
from tests.http_server import HttpServer, Reply, Request, free_port

SECRET = "s3cr3t-T0ken-xyz"
SENDER = "CartShop"
TWILIO_FROM = "+15005550006"
SID = "AC0123456789abcdef"
BACKOFF = 0.5  # waits are recorded, not slept: realistic values cost nothing

# -- phone numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "090-1234-5678",
        "09012345678",
        "+81 90 1234 5678",
        "+81-90-1234-5678",
        "０９０−１２３４−５６７８",  # full-width digits, minus sign
        "０９０－１２３４－５６７８",  # full-width digits, full-width hyphen
        "090ー1234ー5678",  # katakana long-vowel mark typed as a hyphen
        " (090) 1234 5678 ",
        "090.1234.5678",
    ],
)
def test_japanese_mobile_numbers_become_e164(raw: str) -> None:
    assert normalise_phone(raw) == "+819012345678"


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "   ",
        "090-123",  # too short
        "090-1234-56789012",  # too long
        "000-0000-0000",  # impossible
        "abc",
        "090-1234-567a",
        "0120-ABC-DEF",  # a vanity number, not something to text
        "090-1234-5678 ext 1",
        "+",
        "++819012345678",
        "81+9012345678",
    ],
)
def test_invalid_numbers_become_none(raw: str | None) -> None:
    assert normalise_phone(raw) is None


def test_landlines_are_valid_but_not_mobile() -> None:
    assert normalise_phone("03-1234-5678") == "+81312345678"
    assert normalise_phone("03-1234-5678", mobile_only=True) is None
    assert normalise_phone("080-1234-5678", mobile_only=True) == "+818012345678"


def test_the_region_is_where_national_numbers_are_dialled() -> None:
    assert normalise_phone("(650) 253-0000", region="US") == "+16502530000"
    assert normalise_phone("+1 650 253 0000") == "+16502530000"  # an explicit code wins


@pytest.mark.parametrize(
    ("e164", "masked"),
    [("+819012345678", "***5678"), ("+16502530000", "***0000"), ("", "***"), (None, "***")],
)
def test_mask_phone_shows_the_last_four_digits(e164: str | None, masked: str) -> None:
    assert mask_phone(e164) == masked


# -- segments -----------------------------------------------------------------------------------


def test_the_gsm_alphabet_tables_are_complete() -> None:
    assert len(GSM_BASIC) == 127  # 128 codes, less the escape
    assert len(GSM_EXTENSION) == 10


@pytest.mark.parametrize(
    ("text", "encoding", "characters", "parts"),
    [
        ("", "GSM-7", 0, 1),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("あ" * 70, "UCS-2", 70, 1),
        ("あ" * 71, "UCS-2", 71, 2),
        ("あ" * 134, "UCS-2", 134, 2),
        ("あ" * 135, "UCS-2", 135, 3),
        ("€", "GSM-7", 2, 1),  # the extension table: escape + character
        ("[" * 80, "GSM-7", 160, 1),
        ("[" * 81, "GSM-7", 162, 2),
        ("{}\\^~|]\f", "GSM-7", 16, 1),
        ("@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà\n\r", "GSM-7", 44, 1),
        ("Caf" + "é" * 157, "GSM-7", 160, 1),
        ("ça", "UCS-2", 2, 1),  # lower-case ç is not in the GSM alphabet
        ("a" * 69 + "あ", "UCS-2", 70, 1),  # one Japanese character makes all of it UCS-2
        ("🙂", "UCS-2", 2, 1),  # outside the BMP: a surrogate pair
        ("🙂" * 35, "UCS-2", 70, 1),
        ("🙂" * 36, "UCS-2", 72, 2),
        # A part never splits an escape sequence or a surrogate pair: the 153rd/67th unit
        # would be half a character, so it moves whole to the next part.
        ("a" * 152 + "€" + "a" * 152, "GSM-7", 306, 3),
        ("あ" * 66 + "🙂" + "あ" * 66, "UCS-2", 134, 3),
    ],
)
def test_segments(text: str, encoding: str, characters: int, parts: int) -> None:
    assert segments(text) == SmsLength(encoding, characters, parts)  # type: ignore[arg-type]


def test_with_footer_adds_the_sender_and_the_opt_out() -> None:
    text = with_footer("カートに商品が残っています。\n", "テスト商店", "https://s.example.jp/u/abc")
    assert text == "カートに商品が残っています。\nテスト商店\n配信停止:https://s.example.jp/u/abc"
    assert (
        with_footer("Hi", "Shop", "reply STOP", label="Opt out") == "Hi\nShop\nOpt out:reply STOP"
    )


@pytest.mark.parametrize(("sender", "opt_out"), [("", "https://x.jp/u"), ("Shop", " ")])
def test_with_footer_refuses_to_leave_out_what_the_law_asks_for(sender: str, opt_out: str) -> None:
    with pytest.raises(ValueError, match="SMS needs"):
        with_footer("body", sender, opt_out)


def test_check_length_passes_a_short_text_and_names_the_template_when_too_long() -> None:
    assert check_length("あ" * 134, 2, "template 140002") == SmsLength("UCS-2", 134, 2)
    with pytest.raises(TemplateError) as refused:
        check_length("あ" * 135, 2, "template 140002")
    message = str(refused.value)
    assert "template 140002" in message
    assert "3 segments" in message
    assert "\n" not in message


# -- settings and the webhook body --------------------------------------------------------------


def test_the_default_body_fills_in_json_strings() -> None:
    body = BodyTemplate(DEFAULT_BODY).render({"to": "+819012345678", "from": "S", "text": "やあ"})
    assert json.loads(body) == {"to": "+819012345678", "from": "S", "text": "やあ"}


def test_placeholders_inside_strings_and_nested_structures() -> None:
    template = BodyTemplate(
        '{"messages": [{"destinations": [{"to": {to}}], "text": {text}, "n": 1, "x": null}],'
        ' "source": "tel:{from}", "note": "{text}"}'
    )
    assert template.names == {"to", "from", "text"}
    body = template.render({"to": "+819012345678", "from": "{to}", "text": 'say "{from}"'})
    assert json.loads(body) == {
        "messages": [
            {"destinations": [{"to": "+819012345678"}], "text": 'say "{from}"', "n": 1, "x": None}
        ],
        "source": "tel:{to}",  # values are never substituted again
        "note": 'say "{from}"',
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"to": {to}, "text": {text}', "is not JSON"),
        ('{"to": {to}, "text": {txt}}', "is not JSON"),  # unknown placeholder
        ('{"to": "+81", "text": {text}}', "must use {to} and {text}"),
        ('{"to": {to}}', "must use {to} and {text}"),
    ],
)
def test_a_broken_body_template_is_refused(body: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SmsSettings(body=body)


@pytest.mark.parametrize(
    "changes",
    [
        {"url": "ftp://gateway.example/"},
        {"url": "not a url"},
        {"headers": {"X Key": "v"}},
        {"headers": {"X-Key": "a\r\nInjected: yes"}},
        {"account_sid": "AC/../../x"},
        {"timeout": 0},
        {"max_segments": 0},
        {"unknown": 1},
    ],
)
def test_unusable_settings_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SmsSettings(**changes)


def test_settings_are_frozen() -> None:
    with pytest.raises(ValidationError):
        SmsSettings().enabled = True  # type: ignore[misc]


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (None, None),
        ("0", 0.0),
        ("7", 7.0),
        ("3600", 3600.0),  # capped by the channel, not here
        ("soon", None),
        ("-5", None),
    ],
)
def test_retry_after_as_seconds(value: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(value) == seconds


def test_retry_after_as_an_http_date() -> None:
    now = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    earlier = format_datetime(now - timedelta(seconds=30), usegmt=True)
    assert retry_after_seconds(later, now) == 30.0
    assert retry_after_seconds(earlier, now) == 0.0


# -- the channel --------------------------------------------------------------------------------


def sms(i: int, text: str | None = None) -> Envelope:
    body = text if text is not None else f"カートに商品が残っています ({i})\nテスト商店\n配信停止:x"
    return Envelope(
        delivery_id=100 + i,
        recipient=f"+8190123456{i:02d}",
        sender="",
        message_id=f"sms-{i}",
        data=body.encode("utf-8"),
    )


class Waits(list[float]):
    """Stands in for time.sleep: records each wait between tries."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def webhook_channel(
    server: HttpServer,
    secret: str | None = None,
    *,
    waits: Waits | None = None,
    timeout: float = 2.0,
    max_tries: int = 3,
    url: str | None = None,
    **settings: Any,
) -> SmsChannel:
    config = SmsSettings(
        enabled=True,
        url=url if url is not None else f"{server.url}/sms",
        sender=SENDER,
        timeout=timeout,
        secret_env="TEST_SMS_SECRET" if secret else None,
        **settings,
    )
    return SmsChannel(
        config,
        secret,
        retries=Retries(max_tries, BACKOFF, waits if waits is not None else Waits()),
    )


def twilio_channel(
    server: HttpServer, secret: str | None = SECRET, *, waits: Waits | None = None
) -> SmsChannel:
    config = SmsSettings(
        enabled=True,
        provider="twilio",
        url=server.url,
        account_sid=SID,
        sender=TWILIO_FROM,
        timeout=2.0,
        secret_env="TEST_TWILIO_TOKEN",
    )
    return SmsChannel(
        config,
        secret,
        retries=Retries(backoff=BACKOFF, sleep=waits if waits is not None else Waits()),
    )


@pytest.fixture
def server() -> Iterator[HttpServer]:
    with HttpServer(default=Reply.json(200, {"id": "msg-1"})) as running:
        yield running


class TestContract:
    """What tests/test_channels.py asks of every channel, with SMS envelopes."""

    def test_a_batch_of_five_gets_five_sent_results_in_order(self, server: HttpServer) -> None:
        batch = [sms(i) for i in range(5)]
        with webhook_channel(server) as channel:
            results = channel.send(batch)
        assert [r.delivery_id for r in results] == [e.delivery_id for e in batch]
        assert [r.result for r in results] == [Result.SENT] * 5
        assert not any(r.hard_bounce for r in results)
        assert [r.json()["to"] for r in server.requests] == [e.recipient for e in batch]

    def test_batches_within_one_session_share_one_connection(self, server: HttpServer) -> None:
        with webhook_channel(server) as channel:
            first = channel.send([sms(1), sms(2)])
            second = channel.send([sms(3)])
        assert [r.result for r in first + second] == [Result.SENT] * 3
        assert len(server.requests) == 3
        assert [r.connection for r in server.requests] == [1, 1, 1]
        assert server.connections == 1

    def test_an_empty_batch_gets_no_results(self, server: HttpServer) -> None:
        with webhook_channel(server) as channel:
            assert channel.send([]) == []
        assert server.requests == []

    def test_close_is_harmless_before_open_and_twice(self, server: HttpServer) -> None:
        channel = webhook_channel(server)
        channel.close()
        [result] = channel.send([sms(1)])  # opens on first use
        assert result.result is Result.SENT
        channel.close()
        channel.close()


class TestWebhook:
    def test_the_body_is_exactly_the_template_filled_in(self, server: HttpServer) -> None:
        text = "カートに商品が残っています\nテスト商店\n配信停止:https://s.example.jp/u/abc"
        with webhook_channel(server) as channel:
            [result] = channel.send([sms(1, text)])
        assert result == SendResult(101, Result.SENT, "200 OK id msg-1")
        [request] = server.requests
        assert request.method == "POST"
        assert request.path == "/sms"
        assert request.header("Content-Type") == "application/json"
        assert request.json() == {"to": "+819012345601", "from": SENDER, "text": text}

    def test_a_text_cannot_break_out_of_its_json_string(self, server: HttpServer) -> None:
        text = 'He said "hi"\n"}, "to": "+10000000000", "x": {"\\u0000 {to} \\'
        with webhook_channel(server) as channel:
            [result] = channel.send([sms(1, text)])
        assert result.result is Result.SENT
        assert server.requests[0].json() == {"to": "+819012345601", "from": SENDER, "text": text}

    def test_headers_carry_the_secret_from_the_environment(self, server: HttpServer) -> None:
        headers = {"Authorization": "Bearer {secret}", "X-Api-Key": "{secret}", "X-Shop": "s1"}
        with webhook_channel(server, SECRET, headers=headers) as channel:
            [result] = channel.send([sms(1)])
        assert result.result is Result.SENT
        request = server.requests[0]
        assert request.header("Authorization") == f"Bearer {SECRET}"
        assert request.header("X-Api-Key") == SECRET
        assert request.header("X-Shop") == "s1"

    def test_a_custom_body_template(self, server: HttpServer) -> None:
        body = '{"message": {"recipients": [{to}], "content": {text}}, "sender": "id:{from}"}'
        with webhook_channel(server, body=body) as channel:
            channel.send([sms(1, "hello")])
        assert server.requests[0].json() == {
            "message": {"recipients": ["+819012345601"], "content": "hello"},
            "sender": f"id:{SENDER}",
        }


class TestTwilio:
    def test_form_fields_and_basic_auth(self, server: HttpServer) -> None:
        server.script(Reply.json(201, {"sid": "SM42", "status": "queued"}))
        text = "Your cart misses you\nShop\nOpt out: reply STOP"
        with twilio_channel(server) as channel:
            [result] = channel.send([sms(1, text)])
        assert result == SendResult(101, Result.SENT, "201 Created id SM42")
        [request] = server.requests
        assert request.path == f"/2010-04-01/Accounts/{SID}/Messages.json"
        assert request.header("Content-Type") == "application/x-www-form-urlencoded"
        assert request.form() == {"To": ["+819012345601"], "From": [TWILIO_FROM], "Body": [text]}
        token = base64.b64encode(f"{SID}:{SECRET}".encode()).decode()
        assert request.header("Authorization") == f"Basic {token}"

    @pytest.mark.parametrize(("code", "bounce"), [(21211, True), (21610, True), (21408, False)])
    def test_an_unusable_number_is_a_hard_bounce(
        self, server: HttpServer, code: int, bounce: bool
    ) -> None:
        server.script(Reply.json(400, {"code": code, "message": "refused", "status": 400}))
        with twilio_channel(server) as channel:
            [result] = channel.send([sms(1)])
        assert result.result is Result.PERMANENT
        assert result.hard_bounce is bounce
        assert str(code) in result.detail


class TestRetries:
    def test_429_with_retry_after_then_200_is_sent_once(self, server: HttpServer) -> None:
        server.script(Reply.json(429, {"error": "slow down"}, {"Retry-After": "0"}))
        waits = Waits()
        with webhook_channel(server, waits=waits) as channel:
            [result] = channel.send([sms(1)])
        assert result.result is Result.SENT
        assert len(server.requests) == 2
        assert waits == [0.0]  # what the gateway asked for, not the backoff's 0.5 s
        assert server.connections == 1

    def test_retry_after_is_capped(self, server: HttpServer) -> None:
        server.script(Reply(429, {"Retry-After": "3600"}), Reply(503, {"Retry-After": "7"}))
        waits = Waits()
        with webhook_channel(server, waits=waits) as channel:
            [result] = channel.send([sms(1)])
        assert result.result is Result.SENT
        assert waits == [MAX_WAIT, 7.0]

    def test_503_forever_is_temporary_after_max_tries(self, server: HttpServer) -> None:
        server.default = Reply(503, {"Content-Type": "text/plain"}, "gateway\nbusy")
        waits = Waits()
        with webhook_channel(server, waits=waits, max_tries=3) as channel:
            first, second = channel.send([sms(1), sms(2)])
        assert first.result is Result.TEMPORARY
        assert "503 Service Unavailable: gateway busy" in first.detail
        assert "gave up after 3 tries" in first.detail
        assert waits == [0.5, 1.0, 0.5, 1.0]  # exponential backoff, for each message
        # A 503 may be about one message: the next one was tried all the same.
        assert second.result is Result.TEMPORARY
        assert len(server.requests) == 6

    @pytest.mark.parametrize("status", [500, 502, 504])
    def test_an_ambiguous_5xx_is_in_doubt_and_never_retried(
        self, server: HttpServer, status: int
    ) -> None:
        # A proxy can answer 502/504 after the gateway queued the SMS: a retry could send a
        # paid message twice.
        server.script(Reply(status), Reply.json(201, {"id": "SM2"}))
        with webhook_channel(server) as channel:
            first, second = channel.send([sms(1), sms(2)])
        assert (first.result, second.result) == (Result.IN_DOUBT, Result.SENT)
        assert first.detail.startswith("in doubt: ") and str(status) in first.detail
        assert len(server.requests) == 2

    def test_429_forever_throttles_the_channel_and_leaves_the_rest_untried(
        self, server: HttpServer
    ) -> None:
        server.default = Reply(429, {"Retry-After": "1"})
        with webhook_channel(server) as channel:
            results = channel.send([sms(1), sms(2), sms(3)])
        # Retry-After honoured on each try, then the channel is throttled for the run: the
        # sweep leaves everyone for the next sweep without charging a try (issue 10).
        assert [r.result for r in results] == [Result.THROTTLED] * 3
        assert "429" in results[0].detail
        assert all(r.detail.startswith("not tried: ") for r in results[1:])
        assert [r.tried for r in results] == [True, False, False]
        assert len(server.requests) == 3  # the first message's tries only

    def test_400_is_permanent_and_not_retried(self, server: HttpServer) -> None:
        server.script(Reply.json(400, {"error": "invalid number"}))
        with webhook_channel(server) as channel:
            refused, fine = channel.send([sms(1), sms(2)])
        assert refused.result is Result.PERMANENT
        assert refused.detail.endswith('400 Bad Request: {"error": "invalid number"}')
        assert not refused.hard_bounce
        assert fine.result is Result.SENT
        assert len(server.requests) == 2
        assert server.connections == 1  # a refusal does not cost the connection

    @pytest.mark.parametrize("status", [401, 403, 404, 301])
    def test_a_refused_setup_throttles_the_channel_for_the_whole_batch(
        self, server: HttpServer, status: int
    ) -> None:
        server.default = Reply(status)
        with webhook_channel(server) as channel:
            results = channel.send([sms(1), sms(2)])
        assert [r.result for r in results] == [Result.THROTTLED] * 2
        assert [r.tried for r in results] == [True, False]
        assert str(status) in results[0].detail
        assert results[1].detail.startswith("not tried: ")
        assert len(server.requests) == 1

    def test_a_closed_port_is_temporary_and_the_batch_is_not_tried(self) -> None:
        port = free_port()  # nothing listens there
        waits = Waits()
        config = SmsSettings(enabled=True, url=f"http://127.0.0.1:{port}/sms", sender=SENDER)
        with SmsChannel(config, None, retries=Retries(backoff=BACKOFF, sleep=waits)) as channel:
            results = channel.send([sms(1), sms(2)])
        assert [r.result for r in results] == [Result.TEMPORARY] * 2
        assert results[0].detail.startswith(f"sms http://127.0.0.1:{port}: cannot connect")
        assert "gave up after 3 tries" in results[0].detail
        assert results[1].detail.startswith("not tried: ")
        assert waits == [0.5, 1.0]

    def test_no_answer_within_the_timeout_is_in_doubt_and_never_retried(
        self, server: HttpServer
    ) -> None:
        server.script(Reply(200, delay=5.0))  # answers long after the client gave up
        with webhook_channel(server, timeout=0.3) as channel:
            first, second = channel.send([sms(1), sms(2)])
        assert first.result is Result.IN_DOUBT
        assert "in doubt" in first.detail
        assert "ReadTimeout" in first.detail
        assert second.result is Result.SENT
        assert [r.json()["to"] for r in server.requests] == [sms(1).recipient, sms(2).recipient]
        assert server.connections == 2  # the timed-out connection was not reused

    def test_a_connection_dropped_after_the_request_is_in_doubt(self, server: HttpServer) -> None:
        server.script(Reply(drop=True))
        with webhook_channel(server) as channel:
            first, second = channel.send([sms(1), sms(2)])
        assert first.result is Result.IN_DOUBT
        assert second.result is Result.SENT
        assert len(server.requests) == 2

    def test_a_recipient_that_is_not_e164_is_refused_without_a_request(
        self, server: HttpServer
    ) -> None:
        bad = Envelope(1, "090-1234-5678", "", "sms-x", b"hello")
        with webhook_channel(server) as channel:
            [result] = channel.send([bad])
        assert result == SendResult(1, Result.PERMANENT, "recipient ***5678 is not an E.164 number")
        assert server.requests == []


def echo_credentials(request: Request) -> Reply:
    """A gateway that quotes the request's credentials back in its error."""
    return Reply.json(500, {"Authorization": request.header("Authorization")})


class TestSecrets:
    def test_the_secret_never_appears_in_details_or_logs(
        self, server: HttpServer, caplog: pytest.LogCaptureFixture
    ) -> None:
        server.default = echo_credentials
        token = base64.b64encode(f"{SID}:{SECRET}".encode()).decode()
        headers = {"Authorization": "Bearer {secret}"}
        caplog.set_level(logging.DEBUG)
        with webhook_channel(server, SECRET, headers=headers) as webhook:
            webhook_results = webhook.send([sms(1)])
        with twilio_channel(server) as twilio:
            twilio_results = twilio.send([sms(2)])
        echoed = b"".join(r.body for r in server.requests)
        assert SECRET.encode() not in echoed  # the secret was only in headers...
        assert any(SECRET in str(dict(r.headers.items())) for r in server.requests)  # ...sent
        details = " ".join(r.detail for r in webhook_results + twilio_results)
        assert "Authorization" in details  # the echo did reach the details
        shown = details + caplog.text + repr(webhook) + repr(twilio)
        assert SECRET not in shown
        assert token not in shown

    def test_a_secret_cut_by_the_excerpt_is_scrubbed_first(self, server: HttpServer) -> None:
        server.script(Reply(400, body="x" * 190 + SECRET))  # the excerpt ends mid-secret
        headers = {"X-Api-Key": "{secret}"}
        with webhook_channel(server, SECRET, headers=headers) as channel:
            [result] = channel.send([sms(1)])
        assert result.result is Result.PERMANENT
        assert result.detail.endswith("x***")
        assert SECRET[:8] not in result.detail

    @pytest.mark.parametrize(
        ("settings", "secret", "message"),
        [
            ({"enabled": False, "url": "http://127.0.0.1:9/sms"}, None, "not enabled"),
            ({}, None, "sms.url: missing"),
            ({"provider": "twilio", "sender": TWILIO_FROM}, SECRET, "sms.account_sid: missing"),
            (
                {"provider": "twilio", "account_sid": SID, "sender": ""},
                SECRET,
                "sms.sender: missing",
            ),
            (
                {"url": "http://127.0.0.1:9/sms", "sender": ""},
                None,
                "sms.sender: missing (sms.body uses {from})",
            ),
            (
                {"provider": "twilio", "account_sid": SID, "sender": TWILIO_FROM},
                None,
                "sms.secret_env: missing",
            ),
            (
                {"url": "http://127.0.0.1:9/sms", "headers": {"X-Key": "{secret}"}},
                None,
                "sms.headers.X-Key: uses {secret} but sms.secret_env names no secret",
            ),
            (
                {"url": "http://127.0.0.1:9/sms", "secret_env": "TEST_SMS_SECRET"},
                None,
                "environment variable TEST_SMS_SECRET is not set",
            ),
            (
                {"url": "http://127.0.0.1:9/sms", "headers": {"X-Key": "{secret}"}},
                "bad\nsecret",
                "sms.headers.X-Key: the secret is not printable ASCII",
            ),
        ],
    )
    def test_an_unusable_configuration_fails_at_open_in_one_line(
        self, settings: dict[str, Any], secret: str | None, message: str
    ) -> None:
        channel = SmsChannel(SmsSettings(**{"enabled": True, "sender": "S", **settings}), secret)
        with pytest.raises(ChannelError) as refused:
            channel.open()
        channel.close()
        text = str(refused.value)
        assert message in text
        assert text.startswith("sms ")
        assert "\n" not in text
        if secret:
            assert secret not in "".join(traceback.format_exception(refused.value))

    def test_settings_problem_is_none_for_a_usable_configuration(self) -> None:
        webhook = SmsSettings(enabled=True, url="https://gw.example.jp/sms", sender="S")
        assert settings_problem(webhook, None) is None
        twilio = SmsSettings(enabled=True, provider="twilio", account_sid=SID, sender="+1")
        assert settings_problem(twilio, SECRET) is None
        assert settings_problem(twilio, None) is not None

    def test_where_shows_the_origin_not_the_path(self) -> None:
        config = SmsSettings(enabled=True, url="https://gw.example.jp:8443/hooks/T0KEN/sms?k=v")
        assert repr(SmsChannel(config, None)) == "SmsChannel(webhook, https://gw.example.jp:8443)"
        twilio = SmsSettings(enabled=True, provider="twilio", account_sid=SID, sender="x")
        assert twilio.endpoint() == (
            f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Messages.json"
        )


class TestRateLimit:
    def test_every_request_waits_for_its_slot_of_sms_rate_limit(self, server: HttpServer) -> None:
        waits = Waits()
        with webhook_channel(server, waits=waits, rate_limit={"per_second": 2}) as channel:
            # The limiter's clock stands still (the fake sleep does not move it either), so
            # the waits do not depend on how long the real requests took on a busy machine.
            channel.limiter = Limiter(channel.limiter.limit, clock=lambda: 0.0, sleep=waits)
            results = channel.send([sms(i) for i in range(5)])
        assert [r.result for r in results] == [Result.SENT] * 5
        # 2 at once (one second's burst), then one every 0.5 s, each wait counted from the
        # start: 0.5, 1.0, 1.5.
        assert waits == [0.5, 1.0, 1.5]
        assert len(server.requests) == 5

    def test_the_rate_limit_is_read_from_the_configuration(self) -> None:
        settings = SmsSettings(enabled=True, url="https://sms.example.jp/send", sender="X")
        assert SmsChannel(settings, None).limiter.limit.unlimited
        limited = SmsSettings.model_validate(
            {**settings.model_dump(), "rate_limit": {"per_hour": 100}}
        )
        assert SmsChannel(limited, None).limiter.limit.per_hour == 100
