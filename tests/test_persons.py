"""A shopper is a person: the keys that tell records of one shopper together (SPEC "person")."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cartnudge.core.persons import (
    address_key,
    customer_key,
    normalise_email,
    person_key,
    person_keys,
    same_person,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("taro@example.jp", "taro@example.jp"),
        ("Taro@Example.JP", "taro@example.jp"),  # the whole address, local part too
        ("  taro@example.jp\n", "taro@example.jp"),
        ("ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ", "taro@example.jp"),  # full-width, NFKC
        ("TARO+shop@example.jp", "taro+shop@example.jp"),  # +tags stay
        ("ta.ro@example.jp", "ta.ro@example.jp"),  # dots stay
        ("", None),
        ("   ", None),
        (None, None),
        (12345, None),  # not text: nobody's address
        (b"taro@example.jp", None),
        ("not-an-address", "not-an-address"),  # still this person's (invalid) address
    ],
)
def test_an_email_address_is_normalised_nfkc_stripped_and_lower_case(raw, expected):
    assert normalise_email(raw) == expected


@pytest.mark.parametrize(
    ("channel", "address", "expected"),
    [
        ("email", "Hanako@Example.co.jp", "email:hanako@example.co.jp"),
        ("sms", "090-1234-5678", "sms:+819012345678"),
        ("sms", "０９０－１２３４－５６７８", "sms:+819012345678"),
        ("sms", "+81 90 1234 5678", "sms:+819012345678"),
        ("sms", "not a number", None),
        ("sms", 9012345678, None),
        ("push", "AbC:dEf_123", "push:AbC:dEf_123"),  # a token keeps its case
        ("push", "  AbC  ", "push:AbC"),
        ("line", "U4af4980629", "line:U4af4980629"),
        ("email", None, None),
        ("push", "", None),
    ],
)
def test_each_channel_has_its_own_address_key(channel, address, expected):
    assert address_key(channel, address) == expected


def test_an_unknown_channel_is_refused():
    with pytest.raises(ValueError, match="unknown channel 'fax'"):
        address_key("fax", "x")


@pytest.mark.parametrize(
    ("channel", "address", "customer_id", "expected"),
    [
        ("email", "Taro@example.jp", 7, "email:taro@example.jp"),
        ("email", None, 7, "customer:7"),  # no address: the customer id
        ("email", "  ", "C-0007", "customer:C-0007"),  # text ids as they are
        ("sms", "bad", 7, "customer:7"),  # an unusable number: the customer id
        ("email", None, None, None),  # a deleted customer without address: nobody
        ("email", None, True, None),  # a boolean is not an id
    ],
)
def test_person_key_is_the_address_falling_back_to_the_customer_id(
    channel, address, customer_id, expected
):
    assert person_key(channel, address, customer_id) == expected


def test_a_member_and_a_guest_record_with_the_same_address_in_another_case_are_one_person():
    member = person_keys(customer_id=1, email="Hanako@Example.jp")
    guest = person_keys(customer_id=None, email="hanako@example.jp")
    assert same_person(member, guest)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ({"customer_id": 1}, {"customer_id": 1, "email": "x@example.jp"}, True),
        ({"customer_id": 1}, {"customer_id": "1"}, True),  # int and text ids agree
        ({"customer_id": 1}, {"customer_id": 2}, False),
        ({"phone": "090-1234-5678"}, {"phone": "+819012345678"}, True),
        ({"push_token": "Tok"}, {"push_token": "tok"}, False),
        ({"email": "a@example.jp"}, {"email": "b@example.jp"}, False),
        ({"email": "7"}, {"customer_id": 7}, False),  # prefixes keep kinds apart
        ({}, {}, False),  # nobody is nobody's person
    ],
)
def test_records_are_one_person_when_any_key_is_shared(a, b, same):
    assert same_person(person_keys(**a), person_keys(**b)) is same


def test_customer_key_takes_integer_and_text_ids():
    assert customer_key(42) == "customer:42"
    assert customer_key(" 42 ") == "customer:42"
    assert customer_key("") is None
    assert customer_key(4.5) is None


@given(st.text(max_size=40))
def test_normalising_an_email_twice_changes_nothing(raw):
    once = normalise_email(raw)
    assert once is None or normalise_email(once) == once
