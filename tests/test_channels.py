"""Channels: one contract every channel keeps, then what only SMTP has to get right.

The contract runs against the file outbox, the in-memory channel and SMTP to a real aiosmtpd
server in this process (tests/smtp_server.py). The SMTP tests script that server to fail the
way real ones do (451, 550 5.1.1, dropped connections, stalls) and count what it received, so
"delivered exactly once" is asserted at the receiving end.
"""

from __future__ import annotations

import email
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cartnudge.channels.base import Channel, Envelope, Result, Retries
from cartnudge.channels.memory import MemoryChannel
from cartnudge.channels.outbox import OutboxChannel
from cartnudge.channels.smtp import SmtpChannel, is_hard_bounce, wire_bytes
from cartnudge.config import SmtpSettings, parse_config
from cartnudge.errors import ChannelError
from cartnudge.messages.mime import build_email, message_id_for
from tests.smtp_server import (
    FOREVER,
    HOST,
    TEMPFAIL,
    USER_UNKNOWN,
    Certificate,
    SmtpServer,
    free_port,
    make_certificate,
    running_server,
)

SENDER = "shop@example.jp"
WHEN = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
BACKOFF = 0.01  # seconds: retries are exercised without the test waiting on them


def envelope(i: int, recipient: str | None = None) -> Envelope:
    """A reminder as the sweep builds it (Japanese names and subject, multipart body)."""
    to = recipient or f"customer{i}@example.jp"
    message_id = message_id_for(100 + i, f"ORD-{i}", SENDER)
    data = build_email(
        subject=f"カートに商品が残っています ({i})",
        text=f"ご注文 ORD-{i} の商品がカートに残っています。\n",
        html=f"<p>ご注文 ORD-{i} の商品がカートに残っています。</p>",
        from_name="テスト商店",
        from_address=SENDER,
        to_name=f"顧客 {i}",
        to_address=to,
        message_id=message_id,
        date=WHEN,
        unsubscribe=[f"https://shop.example.jp/unsubscribe?token=t{i}"],
    )
    return Envelope(
        delivery_id=100 + i, recipient=to, sender=SENDER, message_id=message_id, data=data
    )


def dotted_envelope() -> Envelope:
    """Plain bytes whose lines start with dots: SMTP must stuff and unstuff them."""
    data = (
        b"From: shop@example.jp\nTo: c@example.jp\nSubject: dots\n"
        b"Message-ID: <dots.1@example.jp>\n\n.one dot\n..two dots\n.\nend\n"
    )
    return Envelope(1, "c@example.jp", SENDER, "<dots.1@example.jp>", data)


def lf(data: bytes) -> bytes:
    # SMTP carries CRLF line ends (RFC 5321) while files keep email's LF: compare lines.
    return data.replace(b"\r\n", b"\n")


def message_id(data: bytes) -> str | None:
    return email.message_from_bytes(data)["Message-ID"]


# -- the contract -------------------------------------------------------------------------------


class CountingOutbox(OutboxChannel):
    """The outbox has no far end to watch sessions, so it counts its own."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.opened = self.closed = 0

    def open(self) -> None:
        self.opened += 1
        super().open()

    def close(self) -> None:
        self.closed += 1
        super().close()


@dataclass
class Harness:
    channel: Channel
    delivered: Callable[[], list[bytes]]  # what reached the recipients' side, in order
    sessions: Callable[[], tuple[int, int]]  # (opened, closed), as the far end saw them


@pytest.fixture(params=["outbox", "memory", "smtp"])
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    if request.param == "outbox":
        outbox = CountingOutbox(tmp_path / "outbox")
        yield Harness(
            outbox,
            lambda: [p.read_bytes() for p in sorted(outbox.directory.glob("*.eml"))],
            lambda: (outbox.opened, outbox.closed),
        )
    elif request.param == "memory":
        memory = MemoryChannel()
        yield Harness(
            memory,
            lambda: [e.data for e in memory.sent],
            lambda: (memory.opened, memory.closed),
        )
    else:
        with running_server() as server:
            handler = server.handler
            yield Harness(
                smtp_channel(server),
                lambda: [m.content for m in handler.messages],
                lambda: (handler.connections, handler.quits),
            )


class TestEveryChannel:
    def test_a_batch_of_five_gets_five_sent_results_in_order(self, harness: Harness) -> None:
        batch = [envelope(i) for i in range(5)]
        with harness.channel as channel:
            results = channel.send(batch)
        assert [r.delivery_id for r in results] == [e.delivery_id for e in batch]
        assert [r.result for r in results] == [Result.SENT] * 5
        assert not any(r.hard_bounce for r in results)

    def test_with_opens_the_channel_once_and_closes_it_once(self, harness: Harness) -> None:
        assert harness.sessions() == (0, 0)
        with harness.channel as channel:
            channel.send([envelope(1)])
            assert harness.sessions() == (1, 0)
        assert harness.sessions() == (1, 1)

    def test_batches_within_one_session_share_it(self, harness: Harness) -> None:
        with harness.channel as channel:
            first = channel.send([envelope(1), envelope(2)])
            second = channel.send([envelope(3)])
        assert [r.result for r in first + second] == [Result.SENT] * 3
        assert harness.sessions() == (1, 1)
        assert len(harness.delivered()) == 3

    def test_the_recipient_gets_exactly_the_bytes(self, harness: Harness) -> None:
        batch = [envelope(i) for i in range(3)]
        with harness.channel as channel:
            channel.send(batch)
        delivered = harness.delivered()
        assert [lf(d) for d in delivered] == [lf(e.data) for e in batch]
        assert [message_id(d) for d in delivered] == [e.message_id for e in batch]

    def test_lines_starting_with_a_dot_arrive_intact(self, harness: Harness) -> None:
        dotted = dotted_envelope()
        with harness.channel as channel:
            [result] = channel.send([dotted])
        assert result.result is Result.SENT
        assert [lf(d) for d in harness.delivered()] == [dotted.data]

    def test_an_empty_batch_gets_no_results(self, harness: Harness) -> None:
        with harness.channel as channel:
            assert channel.send([]) == []
        assert harness.delivered() == []


# -- SMTP ---------------------------------------------------------------------------------------


def smtp_channel(
    server: SmtpServer,
    password: str | None = None,
    *,
    username: str | None = None,
    security: str = "none",
    timeout: float = 2.0,
    max_tries: int = 3,
) -> SmtpChannel:
    settings = SmtpSettings(
        host=server.host,
        port=server.port,
        username=username,
        security=security,  # type: ignore[arg-type]
        timeout=timeout,
    )
    return SmtpChannel(settings, password, retries=Retries(max_tries, BACKOFF))


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with running_server() as server:
        yield server


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    cert = make_certificate(tmp_path_factory.mktemp("tls"))
    if cert is None:
        pytest.skip("TLS tests need the openssl command to make a test certificate")
    return cert


@pytest.fixture
def trusted(certificate: Certificate, monkeypatch: pytest.MonkeyPatch) -> Certificate:
    """Make ssl.create_default_context() trust the test certificate (and nothing else)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate.cert))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    return certificate


class TestSmtpRetries:
    @pytest.mark.parametrize("stage", ["rcpt", "data"])
    def test_a_451_then_accept_is_retried_and_delivered_once(
        self, smtp_server: SmtpServer, stage: str
    ) -> None:
        if stage == "rcpt":
            smtp_server.script.tempfail_rcpt = 1
        else:
            smtp_server.script.tempfail_data = 1
        with smtp_channel(smtp_server) as channel:
            [result] = channel.send([envelope(1)])
        assert result.result is Result.SENT
        assert len(smtp_server.handler.messages) == 1
        assert smtp_server.handler.connections == 1  # a 4xx does not cost the connection

    def test_a_451_forever_is_temporary_with_the_reply_after_max_tries(
        self, smtp_server: SmtpServer
    ) -> None:
        smtp_server.script.tempfail_rcpt = FOREVER
        with smtp_channel(smtp_server, max_tries=3) as channel:
            [result] = channel.send([envelope(1)])
        assert result.result is Result.TEMPORARY
        assert TEMPFAIL in result.detail
        assert "3 tries" in result.detail
        assert not result.hard_bounce
        assert smtp_server.handler.rcpt_calls == 3
        assert smtp_server.handler.messages == []

    def test_a_drop_before_data_reconnects_and_delivers_once(self, smtp_server: SmtpServer) -> None:
        smtp_server.script.drop_at_rcpt = 1
        with smtp_channel(smtp_server) as channel:
            [result] = channel.send([envelope(1)])
        assert result.result is Result.SENT
        assert [message_id(m.content) for m in smtp_server.handler.messages] == [
            envelope(1).message_id
        ]
        assert smtp_server.handler.arrived == [m.content for m in smtp_server.handler.messages]
        assert smtp_server.handler.connections == 2

    def test_a_timeout_before_data_is_retried_on_a_new_connection(
        self, smtp_server: SmtpServer
    ) -> None:
        smtp_server.script.stall_rcpt = 1  # the server sits on the first RCPT for 5 s
        with smtp_channel(smtp_server, timeout=0.3) as channel:
            [result] = channel.send([envelope(1)])
        assert result.result is Result.SENT
        assert len(smtp_server.handler.messages) == 1
        assert smtp_server.handler.connections == 2

    def test_a_drop_after_the_whole_message_is_in_doubt_and_never_sent_again(
        self, smtp_server: SmtpServer
    ) -> None:
        smtp_server.script.drop_after_data = 1
        first, second = envelope(1), envelope(2)
        with smtp_channel(smtp_server) as channel:
            results = channel.send([first, second])
        assert [r.result for r in results] == [Result.IN_DOUBT, Result.SENT]
        assert "in doubt" in results[0].detail
        assert not results[0].hard_bounce
        # The first arrived once (the server may have queued it) and was not offered again.
        assert [message_id(d) for d in smtp_server.handler.arrived] == [
            first.message_id,
            second.message_id,
        ]
        assert smtp_server.handler.connections == 2  # the next message got a new connection

    def test_a_server_gone_mid_sweep_leaves_the_batch_for_the_next_run(
        self, smtp_server: SmtpServer
    ) -> None:
        channel = smtp_channel(smtp_server)
        with channel:
            smtp_server.stop()
            results = channel.send([envelope(1), envelope(2), envelope(3)])
        assert [r.result for r in results] == [Result.TEMPORARY] * 3
        assert f"{HOST}:{smtp_server.port}" in results[0].detail
        assert "gave up after 3 tries" in results[0].detail
        assert all(r.detail.startswith("not tried: ") for r in results[1:])


class TestSmtpRefusals:
    def test_an_unknown_recipient_is_permanent_and_a_hard_bounce(
        self, smtp_server: SmtpServer
    ) -> None:
        smtp_server.script.rcpt_replies["gone@example.jp"] = USER_UNKNOWN
        with smtp_channel(smtp_server) as channel:
            gone, fine = channel.send([envelope(1, "gone@example.jp"), envelope(2)])
        assert gone.result is Result.PERMANENT
        assert gone.hard_bounce
        assert gone.detail == USER_UNKNOWN
        assert smtp_server.handler.rcpt_calls == 2  # not retried
        # The refusal was reset: the next message went out on the same connection.
        assert fine.result is Result.SENT
        assert smtp_server.handler.connections == 1

    def test_a_policy_refusal_is_permanent_but_not_a_hard_bounce(
        self, smtp_server: SmtpServer
    ) -> None:
        smtp_server.script.rcpt_replies["c@example.jp"] = "550 5.7.1 Message rejected as spam"
        with smtp_channel(smtp_server) as channel:
            [result] = channel.send([envelope(1, "c@example.jp")])
        assert result.result is Result.PERMANENT
        assert not result.hard_bounce
        assert result.detail == "550 5.7.1 Message rejected as spam"

    def test_relaying_denied_is_about_our_setup_so_the_channel_is_throttled(
        self, smtp_server: SmtpServer
    ) -> None:
        smtp_server.script.rcpt_replies["c@example.jp"] = "550 5.7.1 relaying denied"
        with smtp_channel(smtp_server) as channel:
            results = channel.send([envelope(1, "c@example.jp"), envelope(2, "d@example.jp")])
        assert [r.result for r in results] == [Result.THROTTLED, Result.THROTTLED]
        assert [r.tried for r in results] == [True, False]  # the second was never handed over
        assert not any(r.hard_bounce for r in results)

    @pytest.mark.parametrize(
        ("stage", "code", "text", "bounce"),
        [
            ("RCPT", 550, "5.1.1 user unknown", True),
            ("RCPT", 550, "no such user here", True),  # no enhanced code: 550 to RCPT
            ("RCPT", 553, "5.1.3 bad recipient address syntax", False),  # not proof it is gone
            ("RCPT", 550, "", False),  # a bare 550: may be OUR IP on a blocklist
            ("RCPT", 550, "5.7.1 Service unavailable; client host blocked using Spamhaus", False),
            ("end of data", 550, "5.4.5 Daily user sending quota exceeded", False),
            ("RCPT", 550, "5.1.10 null MX", True),
            ("end of data", 550, "5.1.1 user unknown", True),  # refused after DATA
            ("RCPT", 550, "5.7.1 relaying denied", False),  # our setup, not the customer
            ("RCPT", 552, "5.2.2 mailbox full", False),
            ("RCPT", 553, "mailbox name not allowed", False),
            ("RCPT", 550, "5.1.8 bad sender domain", False),  # the sender's address
            ("MAIL", 550, "5.1.1 sender unknown", False),  # MAIL FROM is about us
            ("RCPT", 450, "4.1.1 try later", False),  # temporary is never a bounce
        ],
    )
    def test_which_refusals_are_hard_bounces(
        self, stage: str, code: int, text: str, bounce: bool
    ) -> None:
        assert is_hard_bounce(stage, code, text) is bounce

    def test_messages_go_out_with_crlf_and_stuffed_dots(self) -> None:
        assert wire_bytes(b"a\n.b\r\n..c\nd") == b"a\r\n..b\r\n...c\r\nd\r\n.\r\n"


class TestSmtpConnection:
    def test_five_messages_use_one_connection(self, smtp_server: SmtpServer) -> None:
        with smtp_channel(smtp_server) as channel:
            results = channel.send([envelope(i) for i in range(5)])
        assert [r.result for r in results] == [Result.SENT] * 5
        assert smtp_server.handler.connections == 1
        assert smtp_server.handler.quits == 1

    def test_login_uses_the_password_from_the_environment(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("CARTNUDGE_TEST_SMTP_PASSWORD", "s3cret-Pa55")
        with running_server(credentials=("shop", "s3cret-Pa55")) as server:
            config = parse_config(
                {
                    "shop": {"url": "sqlite://"},
                    "recovery": {"keys_env": "CARTNUDGE_TEST_TOKEN_KEYS"},
                    "email": {
                        "transport": "smtp",
                        "smtp": {
                            "host": server.host,
                            "port": server.port,
                            "username": "shop",
                            "password_env": "CARTNUDGE_TEST_SMTP_PASSWORD",
                            "timeout": 2,
                        },
                    },
                },
                source="test.yaml",
                base_dir=tmp_path,
            )
            channel = SmtpChannel(config.settings.email.smtp, config.smtp_password)
            with channel:
                [result] = channel.send([envelope(1)])
            assert result.result is Result.SENT
            assert server.handler.logins == ["shop"]

    def test_a_wrong_password_fails_at_open_without_showing_it(self) -> None:
        with running_server(credentials=("shop", "right-password")) as server:
            channel = smtp_channel(server, "wrong-Pa55word", username="shop")
            with pytest.raises(ChannelError) as refused:
                channel.open()
            channel.close()
        message = str(refused.value)
        assert f"{HOST}:{server.port}" in message
        assert "535" in message
        assert "\n" not in message
        shown = "".join(traceback.format_exception(refused.value))
        assert "wrong-Pa55word" not in shown
        assert "wrong-Pa55word" not in repr(channel)

    def test_an_unreachable_server_fails_at_open_naming_host_and_port(self) -> None:
        port = free_port()  # nothing listens there
        channel = SmtpChannel(SmtpSettings(host=HOST, port=port, timeout=2), "pw-not-shown")
        with pytest.raises(ChannelError) as refused:
            channel.open()
        message = str(refused.value)
        assert message.startswith(f"smtp {HOST}:{port}: cannot connect")
        assert "\n" not in message
        assert "pw-not-shown" not in message

    def test_starttls_that_the_server_does_not_offer_fails_at_open(
        self, smtp_server: SmtpServer
    ) -> None:
        channel = smtp_channel(smtp_server, security="starttls")
        with pytest.raises(ChannelError, match="STARTTLS"):
            channel.open()

    def test_close_is_harmless_before_open_and_after_the_server_left(
        self, smtp_server: SmtpServer
    ) -> None:
        channel = smtp_channel(smtp_server)
        channel.close()
        channel.open()
        smtp_server.stop()
        channel.close()
        channel.close()


class TestSmtpTls:
    def test_starttls_then_login(self, trusted: Certificate) -> None:
        with running_server(
            credentials=("shop", "s3cret-Pa55"), starttls=trusted.server_context()
        ) as server:
            channel = smtp_channel(server, "s3cret-Pa55", username="shop", security="starttls")
            with channel:
                [result] = channel.send([envelope(1)])
            assert result.result is Result.SENT
            assert server.handler.logins == ["shop"]
            assert server.handler.connections == 1

    def test_implicit_tls(self, trusted: Certificate) -> None:
        with running_server(implicit_tls=trusted.server_context()) as server:
            with smtp_channel(server, security="tls") as channel:
                [result] = channel.send([envelope(1)])
            assert result.result is Result.SENT
            assert len(server.handler.messages) == 1

    def test_an_untrusted_certificate_fails_at_open(self, certificate: Certificate) -> None:
        with running_server(implicit_tls=certificate.server_context()) as server:
            channel = smtp_channel(server, security="tls")
            with pytest.raises(ChannelError, match="cannot connect"):
                channel.open()
