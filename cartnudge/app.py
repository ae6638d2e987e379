"""Wire the parts a command needs from a validated configuration: engines, the shop contract,
the state store, the template catalogue, the flows' rules and the e-mail channel.

Building an :class:`App` checks everything that can be checked before anything is sent:
templates render against a sample, flows name templates of the right category.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import Engine

from cartnudge.channels.base import Channel
from cartnudge.channels.outbox import OutboxChannel
from cartnudge.config import Config
from cartnudge.engines import build_engine
from cartnudge.rules import FlowRules, StepRule, Target
from cartnudge.shopdb import ShopContract, ShopReader
from cartnudge.state import StateStore
from cartnudge.templates import Catalogue


@dataclass
class App:
    config: Config

    def __post_init__(self) -> None:
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
        self.contract = ShopContract(self.config.sql_dir)

    @cached_property
    def shop_engine(self) -> Engine:
        return build_engine(self.config.shop_url, key="shop.url")

    @cached_property
    def state_engine(self) -> Engine:
        return build_engine(self.config.state_url, writer=True, key="state.url")

    @cached_property
    def reader(self) -> ShopReader:
        return ShopReader(self.shop_engine, self.contract, self.config.shop_tz)

    @cached_property
    def store(self) -> StateStore:
        return StateStore(self.state_engine)

    def confirm_rules(self) -> FlowRules:
        s = self.config.settings
        return FlowRules(
            flow="confirm",
            enabled=s.flows.confirm.enabled,
            target=Target(s.flows.confirm.target),
            steps=tuple(
                StepRule(st.index, st.delay, st.channel) for st in self.config.confirm_steps
            ),
            cart_ttl=self.config.cart_ttl,
            resend_after=self.config.resend_after,
            consent_required=s.consent.required,
            suppressed_fraud_results=frozenset(r.upper() for r in s.fraud.suppressed_results),
            suppressed_fraud_actions=frozenset(s.fraud.suppressed_actions),
        )

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
