"""Signed, expiring tokens (recovery URLs and opt-out links): what is accepted, what is refused
and with which words, and key rotation (the first key signs, every key verifies)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cartnudge.errors import TokenError
from cartnudge.messages.tokens import RECOVERY, UNSUBSCRIBE, sign_token, verify_token

NOW = datetime(2026, 11, 22, 12, 0)
EXPIRES = NOW + timedelta(days=14)
OLD = b"old-signing-key-0123456789"
NEW = b"new-signing-key-9876543210"
PAYLOAD = {"d": 42, "o": "1001", "c": "7", "f": "confirm", "e": 1, "s": "shop", "lp": None}
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

MALFORMED = "token is malformed (expected two base64url parts joined by '.')"
NOT_BASE64 = "token is malformed (not base64url)"
NOT_CANONICAL = "token is malformed (not canonical base64url)"
BAD_SIGNATURE = "token signature is not valid (tampered, or signed with an unknown key)"


def token(keys: tuple[bytes, ...] = (OLD,), *, kind: str = RECOVERY, payload=PAYLOAD) -> str:
    return sign_token(payload, keys, kind=kind, expires_at=EXPIRES)


def refused(text: str, keys: tuple[bytes, ...] = (OLD,), **kwargs) -> str:
    """The message of the TokenError ``text`` is refused with."""
    kwargs.setdefault("now", NOW)
    kwargs.setdefault("kind", None)
    with pytest.raises(TokenError) as caught:
        verify_token(text, keys, **kwargs)
    assert caught.value.exit_code == 7
    return str(caught.value)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_a_signed_token_verifies_to_its_payload_kind_and_expiry() -> None:
    text = token()
    body = verify_token(text, (OLD,), now=NOW, kind=RECOVERY)
    expected_exp = int(EXPIRES.replace(tzinfo=UTC).timestamp())
    expected = dict(PAYLOAD, k="recovery", exp=expected_exp, expires_at="2026-12-06T12:00:00+00:00")
    assert body == expected
    assert set(text) <= set(ALPHABET + ".") and text.count(".") == 1  # URL-safe as it is


def test_a_token_carries_non_ascii_payload_and_surrounding_white_space_is_ignored() -> None:
    text = sign_token({"a": "山田@example.jp"}, (OLD,), kind=UNSUBSCRIBE, expires_at=EXPIRES)
    assert verify_token(f"  {text}\n", (OLD,), now=NOW, kind=None)["a"] == "山田@example.jp"


def test_a_tampered_payload_is_refused() -> None:
    body, signature = token().split(".")
    forged = dict(json.loads(unb64(body)), o="9999")  # someone else's order, old signature
    forged_body = b64(json.dumps(forged, separators=(",", ":"), sort_keys=True).encode())
    assert refused(f"{forged_body}.{signature}") == BAD_SIGNATURE


def test_a_signature_with_one_middle_character_changed_is_refused() -> None:
    body, signature = token().split(".")
    middle = len(signature) // 2
    swapped = "A" if signature[middle] != "A" else "B"
    tampered = signature[:middle] + swapped + signature[middle + 1 :]
    assert refused(f"{body}.{tampered}") == BAD_SIGNATURE


def test_a_non_canonical_last_character_that_decodes_to_the_same_bytes_is_refused() -> None:
    body, signature = token().split(".")
    # 32 bytes are 43 characters; the last one carries 4 bits and 2 unused (zero) bits.
    last = ALPHABET.index(signature[-1])
    assert last & 0b11 == 0
    edited = signature[:-1] + ALPHABET[last | 0b01]
    assert unb64(edited) == unb64(signature)  # a lax decoder would take it as genuine
    assert refused(f"{body}.{edited}") == NOT_CANONICAL


def test_a_truncated_token_is_refused() -> None:
    text = token()
    # 20 of the MAC's 22 characters: 15 bytes, not the 16 signed
    assert refused(text[:-2]) == BAD_SIGNATURE
    # 19 characters cannot be canonical base64url
    assert refused(text[:-3]) == "token is malformed (not canonical base64url)"
    assert refused(text[: text.index(".") + 1]) == MALFORMED
    assert refused(text[: text.index(".")]) == MALFORMED


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", MALFORMED),
        ("   ", MALFORMED),
        ("not a token", MALFORMED),
        ("a.b.c", MALFORMED),
        (".", MALFORMED),
        ("abcde.abcde", NOT_BASE64),  # 5 characters cannot be base64
        ("ab$d.abcd", NOT_BASE64),  # '$' is no base64url character...
        ("abc$d.abcd", NOT_CANONICAL),  # ...even where dropping it leaves valid base64
        ("ab+d.abcd", NOT_CANONICAL),  # standard base64, not base64url
        ("eyJrIjoicmVjb3ZlcnkifQ.c2lnbmF0dXJl", BAD_SIGNATURE),  # well-formed, not ours
    ],
)
def test_garbage_is_refused_with_a_clear_message(text: str, message: str) -> None:
    assert refused(text) == message


def test_a_token_of_the_wrong_kind_is_refused() -> None:
    opt_out = token(kind=UNSUBSCRIBE)
    assert refused(opt_out, kind=RECOVERY) == "token is an unsubscribe token, not a recovery token"
    assert verify_token(opt_out, (OLD,), now=NOW, kind=UNSUBSCRIBE)["k"] == "unsubscribe"


def test_a_token_is_valid_one_second_before_its_expiry_and_refused_at_it() -> None:
    text = token()
    assert verify_token(text, (OLD,), now=EXPIRES - timedelta(seconds=1), kind=None)["o"] == "1001"
    assert refused(text, now=EXPIRES) == "token expired at 2026-12-06T12:00:00+00:00"
    assert refused(text, now=EXPIRES + timedelta(days=1)).startswith("token expired at ")


def test_an_aware_now_is_compared_in_utc() -> None:
    tokyo = EXPIRES.replace(tzinfo=UTC).astimezone(ZoneInfo("Asia/Tokyo"))
    assert refused(token(), now=tokyo).startswith("token expired at ")
    verify_token(token(), (OLD,), now=tokyo - timedelta(seconds=1), kind=None)


def test_check_expiry_false_accepts_an_expired_token_for_attribution() -> None:
    body = verify_token(
        token(), (OLD,), now=EXPIRES + timedelta(days=365), check_expiry=False, kind=None
    )
    assert (body["o"], body["expires_at"]) == ("1001", "2026-12-06T12:00:00+00:00")


def test_check_expiry_false_still_refuses_a_tampered_token() -> None:
    body, signature = token().split(".")
    assert refused(f"{body}.{signature[:-3]}AAA", check_expiry=False) == BAD_SIGNATURE


def test_a_token_signed_with_the_old_key_verifies_after_rotation_to_new_old() -> None:
    sent_before_rotation = token((OLD,))
    assert verify_token(sent_before_rotation, (NEW, OLD), now=NOW, kind=None)["o"] == "1001"


def test_after_rotation_new_tokens_are_signed_with_the_new_key() -> None:
    after_rotation = token((NEW, OLD))
    assert verify_token(after_rotation, (NEW,), now=NOW, kind=None)["o"] == "1001"
    assert refused(after_rotation, (OLD,)) == BAD_SIGNATURE


def test_a_removed_key_no_longer_verifies() -> None:
    sent_before_rotation = token((OLD,))
    assert refused(sent_before_rotation, (NEW,)) == BAD_SIGNATURE
    assert refused(sent_before_rotation, ()) == BAD_SIGNATURE


def test_signing_without_a_key_is_refused() -> None:
    with pytest.raises(TokenError, match="no signing key configured"):
        token(())
