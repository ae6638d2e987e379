"""Load the YAML configuration into validated, typed settings.

Every refusal is a :class:`ConfigError` whose one-line message names the file, the key path and
the offending value. Secrets are never read from the file: the file names environment
variables (keys ending in ``_env``) and :func:`load_config` reads them, refusing unset ones.

No ``from __future__ import annotations`` here, on purpose: pydantic would evaluate every field's
annotation from a string (124 ``ForwardRef`` compilations, ~20 ms at every start).
"""

import os
import re
import reprlib
import stat
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from cartnudge import bundled
from cartnudge.channels.settings import (
    LineSettings,
    PushSettings,
    RateLimitSettings,
    SmsSettings,
    settings_problem,
)
from cartnudge.core.coupons import CouponRule
from cartnudge.core.durations import format_duration, parse_duration
from cartnudge.core.experiments import Experiment, HoldoutPlan, Variant
from cartnudge.core.segments import CustomerHistory, Segment
from cartnudge.core.triggers import Trigger, parse_trigger
from cartnudge.errors import ConfigError

# The shipped shop contract and templates: inside the package when installed (read through
# importlib.resources), the top-level copies in a checkout (cartnudge.bundled). Operators point
# shop.sql_dir / templates_dir at their own copies (`cartnudge init` makes them).
BUNDLED_SQL_DIR = bundled.sql_dir()
BUNDLED_TEMPLATES_DIR = bundled.templates_dir()

SOURCE_DELAY_MIN = timedelta(hours=1)
SOURCE_DELAY_MAX = timedelta(hours=24)
PUSH_DELAY_MIN = timedelta(minutes=5)
# No duration of cartnudge's is meaningfully longer than ten years; beyond that dates overflow.
MAX_DURATION = timedelta(days=3650)
MAX_CART_TTL_MINUTES = MAX_DURATION.days * 24 * 60


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ShopSettings(_Strict):
    url: str | None = None
    url_env: str | None = None
    sql_dir: str | None = None
    timestamps_timezone: str = "UTC"
    cart_ttl: int | Literal["unlimited"] = 1440
    lookback: str = "30d"
    money_decimals: int = Field(default=0, ge=0, le=4)

    @field_validator("cart_ttl")
    @classmethod
    def _positive_ttl(cls, v: int | str) -> int | str:
        if isinstance(v, int) and not 0 < v <= MAX_CART_TTL_MINUTES:
            raise ValueError(
                f"must be a positive number of minutes up to {MAX_CART_TTL_MINUTES} "
                "(ten years) or 'unlimited'"
            )
        return v


class StateSettings(_Strict):
    url: str | None = None
    url_env: str | None = None
    lease: str = "15m"
    lock_timeout: str = "30s"


class SenderSettings(_Strict):
    name: str = ""
    email: str = ""
    postal_address: str = ""
    contact: str = ""
    reply_to: str | None = None
    logo_url: str | None = None  # an https image shown at the top of the HTML e-mail


class ConsentSettings(_Strict):
    required: bool = True


class FraudSettings(_Strict):
    suppressed_results: list[str] = Field(default_factory=lambda: ["HOLD", "REVIEW", "NG"])
    suppressed_actions: list[str] = Field(default_factory=lambda: ["redirect"])


Channel = Literal["email", "sms", "push", "line"]


class VariantSettings(_Strict):
    name: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    weight: float = Field(default=1.0, ge=0)
    template: int | None = None
    delay: str | int | None = None


class SegmentSettings(_Strict):
    """``segment:`` of a flow or a step (cartnudge.core.segments): which carts it reminds."""

    min_amount: int | None = Field(default=None, ge=0)  # yen; the flow's default is 1
    max_amount: int | None = Field(default=None, ge=0)
    customer_status: list[Literal["member", "visitor"]] | None = None
    customer: Literal["any", "first_time", "returning"] | None = None
    include_products: list[str | int] | None = None
    exclude_products: list[str | int] | None = None
    include_categories: list[str] | None = None
    exclude_categories: list[str] | None = None


class CouponStepSettings(_Strict):
    """``coupon:`` of a step: the step's message carries a code from the pool."""

    expires_after: str | None = "7d"  # valid this long after the send
    expires_at: datetime | None = None  # or until then (local time in `timezone`)


class TriggerSettings(_Strict):
    """``trigger:`` of a step (cartnudge.core.triggers): one condition instead of a delay."""

    price_drop: str | float | None = None  # "10%": an item at least this much cheaper now
    low_stock: str | int | None = None  # 3: an item with this many or fewer left (not 0)


class StepSettings(_Strict):
    delay: str | int | None = None  # a step has a delay, or a trigger instead
    trigger: TriggerSettings | None = None  # instead of a delay: {price_drop: 10%}, ...
    template: int | None = None
    channel: Channel = "email"
    holdout: str | float | None = None
    experiment: str | None = Field(
        default=None, min_length=1, max_length=50, pattern=r"^[A-Za-z0-9_-]+$"
    )
    variants: list[VariantSettings] | None = None
    segment: SegmentSettings | None = None
    coupon: CouponStepSettings | None = None


class CouponsSettings(_Strict):
    """``coupons:``: the pool's rules (cartnudge.core.coupons)."""

    repeat_window: str = "90d"  # no code again to the same person within this
    empty_pool: Literal["send_without", "wait"] = "send_without"
    low_pool: int = Field(default=20, ge=0)  # warn when fewer free codes are left
    allow_first_step: bool = False  # anti-gaming: the first step carries no coupon
    seeker_after: int = Field(default=2, ge=1)  # report: carts abandoned after a code
    # Where codes come from: the imported pool, or a pattern (written to the shop through the
    # optional contract file sql/coupon_insert.sql).
    source: Literal["pool", "pattern"] = "pool"
    pattern: str | None = None  # source pattern: e.g. "CART-{random:8}"
    discount: str | None = None  # source pattern: the discount shown, e.g. "500円" or "10%"
    in_link: bool = False  # the recovery link carries the code (?coupon=CODE)

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, v: str | None) -> str | None:
        from cartnudge.core.coupons import pattern_problem

        if v is not None and (problem := pattern_problem(v)):
            raise ValueError(problem)
        return v

    @model_validator(mode="after")
    def _pattern_source(self) -> "CouponsSettings":
        if self.source == "pattern":
            if not self.pattern:
                raise ValueError("source pattern needs coupons.pattern, e.g. CART-{random:8}")
            if not (self.discount or "").strip():
                raise ValueError("source pattern needs coupons.discount, e.g. 500円 or 10%")
        return self


class ConfirmFlowSettings(_Strict):
    enabled: bool = False
    template: int = 140001
    target: Literal["members", "visitors", "all"] = "all"
    delay: str | int | None = None
    steps: list[StepSettings] | None = None
    wide_delays: bool = False
    resend_after: str = "3d"
    holdout: str | float | None = None
    holdout_name: str = "1"
    abandoned_cells: list[str] | None = None

    @field_validator("abandoned_cells")
    @classmethod
    def _cells(cls, v: list[str] | None) -> list[str] | None:
        from cartnudge.core.rules import parse_cell

        if v is not None:
            if not v:
                raise ValueError("must name at least one customer/storefront/step cell")
            for cell in v:
                parse_cell(cell)
        return v

    segment: SegmentSettings = Field(default_factory=SegmentSettings)


class InputFlowSettings(_Strict):
    enabled: bool = False
    template: int = 140002
    delay: str | int = 1
    channels: list[Literal["email", "sms"]] = Field(default_factory=lambda: ["email"])
    wide_delays: bool = False
    holdout: str | float | None = None
    holdout_name: str = "1"
    segment: SegmentSettings = Field(default_factory=SegmentSettings)


class FlowsSettings(_Strict):
    confirm: ConfirmFlowSettings = Field(default_factory=ConfirmFlowSettings)
    input: InputFlowSettings = Field(default_factory=InputFlowSettings)


class QuietHoursSettings(_Strict):
    """Per channel, the local hours sending is allowed ("09:00-21:00"), or null for any time."""

    email: str | None = None
    sms: str | None = "09:00-21:00"
    push: str | None = "09:00-21:00"
    line: str | None = "09:00-21:00"


class FrequencyCapSettings(_Strict):
    enabled: bool = True
    max_sends: int = Field(default=1, ge=1)
    window: str = "16h"


class SmtpSettings(_Strict):
    host: str = "localhost"
    port: int = Field(default=25, ge=1, le=65535)
    security: Literal["none", "starttls", "tls"] = "none"
    username: str | None = None
    password_env: str | None = None
    timeout: float = Field(default=30.0, gt=0, le=600)
    # Connections used at once by one sweep; each batch is shared between them.
    connections: int = Field(default=1, ge=1, le=32)
    rate_limit: RateLimitSettings = Field(default_factory=RateLimitSettings)


class EmailSettings(_Strict):
    transport: Literal["outbox", "smtp"] = "outbox"
    outbox_dir: str = "outbox"
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)


class RecoverySettings(_Strict):
    shop_url: str = "https://shop.example.jp/cart/restore?token={token}"
    lp_url: str = "https://shop.example.jp/lp/{lp_id}/form?token={token}"
    unsubscribe_url: str = "https://shop.example.jp/unsubscribe?token={token}"
    keys_env: str = "CARTNUDGE_TOKEN_KEYS"
    retired_keys_env: str | None = None
    keys_file: str | None = None
    token_ttl: str = "14d"
    attribution: Literal["url", "url+click", "url+window", "url+click+window"] = "url"
    attribution_window: str = "3d"


class MeasureSettings(_Strict):
    min_effect: str | float = "2%"
    baseline: str | float = "10%"
    confidence: str | float = "95%"
    power: str | float = "80%"


class WebSettings(_Strict):
    base_url: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("https://", "http://")) or "{" in value or "?" in value:
            raise ValueError(
                "must be the web app's address, e.g. https://shop.example.jp/cartnudge "
                f"(got {value!r})"
            )
        return value.rstrip("/")


class HealthcheckSettings(_Strict):
    url: str | None = None
    url_env: str | None = None
    timeout: float = Field(default=10.0, gt=0, le=60)


class SweepSettings(_Strict):
    chunk_size: int = Field(default=500, ge=1, le=100_000)
    send_batch: int = Field(default=20, ge=1, le=1000)
    # Worker processes that render and build the messages while the sweep claims, marks and
    # records (README, "Performance settings"); 0 renders in the sweep's own process.
    render_workers: int = Field(default=0, ge=0, le=32)
    # Several sweepers sharing one state (README, "Several sweepers"): 0 = off (every sweep
    # reads every candidate); N = the candidates split into N buckets by a hash of the order
    # id, each swept once per `interval` by whichever sweeper takes it first.
    buckets: int = Field(default=0, ge=0, le=4096)
    interval: str = "1h"  # how often cron starts the sweep on each host: one round
    # Incremental sweeps (README, "Incremental and full sweeps"): a full sweep at least this
    # often, and how far back of the previous sweep's time the incremental reads start.
    full_every: str = "6h"
    overlap: str = "10m"

    @field_validator("full_every", "overlap")
    @classmethod
    def _duration(cls, v: str) -> str:
        value = parse_duration(v, bare_unit="m")
        if value > MAX_DURATION:
            raise ValueError(f"{v!r} is longer than ten years")
        return v

    def durations(self) -> tuple[timedelta, timedelta]:
        """(full_every, overlap) as durations."""
        return parse_duration(self.full_every, bare_unit="m"), parse_duration(
            self.overlap, bare_unit="m"
        )


class Settings(_Strict):
    timezone: str = "Asia/Tokyo"
    templates_dir: str | None = None
    shop: ShopSettings = Field(default_factory=ShopSettings)
    state: StateSettings = Field(default_factory=StateSettings)
    sender: SenderSettings = Field(default_factory=SenderSettings)
    consent: ConsentSettings = Field(default_factory=ConsentSettings)
    fraud: FraudSettings = Field(default_factory=FraudSettings)
    flows: FlowsSettings = Field(default_factory=FlowsSettings)
    email: EmailSettings = Field(default_factory=EmailSettings)
    recovery: RecoverySettings = Field(default_factory=RecoverySettings)
    web: WebSettings = Field(default_factory=WebSettings)
    measure: MeasureSettings = Field(default_factory=MeasureSettings)
    sweep: SweepSettings = Field(default_factory=SweepSettings)
    healthcheck: HealthcheckSettings = Field(default_factory=HealthcheckSettings)
    sms: SmsSettings = Field(default_factory=SmsSettings)
    push: PushSettings = Field(default_factory=PushSettings)
    line: LineSettings = Field(default_factory=LineSettings)
    coupons: CouponsSettings = Field(default_factory=CouponsSettings)
    quiet_hours: QuietHoursSettings = Field(default_factory=QuietHoursSettings)
    frequency_cap: FrequencyCapSettings = Field(default_factory=FrequencyCapSettings)
    phone_region: str = "JP"


@dataclass(frozen=True)
class Step:
    """One message of a flow, resolved: its position, delay, template and channel."""

    index: int
    delay: timedelta
    template_id: int
    channel: str
    segment: Segment = Segment()
    coupon: CouponRule | None = None
    trigger: Trigger | None = None  # fires on a condition instead of after ``delay`` (0)


@dataclass(frozen=True)
class Config:
    """Validated settings plus what they resolve to (paths, durations, secrets)."""

    settings: Settings
    source: str
    base_dir: Path
    shop_url: str
    state_url: str
    tz: ZoneInfo
    shop_tz: ZoneInfo
    cart_ttl: timedelta | None
    lookback: timedelta
    lease: timedelta
    resend_after: timedelta
    lock_timeout: float  # seconds
    token_ttl: timedelta
    attribution_window: timedelta | None
    attribution_rules: tuple[str, ...]
    holdouts: dict[str, HoldoutPlan]
    lift_window: timedelta  # the window of the holdout comparison (recovery.attribution_window)
    min_effect: float
    baseline: float
    confidence: float
    power: float
    experiments: dict[str, Experiment]
    confirm_steps: tuple[Step, ...]
    input_steps: tuple[Step, ...]
    quiet_hours: dict[str, tuple[time, time]]
    frequency_cap: tuple[int, timedelta] | None
    sql_dir: Path
    templates_dir: Path
    outbox_dir: Path
    token_keys: tuple[bytes, ...] = field(repr=False)
    retired_token_keys: tuple[bytes, ...] = field(repr=False, default=())
    smtp_password: str | None = field(repr=False, default=None)
    sms_secret: str | None = field(repr=False, default=None)
    push_secret: str | None = field(repr=False, default=None)
    line_token: str | None = field(repr=False, default=None)
    coupon_repeat_window: timedelta = timedelta(days=90)
    sweep_interval: timedelta = timedelta(hours=1)  # sweep.interval: one round of the buckets
    healthcheck_url: str | None = field(repr=False, default=None)

    def link_patterns(self) -> tuple[str, str, str]:
        """The (cart restore, LP form, opt-out) URL patterns messages use: the web app's
        ``/r/{token}`` and ``/u/{token}`` when ``web.base_url`` is set (the click is recorded
        there, then the shopper is sent on to ``recovery.shop_url`` / ``lp_url``), else the
        shop's own pages from ``recovery``."""
        base, r = self.settings.web.base_url, self.settings.recovery
        if base:
            return f"{base}/r/{{token}}", f"{base}/r/{{token}}", f"{base}/u/{{token}}"
        return r.shop_url, r.lp_url, r.unsubscribe_url


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("int", "str", "literal['unlimited']", "list[StepSettings]"):
            continue  # pydantic's union branch names are noise for an operator
        else:
            out += ("." if out else "") + str(part)
    return out


MAX_CONFIG_ERRORS = 20  # lines of one refusal; the rest are counted


def _every_error(exc: ValidationError, source: str) -> ConfigError:
    """Every problem pydantic found, one line each ("file: key.path: why (got value)"), in
    the order of the settings model, so that one run of ``check`` lists them all."""
    errors = exc.errors()
    # A misspelt key also makes the right one "missing": name the misspelling, the cause.
    misspelt = {tuple(e["loc"][:-1]) for e in errors if e["type"] == "extra_forbidden"}
    lines: list[str] = []
    for err in errors:
        if err["type"] == "missing" and tuple(err["loc"][:-1]) in misspelt:
            continue
        path = _loc(err["loc"])
        if err["type"] == "extra_forbidden":
            line = f"{source}: unknown key {path}"
        else:
            message = str(err["msg"]).removeprefix("Value error, ")
            line = f"{source}: {path}: {message} (got {_shown(err.get('input'))})"
        # A value no branch of a union accepts fails once per branch: name the key once.
        if not any(seen.startswith(f"{source}: {path}: ") for seen in lines):
            lines.append(line)
    if len(lines) > MAX_CONFIG_ERRORS:
        left = len(lines) - MAX_CONFIG_ERRORS + 1
        lines[MAX_CONFIG_ERRORS - 1 :] = [f"{source}: and {left} more problems"]
    return ConfigError(lines[0], more=lines[1:])


_REPR = reprlib.Repr()
_REPR.maxstring = 80
_REPR.maxother = 80
_REPR.maxlevel = 2


def _shown(value: Any) -> str:
    """A short repr of a configuration value for an error line (a huge or deeply nested value
    is cut, never printed whole)."""
    return _REPR.repr(value)


def _zone(name: str, key: str, source: str) -> ZoneInfo:
    if len(name) > 64 or not name.strip():
        raise ConfigError(f"{source}: {key}: unknown time zone (got {_shown(name)})")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "Asia" is a directory of tzdata
        raise ConfigError(f"{source}: {key}: unknown time zone (got {name!r})") from None


def _duration(value: str | int, key: str, source: str, *, bare_unit: str = "h") -> timedelta:
    try:
        result = parse_duration(value, bare_unit=bare_unit)
    except ValueError as exc:
        raise ConfigError(f"{source}: {key}: {exc}") from None
    except OverflowError:
        result = MAX_DURATION + timedelta(days=1)
    if result <= timedelta(0):
        raise ConfigError(f"{source}: {key}: must be longer than zero (got {_shown(value)})")
    if result > MAX_DURATION:
        raise ConfigError(
            f"{source}: {key}: must be at most {MAX_DURATION.days} days (got {_shown(value)})"
        )
    return result


def _secret(env_name: str, key: str, source: str, environ: Mapping[str, str]) -> str:
    value = environ.get(env_name)
    if not value:
        raise ConfigError(
            f"{source}: {key}: environment variable {env_name} is not set (it holds a secret)"
        )
    return value


def _token_keys(
    recovery: RecoverySettings, base_dir: Path, source: str, environ: Mapping[str, str]
) -> tuple[bytes, ...]:
    """The signing keys, first one signs: from the variable ``recovery.keys_env`` (comma-separated)
    and, when set, from the file ``recovery.keys_file`` (one key per line or comma-separated;
    ``$VAR`` expanded, so ``$CREDENTIALS_DIRECTORY/token-keys`` reads a systemd credential). The
    variable's keys come first. Refuses (ConfigError) when neither gives a key, when the file is
    unreadable or readable by others than its owner's group, and keys shorter than 16 chars."""
    env_name = recovery.keys_env
    raw = environ.get(env_name, "")
    key = "recovery.keys_env"
    if recovery.keys_file:
        path = _file_path(recovery.keys_file, "recovery.keys_file", source, environ, base_dir)
        key = "recovery.keys_file"
        try:
            mode = path.stat().st_mode
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or "not UTF-8 text"
            raise ConfigError(
                f"{source}: recovery.keys_file: cannot read {path} ({reason})"
            ) from None
        if mode & 0o004:
            raise ConfigError(
                f"{source}: recovery.keys_file: {path} is readable by every user "
                f"(mode {mode & 0o777:04o}); chmod 600 it"
            )
        raw = ",".join(part for part in (raw, text.replace("\n", ",")) if part)
    elif not raw:
        _secret(env_name, "recovery.keys_env", source, environ)  # raises: unset
    token_keys = tuple(k.strip().encode() for k in raw.split(",") if k.strip())
    if not token_keys or any(len(k) < 16 for k in token_keys):
        shortest = min((len(k) for k in token_keys), default=0)
        where = env_name if key == "recovery.keys_env" else f"{env_name} and {recovery.keys_file}"
        raise ConfigError(
            f"{source}: {key}: every key in {where} "
            f"must be at least 16 characters (got {len(token_keys)} key(s), "
            f"the shortest {shortest} characters)"
        )
    return token_keys


# What each URL pattern may use (cartnudge.messages.compose formats them with exactly these names).
_URL_PLACEHOLDERS = {
    "shop_url": ("token", "lp_id", "order_id"),
    "lp_url": ("token", "lp_id", "order_id"),
    "unsubscribe_url": ("token",),
}


def _check_url(pattern: str, key: str, allowed: tuple[str, ...], source: str) -> None:
    """Refuse now what would otherwise fail mid-sweep (unknown placeholder) or silently send
    links without a token (no recovery, no working opt-out)."""
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(pattern) if name is not None}
    except ValueError as exc:
        raise ConfigError(f"{source}: {key}: {exc} (got {pattern!r})") from None
    usable = ", ".join("{" + a + "}" for a in allowed)
    for name in sorted(names):
        if name not in allowed:
            raise ConfigError(
                f"{source}: {key}: unknown placeholder {{{name}}}, use {usable} (got {pattern!r})"
            )
    if "token" not in names:
        raise ConfigError(f"{source}: {key}: must contain {{token}} (got {pattern!r})")


_ENV_REF = re.compile(r"\$\{?(\w+)\}?")


def _file_path(
    value: str, key: str, source: str, environ: Mapping[str, str], base_dir: Path
) -> Path:
    """A key file's path from config key ``key``: ``$VAR``/``${VAR}`` expanded from ``environ``,
    relative to ``base_dir``; :class:`ConfigError` naming the first unset variable."""
    unset = [name for name in _ENV_REF.findall(value) if not environ.get(name)]
    if unset:
        raise ConfigError(
            f"{source}: {key}: environment variable {unset[0]} is not set (got {value!r})"
        )
    return _resolve_path(base_dir, _ENV_REF.sub(lambda m: environ[m.group(1)], value))


def _resolve_path(base: Path, value: str) -> Path:
    path = Path(os.path.expanduser(value))
    return path if path.is_absolute() else base / path


def _resolve_db_url(base: Path, url: str) -> str:
    # Relative SQLite files are relative to the configuration file, like every other path.
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        return prefix + str(_resolve_path(base, url[len(prefix) :]))
    return url


_LINE_BREAK = re.compile(r"[\r\n\x00\u2028\u2029\x85]")


def _check_sender(sender: SenderSettings, source: str) -> None:
    """Every address that reaches a header, checked where it enters (issue 10): no line break
    anywhere (a header injection into every message), ``sender.email`` and the address of
    ``sender.reply_to`` plain ASCII addresses (cartnudge does not use SMTPUTF8, so a non-ASCII
    address would fail every delivery). A display name may be Japanese: it is RFC 2047
    encoded (``sender.reply_to: みどり屋 <support@midoriya.example.jp>``). ``sender.logo_url``
    must be an https address (:func:`cartnudge.core.urls.web_url`): it becomes an image's
    ``src`` in every HTML e-mail."""
    from email.utils import parseaddr

    from cartnudge.core.rules import valid_email
    from cartnudge.core.urls import web_url

    for key in ("name", "email", "postal_address", "contact", "reply_to", "logo_url"):
        value = getattr(sender, key) or ""
        if _LINE_BREAK.search(value):
            raise ConfigError(f"{source}: sender.{key}: must be one line (got {_shown(value)})")
    if sender.email.strip() and not (sender.email.isascii() and valid_email(sender.email)):
        raise ConfigError(
            f"{source}: sender.email: not a plain ASCII e-mail address such as "
            f"info@shop.example.jp (got {_shown(sender.email)})"
        )
    if sender.logo_url is not None and web_url(sender.logo_url, https_only=True) is None:
        raise ConfigError(
            f"{source}: sender.logo_url: not an https address of an image such as "
            f"https://shop.example.jp/logo.png (got {_shown(sender.logo_url)})"
        )
    if sender.reply_to and sender.reply_to.strip():
        _name, address = parseaddr(sender.reply_to)
        if not (address and address.isascii() and valid_email(address)):
            raise ConfigError(
                f"{source}: sender.reply_to: write an ASCII address, optionally with a name: "
                f"'みどり屋 <support@shop.example.jp>' (got {_shown(sender.reply_to)})"
            )


def _lock_timeout(value: str, source: str) -> float:
    """``state.lock_timeout`` in seconds: from 1 second to 10 minutes (a cron interval)."""
    seconds = _duration(value, "state.lock_timeout", source, bare_unit="s").total_seconds()
    if not 1 <= seconds <= 600:
        raise ConfigError(
            f"{source}: state.lock_timeout: must be from 1s to 10m (got {_shown(value)})"
        )
    return seconds


def _check_db_url(url: str, key: str, source: str) -> None:
    """Refuse at load what would otherwise fail deep inside a driver: a URL SQLAlchemy cannot
    parse, or a port that is not a number from 1 to 65535. The URL is never shown (it may
    hold a password)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
        port = parsed.port
    except (ArgumentError, ValueError, TypeError):
        raise ConfigError(
            f"{source}: {key}: not a database URL (or its port is not a number)"
        ) from None
    if port is not None and not 0 < port <= 65535:
        raise ConfigError(f"{source}: {key}: the port must be 1 to 65535 (got {port})")


def _check_delay(
    delay: timedelta, raw: str | int, channel: str, key: str, flow_key: str, wide: bool, source: str
) -> None:
    """The source platform's 1 to 24 whole hours; push may use minutes (a cron every few
    minutes serves them, SPEC 2.8); ``wide_delays`` lifts both limits."""
    if wide:
        return
    if channel == "push":
        whole_minutes = delay.total_seconds() % 60 == 0
        if not (PUSH_DELAY_MIN <= delay <= SOURCE_DELAY_MAX) or not whole_minutes:
            raise ConfigError(
                f"{source}: {key}: a push step's delay must be whole minutes from 5m to 24h "
                f"(got {raw!r}); set {flow_key}.wide_delays: true for other delays"
            )
        return
    whole_hours = delay.total_seconds() % 3600 == 0
    if not (SOURCE_DELAY_MIN <= delay <= SOURCE_DELAY_MAX) or not whole_hours:
        raise ConfigError(
            f"{source}: {key}: must be whole hours from 1h to 24h "
            f"(got {raw!r}); set {flow_key}.wide_delays: true for other delays"
        )


def _input_steps(flow: InputFlowSettings, source: str) -> tuple[Step, ...]:
    """The input flow sends one message per chosen channel, all after the same delay."""
    key = "flows.input"
    if not flow.channels:
        raise ConfigError(f"{source}: {key}.channels: choose email and/or sms (got [])")
    delay = _duration(flow.delay, f"{key}.delay", source)
    for channel in flow.channels:
        _check_delay(delay, flow.delay, channel, f"{key}.delay", key, flow.wide_delays, source)
    segment = _segment(Segment(), flow.segment, f"{key}.segment", source)
    return tuple(
        Step(0, delay, flow.template, channel, segment) for channel in dict.fromkeys(flow.channels)
    )


def _quiet_hours(settings: QuietHoursSettings, source: str) -> dict[str, tuple[time, time]]:
    out: dict[str, tuple[time, time]] = {}
    for channel in ("email", "sms", "push", "line"):
        raw = getattr(settings, channel)
        if raw is None:
            continue
        try:
            start_text, end_text = raw.replace(" ", "").split("-")
            start, end = time.fromisoformat(start_text), time.fromisoformat(end_text)
        except ValueError:
            raise ConfigError(
                f"{source}: quiet_hours.{channel}: write the allowed hours as HH:MM-HH:MM "
                f"(got {raw!r})"
            ) from None
        if start == end:
            raise ConfigError(f"{source}: quiet_hours.{channel}: an empty window (got {raw!r})")
        out[channel] = (start, end)
    return out


def _segment(base: Segment, given: SegmentSettings | None, key: str, source: str) -> Segment:
    """``base`` refined by the keys ``given`` sets (a flow's over the default, a step's over
    its flow's)."""
    if given is None:
        return base
    changes: dict[str, object] = {}
    for name in given.model_fields_set:
        value = getattr(given, name)
        if name == "customer":
            value = None if value in (None, "any") else CustomerHistory(value)
        elif isinstance(value, list):
            value = frozenset(str(v).strip() for v in value) or None
        changes[name] = value
    segment = base.refined(changes)
    low, high = segment.min_amount, segment.max_amount
    if low is not None and high is not None and low > high:
        raise ConfigError(
            f"{source}: {key}: min_amount ({low}) is above max_amount ({high}): no cart fits"
        )
    return segment


def _coupon(
    given: CouponStepSettings | None,
    index: int,
    key: str,
    source: str,
    coupons: CouponsSettings,
    tz: ZoneInfo,
) -> CouponRule | None:
    if given is None:
        return None
    if index == 0 and not coupons.allow_first_step:
        raise ConfigError(
            f"{source}: {key}: the first step carries no coupon, so that abandoning is never "
            "the way to one (set coupons.allow_first_step: true to allow it)"
        )
    after = (
        _duration(given.expires_after, f"{key}.expires_after", source, bare_unit="d")
        if given.expires_after is not None
        else None
    )
    at = given.expires_at
    if at is not None:
        local = at if at.tzinfo else at.replace(tzinfo=tz)
        at = local.astimezone(UTC).replace(tzinfo=None)
    if after is None and at is None:
        raise ConfigError(f"{source}: {key}: give expires_after or expires_at")
    return CouponRule(after, at)


def _confirm_steps(
    flow: ConfirmFlowSettings,
    source: str,
    coupons: CouponsSettings | None = None,
    tz: ZoneInfo | None = None,
) -> tuple[Step, ...]:
    key = "flows.confirm"
    coupons = coupons or CouponsSettings()
    tz = tz or ZoneInfo("UTC")
    if flow.steps is not None and flow.delay is not None:
        raise ConfigError(f"{source}: {key}: give either delay or steps, not both")
    if flow.steps is not None and not flow.steps:
        raise ConfigError(f"{source}: {key}.steps: give at least one step (got [])")
    raw = flow.steps or [StepSettings(delay=flow.delay if flow.delay is not None else 1)]
    flow_segment = _segment(Segment(), flow.segment, f"{key}.segment", source)
    steps: list[Step] = []
    for i, step in enumerate(raw):
        segment = _segment(flow_segment, step.segment, f"{key}.steps[{i}].segment", source)
        coupon = _coupon(step.coupon, i, f"{key}.steps[{i}].coupon", source, coupons, tz)
        template = step.template or flow.template
        if step.trigger is not None:
            steps.append(
                Step(
                    i,
                    timedelta(0),
                    template,
                    step.channel,
                    segment,
                    coupon,
                    _trigger(step, f"{key}.steps[{i}]", source),
                )
            )
            continue
        step_key = f"{key}.steps[{i}].delay" if flow.steps is not None else f"{key}.delay"
        if step.delay is None:
            raise ConfigError(f"{source}: {key}.steps[{i}]: give a delay or a trigger")
        if any(s.trigger is not None for s in steps):
            raise ConfigError(
                f"{source}: {step_key}: list the trigger steps after every delay step"
            )
        delay = _duration(step.delay, step_key, source)
        _check_delay(delay, step.delay, step.channel, step_key, key, flow.wide_delays, source)
        if steps and delay <= steps[-1].delay:
            raise ConfigError(
                f"{source}: {step_key}: steps must have increasing delays "
                f"(got {step.delay!r} after {format_duration(steps[-1].delay)})"
            )
        steps.append(Step(i, delay, template, step.channel, segment, coupon))
    return tuple(steps)


def _trigger(step: StepSettings, key: str, source: str) -> Trigger:
    """A trigger step: a condition instead of a delay, no A/B test of its timing."""
    if step.delay is not None:
        raise ConfigError(f"{source}: {key}: give either delay or trigger, not both")
    if step.variants or step.experiment:
        raise ConfigError(
            f"{source}: {key}.variants: a trigger step has no delay to test; "
            "test the templates of a delay step"
        )
    try:
        given = step.trigger
        raw = {k: getattr(given, k) for k in sorted(given.model_fields_set)} if given else {}
        return parse_trigger(raw)
    except ValueError as exc:
        raise ConfigError(f"{source}: {key}.trigger: {exc}") from None


def _share(raw: str | float | None, key: str, source: str, *, open_top: bool = False) -> float:
    """A share written as "10%" or 0.1 (0 = none); refuses anything outside [0, 1)."""
    if raw is None:
        return 0.0
    text = str(raw).strip()
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise ConfigError(f"{source}: {key}: write a share as 10% or 0.1 (got {raw!r})") from None
    if not 0.0 <= value < 1.0 or (open_top and value == 0.0):
        bounds = "above 0% and below 100%" if open_top else "from 0% to below 100%"
        raise ConfigError(f"{source}: {key}: must be {bounds} (got {raw!r})")
    return value


def _holdouts(settings: Settings, source: str) -> dict[str, HoldoutPlan]:
    out: dict[str, HoldoutPlan] = {}
    confirm, input_ = settings.flows.confirm, settings.flows.input
    steps = {
        i: _share(st.holdout, f"flows.confirm.steps[{i}].holdout", source)
        for i, st in enumerate(confirm.steps or [])
        if st.holdout is not None
    }
    plans = (
        ("confirm", confirm.holdout, confirm.holdout_name, steps),
        ("input", input_.holdout, input_.holdout_name, {}),
    )
    for flow, raw, name, step_shares in plans:
        share = _share(raw, f"flows.{flow}.holdout", source)
        if share or any(step_shares.values()):
            if not name or "\0" in name:
                raise ConfigError(f"{source}: flows.{flow}.holdout_name: must not be empty")
            out[flow] = HoldoutPlan(flow, share, name, {k: v for k, v in step_shares.items() if v})
    return out


def _experiments(
    flow: ConfirmFlowSettings, steps: tuple[Step, ...], cart_ttl: timedelta | None, source: str
) -> dict[str, Experiment]:
    """The A/B tests of the confirm flow's steps: at least two variants, distinct names, a
    positive total weight, and delays that keep the steps in order and inside cart validity."""
    out: dict[str, Experiment] = {}
    for i, raw in enumerate(flow.steps or []):
        if not raw.variants:
            if raw.experiment:
                raise ConfigError(
                    f"{source}: flows.confirm.steps[{i}].experiment: give variants to test"
                )
            continue
        key = f"flows.confirm.steps[{i}].variants"
        names = [v.name for v in raw.variants]
        if len(names) < 2 or len(set(names)) != len(names):
            raise ConfigError(f"{source}: {key}: give at least two variants with distinct names")
        if sum(v.weight for v in raw.variants) <= 0:
            raise ConfigError(f"{source}: {key}: the weights must not all be 0")
        step = steps[i]
        variants = []
        for j, v in enumerate(raw.variants):
            delay = step.delay
            if v.delay is not None:
                delay = _duration(v.delay, f"{key}[{j}].delay", source)
                _check_delay(
                    delay,
                    v.delay,
                    step.channel,
                    f"{key}[{j}].delay",
                    "flows.confirm",
                    flow.wide_delays,
                    source,
                )
            low = max((x.delay for x in _all_delays(flow, steps, i - 1, source)), default=None)
            high = min((x.delay for x in _all_delays(flow, steps, i + 1, source)), default=None)
            if (low is not None and delay <= low) or (high is not None and delay >= high):
                raise ConfigError(
                    f"{source}: {key}[{j}].delay: must stay between the delays of the steps "
                    f"before and after (got {format_duration(delay)})"
                )
            if cart_ttl is not None and delay >= cart_ttl:
                raise ConfigError(
                    f"{source}: {key}[{j}].delay: must be shorter than shop.cart_ttl "
                    f"(got {format_duration(delay)})"
                )
            variants.append(Variant(v.name, v.weight, v.template or step.template_id, delay))
        name = raw.experiment or f"confirm-step{i}"
        if name in out:
            raise ConfigError(f"{source}: {key}: experiment name {name!r} is used twice")
        out[name] = Experiment(name, "confirm", i, tuple(variants))
    return out


def _all_delays(
    flow: ConfirmFlowSettings, steps: tuple[Step, ...], i: int, source: str
) -> list[Step]:
    """Step ``i`` with each of its variants' delays (none when there is no such step)."""
    if not 0 <= i < len(steps) or steps[i].trigger is not None:
        return []
    found = [steps[i]]
    for v in (flow.steps or [])[i].variants or []:
        if v.delay is not None:
            found.append(replace(steps[i], delay=_duration(v.delay, "delay", source)))
    return found


def _line_token(
    line: LineSettings, used: bool, source: str, base_dir: Path, environ: Mapping[str, str]
) -> str | None:
    """The LINE channel access token, from ``line.token_env`` or ``line.token_file``."""
    if used and not line.enabled:
        raise ConfigError(f"{source}: line: a flow sends LINE messages but line.enabled is false")
    if not line.enabled:
        return None
    if line.token_env and line.token_file:
        raise ConfigError(f"{source}: line: give either token_env or token_file, not both")
    if line.token_env:
        return _secret(line.token_env, "line.token_env", source, environ).strip()
    if line.token_file:
        path = _file_path(line.token_file, "line.token_file", source, environ, base_dir)
        try:
            mode = path.stat().st_mode
            token = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            why = getattr(exc, "strerror", None) or "not UTF-8 text"
            raise ConfigError(f"{source}: line.token_file: cannot read {path} ({why})") from None
        if mode & 0o004:
            raise ConfigError(
                f"{source}: line.token_file: {path} is readable by every user "
                f"(mode {mode & 0o777:04o}); chmod 600 it"
            )
        if not token or any(c.isspace() for c in token):
            raise ConfigError(
                f"{source}: line.token_file: {path} must hold the channel access token "
                "alone, on one line"
            )
        return token
    raise ConfigError(
        f"{source}: line: name the channel access token's variable (line.token_env) "
        "or file (line.token_file)"
    )


_T = TypeVar("_T")


class _Problems:
    """The configuration errors found so far: each independent check runs through
    :meth:`run`, so that one run of ``check`` lists every problem, not the first only."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def run(self, check: Callable[[], _T], default: _T) -> _T:
        """``check()``, or ``default`` after noting the ConfigError it raised."""
        try:
            return check()
        except ConfigError as exc:
            self.lines.extend(line for line in exc.lines if line not in self.lines)
            return default

    def raise_any(self, source: str) -> None:
        if not self.lines:
            return
        lines = self.lines
        if len(lines) > MAX_CONFIG_ERRORS:
            left = len(lines) - MAX_CONFIG_ERRORS + 1
            lines = [*lines[: MAX_CONFIG_ERRORS - 1], f"{source}: and {left} more problems"]
        raise ConfigError(lines[0], more=lines[1:])


def parse_config(
    data: Any, *, source: str, base_dir: Path, environ: Mapping[str, str] | None = None
) -> Config:
    """Validate already-parsed YAML ``data``; see :func:`load_config`.

    Raises ConfigError naming every problem found, one line each: first the file's keys and
    values (pydantic), then the checks that compare keys or read the environment, each run
    independently (a check whose input is already wrong is not run, so nothing is named
    twice)."""
    environ = os.environ if environ is None else environ
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of keys")
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise _every_error(exc, source) from None
    problems = _Problems()
    utc = ZoneInfo("UTC")
    tz = problems.run(lambda: _zone(settings.timezone, "timezone", source), utc)
    shop_tz = problems.run(
        lambda: _zone(settings.shop.timestamps_timezone, "shop.timestamps_timezone", source), utc
    )
    shop_url, state_url = problems.run(
        lambda: _db_urls(settings, source, base_dir, environ), ("", "")
    )

    ttl_raw = settings.shop.cart_ttl
    cart_ttl = None if ttl_raw == "unlimited" else timedelta(minutes=int(ttl_raw))
    steps = problems.run(
        lambda: _confirm_steps(settings.flows.confirm, source, settings.coupons, tz), None
    )
    input_steps = problems.run(lambda: _input_steps(settings.flows.input, source), None)
    if steps is not None and input_steps is not None:
        problems.run(lambda: _check_ttl(settings, cart_ttl, steps, input_steps, source), None)
        sms_secret, push_secret = problems.run(
            lambda: _channel_secrets(settings, steps, input_steps, source, environ), (None, None)
        )
        used_channels = _used_channels(settings, steps, input_steps)
    else:
        sms_secret = push_secret = None
        used_channels = set()
    problems.run(lambda: _check_sender(settings.sender, source), None)
    line_token = problems.run(
        lambda: _line_token(settings.line, "line" in used_channels, source, base_dir, environ),
        None,
    )
    problems.run(lambda: _check_senders_name(settings, source), None)
    token_keys = problems.run(lambda: _token_keys(settings.recovery, base_dir, source, environ), ())
    retired_keys = problems.run(
        lambda: _retired_keys(settings.recovery, token_keys, source, environ), ()
    )
    for url_key, allowed in _URL_PLACEHOLDERS.items():
        problems.run(
            lambda url_key=url_key, allowed=allowed: _check_url(
                getattr(settings.recovery, url_key), f"recovery.{url_key}", allowed, source
            ),
            None,
        )

    smtp_password = None
    smtp = settings.email.smtp
    if settings.email.transport == "smtp" and smtp.password_env:
        smtp_password = problems.run(
            lambda: _secret(smtp.password_env, "email.smtp.password_env", source, environ), None
        )
    healthcheck_url = problems.run(lambda: _healthcheck_url(settings, source, environ), None)

    def duration(value: str | int, key: str, **kwargs: Any) -> timedelta:
        return problems.run(lambda: _duration(value, key, source, **kwargs), timedelta(hours=1))

    def share(raw: str | float | None, key: str) -> float:
        return problems.run(lambda: _share(raw, key, source, open_top=True), 0.5)

    confirm = settings.flows.confirm
    lookback = duration(settings.shop.lookback, "shop.lookback")
    lease = duration(settings.state.lease, "state.lease", bare_unit="m")
    sweep_interval = duration(settings.sweep.interval, "sweep.interval", bare_unit="m")
    lock_timeout = problems.run(lambda: _lock_timeout(settings.state.lock_timeout, source), 5.0)
    resend_after = duration(confirm.resend_after, "flows.confirm.resend_after")
    token_ttl = duration(settings.recovery.token_ttl, "recovery.token_ttl")
    lift_window = duration(settings.recovery.attribution_window, "recovery.attribution_window")
    holdouts = problems.run(lambda: _holdouts(settings, source), {})
    experiments = (
        problems.run(lambda: _experiments(confirm, steps, cart_ttl, source), {})
        if steps is not None
        else {}
    )
    quiet_hours = problems.run(lambda: _quiet_hours(settings.quiet_hours, source), {})
    cap_window = duration(settings.frequency_cap.window, "frequency_cap.window")
    repeat_window = duration(settings.coupons.repeat_window, "coupons.repeat_window", bare_unit="d")
    measure = settings.measure
    min_effect = share(measure.min_effect, "measure.min_effect")
    baseline = share(measure.baseline, "measure.baseline")
    confidence = share(measure.confidence, "measure.confidence")
    power = share(measure.power, "measure.power")
    problems.raise_any(source)
    assert steps is not None and input_steps is not None

    return Config(
        settings=settings,
        source=source,
        base_dir=base_dir,
        shop_url=shop_url,
        state_url=state_url,
        tz=tz,
        shop_tz=shop_tz,
        cart_ttl=cart_ttl,
        lookback=lookback,
        lease=lease,
        sweep_interval=sweep_interval,
        lock_timeout=lock_timeout,
        resend_after=resend_after,
        token_ttl=token_ttl,
        attribution_window=lift_window if settings.recovery.attribution != "url" else None,
        attribution_rules=tuple(settings.recovery.attribution.split("+")),
        holdouts=holdouts,
        lift_window=lift_window,
        min_effect=min_effect,
        baseline=baseline,
        experiments=experiments,
        confidence=confidence,
        power=power,
        confirm_steps=steps,
        input_steps=input_steps,
        quiet_hours=quiet_hours,
        frequency_cap=(settings.frequency_cap.max_sends, cap_window)
        if settings.frequency_cap.enabled
        else None,
        sql_dir=_resolve_path(base_dir, settings.shop.sql_dir)
        if settings.shop.sql_dir
        else BUNDLED_SQL_DIR,
        templates_dir=_resolve_path(base_dir, settings.templates_dir)
        if settings.templates_dir
        else BUNDLED_TEMPLATES_DIR,
        outbox_dir=_resolve_path(base_dir, settings.email.outbox_dir),
        token_keys=token_keys,
        retired_token_keys=retired_keys,
        smtp_password=smtp_password,
        sms_secret=sms_secret,
        push_secret=push_secret,
        line_token=line_token,
        coupon_repeat_window=repeat_window,
        healthcheck_url=healthcheck_url,
    )


def _db_urls(
    settings: Settings, source: str, base_dir: Path, environ: Mapping[str, str]
) -> tuple[str, str]:
    """The shop's and the state's database URLs, relative SQLite paths resolved."""
    if settings.shop.url_env:
        shop_url = _secret(settings.shop.url_env, "shop.url_env", source, environ)
    elif settings.shop.url:
        shop_url = settings.shop.url
    else:
        raise ConfigError(f"{source}: shop.url: missing (or name a variable in shop.url_env)")
    shop_url = _resolve_db_url(base_dir, shop_url)
    _check_db_url(shop_url, "shop.url_env" if settings.shop.url_env else "shop.url", source)
    if settings.state.url_env:
        state_url = _secret(settings.state.url_env, "state.url_env", source, environ)
    else:
        state_url = settings.state.url or shop_url
    state_url = _resolve_db_url(base_dir, state_url)
    _check_db_url(state_url, "state.url_env" if settings.state.url_env else "state.url", source)
    return shop_url, state_url


def _check_ttl(
    settings: Settings,
    cart_ttl: timedelta | None,
    steps: tuple[Step, ...],
    input_steps: tuple[Step, ...],
    source: str,
) -> None:
    """shop.cart_ttl must be longer than every step's delay."""
    if cart_ttl is None:
        return
    ttl_raw = settings.shop.cart_ttl
    for step in input_steps:
        if step.delay >= cart_ttl:
            raise ConfigError(
                f"{source}: shop.cart_ttl: must be longer than every step's delay "
                f"(got {ttl_raw} minutes; flows.input.delay is {settings.flows.input.delay})"
            )
    for step in steps:
        if step.delay >= cart_ttl:
            flow = settings.flows.confirm
            if flow.steps is not None:
                delay_key = f"flows.confirm.steps[{step.index}].delay"
                delay_raw = flow.steps[step.index].delay
            else:
                delay_key, delay_raw = "flows.confirm.delay", flow.delay
            shown = format_duration(step.delay) if delay_raw is None else delay_raw
            minutes = int(step.delay.total_seconds() // 60)
            raise ConfigError(
                f"{source}: shop.cart_ttl: must be longer than every step's delay "
                f"(got {ttl_raw} minutes; {delay_key} is {shown}, {minutes} minutes)"
            )


def _used_channels(
    settings: Settings, steps: tuple[Step, ...], input_steps: tuple[Step, ...]
) -> set[str]:
    return {s.channel for s in steps if settings.flows.confirm.enabled} | {
        s.channel for s in input_steps if settings.flows.input.enabled
    }


def _channel_secrets(
    settings: Settings,
    steps: tuple[Step, ...],
    input_steps: tuple[Step, ...],
    source: str,
    environ: Mapping[str, str],
) -> tuple[str | None, str | None]:
    """The SMS and push secrets, and whether the flows' channels are configured."""
    used_channels = _used_channels(settings, steps, input_steps)
    sms_secret = push_secret = None
    if "sms" in used_channels and not (settings.sms.enabled and settings.sms.url):
        raise ConfigError(
            f"{source}: sms: a flow sends SMS but no SMS gateway is configured and enabled "
            "(set sms.enabled: true and sms.url)"
        )
    if "push" in used_channels and not settings.push.enabled:
        raise ConfigError(
            f"{source}: push: a flow sends push notifications but push.enabled is false"
        )
    if settings.sms.enabled and settings.sms.secret_env:
        sms_secret = _secret(settings.sms.secret_env, "sms.secret_env", source, environ)
    if settings.sms.enabled:
        problem = settings_problem(settings.sms, sms_secret)
        if problem:
            raise ConfigError(f"{source}: {problem}")
        if not settings.sender.name.strip():
            raise ConfigError(f"{source}: sender.name: missing; every SMS carries it (SPEC 2.7)")
    if settings.push.enabled:
        env_key = "service_account_env" if settings.push.provider == "fcm" else "secret_env"
        env_name = getattr(settings.push, env_key)
        if env_name:
            push_secret = _secret(env_name, f"push.{env_key}", source, environ)
        elif settings.push.provider == "fcm":
            raise ConfigError(
                f"{source}: push.service_account_env: name the variable holding the FCM "
                "service-account JSON"
            )
    return sms_secret, push_secret


def _check_senders_name(settings: Settings, source: str) -> None:
    """The sender's name, address and contact, which every reminder must carry."""
    if settings.line.enabled and not settings.sender.name.strip():
        raise ConfigError(f"{source}: sender.name: missing; every LINE message carries it")
    if settings.flows.confirm.enabled or settings.flows.input.enabled:
        for key in ("name", "email", "postal_address", "contact"):
            if not getattr(settings.sender, key).strip():
                raise ConfigError(
                    f"{source}: sender.{key}: missing; the law requires the sender's "
                    "name, address and contact in every reminder while a flow is enabled"
                )


def _retired_keys(
    recovery: Any, token_keys: tuple[bytes, ...], source: str, environ: Mapping[str, str]
) -> tuple[bytes, ...]:
    """The retired signing keys (opt-out links only), from ``recovery.retired_keys_env``."""
    retired_env = recovery.retired_keys_env
    if not retired_env:
        return ()
    # Optional: after the last opt-out link a retired key signed has expired, the variable
    # may be emptied or removed.
    retired_raw = environ.get(retired_env, "")
    retired_keys = tuple(k.strip().encode() for k in retired_raw.split(",") if k.strip())
    if any(len(k) < 16 for k in retired_keys):
        raise ConfigError(
            f"{source}: recovery.retired_keys_env: every key in {retired_env} must be at "
            "least 16 characters"
        )
    if set(retired_keys) & set(token_keys):
        raise ConfigError(
            f"{source}: recovery.retired_keys_env: a key in {retired_env} is also in "
            f"{recovery.keys_env}; a retired key verifies opt-out links only"
        )
    return retired_keys


def _healthcheck_url(settings: Settings, source: str, environ: Mapping[str, str]) -> str | None:
    healthcheck = settings.healthcheck
    url = healthcheck.url
    if healthcheck.url_env:
        url = _secret(healthcheck.url_env, "healthcheck.url_env", source, environ)
    if url and not url.startswith(("http://", "https://")):
        raise ConfigError(f"{source}: healthcheck: the ping URL is not an http(s) URL")
    return url


# Limits on what a configuration may be (issue 10: never a hang, never a traceback). A real
# configuration is a few kilobytes, a few levels deep and uses no or few YAML aliases.
MAX_CONFIG_BYTES = 1_000_000
MAX_YAML_DEPTH = 40
MAX_YAML_ALIASES = 100
MAX_YAML_NODES = 100_000  # after aliases are expanded (an alias bomb stays small on disk)


class _LimitExceeded(Exception):
    pass


class _LimitedLoader(yaml.SafeLoader):
    """PyYAML's safe loader with a nesting depth and alias count limit (composition)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_YAML_ALIASES:
                raise _LimitExceeded(f"more than {MAX_YAML_ALIASES} YAML aliases")
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise _LimitExceeded(f"nested deeper than {MAX_YAML_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _expanded_size(data: Any) -> int:
    """The number of values in ``data`` with aliases expanded, counting up to the limit."""
    count, stack = 0, [data]
    while stack:
        item = stack.pop()
        count += 1
        if count > MAX_YAML_NODES:
            break
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return count


def read_regular_text(file: Path, *, what: str, limit: int, error: type[Exception]) -> str:
    """The UTF-8 text of ``file``, which must be a regular file of at most ``limit`` bytes.

    A FIFO, device (``/dev/zero``), directory or socket is refused without being opened for
    reading (it could block forever or never end); a file that is not UTF-8 is refused naming
    the line. Raises ``error`` (one line naming the file) on every problem."""
    try:
        info = file.stat()
    except OSError as exc:
        raise error(f"{file}: cannot read the {what} ({exc.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise error(f"{file}: the {what} must be a regular file")
    if info.st_size > limit:
        raise error(f"{file}: the {what} is larger than {limit:,} bytes")
    try:
        with open(file, "rb") as fh:
            raw = fh.read(limit + 1)
    except OSError as exc:
        raise error(f"{file}: cannot read the {what} ({exc.strerror})") from None
    if len(raw) > limit:
        raise error(f"{file}: the {what} is larger than {limit:,} bytes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise error(
            f"{file}: line {line}: the {what} is not UTF-8 (byte 0x{raw[exc.start]:02x}); "
            "save it as UTF-8"
        ) from None


def load_config(path: str | os.PathLike[str], environ: Mapping[str, str] | None = None) -> Config:
    """Read and validate the YAML file at ``path``. Raises :class:`ConfigError`.

    Only a regular UTF-8 file of at most :data:`MAX_CONFIG_BYTES` is read; YAML is loaded with
    limits on depth, aliases and expanded size, so a hostile file is one line, never a hang."""
    file = Path(path)
    text = read_regular_text(
        file, what="configuration", limit=MAX_CONFIG_BYTES, error=ConfigError
    ).lstrip("\ufeff")
    try:
        loader = _LimitedLoader(text)
        try:
            data = loader.get_single_data()
        finally:
            loader.dispose()
    except _LimitExceeded as exc:
        raise ConfigError(f"{file}: refused: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{file}:{where} is not valid YAML") from None
    except RecursionError:
        raise ConfigError(f"{file}: refused: nested too deeply") from None
    if _expanded_size(data) > MAX_YAML_NODES:
        raise ConfigError(
            f"{file}: refused: more than {MAX_YAML_NODES:,} values once aliases are expanded"
        )
    return parse_config(data, source=str(file), base_dir=file.resolve().parent, environ=environ)
