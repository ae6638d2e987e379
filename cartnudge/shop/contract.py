"""The shop contract: the named SQL files in ``sql/``, the columns each must return and the bind
parameters each gets, loaded once and checked when cartnudge starts.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import DateTime, bindparam, text
from sqlalchemy.sql.elements import TextClause

from cartnudge.errors import ContractError

ABANDONED_COLUMNS = (
    "order_id",
    "customer_id",
    "customer_status",
    "customer_name",
    "email",
    "email_consent",
    "storefront",
    "lp_id",
    "abandoned_step",
    "abandoned_at",
    "last_activity_at",
    "total_amount",
    "fraud_result",
    "fraud_action",
    "purchased_at",
)


# name -> (columns the file must return, bind parameters it gets, datetime parameters)
CONTRACT: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "abandoned_orders": (
        ABANDONED_COLUMNS,
        ("due_before", "active_since", "after_at", "after_id", "chunk_size"),
        ("due_before", "active_since", "after_at"),
    ),
    "abandoned_order": (ABANDONED_COLUMNS, ("order_id",), ()),
    "order_items": (
        ("order_id", "product_id", "product_name", "quantity", "unit_price"),
        ("order_ids",),
        (),
    ),
    "purchases_since": (("customer_id", "purchased_at"), ("customer_ids",), ()),
    "search_customers": (
        (
            "customer_id",
            "customer_name",
            "email",
            "email_consent",
            "customer_status",
            "order_id",
            "abandoned_step",
            "abandoned_at",
            "total_amount",
            "storefront",
            "lp_id",
        ),
        ("after_id", "chunk_size"),
        (),
    ),
    "completed_orders": (
        ("order_id", "customer_id", "completed_at", "total_amount", "recovery_token"),
        ("completed_from", "completed_to", "after_id", "chunk_size"),
        ("completed_from", "completed_to"),
    ),
    "abandoned_in_period": (
        ("order_id", "abandoned_step", "abandoned_at", "total_amount", "customer_status"),
        ("abandoned_from", "abandoned_to", "after_id", "chunk_size"),
        ("abandoned_from", "abandoned_to"),
    ),
}


LIST_PARAMS = {"order_ids", "customer_ids"}


DATETIME_COLUMNS = {"abandoned_at", "last_activity_at", "purchased_at", "completed_at"}


class ShopContract:
    """The SQL files, loaded once and checked for the bind parameters they must use."""

    def __init__(self, sql_dir: Path) -> None:
        self.sql_dir = sql_dir
        self.statements: dict[str, TextClause] = {}
        for name, (_columns, params, dt_params) in CONTRACT.items():
            path = sql_dir / f"{name}.sql"
            try:
                sql = path.read_text(encoding="utf-8")
            except UnicodeDecodeError as exc:
                raise ContractError(
                    f"{path}: the shop query is not UTF-8 (byte {exc.start}); save it as UTF-8"
                ) from None
            except OSError as exc:
                raise ContractError(f"{path}: cannot read shop query ({exc.strerror})") from None
            # The header documents ":name" parameters; text() would bind those too.
            body = "\n".join(
                line for line in sql.splitlines() if not line.lstrip().startswith("--")
            )
            stmt = text(body)
            missing = [p for p in params if p not in stmt._bindparams]
            if missing:
                raise ContractError(f"{path}: bind parameter :{missing[0]} is not used")
            binds = [
                bindparam(p, expanding=True)
                if p in LIST_PARAMS
                else bindparam(p, type_=DateTime())
                if p in dt_params
                else bindparam(p)
                for p in params
            ]
            stmt = stmt.bindparams(*binds)
            dt_cols = [c for c in _columns if c in DATETIME_COLUMNS]
            stmt = stmt.columns(**{c: DateTime() for c in dt_cols})
            self.statements[name] = stmt

    def path(self, name: str) -> Path:
        return self.sql_dir / f"{name}.sql"
