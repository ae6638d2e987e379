"""``cartnudge search`` (SPEC 3) through the real command line on each backend: an exact shop,
exact output for every filter, column, format and sort, the recovered-orders listing, refused
arguments, and streaming in keyset pages.

The shop (all times UTC in the shop, Asia/Tokyo in the output):

| key | customer | abandoned orders | local day | amount |
| --- | --- | --- | --- | --- |
| A | member | SHOP cart 2026-11-20T03:00Z | 2026/11/20 | 6160 |
| B | member | 2026-11-21T15:30Z (latest) and 2026-11-10 (2200) | 2026/11/22 | 1980 |
| C | visitor | LP confirmation 2026-11-21T14:59Z | 2026/11/21 | 4400 |
| D | member | none (buys 2026-11-24T15:10Z, 2500) | | |
| E | visitor, no e-mail consent | none | | |
| F | visitor | LP input form 2026-11-18T00:00Z (flow input) | 2026/11/18 | 5940 |
| R | member | 2026-11-25T06:00Z, reminded by a sweep | 2026/11/25 | 4180 |
| V | member | 2026-11-25T05:00Z, reminded, recovered through the URL | 2026/11/25 | 6380 |

A also buys without a reminder at 2026-11-24T14:50Z (3000; 2026/11/24 locally).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import cartnudge.operator.search
from cartnudge.app import App
from cartnudge.cli import main
from cartnudge.config import load_config
from cartnudge.operator.search import Filters
from cartnudge.shop.reader import ShopReader
from tests.conftest import write_config
from tests.shop import ShopBuilder
from tests.test_recoveries import recovery_token_of, run

SWEPT = datetime(2026, 11, 25, 12, 0)  # naive UTC: 2026/11/25 21:00 in Tokyo
CLOCK = datetime(2026, 11, 26, 0, 0)  # "now" for --orders' default range (2026/11/26 locally)
CUSTOMER_HEADER = (
    "customer_id,name,email,status,abandoned,abandoned_date,abandoned_amount,last_reminder,"
    "recovered"
)
ORDER_HEADER = (
    "order_id,customer_id,completed_date,amount,recovered,attribution,flow,abandoned_order_id"
)


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("cartnudge.cli.common.utcnow", lambda: CLOCK)


@dataclass
class World:
    config: Path
    ids: dict[str, int]  # customer ids by key
    orders: dict[str, int]  # order ids: abandoned (by customer key) and purchases
    lines: dict[str, str]  # each customer's CSV line with the default columns

    def search(self, *args: str, **kwargs: Any) -> Result:
        return CliRunner().invoke(main, ["search", "--config", str(self.config), *args], **kwargs)

    def csv(self, *args: str) -> list[str]:
        result = self.search(*args)
        assert result.exit_code == 0, result.stderr
        assert result.stderr == ""
        return result.stdout.splitlines()

    def expected(self, *keys: str) -> list[str]:
        return [CUSTOMER_HEADER, *(self.lines[k] for k in keys)]


@pytest.fixture
def world(shop: ShopBuilder, config_data: dict, tmp_path: Path) -> Iterator[World]:
    ids: dict[str, int] = {}
    orders: dict[str, int] = {}
    orders["A"] = shop.abandoned(datetime(2026, 11, 20, 3, 0), name="青木 一郎")
    ids["B"] = shop.customer(name="井上 二郎")
    # the latest is inserted first, so the older one has the higher id: the latest still counts
    orders["B"] = shop.abandoned(
        datetime(2026, 11, 21, 15, 30), customer_id=ids["B"], items=((1, 1),)
    )
    orders["B_old"] = shop.abandoned(
        datetime(2026, 11, 10, 0, 0), customer_id=ids["B"], items=((2, 1),)
    )
    orders["C"] = shop.abandoned(
        datetime(2026, 11, 21, 14, 59),
        status="visitor",
        storefront="lp",
        step="confirm",
        name="上田 三郎",
        email="ueda@example.jp",
        items=((2, 2),),
    )
    ids["D"] = shop.customer(name="江藤 四郎")
    ids["E"] = shop.customer(status="visitor", name="小川 五郎", email_optin=False)
    orders["F"] = shop.abandoned(
        datetime(2026, 11, 18, 0, 0),
        status="visitor",
        storefront="lp",
        step="input",
        name="加藤 六郎",
        items=((1, 3),),
    )
    orders["R"] = shop.abandoned(
        datetime(2026, 11, 25, 6, 0), name="木村 七郎", items=((1, 1), (2, 1))
    )
    orders["V"] = shop.abandoned(
        datetime(2026, 11, 25, 5, 0), name="工藤 八郎", items=((1, 1), (2, 2))
    )
    for key in "ACFRV":
        ids[key] = shop.customer_of(orders[key])

    # A real sweep reminds R and V (the others' carts have expired); V comes back through the
    # recovery URL and buys; the next sweep marks the purchase recovered.
    config = write_config(tmp_path, config_data)
    app = App(load_config(config))
    summary, channel = run(app, SWEPT)
    assert summary.sent == 2
    message = next(e for e in channel.sent if e.recipient == f"customer{ids['V']}@example.jp")
    orders["V_buy"] = shop.complete_purchase(
        ids["V"],
        SWEPT + timedelta(minutes=30),
        amount=6380,
        recovery_token=recovery_token_of(message),
    )
    summary, _ = run(app, SWEPT + timedelta(hours=1))
    assert summary.recovered == 1
    app.dispose()
    orders["A_buy"] = shop.complete_purchase(ids["A"], datetime(2026, 11, 24, 14, 50), amount=3000)
    orders["D_buy"] = shop.complete_purchase(ids["D"], datetime(2026, 11, 24, 15, 10), amount=2500)

    def mail(key: str) -> str:
        return "ueda@example.jp" if key == "C" else f"customer{ids[key]}@example.jp"

    rows = {
        "A": ("青木 一郎", "member", "あり", "2026/11/20", "6160", "", ""),
        "B": ("井上 二郎", "member", "あり", "2026/11/22", "1980", "", ""),
        "C": ("上田 三郎", "visitor", "あり", "2026/11/21", "4400", "", ""),
        "D": ("江藤 四郎", "member", "", "", "", "", ""),
        "E": ("小川 五郎", "visitor", "", "", "", "", ""),
        "F": ("加藤 六郎", "visitor", "あり", "2026/11/18", "5940", "", ""),
        "R": ("木村 七郎", "member", "あり", "2026/11/25", "4180", "2026/11/25 21:00", ""),
        "V": ("工藤 八郎", "member", "あり", "2026/11/25", "6380", "2026/11/25 21:00", "あり"),
    }
    lines = {k: ",".join([str(ids[k]), name, mail(k), *rest]) for k, (name, *rest) in rows.items()}
    yield World(config, ids, orders, lines)


# -- filters --------------------------------------------------------------------------------


FILTER_CASES = [
    # default: abandoned yes, every status (visitors included)
    ((), "ABCFRV"),
    (("--abandoned", "yes"), "ABCFRV"),
    (("--abandoned", "no"), "DE"),
    (("--abandoned", "any"), "ABCDEFRV"),
    (("--status", "member"), "ABRV"),
    (("--status", "visitor"), "CF"),
    (("--status", "visitor", "--abandoned", "any"), "CEF"),
    (("--status", "member", "--status", "visitor"), "ABCFRV"),
    # local calendar days, both ends inclusive: 2026-11-21T15:30Z is 2026/11/22 in Tokyo,
    # 2026-11-21T14:59Z is still 2026/11/21
    (("--from", "2026-11-22", "--to", "2026-11-22"), "B"),
    (("--from", "2026-11-21", "--to", "2026-11-21"), "C"),
    (("--from", "2026/11/20", "--to", "2026/11/22"), "ABC"),
    (("--to", "2026-11-20"), "AF"),
    (("--from", "2026-11-25"), "RV"),
    (("--from", "2026-11-23", "--to", "2026-11-24"), ""),
    (("--abandoned", "any", "--from", "2026-11-25"), "RV"),  # a date needs an order
    # amounts inclusive, of the latest abandoned order only
    (("--min-amount", "4400", "--max-amount", "6160"), "ACF"),
    (("--min-amount", "6380"), "V"),
    (("--max-amount", "1980"), "B"),
    (("--min-amount", "2000", "--max-amount", "2200"), ""),  # B's older 2200 does not count
    (("--flow", "confirm"), "ABCRV"),
    (("--flow", "input"), "F"),
    (("--reminded", "yes"), "RV"),
    (("--reminded", "no"), "ABCF"),
    (("--abandoned", "any", "--reminded", "no"), "ABCDEF"),
    (("--recovered", "yes"), "V"),
    (("--recovered", "no"), "ABCFR"),
    (("--status", "member", "--from", "2026-11-20", "--min-amount", "4000"), "ARV"),
    (("--limit", "2"), "AB"),
    (("--abandoned", "no", "--limit", "5"), "DE"),
]


def test_filters_select_exactly_these_customers(world: World) -> None:
    """Every case against one shop (building it is the slow part); a failure shows the cases
    whose output differs."""
    got = {" ".join(args): world.csv(*args) for args, _ in FILTER_CASES}
    assert got == {" ".join(args): world.expected(*keys) for args, keys in FILTER_CASES}


SORT_CASES = [
    (("--sort", "abandoned_amount", "--desc"), "VAFCRB"),
    (("--sort", "abandoned_amount", "--desc", "--limit", "3"), "VAF"),
    (("--sort", "abandoned_amount", "--limit", "2"), "BR"),
    (("--sort", "abandoned_amount"), "BRCFAV"),
    # customers without an abandoned order come last in either direction
    (("--abandoned", "any", "--sort", "abandoned_amount"), "BRCFAVDE"),
    (("--abandoned", "any", "--sort", "abandoned_amount", "--desc"), "VAFCRBDE"),
    (("--sort", "abandoned_date", "--desc", "--limit", "4"), "RVBC"),
    (("--sort", "customer_id", "--desc"), "VRFCBA"),
]


def test_sorting_with_and_without_a_limit(world: World) -> None:
    got = {" ".join(args): world.csv(*args) for args, _ in SORT_CASES}
    assert got == {" ".join(args): world.expected(*keys) for args, keys in SORT_CASES}


# -- columns and formats --------------------------------------------------------------------


def test_columns_are_chosen_in_the_order_given(world: World) -> None:
    lines = world.csv(
        "--abandoned", "any", "--columns", "name, abandoned_amount,flow,order_id,consent,status"
    )
    o = world.orders
    assert lines == [
        "name,abandoned_amount,flow,order_id,consent,status",
        f"青木 一郎,6160,confirm,{o['A']},あり,member",
        f"井上 二郎,1980,confirm,{o['B']},あり,member",
        f"上田 三郎,4400,confirm,{o['C']},あり,visitor",
        "江藤 四郎,,,,あり,member",
        "小川 五郎,,,,,visitor",
        f"加藤 六郎,5940,input,{o['F']},あり,visitor",
        f"木村 七郎,4180,confirm,{o['R']},あり,member",
        f"工藤 八郎,6380,confirm,{o['V']},あり,member",
    ]


def test_an_unknown_column_or_sort_key_is_refused_with_one_line_naming_it(world: World) -> None:
    result = world.search("--columns", "name,birthday")
    assert result.exit_code == 2
    assert result.stdout == ""
    naming = [line for line in result.stderr.splitlines() if "birthday" in line]
    assert naming == [
        "Error: Invalid value for --columns: unknown column 'birthday'; choose from customer_id, "
        "name, email, status, consent, abandoned, abandoned_date, abandoned_amount, flow, "
        "order_id, last_reminder, recovered"
    ]
    result = world.search("--sort", "completed_date")
    assert result.exit_code == 2
    assert "Invalid value for --sort: 'completed_date' is not a column of this search" in (
        result.stderr
    )


def test_csv_has_crlf_lines_and_bom_only_when_asked(world: World) -> None:
    plain = world.search("--format", "csv", "--limit", "1")
    bom = world.search("--format", "csv", "--bom", "--limit", "1")
    assert plain.stdout_bytes == (CUSTOMER_HEADER + "\r\n" + world.lines["A"] + "\r\n").encode()
    assert bom.stdout.startswith("\ufeff")
    assert bom.stdout_bytes == b"\xef\xbb\xbf" + plain.stdout_bytes
    # csv is the default when stdout is not a terminal
    assert world.search("--limit", "1").stdout_bytes == plain.stdout_bytes


def test_json_is_one_list(world: World) -> None:
    result = world.search("--abandoned", "any", "--status", "visitor", "--format", "json")
    assert result.exit_code == 0, result.stderr
    ids = world.ids
    assert json.loads(result.stdout) == [
        {
            "customer_id": ids["C"],
            "name": "上田 三郎",
            "email": "ueda@example.jp",
            "status": "visitor",
            "abandoned": "あり",
            "abandoned_date": "2026/11/21",
            "abandoned_amount": 4400,
            "last_reminder": "",
            "recovered": "",
        },
        {
            "customer_id": ids["E"],
            "name": "小川 五郎",
            "email": f"customer{ids['E']}@example.jp",
            "status": "visitor",
            "abandoned": "",
            "abandoned_date": "",
            "abandoned_amount": None,
            "last_reminder": "",
            "recovered": "",
        },
        {
            "customer_id": ids["F"],
            "name": "加藤 六郎",
            "email": f"customer{ids['F']}@example.jp",
            "status": "visitor",
            "abandoned": "あり",
            "abandoned_date": "2026/11/18",
            "abandoned_amount": 5940,
            "last_reminder": "",
            "recovered": "",
        },
    ]
    empty = world.search("--from", "2026-11-23", "--to", "2026-11-23", "--format", "json")
    assert empty.exit_code == 0 and json.loads(empty.stdout) == []


def test_jsonl_is_one_object_per_line(world: World) -> None:
    result = world.search(
        "--reminded", "yes", "--columns", "customer_id,last_reminder,recovered", "--format", "jsonl"
    )
    assert result.exit_code == 0, result.stderr
    ids = world.ids
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        {"customer_id": ids["R"], "last_reminder": "2026/11/25 21:00", "recovered": ""},
        {"customer_id": ids["V"], "last_reminder": "2026/11/25 21:00", "recovered": "あり"},
    ]


def test_table_shows_the_japanese_headers_and_widens_with_the_terminal(world: World) -> None:
    result = world.search(
        "--format",
        "table",
        "--columns",
        "customer_id,abandoned,abandoned_date,abandoned_amount,recovered",
        "--recovered",
        "yes",
        env={"COLUMNS": "100"},
    )
    assert result.exit_code == 0, result.stderr
    for header in ("顧客ID", "カゴ落ち状態", "カゴ落ち日時", "カゴ落ち金額", "カゴ落ちリカバリー"):
        assert header in result.stdout
    row = next(line for line in result.stdout.splitlines() if str(world.ids["V"]) in line)
    assert [cell.strip() for cell in row.split("│")[1:-1]] == [
        str(world.ids["V"]),
        "あり",
        "2026/11/25",
        "6,380",  # right-aligned, with a thousands separator
        "あり",
    ]
    wide = world.search("--format", "table", "--limit", "1", env={"COLUMNS": "200"})
    assert wide.exit_code == 0, wide.stderr
    for header in ("顧客ID", "氏名", "メールアドレス", "顧客ステータス", "最終リマインド"):
        assert header in wide.stdout
    assert f"customer{world.ids['A']}@example.jp" in wide.stdout


# -- recovered orders -----------------------------------------------------------------------


def test_orders_recovered_yes_lists_the_recovered_order_as_csv_and_json(world: World) -> None:
    o, ids = world.orders, world.ids
    assert world.csv("--orders", "--recovered", "yes") == [
        ORDER_HEADER,
        f"{o['V_buy']},{ids['V']},2026/11/25,6380,あり,url,confirm,{o['V']}",
    ]
    result = world.search(
        "--orders", "--recovered", "yes", "--from", "2026-11-25", "--format", "json"
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == [
        {
            "order_id": world.orders["V_buy"],
            "customer_id": world.ids["V"],
            "completed_date": "2026/11/25",
            "amount": 6380,
            "recovered": "あり",
            "attribution": "url",
            "flow": "confirm",
            "abandoned_order_id": str(world.orders["V"]),
        }
    ]


def test_orders_without_recovered_show_blank_recovery_for_the_others(world: World) -> None:
    o, ids = world.orders, world.ids
    v_line = f"{o['V_buy']},{ids['V']},2026/11/25,6380,あり,url,confirm,{o['V']}"
    a_line = f"{o['A_buy']},{ids['A']},2026/11/24,3000,,,,"
    d_line = f"{o['D_buy']},{ids['D']},2026/11/25,2500,,,,"
    assert world.csv("--orders") == [ORDER_HEADER, v_line, a_line, d_line]
    assert world.csv("--orders", "--recovered", "no") == [ORDER_HEADER, a_line, d_line]
    # completion days in Tokyo: 2026-11-24T15:10Z is 2026/11/25, 14:50Z is still 2026/11/24
    assert world.csv("--orders", "--from", "2026-11-25", "--to", "2026-11-25") == [
        ORDER_HEADER,
        v_line,
        d_line,
    ]
    assert world.csv("--orders", "--to", "2026-11-24") == [ORDER_HEADER, a_line]
    assert world.csv("--orders", "--min-amount", "2500", "--max-amount", "3000") == [
        ORDER_HEADER,
        a_line,
        d_line,
    ]
    assert world.csv("--orders", "--sort", "amount", "--desc", "--limit", "2") == [
        ORDER_HEADER,
        v_line,
        a_line,
    ]
    assert world.csv("--orders", "--from", "2026-10-01", "--to", "2026-10-31") == [ORDER_HEADER]


def test_orders_columns_and_table(world: World) -> None:
    assert world.csv("--orders", "--recovered", "yes", "--columns", "amount,recovered") == [
        "amount,recovered",
        "6380,あり",
    ]
    table = world.search(
        "--orders", "--recovered", "yes", "--columns", "amount,recovered", "--format", "table"
    )
    assert "金額" in table.stdout and "カゴ落ちリカバリー" in table.stdout
    refused = world.search("--orders", "--columns", "abandoned_amount")
    assert refused.exit_code == 2 and "unknown column 'abandoned_amount'" in refused.stderr


# -- refused arguments ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--from", "2026-11-23", "--to", "2026-11-22"),
            "Error: Invalid value for --from: --from 2026-11-23 is after --to 2026-11-22",
        ),
        (
            ("--from", "2026-11-31"),
            "Error: Invalid value for --from: '2026-11-31' is not a date "
            "(write 2026-11-22 or 2026/11/22)",
        ),
        (
            ("--to", "yesterday"),
            "Error: Invalid value for --to: 'yesterday' is not a date "
            "(write 2026-11-22 or 2026/11/22)",
        ),
        (
            ("--min-amount", "5000", "--max-amount", "4000"),
            "Error: Invalid value for --min-amount: --min-amount 5000 is above --max-amount 4000",
        ),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, tuple) else "",
)
def test_bad_ranges_and_dates_are_refused_with_exit_2(
    sqlite_shop: ShopBuilder, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    from tests.conftest import base_config

    config = write_config(tmp_path, base_config(sqlite_shop.url, tmp_path))
    result = CliRunner().invoke(main, ["search", "--config", str(config), *args])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1] == message


# -- streaming ------------------------------------------------------------------------------


@pytest.fixture
def twenty(shop: ShopBuilder, config_data: dict, tmp_path: Path) -> Iterator[Path]:
    """20 customers: every third without an abandoned order, every other a visitor, amounts
    and days varying; the sweep reminds those abandoned in the last day."""
    now = datetime(2026, 11, 22, 12, 0)
    for i in range(20):
        status = "visitor" if i % 2 else "member"
        if i % 3 == 0:
            shop.customer(status=status, name=f"顧客 {i:02d}")
            continue
        shop.abandoned(
            now - timedelta(hours=4 + 7 * i),
            status=status,
            storefront="lp" if status == "visitor" else "shop",
            step="input" if i % 5 == 0 else "confirm",
            name=f"顧客 {i:02d}",
            items=((1, 1 + i % 4), (2, i % 3)),
        )
    config = write_config(tmp_path, config_data)
    app = App(load_config(config))
    summary, _ = run(app, now)
    app.dispose()
    assert summary.sent > 0
    return config


SEARCHES = [
    (),
    ("--abandoned", "any"),
    ("--abandoned", "no"),
    ("--status", "visitor"),
    ("--reminded", "yes"),
    ("--min-amount", "4000", "--from", "2026-11-20"),
    ("--sort", "abandoned_amount", "--desc", "--limit", "4"),
    ("--abandoned", "any", "--limit", "7"),
]


def test_small_pages_give_the_same_results_as_the_default(
    twenty: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def outputs() -> list[str]:
        results = [
            CliRunner().invoke(main, ["search", "--config", str(twenty), *args])
            for args in SEARCHES
        ]
        assert [r.exit_code for r in results] == [0] * len(SEARCHES)
        return [r.stdout for r in results]

    default = outputs()
    monkeypatch.setattr(cartnudge.operator.search, "PAGE", 3)
    assert outputs() == default
    assert len(default[1].splitlines()) == 21  # header and all 20 customers
    assert len(default[2].splitlines()) == 1 + 7  # the 7 without an abandoned order


def test_rows_stream_before_the_shop_has_been_read(
    twenty: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = App(load_config(twenty))
    try:
        expected = [
            {k: v for k, v in row.items() if k != "_row"}
            for row in cartnudge.operator.search.customers(app, Filters(abandoned=None))
        ]
        monkeypatch.setattr(cartnudge.operator.search, "PAGE", 3)
        fetched: list[int] = []
        pages = app.reader.customers

        def counting(*, chunk_size: int) -> Iterator[list[dict[str, Any]]]:
            assert chunk_size == 3
            for page in pages(chunk_size=chunk_size):
                fetched.append(len(page))
                yield page

        app.reader.customers = counting  # type: ignore[method-assign]
        rows = cartnudge.operator.search.customers(app, Filters(abandoned=None))
        first = next(rows)
        assert fetched == [3]  # the first row came out after one page of 20 customers
        rest = list(rows)
        assert fetched == [3, 3, 3, 3, 3, 3, 2]
        assert [{k: v for k, v in r.items() if k != "_row"} for r in [first, *rest]] == expected
        assert len(expected) == 20
    finally:
        app.dispose()


def test_a_limit_stops_reading_the_shop(twenty: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cartnudge.operator.search, "PAGE", 3)
    fetched: list[int] = []
    pages = ShopReader.customers

    def counting(self: ShopReader, *, chunk_size: int) -> Iterator[list[dict[str, Any]]]:
        for page in pages(self, chunk_size=chunk_size):
            fetched.append(len(page))
            yield page

    monkeypatch.setattr(ShopReader, "customers", counting)
    result = CliRunner().invoke(
        main, ["search", "--config", str(twenty), "--abandoned", "any", "--limit", "2"]
    )
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.splitlines()) == 3
    assert fetched == [3]
