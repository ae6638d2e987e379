"""Personal data never reaches a log line in full; ids and dates stay readable for on-call."""

from __future__ import annotations

import logging

import pytest

from cartnudge.logs import MaskingFormatter, mask_pii


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("550 5.1.1 <hanako.sato@example.jp>: unknown", "550 5.1.1 <h***@example.jp>: unknown"),
        ("to taro@localhost", "to t***@localhost"),
        ("sms to 090-1234-5678 refused", "sms to ***5678 refused"),
        ("sms to +819012345678", "sms to ***5678"),
        ("call 03(1234)5678", "call ***5678"),
        ("full-width stays: 0312345678.", "full-width stays: ***5678."),
        ("delivery 1234567890 failed", "delivery 1234567890 failed"),  # an id, not a phone
        ("at 2024-05-01 10:00", "at 2024-05-01 10:00"),  # a date, not a phone
        ("order 0123 ok", "order 0123 ok"),  # too short for a phone number
    ],
)
def test_mask_pii_masks_addresses_and_phones_but_not_ids_or_dates(text: str, expected: str):
    assert mask_pii(text) == expected


def test_the_log_formatter_masks_whatever_the_message_holds() -> None:
    record = logging.LogRecord(
        "cartnudge.sweep", logging.WARNING, __file__, 1,
        "delivery %d failed: %s", (7, "550 <kenta@example.com> unknown"), None,
    )  # fmt: skip
    line = MaskingFormatter("%(message)s").format(record)
    assert line == "delivery 7 failed: 550 <k***@example.com> unknown"
