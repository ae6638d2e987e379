"""Opt-out links outlive key rotation, and each kind of token is accepted only where it is meant
(issue 10, points 2 and 3)."""

from __future__ import annotations

import email
import email.policy
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cartnudge.app import App
from cartnudge.cli import main
from cartnudge.config import load_config
from cartnudge.errors import TokenError
from cartnudge.messages.tokens import (
    RECOVERY,
    UNSUBSCRIBE,
    key_fingerprint,
    sign_token,
    verify_token,
)
from cartnudge.recovery import resolve_optout_token, resolve_token
from tests.conftest import TOKEN_ENV, base_config, write_config
from tests.shop import ShopBuilder

RETIRED_ENV = "CARTNUDGE_TEST_RETIRED_KEYS"
KEY_A = "first-signing-key-aaaaaaaa"
KEY_B = "second-signing-key-bbbbbbb"
KEY_C = "third-signing-key-ccccccccc"


@pytest.fixture(autouse=True)
def restore_cartnudge_logger() -> Iterator[None]:
    logger = logging.getLogger("cartnudge")
    handlers, level, propagate = logger.handlers[:], logger.level, logger.propagate
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)
    logger.propagate = propagate


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def keys(monkeypatch: pytest.MonkeyPatch, signing: str, retired: str = "") -> None:
    monkeypatch.setenv(TOKEN_ENV, signing)
    monkeypatch.setenv(RETIRED_ENV, retired)


@pytest.fixture
def year_old_links(
    sqlite_shop: ShopBuilder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, str, str]:
    """A sweep a year ago signed with key A: (config path, opt-out token, recovery token)."""
    sent_at = datetime.now(UTC).replace(tzinfo=None, microsecond=0) - timedelta(days=365)
    sqlite_shop.abandoned(sent_at - timedelta(hours=4), email="hanako@example.jp")
    data = base_config(sqlite_shop.url, tmp_path)
    data["recovery"]["retired_keys_env"] = RETIRED_ENV
    path = write_config(tmp_path, data)
    keys(monkeypatch, KEY_A)
    now_arg = sent_at.isoformat() + "Z"
    swept = cli("sweep", "--config", str(path), "--now", now_arg, "--quiet")
    assert swept.exit_code == 0, swept.output
    (message,) = (tmp_path / "outbox").glob("*.eml")
    parsed = email.message_from_bytes(message.read_bytes(), policy=email.policy.default)
    opt_out = str(parsed["List-Unsubscribe"]).split("token=", 1)[1].split(">", 1)[0]
    body = parsed.get_body(("plain",)).get_content()
    recovery = body.split("restore?token=", 1)[1].split()[0]
    return path, opt_out, recovery


def test_a_year_old_opt_out_link_works_after_two_rotations(
    year_old_links: tuple[Path, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, opt_out, _ = year_old_links
    # The README's procedure, twice: a new key first; after recovery.token_ttl the old one
    # moves to the retired keys (opt-out links only); the same again with key C.
    keys(monkeypatch, f"{KEY_B},{KEY_A}")
    keys(monkeypatch, KEY_B, KEY_A)
    keys(monkeypatch, f"{KEY_C},{KEY_B}", KEY_A)
    keys(monkeypatch, KEY_C, f"{KEY_A},{KEY_B}")
    checked = cli("check", "--config", str(path))
    assert checked.exit_code == 0, checked.output
    assert "ok   every key that signed a live opt-out link still verifies it" in checked.stdout
    result = cli("unsubscribe", "--config", str(path), "--token", opt_out)
    assert (result.exit_code, result.stdout, result.stderr) == (
        0,
        "unsubscribed: h***@example.jp\n",
        "",
    )


def test_check_refuses_a_rotation_that_drops_a_key_of_live_opt_out_links(
    year_old_links: tuple[Path, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, opt_out, _ = year_old_links
    keys(monkeypatch, KEY_C, KEY_B)  # key A dropped altogether: its opt-out links die
    result = cli("check", "--config", str(path))
    assert result.exit_code == 3
    assert result.stderr.startswith(
        f"cartnudge: error: {path}: recovery: the key with fingerprint "
        f"{key_fingerprint(KEY_A.encode())} signed opt-out links until "
    )
    assert "but it is in neither CARTNUDGE_TEST_TOKEN_KEYS nor recovery.retired_keys_env" in (
        result.stderr
    )
    assert len(result.stderr.splitlines()) == 1
    refused = cli("unsubscribe", "--config", str(path), "--token", opt_out)
    assert refused.exit_code == 7


def test_a_retired_key_never_verifies_a_recovery_token() -> None:
    now = datetime(2026, 11, 22, 12, 0)
    old = KEY_A.encode()
    recovery = sign_token({"d": 1}, (old,), kind=RECOVERY, expires_at=now + timedelta(days=1))
    opt_out = sign_token({"d": 1}, (old,), kind=UNSUBSCRIBE, expires_at=now + timedelta(days=1))
    current = (KEY_B.encode(),)
    assert verify_token(opt_out, current, now=now, kind=UNSUBSCRIBE, optout_keys=(old,))
    with pytest.raises(TokenError, match="signed with a retired key, which verifies opt-out"):
        verify_token(recovery, current, now=now, kind=RECOVERY, optout_keys=(old,))
    with pytest.raises(TokenError, match="signed with a retired key"):
        verify_token(recovery, current, now=now, kind=None, optout_keys=(old,))


def test_a_key_both_signing_and_retired_is_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = base_config(f"sqlite:///{tmp_path / 'shop.db'}", tmp_path)
    data["recovery"]["retired_keys_env"] = RETIRED_ENV
    path = write_config(tmp_path, data)
    keys(monkeypatch, KEY_A, KEY_A)
    result = cli("check", "--config", str(path))
    assert result.exit_code == 3
    assert "recovery.retired_keys_env: a key in CARTNUDGE_TEST_RETIRED_KEYS is also in" in (
        result.stderr
    )


# -- tokens by kind (point 3) ------------------------------------------------------------------


def test_each_kind_of_token_is_refused_where_the_other_is_expected(
    year_old_links: tuple[Path, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, opt_out, recovery = year_old_links
    app = App(load_config(path))
    now = datetime.now(UTC).replace(tzinfo=None)
    try:
        # the cart-restore page's call never reveals an opt-out link's address
        with pytest.raises(TokenError, match="^token is an unsubscribe token, not a recovery"):
            resolve_token(app, opt_out, now=now)
        assert resolve_optout_token(app, opt_out, now=now)["address"] == "hanako@example.jp"
        with pytest.raises(TokenError, match="^token is a recovery token, not an unsubscribe"):
            resolve_optout_token(app, recovery, now=now - timedelta(days=365))
    finally:
        app.dispose()
    for args, expected in (
        (("token", "verify", opt_out), "token is an unsubscribe token, not a recovery token"),
        (
            ("token", "verify", "--kind", "unsubscribe", recovery),
            "token is a recovery token, not an unsubscribe token",
        ),
        (("unsubscribe", "--token", recovery), "token is a recovery token, not an unsubscribe"),
    ):
        result = cli(*args, "--config", str(path))
        assert result.exit_code == 7, (args, result.output)
        assert result.stdout == ""
        assert result.stderr.startswith(f"cartnudge: error: {expected}")
        assert len(result.stderr.splitlines()) == 1
