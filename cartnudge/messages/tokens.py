"""Signed, expiring tokens for recovery URLs and opt-out links.

A token is ``base64url(json payload) "." base64url(HMAC-SHA256(key, payload))``. Keys come from an
environment variable (a comma-separated list): the first signs, every one verifies, so a key can
be rotated without breaking links already sent. The shop resolves a token with
:func:`verify_token` (or ``cartnudge token verify TOKEN``).

Opt-out links must work for their whole advertised life (:data:`UNSUBSCRIBE_TTL`, far longer
than a recovery link's): a key retired from signing is kept in ``optout_keys`` (the variable
named by ``recovery.retired_keys_env``), which verifies opt-out tokens only, never recovery
tokens. Every check names the kind it expects: a token of the other kind is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from cartnudge.errors import TokenError

RECOVERY = "recovery"
UNSUBSCRIBE = "unsubscribe"
# Tokens travel in SMS, where every character costs: kinds are one letter on the wire and the
# MAC is HMAC-SHA256 truncated to 128 bits (RFC 2104 section 5 allows truncation to >= 80).
_KIND_CODES = {RECOVERY: "r", UNSUBSCRIBE: "u"}
_KIND_NAMES = {code: name for name, code in _KIND_CODES.items()}
MAC_BYTES = 16
# How long an opt-out link stays valid: the law wants the opt-out to keep working, and mail is
# read late; a retired key must verify opt-out tokens this long after it last signed.
UNSUBSCRIBE_TTL = timedelta(days=400)


def _mac(key: bytes, raw: bytes) -> bytes:
    return hmac.new(key, raw, hashlib.sha256).digest()[:MAC_BYTES]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _epoch(moment: datetime) -> int:
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return int(aware.timestamp())


def sign_token(
    payload: dict[str, Any], keys: Sequence[bytes], *, kind: str, expires_at: datetime
) -> str:
    """A token carrying ``payload``, of ``kind``, valid until ``expires_at`` (naive = UTC)."""
    if not keys:
        raise TokenError("no signing key configured")
    body = dict(payload, k=_KIND_CODES.get(kind, kind), exp=_epoch(expires_at))
    raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode()
    return f"{_b64(raw)}.{_b64(_mac(keys[0], raw))}"


def _a(word: str) -> str:
    return f"an {word}" if word[:1] in "aeiou" else f"a {word}"


def key_fingerprint(key: bytes) -> str:
    """A short, public name for a signing key (8 hex digits of a domain-separated SHA-256), so
    runs can record which key signed and ``check`` can tell when one was dropped too early."""
    return hashlib.sha256(b"cartnudge signing key\x00" + key).hexdigest()[:8]


def verify_token(
    token: str,
    keys: Sequence[bytes],
    *,
    now: datetime,
    kind: str | None,
    check_expiry: bool = True,
    optout_keys: Sequence[bytes] = (),
) -> dict[str, Any]:
    """The payload of a genuine, unexpired ``token`` of ``kind``; :class:`TokenError` otherwise.

    ``kind`` is required (None accepts either kind, for tools that show any token). A token
    whose MAC matches one of ``optout_keys`` (keys retired from signing) is accepted only when
    it is an opt-out token. ``check_expiry=False`` is for attribution: a purchase through an
    expired link still came from our reminder."""
    token = token.strip()
    parts = token.split(".")
    if len(parts) != 2 or not all(parts):
        raise TokenError("token is malformed (expected two base64url parts joined by '.')")
    try:
        raw, mac = _unb64(parts[0]), _unb64(parts[1])
    except (ValueError, TypeError):
        raise TokenError("token is malformed (not base64url)") from None
    # base64url's last character carries unused bits: accept only the canonical spelling, so a
    # token that was edited is refused even where the edit decodes to the same bytes.
    if _b64(raw) != parts[0] or _b64(mac) != parts[1]:
        raise TokenError("token is malformed (not canonical base64url)")
    current = any(hmac.compare_digest(_mac(k, raw), mac) for k in keys)
    retired = not current and any(hmac.compare_digest(_mac(k, raw), mac) for k in optout_keys)
    if not current and not retired:
        raise TokenError("token signature is not valid (tampered, or signed with an unknown key)")
    try:
        body = json.loads(raw)
        expires = int(body["exp"])
        token_kind = _KIND_NAMES.get(str(body["k"]), str(body["k"]))
    except (ValueError, KeyError, TypeError):
        raise TokenError("token payload is malformed") from None
    if kind is not None and token_kind != kind:
        raise TokenError(f"token is {_a(token_kind)} token, not {_a(kind)} token")
    if retired and token_kind != UNSUBSCRIBE:
        raise TokenError(
            "token signature is not valid (signed with a retired key, which verifies "
            "opt-out links only)"
        )
    if check_expiry and _epoch(now) >= expires:
        when = datetime.fromtimestamp(expires, UTC).isoformat()
        raise TokenError(f"token expired at {when}")
    body["k"] = token_kind
    body["expires_at"] = datetime.fromtimestamp(expires, UTC).isoformat()
    return body
