"""The one write cartnudge makes to the shop: a generated coupon code, through the optional
contract file ``sql/coupon_insert.sql`` (``coupons.source: pattern``), for shops that create
codes in their own tables. The SQL is the shop's; every value is a bind parameter."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from cartnudge.errors import DatabaseError
from cartnudge.shop.contract import ShopContract
from cartnudge.shop.convert import from_utc


class ShopWriter:
    """Runs ``coupon_insert.sql``. Raises DatabaseError (one line naming the file) on failure."""

    def __init__(self, engine: Engine, contract: ShopContract, shop_tz: ZoneInfo) -> None:
        self.engine = engine
        self.contract = contract
        self.tz = shop_tz

    def _params(
        self,
        code: str,
        discount: str,
        expires_at: datetime | None,
        customer_id: Any,
        order_id: Any,
    ) -> dict[str, Any]:
        return dict(
            code=code,
            discount=discount,
            expires_at=None if expires_at is None else from_utc(expires_at, self.tz),
            customer_id=customer_id,
            order_id=order_id,
        )

    def insert_coupon(
        self,
        code: str,
        discount: str,
        expires_at: datetime | None,
        customer_id: Any,
        order_id: Any,
    ) -> None:
        """Write one code to the shop in its own transaction: ``:code``, ``:discount`` (as
        shown, e.g. ``500円``), ``:expires_at`` (the shop's local time, NULL: no expiry),
        ``:customer_id`` (NULL for a guest) and ``:order_id`` (the abandoned order)."""
        params = self._params(code, discount, expires_at, customer_id, order_id)
        self._run(params, commit=True)

    def try_insert(self, now: datetime) -> None:
        """``check``: run the file once with sample values in a transaction rolled back, so a
        missing table or column is found before a sweep needs it."""
        self._run(self._params("CHECK-ONLY", "0円", now, None, "-1"), commit=False)

    def _run(self, params: dict[str, Any], *, commit: bool) -> None:
        path = self.contract.path("coupon_insert")
        try:
            with self.engine.connect() as conn, conn.begin() as transaction:
                conn.execute(self.contract.statements["coupon_insert"], params)
                if not commit:
                    transaction.rollback()
        except SQLAlchemyError as exc:
            detail = str(getattr(exc, "orig", exc)).splitlines()[0]
            raise DatabaseError(f"{path}: {detail}") from None
