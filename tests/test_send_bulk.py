"""``cartnudge send-bulk`` on each backend: the command line with exact output (outbox
transport, counted as .eml files), and the library calls (cartnudge.operator.bulk) with in-memory
channels for what the command line cannot inject (interruptions, temporary and permanent
failures)."""

from __future__ import annotations

import email
import email.policy
import re
import shutil
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from cartnudge.app import App
from cartnudge.channels.base import Envelope, SendResult
from cartnudge.channels.base import Result as SendOutcome
from cartnudge.channels.memory import MemoryChannel
from cartnudge.cli import main
from cartnudge.config import BUNDLED_TEMPLATES_DIR, load_config
from cartnudge.operator import bulk
from cartnudge.operator.search import Filters
from cartnudge.recovery import resolve_token
from cartnudge.state.schema import deliveries, runs
from tests.conftest import base_config, write_config
from tests.shop import ShopBuilder

NOW = datetime(2026, 11, 22, 12, 0)  # naive UTC, as inside cartnudge
ABANDONED = NOW - timedelta(hours=5)  # 2026-11-22 16:00 in Tokyo
SUBJECT = "山田 太郎 様、カートに商品が残っています【テスト商店】"
COUNTS = (
    "will receive: 2\nexcluded: no_consent 1, suppressed 1, invalid_address 1, already_sent 0, "
    "no_cart 0, frequency_cap 0\n"
)
SENT_TWO = "sent 2, failed 0, retry later 0\n"


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every command reads the clock through cartnudge.cli.common.utcnow: pin it to NOW."""
    monkeypatch.setattr("cartnudge.cli.common.utcnow", lambda: NOW)


class People:
    """The shop of most tests: who should get the mailing and who not, and why."""

    def __init__(self, shop: ShopBuilder) -> None:
        store = shop.suppressions()
        try:
            self.member = shop.customer_of(shop.abandoned(ABANDONED, email="taro@example.jp"))
            self.no_consent = shop.customer_of(
                shop.abandoned(ABANDONED, email="optout@example.jp", email_optin=False)
            )
            self.invalid = shop.customer_of(shop.abandoned(ABANDONED, email="not an address"))
            self.suppressed = shop.customer_of(
                shop.abandoned(ABANDONED, email="Bounced@Example.jp")
            )
            store.add_suppression("email", "bounced@example.jp", "hard_bounce", NOW)
            self.visitor = shop.customer_of(
                shop.abandoned(
                    ABANDONED,
                    status="visitor",
                    storefront="lp",
                    step="confirm",
                    email="hanako@example.jp",
                    name="佐藤 花子",
                    items=((1, 1),),
                )
            )
            # No abandoned order: not found by the default search (--abandoned yes).
            self.without_order = shop.customer(email="plain@example.jp")
        finally:
            store.engine.dispose()


@pytest.fixture
def people(shop: ShopBuilder) -> People:
    return People(shop)


@pytest.fixture
def config_data(shop: ShopBuilder, tmp_path: Path) -> dict:
    return base_config(shop.url, tmp_path)


@pytest.fixture
def config_path(config_data: dict, tmp_path: Path) -> Path:
    return write_config(tmp_path, config_data)


@pytest.fixture
def app(config_path: Path) -> Iterator[App]:
    application = App(load_config(config_path))
    yield application
    application.dispose()


def send_bulk(config_path: Path, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(
        main,
        ["send-bulk", "--config", str(config_path), *args],
        input=input,
        catch_exceptions=False,
    )


def outbox(tmp_path: Path) -> list[EmailMessage]:
    found = []
    for path in sorted((tmp_path / "outbox").glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        found.append(message)
    return found


def recipients(tmp_path: Path) -> list[str]:
    return sorted(str(m["To"].addresses[0].addr_spec) for m in outbox(tmp_path))


def delivery_rows(shop: ShopBuilder) -> list[dict]:
    with shop.engine.connect() as conn:
        return [
            dict(r._mapping)
            for r in conn.execute(select(deliveries).order_by(deliveries.c.customer_id))
        ]


def run_rows(shop: ShopBuilder) -> list[dict]:
    with shop.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(runs))]


def mailing(campaign: str = "nov-sale", template_id: int = 140001, **filters) -> bulk.Mailing:
    return bulk.Mailing(campaign=campaign, template_id=template_id, filters=Filters(**filters))


# -- plan, dry run, confirmation -----------------------------------------------------------------


def test_a_dry_run_prints_the_counts_the_reasons_and_a_sample_and_writes_nothing(
    shop: ShopBuilder, people: People, config_path: Path, tmp_path: Path
) -> None:
    result = send_bulk(config_path, "--template", "140001", "--campaign", "nov-sale", "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert result.stdout.startswith(
        COUNTS + f"sample (customer {people.member}, taro@example.jp):\n"
        f"Subject: {SUBJECT}\n\n山田 太郎 様\n"
    )
    assert "・国産有機抹茶 100g　1,980円 × 2 = 3,960円" in lines
    assert "合計：6,160円（税込）" in lines
    assert lines[-1] == "dry run: nothing sent"
    assert "[y/N]" not in result.stdout
    assert not (tmp_path / "outbox").exists()
    assert delivery_rows(shop) == [] and run_rows(shop) == []


def test_declining_the_confirmation_sends_and_writes_nothing(
    shop: ShopBuilder, people: People, config_path: Path, tmp_path: Path
) -> None:
    result = send_bulk(config_path, "--template", "140001", "--campaign", "nov-sale", input="n\n")
    assert result.exit_code == 1
    assert result.stdout.startswith(COUNTS)
    assert result.stdout.endswith(
        "Send template 140001 to 2 customers as campaign 'nov-sale'? [y/N]: n\n"
        "cancelled: nothing sent\n"
    )
    assert not (tmp_path / "outbox").exists()
    assert delivery_rows(shop) == []


def test_without_a_terminal_or_an_answer_it_refuses_and_asks_for_yes(
    shop: ShopBuilder, people: People, config_path: Path, tmp_path: Path
) -> None:
    result = send_bulk(config_path, "--template", "140001", "--campaign", "nov-sale", input="")
    assert result.exit_code == 1
    assert result.stderr == (
        "\ncartnudge: error: no answer to the confirmation (no terminal or stdin): "
        "pass --yes to send without asking\n"
    )
    assert not (tmp_path / "outbox").exists()
    assert delivery_rows(shop) == []


def test_answering_yes_sends_to_the_recipients_only(
    shop: ShopBuilder, people: People, config_path: Path, tmp_path: Path
) -> None:
    result = send_bulk(config_path, "--template", "140001", "--campaign", "nov-sale", input="y\n")
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("? [y/N]: y\n" + SENT_TWO)
    assert recipients(tmp_path) == ["hanako@example.jp", "taro@example.jp"]


# -- sending -------------------------------------------------------------------------------------


def test_yes_sends_once_per_customer_and_records_bulk_deliveries(
    shop: ShopBuilder, people: People, config_path: Path, tmp_path: Path
) -> None:
    result = send_bulk(config_path, "--template", "140001", "--campaign", "nov-sale", "--yes")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(COUNTS)
    assert result.stdout.endswith(SENT_TWO)
    assert "[y/N]" not in result.stdout
    # Suppressed (stored lower case, shop has it mixed case), no consent, invalid: nothing.
    assert recipients(tmp_path) == ["hanako@example.jp", "taro@example.jp"]
    messages = {m["To"].addresses[0].addr_spec: m for m in outbox(tmp_path)}
    assert messages["taro@example.jp"]["Subject"] == SUBJECT
    assert messages["hanako@example.jp"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    rows = delivery_rows(shop)
    by_customer = {r["customer_id"]: r for r in rows}
    assert set(by_customer) == {str(people.member), str(people.visitor)}
    for cid, amount in ((people.member, 6160), (people.visitor, 1980)):
        row = by_customer[str(cid)]
        columns = "order_id flow step episode channel status template_id amount abandoned_at"
        assert [row[c] for c in columns.split()] == [
            f"customer:{cid}",
            "bulk:nov-sale",
            0,
            0,
            "email",
            "sent",
            140001,
            amount,
            ABANDONED,
        ]
        assert (row["sent_at"], row["attempts"]) == (NOW, 1)
        assert row["message_id"] == messages[row["recipient"]]["Message-ID"]
    [run] = run_rows(shop)
    assert (run["command"], run["status"]) == ("send-bulk", "ok")


def test_running_the_same_campaign_again_sends_nothing_and_another_campaign_sends_again(
    shop: ShopBuilder, people: People, config_path: Path, tmp_path: Path
) -> None:
    args = ("--template", "140001", "--yes")
    first = send_bulk(config_path, *args, "--campaign", "nov-sale")
    again = send_bulk(config_path, *args, "--campaign", "nov-sale")
    assert (first.exit_code, again.exit_code) == (0, 0)
    assert again.stdout == (
        "will receive: 0\n"
        "excluded: no_consent 1, suppressed 1, invalid_address 1, already_sent 2, "
        "no_cart 0, frequency_cap 0\n"
        "sample: none (nobody to send to)\n"
        "nothing to send\n"
    )
    assert len(outbox(tmp_path)) == 2
    # Another campaign the same day: the frequency cap (1 per 16 hours) holds both back...
    capped = send_bulk(config_path, *args, "--campaign", "dec_sale-2")
    assert capped.exit_code == 0
    assert capped.stdout.startswith(
        "will receive: 0\n"
        "excluded: no_consent 1, suppressed 1, invalid_address 1, already_sent 0, no_cart 0, "
        "frequency_cap 2\n"
    )
    assert len(outbox(tmp_path)) == 2
    # ...unless the operator overrides it.
    other = send_bulk(config_path, *args, "--campaign", "dec_sale-2", "--ignore-cap")
    assert other.exit_code == 0
    assert other.stdout.startswith(COUNTS) and other.stdout.endswith(SENT_TWO)
    assert len(outbox(tmp_path)) == 4
    flows = sorted((r["flow"], r["customer_id"]) for r in delivery_rows(shop))
    assert flows == sorted(
        (flow, str(cid))
        for flow in ("bulk:nov-sale", "bulk:dec_sale-2")
        for cid in (people.member, people.visitor)
    )


def test_filters_are_spelled_as_in_search(
    shop: ShopBuilder, people: People, config_path: Path, tmp_path: Path
) -> None:
    result = send_bulk(
        config_path,
        "--template",
        "140002",
        "--campaign",
        "lp",
        "--status",
        "visitor",
        "--flow",
        "confirm",
        "--min-amount",
        "1000",
        "--from",
        "2026/11/22",
        "--to",
        "2026-11-22",
        "--yes",
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        "will receive: 1\n"
        "excluded: no_consent 0, suppressed 0, invalid_address 0, already_sent 0, "
        "no_cart 0, frequency_cap 0\n"
        f"sample (customer {people.visitor}, hanako@example.jp):\n"
    )
    assert result.stdout.endswith("sent 1, failed 0, retry later 0\n")
    assert recipients(tmp_path) == ["hanako@example.jp"]
    dates = ("--from", "2026-11-30", "--to", "2026-11-01")
    bad = send_bulk(config_path, "--template", "140002", "--campaign", "lp", *dates)
    assert bad.exit_code == 2
    assert "--from 2026-11-30 is after --to 2026-11-01" in bad.stderr


def test_without_consent_required_the_customer_without_opt_in_receives_it(
    shop: ShopBuilder, people: People, config_data: dict, tmp_path: Path
) -> None:
    config_data["consent"] = {"required": False}
    path = write_config(tmp_path, config_data)
    result = send_bulk(path, "--template", "140001", "--campaign", "nov-sale", "--yes")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        "will receive: 3\nexcluded: no_consent 0, suppressed 1, invalid_address 1, already_sent 0, "
        "no_cart 0, frequency_cap 0\n"
    )
    assert recipients(tmp_path) == ["hanako@example.jp", "optout@example.jp", "taro@example.jp"]


def test_a_cart_template_is_never_sent_to_a_customer_without_an_abandoned_cart(
    shop: ShopBuilder, people: People, app: App
) -> None:
    channel = MemoryChannel()
    found = bulk.plan(app, mailing(abandoned=False), now=NOW)
    summary = bulk.send(app, mailing(abandoned=False), channel, now=NOW)
    assert (found.recipients, found.excluded["no_cart"]) == (0, 1)
    assert (summary.sent, channel.sent) == (0, [])
    assert delivery_rows(shop) == []


def test_customers_without_an_abandoned_order_get_no_items_and_a_token_naming_no_order(
    shop: ShopBuilder, people: People, app: App, tmp_path: Path
) -> None:
    channel = MemoryChannel()
    remarketing = mailing(template_id=140002, abandoned=False)
    summary = bulk.send(app, remarketing, channel, now=NOW)
    assert (summary.sent, summary.failed) == (1, 0)
    [envelope] = channel.sent
    assert envelope.recipient == "plain@example.jp"
    [row] = delivery_rows(shop)
    assert (row["order_id"], row["amount"], row["abandoned_at"]) == (
        f"customer:{people.without_order}",
        0,
        NOW,
    )
    message = email.message_from_bytes(envelope.data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "合計：0円（税込）" in text
    token = re.search(r"restore\?token=(\S+)", text)
    assert token is not None
    resolved = resolve_token(app, token.group(1), now=NOW)
    assert (resolved["order_id"], resolved["items"], resolved["flow"]) == (
        None,
        [],
        "bulk:nov-sale",
    )
    assert resolved["delivery_id"] == row["id"]


def test_the_plan_streams_in_pages_and_sends_page_by_page(
    shop: ShopBuilder, config_data: dict, tmp_path: Path
) -> None:
    for n in range(11):
        shop.abandoned(ABANDONED, email=f"p{n}@example.jp", email_optin=n % 4 != 0)
    config_data["sweep"] = {"chunk_size": 3, "send_batch": 2}
    application = App(load_config(write_config(tmp_path, config_data)))
    try:
        found = bulk.plan(application, mailing(), now=NOW)
        assert (found.matched, found.recipients, dict(found.excluded)) == (11, 8, {"no_consent": 3})
        channel = MemoryChannel()
        summary = bulk.send(application, mailing(), channel, now=NOW)
    finally:
        application.dispose()
    assert (summary.sent, summary.excluded) == (8, {"no_consent": 3})
    assert sorted(e.recipient for e in channel.sent) == sorted(
        f"p{n}@example.jp" for n in range(11) if n % 4 != 0
    )
    assert (channel.opened, channel.closed) == (1, 1)


# -- interruptions and failures (library calls) -------------------------------------------------


class Crashing(MemoryChannel):
    """Sends ``k`` messages, then raises as a killed process would stop."""

    def __init__(self, k: int) -> None:
        super().__init__()
        self.k = k

    def send(self, batch: Sequence[Envelope]) -> list[SendResult]:
        results = []
        for envelope in batch:
            if len(self.sent) >= self.k:
                raise RuntimeError("killed")
            results += super().send([envelope])
        return results


@pytest.mark.parametrize("k", [5, 7])
def test_an_interrupted_mailing_re_run_sends_the_rest_exactly_once(
    shop: ShopBuilder, app: App, k: int
) -> None:
    addresses = [f"c{n:02d}@example.jp" for n in range(13)]
    for address in addresses:
        shop.abandoned(ABANDONED, email=address)
    crashing = Crashing(k)  # send_batch is 5: dies in the second batch
    with pytest.raises(RuntimeError, match="killed"):
        bulk.send(app, mailing(), crashing, now=NOW)
    assert crashing.closed == 1
    second = MemoryChannel()
    summary = bulk.send(app, mailing(), second, now=NOW + timedelta(minutes=1))
    third = MemoryChannel()
    again = bulk.send(app, mailing(), third, now=NOW + timedelta(hours=1))

    received = [e.recipient for e in crashing.sent + second.sent + third.sent]
    assert len(received) == len(set(received))  # nobody twice
    in_doubt_batch = addresses[5:10]  # handed to the channel when it died: never sent again
    assert set(received) == set(addresses[:k]) | set(addresses[10:])
    assert (summary.sent, summary.excluded, again.sent) == (3, {"already_sent": 10}, 0)
    statuses = {r["recipient"]: r["status"] for r in delivery_rows(shop)}
    assert {a for a, s in statuses.items() if s == "sending"} == set(in_doubt_batch)
    assert [r["status"] for r in run_rows(shop)].count("error") == 1


def test_a_temporary_failure_is_retried_by_a_re_run_and_a_permanent_one_is_not(
    shop: ShopBuilder, app: App
) -> None:
    for address in ("ok@example.jp", "later@example.jp", "gone@example.jp"):
        shop.abandoned(ABANDONED, email=address)

    def answer(e: Envelope) -> SendResult:
        if e.recipient == "later@example.jp":
            return SendResult(e.delivery_id, SendOutcome.TEMPORARY, "451 try later")
        if e.recipient == "gone@example.jp":
            return SendResult(e.delivery_id, SendOutcome.PERMANENT, "550 no such user", True)
        return SendResult(e.delivery_id, SendOutcome.SENT, "250 ok")

    first = bulk.send(app, mailing(), MemoryChannel(answer), now=NOW)
    assert (first.sent, first.failed, first.retry_later, first.exit_code) == (1, 1, 1, 1)
    assert app.suppressions.suppressed("email", ["gone@example.jp"]) == {"gone@example.jp"}
    found = bulk.plan(app, mailing(), now=NOW)
    assert (found.recipients, dict(found.excluded)) == (1, {"already_sent": 2})
    retry = MemoryChannel()
    second = bulk.send(app, mailing(), retry, now=NOW + timedelta(minutes=5))
    assert [e.recipient for e in retry.sent] == ["later@example.jp"]
    assert (second.sent, second.failed, second.exit_code) == (1, 0, 0)


# -- refusals ------------------------------------------------------------------------------------


def test_an_unknown_template_is_refused_with_exit_3_and_one_line(
    shop: ShopBuilder, people: People, config_path: Path, tmp_path: Path
) -> None:
    result = send_bulk(config_path, "--template", "999999", "--campaign", "nov-sale", "--yes")
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr == (
        f"cartnudge: error: --template: template 999999 not found in {BUNDLED_TEMPLATES_DIR}\n"
    )
    assert delivery_rows(shop) == []


def test_a_template_of_another_category_is_refused_with_exit_3_and_one_line(
    shop: ShopBuilder,
    people: People,
    config_data: dict,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Today's catalogue loads only the two abandoned-cart categories; a shop whose catalogue
    # also holds other kinds of template (here a newsletter) must still not send-bulk them.
    monkeypatch.setattr(
        "cartnudge.messages.templates.CATEGORIES", ("cart_abandonment", "remarketing", "newsletter")
    )
    templates = tmp_path / "templates"
    shutil.copytree(BUNDLED_TEMPLATES_DIR, templates)
    shutil.copytree(templates / "140001", templates / "900001")
    (templates / "900001" / "template.yaml").write_text(
        "id: 900001\ncategory: newsletter\nname: お知らせ\n", encoding="utf-8"
    )
    config_data["templates_dir"] = str(templates)
    path = write_config(tmp_path, config_data)
    result = send_bulk(path, "--template", "900001", "--campaign", "nov-sale", "--yes")
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr == (
        "cartnudge: error: --template: template 900001 is of category 'newsletter'; "
        "send-bulk needs cart_abandonment or remarketing\n"
    )
    assert delivery_rows(shop) == []
    ok = send_bulk(path, "--template", "140002", "--campaign", "nov-sale", "--dry-run")
    assert ok.exit_code == 0 and ok.stdout.startswith(COUNTS)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("nov sale", "'nov sale' may contain only letters, digits, '-' and '_'"),
        ("bulk:x", "'bulk:x' may contain only letters, digits, '-' and '_'"),
        ("", "'' may contain only letters, digits, '-' and '_'"),
        ("x" * 51, "'xxxxxxxxxxxxxxxxxxxx'... is 51 characters long; at most 50"),
    ],
)
def test_a_campaign_name_outside_letters_digits_dash_underscore_is_a_usage_error(
    config_path: Path, name: str, message: str
) -> None:
    result = send_bulk(config_path, "--template", "140001", "--campaign", name, "--dry-run")
    assert result.exit_code == 2
    assert f"Invalid value for '--campaign': {message}" in result.stderr


def test_a_campaign_name_of_fifty_characters_is_accepted(
    shop: ShopBuilder, people: People, config_path: Path
) -> None:
    name = "a" * 50
    result = send_bulk(config_path, "--template", "140001", "--campaign", name, "--dry-run")
    assert result.exit_code == 0, result.output
    assert bulk.flow_for(name) == "bulk:" + name


def test_a_throttled_channel_stops_the_mailing_without_failing_or_charging_anyone(
    shop: ShopBuilder, app: App
) -> None:
    """A quota answer after two messages (issue 10): the rest is not handed over, nothing is
    failed, no try is charged, exit 8; a re-run after the quota came back sends the rest."""
    addresses = [f"q{n:02d}@example.jp" for n in range(12)]
    for address in addresses:
        shop.abandoned(ABANDONED, email=address)
    handed: list[str] = []

    def quota(e: Envelope) -> SendResult:
        handed.append(e.recipient)
        if len(handed) > 2:
            return SendResult(e.delivery_id, SendOutcome.THROTTLED, "550 5.4.5 Daily quota")
        return SendResult(e.delivery_id, SendOutcome.SENT, "250 ok")

    first = bulk.send(app, mailing(), MemoryChannel(quota), now=NOW)
    assert (first.sent, first.failed, first.exit_code) == (2, 0, 8)
    assert first.throttled == "550 5.4.5 Daily quota"
    rows = delivery_rows(shop)
    assert {r["status"] for r in rows} == {"sent", "retry"}
    assert {r["attempts"] for r in rows if r["status"] == "retry"} == {0}
    assert len(handed) <= 5  # the rest of its batch, and every later batch: never handed over
    rest = MemoryChannel()
    second = bulk.send(app, mailing(), rest, now=NOW + timedelta(hours=1))
    assert (second.sent, second.failed, second.exit_code) == (10, 0, 0)
