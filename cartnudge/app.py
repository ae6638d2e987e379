"""Wire the parts a command needs from a validated configuration: engines, the shop contract,
the state store, the template catalogue, the flows' rules (as tracks) and the channels.

Building an :class:`App` checks everything that can be checked before anything is sent:
templates render against a sample, flows name templates of the right category, SMS and push
steps have a short body and an SMS fits ``sms.max_segments``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from sqlalchemy import Engine

from cartnudge.channels.base import Channel
from cartnudge.channels.outbox import OutboxChannel
from cartnudge.config import Config
from cartnudge.core.coupons import CouponRule
from cartnudge.core.rules import (
    DEFAULT_CELLS,
    FlowKind,
    FlowRules,
    FrequencyCap,
    QuietHours,
    StepRule,
    Target,
    parse_cell,
)
from cartnudge.engines import build_engine
from cartnudge.errors import ConfigError
from cartnudge.logs import register_secret
from cartnudge.messages.sms_text import check_length, with_footer
from cartnudge.messages.templates import Catalogue, sample_context
from cartnudge.messages.tokens import RECOVERY, sign_token
from cartnudge.shop.contract import ShopContract
from cartnudge.shop.reader import ShopReader
from cartnudge.shop.writer import ShopWriter
from cartnudge.state.buckets import Buckets
from cartnudge.state.coupons import Coupons
from cartnudge.state.deliveries import Deliveries
from cartnudge.state.experiments import Experiments
from cartnudge.state.recoveries import Recoveries
from cartnudge.state.reporting import ReportQueries
from cartnudge.state.revisits import Revisits
from cartnudge.state.runs import Runs
from cartnudge.state.suppressions import Suppressions


@dataclass(frozen=True)
class Track:
    """One flow's rules for the sweep, with the template of each step. A flow sending on
    several channels at once (the input flow's e-mail and SMS) is one track per channel."""

    rules: FlowRules
    templates: dict[int, int] = field(default_factory=dict)  # step index -> template id
    coupons: dict[int, CouponRule] = field(default_factory=dict)  # step index -> its coupon


@dataclass
class App:
    config: Config

    def __post_init__(self) -> None:
        # Every secret, in every form a server might echo, is scrubbed from every output.
        c = self.config
        register_secret(c.smtp_password or "", username=c.settings.email.smtp.username)
        for secret in (c.sms_secret, c.push_secret, *(k.decode() for k in c.token_keys)):
            register_secret(secret or "")
        self.catalogue = Catalogue(self.config.templates_dir)
        self.catalogue.check_all()
        confirm = self.config.settings.flows.confirm
        for step in self.config.confirm_steps:
            key = (
                f"flows.confirm.steps[{step.index}].template"
                if confirm.steps
                else "flows.confirm.template"
            )
            self.catalogue.require(step.template_id, "cart_abandonment", key, self.config.source)
            self._check_short_body(step.template_id, step.channel, key)
        for exp in self.config.experiments.values():
            for j, variant in enumerate(exp.variants):
                key = f"flows.confirm.steps[{exp.step}].variants[{j}].template"
                channel = self.config.confirm_steps[exp.step].channel
                self.catalogue.require(
                    variant.template_id, "cart_abandonment", key, self.config.source
                )
                self._check_short_body(variant.template_id, channel, key)
        for step in self.config.input_steps:
            key = "flows.input.template"
            self.catalogue.require(step.template_id, "remarketing", key, self.config.source)
            if self.config.settings.flows.input.enabled:
                self._check_short_body(step.template_id, step.channel, key)
        self.contract = ShopContract(self.config.sql_dir)
        coupons = self.config.settings.coupons
        if coupons.source == "pattern" and not self.contract.has("coupon_insert"):
            raise ConfigError(
                f"{self.config.source}: coupons.source: pattern needs "
                f"{self.contract.path('coupon_insert')} (the shop's INSERT of a generated "
                "code, with :code, :discount, :expires_at, :customer_id and :order_id; "
                "README, 'Coupons')"
            )
        if confirm.enabled and not self.contract.has("product_status"):
            for step in self.config.confirm_steps:
                if step.trigger is not None:
                    raise ConfigError(
                        f"{self.config.source}: flows.confirm.steps[{step.index}].trigger: "
                        f"needs {self.contract.path('product_status')} (the shop's current "
                        "prices and stock; sql/product_status.sql shows one)"
                    )

    def _check_short_body(self, template_id: int, channel: str, key: str) -> None:
        """SMS and push send the template's SMS body: it must exist, and an SMS (with its
        footer) must fit the gateway's segment limit. LINE sends the LINE body, else the SMS
        body."""
        if channel not in ("sms", "push", "line"):
            return
        info = self.catalogue.get(template_id)
        if channel == "line" and not (info.has_line or info.has_sms):
            raise ConfigError(
                f"{self.config.source}: {key}: template {template_id} has neither a LINE body "
                "(line.txt.j2) nor an SMS body (sms.txt.j2), one of which LINE sends"
            )
        if channel == "line":
            return
        if not info.has_sms:
            raise ConfigError(
                f"{self.config.source}: {key}: template {template_id} has no SMS body "
                f"(sms.txt.j2), which {channel} sends"
            )
        if channel == "sms":
            # Measured with links as long as real ones: the configured URL patterns around a
            # token for a ten-digit delivery id.
            shop_url, lp_url, unsubscribe_url = self.config.link_patterns()
            token = sign_token(
                {"d": 10**9}, (b"k" * 16,), kind=RECOVERY, expires_at=datetime(2099, 1, 1)
            )
            longest = max(shop_url, lp_url, key=len)
            recovery = longest.format(token=token, lp_id=999, order_id=10**9)
            sample = (
                self.catalogue.render(
                    template_id, dict(sample_context(), recovery_url=recovery)
                ).sms
                or ""
            )
            text = with_footer(
                sample,
                self.config.settings.sender.name or "-",
                unsubscribe_url.format(token=token),
            )
            check_length(text, self.config.settings.sms.max_segments, f"template {template_id}")

    @cached_property
    def shop_engine(self) -> Engine:
        return build_engine(
            self.config.shop_url,
            key="shop.url",
            must_exist=True,
            lock_timeout=self.config.lock_timeout,
            shop_tz=self.config.settings.shop.timestamps_timezone,
        )

    @cached_property
    def state_engine(self) -> Engine:
        # In the shop's own database (the default), the state never creates the shop's file.
        shared = self.config.state_url == self.config.shop_url
        return build_engine(
            self.config.state_url,
            writer=True,
            key="shop.url" if shared else "state.url",
            must_exist=shared,
            lock_timeout=self.config.lock_timeout,
        )

    @cached_property
    def shop_writer(self) -> ShopWriter:
        """The write of generated coupon codes (coupons.source: pattern) to the shop."""
        return ShopWriter(self.shop_engine, self.contract, self.config.shop_tz)

    @cached_property
    def reader(self) -> ShopReader:
        return ShopReader(
            self.shop_engine,
            self.contract,
            self.config.shop_tz,
            phone_region=self.config.settings.phone_region,
            money_decimals=self.config.settings.shop.money_decimals,
        )

    @cached_property
    def deliveries(self) -> Deliveries:
        return Deliveries(self.state_engine)

    @cached_property
    def suppressions(self) -> Suppressions:
        return Suppressions(self.state_engine)

    @cached_property
    def runs(self) -> Runs:
        return Runs(self.state_engine)

    @cached_property
    def buckets(self) -> Buckets:
        return Buckets(self.state_engine)

    @cached_property
    def revisits(self) -> Revisits:
        return Revisits(self.state_engine)

    @cached_property
    def coupons(self) -> Coupons:
        return Coupons(self.state_engine)

    @cached_property
    def recoveries(self) -> Recoveries:
        return Recoveries(self.state_engine)

    @cached_property
    def experiments(self) -> Experiments:
        return Experiments(self.state_engine)

    @cached_property
    def report_queries(self) -> ReportQueries:
        return ReportQueries(self.state_engine)

    def _common(self) -> dict:
        s = self.config.settings
        cap = self.config.frequency_cap
        return dict(
            cart_ttl=self.config.cart_ttl,
            resend_after=self.config.resend_after,
            consent_required=s.consent.required,
            suppressed_fraud_results=frozenset(r.upper() for r in s.fraud.suppressed_results),
            suppressed_fraud_actions=frozenset(a.lower() for a in s.fraud.suppressed_actions),
            quiet_hours={
                channel: QuietHours(start, end, self.config.tz)
                for channel, (start, end) in self.config.quiet_hours.items()
            },
            frequency_cap=FrequencyCap(cap[0], cap[1]) if cap else None,
        )

    def confirm_rules(self) -> FlowRules:
        s = self.config.settings
        cells = s.flows.confirm.abandoned_cells
        return FlowRules(
            cells=frozenset(parse_cell(c) for c in cells) if cells else DEFAULT_CELLS,
            flow="confirm",
            enabled=s.flows.confirm.enabled,
            target=Target(s.flows.confirm.target),
            steps=tuple(
                StepRule(st.index, st.delay, st.channel, st.segment, st.trigger)
                for st in self.config.confirm_steps
            ),
            **self._common(),
        )

    def tracks(self) -> list[Track]:
        """The enabled flows as the sweep runs them."""
        out: list[Track] = []
        if self.config.settings.flows.confirm.enabled:
            out.append(
                Track(
                    self.confirm_rules(),
                    {st.index: st.template_id for st in self.config.confirm_steps},
                    {st.index: st.coupon for st in self.config.confirm_steps if st.coupon},
                )
            )
        if self.config.settings.flows.input.enabled:
            for st in self.config.input_steps:
                rules = FlowRules(
                    flow="input",
                    enabled=True,
                    target=Target.ALL,
                    steps=(StepRule(st.index, st.delay, st.channel, st.segment),),
                    kind=FlowKind.INPUT,
                    channel=st.channel,
                    **self._common(),
                )
                out.append(Track(rules, {st.index: st.template_id}))
        return out

    def channel(self, kind: str) -> Channel:
        """A new, unopened channel for ``kind`` (email, sms, push or line)."""
        if kind == "email":
            return self.email_channel()
        if kind == "sms":
            from cartnudge.channels.sms import SmsChannel

            return SmsChannel(self.config.settings.sms, self.config.sms_secret)
        if kind == "push":
            from cartnudge.channels.push import PushChannel

            return PushChannel(self.config.settings.push, self.config.push_secret)
        if kind == "line":
            from cartnudge.channels.line import LineChannel

            return LineChannel(self.config.settings.line, self.config.line_token)
        raise ValueError(f"unknown channel {kind!r}")

    def email_channel(self) -> Channel:
        if self.config.settings.email.transport == "smtp":
            from cartnudge.channels.smtp import SmtpChannel

            return SmtpChannel(self.config.settings.email.smtp, self.config.smtp_password)
        return OutboxChannel(self.config.outbox_dir)

    def dispose(self) -> None:
        for name in ("shop_engine", "state_engine"):
            engine = self.__dict__.get(name)
            if engine is not None:
                engine.dispose()
