"""A tiny shop builder for tests: exact rows, written to a real database of any backend."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, func, select, update

from cartnudge.demo.schema import ad_urls, customers, metadata, order_items, orders, products
from cartnudge.engines import build_engine
from cartnudge.state.deliveries import Deliveries
from cartnudge.state.store import migrate
from cartnudge.state.suppressions import Suppressions

AD_INPUT_ON, AD_INPUT_OFF = 1, 2  # ad URLs with and without input abandonment (SPEC 2.6)


@dataclass
class ShopBuilder:
    url: str
    engine: Engine
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    @classmethod
    def create(cls, url: str) -> ShopBuilder:
        engine = build_engine(url)
        metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(
                products.insert(),
                [
                    {
                        "id": 1,
                        "name": "国産有機抹茶 100g",
                        "price": 1980,
                        "stock": 50,
                        "category": "tea",
                    },
                    {
                        "id": 2,
                        "name": "今治タオル フェイスタオル 2枚組",
                        "price": 2200,
                        "stock": 5,
                        "category": "towel",
                    },
                ],
            )
            conn.execute(
                ad_urls.insert(),
                [
                    {"id": AD_INPUT_ON, "name": "抹茶LP 広告", "input_abandonment": True},
                    {"id": AD_INPUT_OFF, "name": "タオルLP 広告", "input_abandonment": False},
                ],
            )
        state_engine = build_engine(url, writer=True)
        try:
            migrate(state_engine)
        finally:
            state_engine.dispose()
        return cls(url, engine)

    def dispose(self) -> None:
        self.engine.dispose()

    def customer(
        self,
        *,
        status: str = "member",
        name: str = "山田 太郎",
        email: str | None = None,
        email_optin: bool = True,
        phone: str | None = None,
        sms_optin: bool = False,
        push_token: str | None = None,
        push_optin: bool = False,
        line_user_id: str | None = None,
        line_optin: bool = False,
    ) -> int:
        cid = next(self._ids)
        with self.engine.begin() as conn:
            conn.execute(
                customers.insert().values(
                    id=cid,
                    status=status,
                    name=name,
                    email=email if email is not None else f"customer{cid}@example.jp",
                    email_optin=email_optin,
                    phone=phone,
                    sms_optin=sms_optin,
                    push_token=push_token,
                    push_optin=push_optin,
                    line_user_id=line_user_id,
                    line_optin=line_optin,
                    created_at=datetime(2026, 1, 1),
                )
            )
        return cid

    def abandoned(
        self,
        abandoned_at: datetime,
        *,
        customer_id: int | None = None,
        status: str = "member",
        storefront: str = "shop",
        step: str = "cart",
        last_activity_at: datetime | None = None,
        fraud_result: str | None = None,
        fraud_action: str | None = None,
        email: str | None = None,
        email_optin: bool = True,
        name: str = "山田 太郎",
        items: tuple[tuple[int, int], ...] = ((1, 2), (2, 1)),
        ad_url_id: int | None = None,
        **contact: object,
    ) -> int:
        """An order in abandoned state (and its customer, unless given); returns the order id.
        ``contact`` passes phone, sms_optin, push_token, push_optin to the new customer."""
        if customer_id is None:
            customer_id = self.customer(
                status=status, email=email, email_optin=email_optin, name=name, **contact
            )
        oid = next(self._ids)
        with self.engine.begin() as conn:
            prices = dict(conn.execute(select(products.c.id, products.c.price)).all())
            names = dict(conn.execute(select(products.c.id, products.c.name)).all())
            conn.execute(
                orders.insert().values(
                    id=oid,
                    customer_id=customer_id,
                    storefront=storefront,
                    lp_id=1 if storefront == "lp" else None,
                    state="abandoned",
                    abandoned_step=step,
                    logged_in=status == "member",
                    created_at=abandoned_at,
                    abandoned_at=abandoned_at,
                    last_activity_at=last_activity_at or abandoned_at,
                    total_amount=sum(prices[p] * q for p, q in items),
                    fraud_result=fraud_result,
                    fraud_action=fraud_action,
                    ad_url_id=ad_url_id,
                )
            )
            conn.execute(
                order_items.insert(),
                [
                    {
                        "id": next(self._ids),
                        "order_id": oid,
                        "product_id": p,
                        "product_name": names[p],
                        "quantity": q,
                        "unit_price": prices[p],
                    }
                    for p, q in items
                ],
            )
        return oid

    def complete_purchase(
        self,
        customer_id: int,
        at: datetime,
        amount: int = 1980,
        recovery_token: str | None = None,
        coupon_code: str | None = None,
    ) -> int:
        oid = next(self._ids)
        with self.engine.begin() as conn:
            conn.execute(
                orders.insert().values(
                    id=oid,
                    customer_id=customer_id,
                    storefront="shop",
                    state="completed",
                    logged_in=True,
                    created_at=at,
                    completed_at=at,
                    last_activity_at=at,
                    total_amount=amount,
                    recovery_token=recovery_token,
                    coupon_code=coupon_code,
                )
            )
        return oid

    def touch(self, order_id: int, last_activity_at: datetime) -> None:
        """The shopper came back to the cart (and left again)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(orders)
                .where(orders.c.id == order_id)
                .values(last_activity_at=last_activity_at)
            )

    def customer_of(self, order_id: int) -> int:
        with self.engine.connect() as conn:
            return conn.execute(
                select(orders.c.customer_id).where(orders.c.id == order_id)
            ).scalar_one()

    def count_orders(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(orders)).scalar_one()

    def deliveries(self) -> Deliveries:
        return Deliveries(build_engine(self.url, writer=True))

    def suppressions(self) -> Suppressions:
        return Suppressions(build_engine(self.url, writer=True))
