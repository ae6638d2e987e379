"""A shopper is a person, not a customer record (SPEC glossary, "person").

Real shops hold one shopper under several records: a member record and a guest record made at
a later checkout, two member records after a password reset with a new account, a record whose
address was typed ``Taro@Example.jp`` once and ``taro@example.jp`` the next time. Reminding,
capping and attributing by record would remind such a shopper twice in one sweep and miss the
purchase made under the other record. So everything that asks "is this the same shopper?"
(the purchase re-check, the frequency cap, "already reminded", send-bulk's once per campaign,
holdouts, A/B assignment) asks it of the keys made here.

A key is a short text with a prefix naming what it was made from, so an e-mail address can
never equal a customer id or a push token:

======================  =========================================================
``email:<address>``     NFKC, stripped, the WHOLE address in lower case
``sms:<E.164>``         the number as :func:`cartnudge.core.phones.normalise_phone` gives it
``push:<token>``        the device token exactly as stored (its case is part of it)
``line:<user id>``      the LINE user id exactly as stored
``customer:<id>``       the shop's customer id, when there is no usable address
======================  =========================================================

Why the whole e-mail address in lower case: RFC 5321 lets the local part be case-sensitive,
but no mailbox provider in use treats ``Taro@`` and ``taro@`` as two people, and shoppers type
both. Merging them can at worst send one reminder fewer to two people who share a mailbox that
distinguishes case (none are known); not merging sends two reminders to one person, which is
the failure SPEC 2.8 forbids. NFKC first, so a full-width address typed on a Japanese keyboard
(``ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ``) is the same address. Nothing provider-specific is undone: dots
and ``+tags`` stay, because ``a.b@example.jp`` and ``ab@example.jp`` are two mailboxes at most
providers.

Keys are personal data (they contain the address): store them like addresses, never log them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from cartnudge.core.phones import normalise_phone

CHANNELS = ("email", "sms", "push", "line")


def normalise_email(raw: object) -> str | None:
    """The e-mail address as persons are told apart by it: NFKC, stripped, lower case.

    ``None`` when ``raw`` is ``None``, not text, or empty once stripped. The result is not
    checked for validity (an invalid address is still the same person's invalid address);
    :func:`cartnudge.core.rules.valid_email` decides whether it can be sent to.
    """
    if not isinstance(raw, str):
        return None
    text = unicodedata.normalize("NFKC", raw).strip().lower()
    return text or None


def _text(raw: object) -> str | None:
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, int):
        return str(raw)
    if not isinstance(raw, str):
        return None
    text = raw.strip()
    return text or None


def address_key(channel: str, address: object, region: str = "JP") -> str | None:
    """The key of one address on one channel, or ``None`` when it names nobody.

    ``channel`` is ``email``, ``sms``, ``push`` or ``line`` (:class:`ValueError` otherwise).
    An SMS number is normalised to E.164 with ``region`` for numbers without a country code;
    one that is not a valid number gives ``None``. Push tokens and LINE user ids are kept as
    stored, only stripped of surrounding white space.
    """
    if channel == "email":
        email = normalise_email(address)
        return f"email:{email}" if email else None
    if channel == "sms":
        phone = normalise_phone(address, region) if isinstance(address, str) else None
        return f"sms:{phone}" if phone else None
    if channel in ("push", "line"):
        token = _text(address)
        return f"{channel}:{token}" if token else None
    raise ValueError(f"unknown channel {channel!r}")


def customer_key(customer_id: object) -> str | None:
    """``customer:<id>`` for a shop customer id (integer or text), ``None`` when there is none
    (a guest, or a deleted customer)."""
    text = _text(customer_id)
    return f"customer:{text}" if text else None


def person_key(
    channel: str, address: object, customer_id: object = None, *, region: str = "JP"
) -> str | None:
    """The one key a shopper is known by on ``channel``: the address's key
    (:func:`address_key`), falling back to the customer id's key when the address is missing
    or unusable; ``None`` when there is neither.

    Use it where one stable key per person is needed (send-bulk's once per campaign, holdout
    and A/B assignment). Where two records must be recognised as one shopper by ANY shared
    identity, use :func:`person_keys`.
    """
    return address_key(channel, address, region) or customer_key(customer_id)


def person_keys(
    *,
    customer_id: object = None,
    email: object = None,
    phone: object = None,
    push_token: object = None,
    line_user_id: object = None,
    region: str = "JP",
) -> frozenset[str]:
    """Every key a record carries: its customer id and each usable address.

    Two records are the same person when their key sets meet (:func:`same_person`): the same
    customer id, or the same normalised e-mail, E.164 number, push token or LINE user id.
    """
    keys = (
        customer_key(customer_id),
        address_key("email", email, region),
        address_key("sms", phone, region),
        address_key("push", push_token, region),
        address_key("line", line_user_id, region),
    )
    return frozenset(k for k in keys if k)


def same_person(a: Iterable[str], b: Iterable[str]) -> bool:
    """Whether two key sets (from :func:`person_keys`) name the same shopper."""
    return not frozenset(a).isdisjoint(b)
