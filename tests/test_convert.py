"""Values as real shop databases hold them, converted once in the reader (issue 9, point 2).

Each kind of value (money, ids, times, text, consent) has a table of what is accepted and what
makes the row a counted skip, naming the column and the reason.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cartnudge.shop.convert import (
    BadValue,
    flag_of,
    id_of,
    local_to_utc,
    money_of,
    text_of,
    time_of,
)

TOKYO = ZoneInfo("Asia/Tokyo")
NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        (5660, 0, 5660),
        (Decimal("5660.000000"), 0, 5660),  # EC-CUBE's numeric(12,2) and Magento's decimal
        ("5660", 0, 5660),
        (" 5660.000000 ", 0, 5660),
        ("1,980", 0, 1980),
        (5660.0, 0, 5660),
        (Decimal("0.5"), 0, 1),  # halves away from zero
        (Decimal("1.4999"), 0, 1),
        (Decimal("12.345"), 2, 1235),  # cents
        (2**31, 0, 2**31),  # beyond a 32-bit column: kept (state amounts are 64-bit)
        (0, 0, 0),
    ],
)
def test_money_of_every_shape_becomes_the_minor_unit(value, decimals, expected):
    assert money_of(value, "total_amount", decimals) == expected


@pytest.mark.parametrize(
    "value",
    [
        None,
        float("nan"),
        float("inf"),
        float("-inf"),
        Decimal("NaN"),
        Decimal("Infinity"),
        "abc",
        "",
        True,
        -1,
        2**63,
        1e300,
        b"\xff",
        [1],
    ],
)
def test_money_that_cannot_be_an_amount_is_an_invalid_amount_naming_the_column(value):
    with pytest.raises(BadValue) as caught:
        money_of(value, "total_amount")
    assert (caught.value.reason, caught.value.column) == ("invalid_amount", "total_amount")
    assert str(caught.value).startswith("total_amount: ")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (42, "42"),
        ("EC-0042", "EC-0042"),
        (" 42 ", "42"),
        (Decimal("42"), "42"),
        (b"42", "42"),
        (None, None),
        ("", None),
    ],
)
def test_ids_may_be_integers_or_text(value, expected):
    assert id_of(value, "order_id") == expected


@pytest.mark.parametrize("value", [4.5, True, Decimal("4.5"), "x" * 65, b"\xff\xfe", object()])
def test_an_id_that_is_not_one_is_an_invalid_row(value):
    with pytest.raises(BadValue) as caught:
        id_of(value, "order_id")
    assert caught.value.reason == "invalid_row"


@pytest.mark.parametrize(
    "value", [True, 1, "1", "true", "TRUE", " t ", "yes", "Y", "on", Decimal(1)]
)
def test_consent_is_yes_only_for_explicit_true_values(value):
    assert flag_of(value) is True


@pytest.mark.parametrize(
    "value",
    [False, 0, 2, -1, "0", "false", "f", "no", "N", "n", "off", "", "はい", None, b"\x00", 0.5],
)
def test_anything_else_is_no_consent(value):
    assert flag_of(value) is False


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # naive local (Tokyo, UTC+9)
        (datetime(2026, 11, 22, 9, 0), datetime(2026, 11, 22, 0, 0)),
        # aware (PostgreSQL timestamptz): exact, whatever the configured zone
        (datetime(2026, 11, 22, 9, 0, tzinfo=UTC), datetime(2026, 11, 22, 9, 0)),
        (
            datetime(2026, 11, 22, 9, 0, tzinfo=timezone(timedelta(hours=-5))),
            datetime(2026, 11, 22, 14, 0),
        ),
        # SQLite text, with a space or a T, with or without an offset
        ("2026-11-22 09:00:00", datetime(2026, 11, 22, 0, 0)),
        ("2026-11-22T09:00:00", datetime(2026, 11, 22, 0, 0)),
        ("2026-11-22T09:00", datetime(2026, 11, 22, 0, 0)),
        ("2026-11-22 09:00:00.123456", datetime(2026, 11, 22, 0, 0, 0, 123456)),
        ("2026-11-22T00:00:00Z", datetime(2026, 11, 22, 0, 0)),
        ("2026-11-22T09:00:00+09:00", datetime(2026, 11, 22, 0, 0)),
        (date(2026, 11, 22), datetime(2026, 11, 21, 15, 0)),
        (None, None),
    ],
)
def test_times_naive_local_aware_or_text_become_naive_utc(value, expected):
    assert time_of(value, "abandoned_at", TOKYO) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "1700000000",
        1700000000,
        "0000-00-00 00:00:00",  # MySQL's zero date
        "0000-01-01 00:00:00",  # year 0
        "infinity",  # PostgreSQL, through the tolerant loader
        "-infinity",
        "0044-03-15 00:00:00 BC",
        "2026-02-30 10:00",
        "yesterday",
        datetime(1, 1, 1),
        b"\xff",
    ],
)
def test_times_that_are_not_a_shops_real_times_are_invalid_time(value):
    with pytest.raises(BadValue) as caught:
        time_of(value, "abandoned_at", TOKYO)
    assert caught.value.reason == "invalid_time"


def test_an_ambiguous_local_time_resolves_to_the_later_instant():
    # 2026-11-01 01:30 happens twice in New York (EDT -4, then EST -5): the later is 06:30 UTC.
    assert local_to_utc(datetime(2026, 11, 1, 1, 30), NEW_YORK) == datetime(2026, 11, 1, 6, 30)


def test_a_non_existent_local_time_resolves_to_the_later_instant():
    # 2026-03-08 02:30 never happens in New York (clocks jump 02:00 -> 03:00): read as if
    # before the jump (-5), 07:30 UTC, later than 06:30 (-4): never early.
    assert local_to_utc(datetime(2026, 3, 8, 2, 30), NEW_YORK) == datetime(2026, 3, 8, 7, 30)


@given(st.datetimes(min_value=datetime(1972, 1, 1), max_value=datetime(9990, 1, 1)))
def test_a_local_time_is_never_read_earlier_than_any_instant_it_can_mean(moment):
    read = local_to_utc(moment, NEW_YORK)
    for fold in (0, 1):
        meant = moment.replace(tzinfo=NEW_YORK, fold=fold).astimezone(UTC).replace(tzinfo=None)
        assert read >= meant


@pytest.mark.parametrize(
    ("value", "expected"),
    [("山田", "山田"), (b"\xe5\xb1\xb1", "山"), (7, "7"), (None, None)],
)
def test_text_is_taken_from_str_utf8_bytes_and_numbers(value, expected):
    assert text_of(value, "customer_name") == expected


@pytest.mark.parametrize(
    "value",
    [b"\xff\xfe", "bad \udcff byte", "nul\x00", 4.5, object()],
)
def test_text_that_is_not_utf8_or_a_blob_of_garbage_is_an_invalid_row(value):
    with pytest.raises(BadValue) as caught:
        text_of(value, "customer_name")
    assert (caught.value.reason, caught.value.column) == ("invalid_row", "customer_name")
