"""The shop contract: the SQL files in ``sql/``, the columns each returns and the bind
parameters each gets, loaded once and checked when cartnudge starts.

The operator defines "abandoned" ONCE, in ``abandoned.sql``: a plain SELECT returning every
order (or cart) in abandoned state with the columns of :data:`ABANDONED_COLUMNS`. cartnudge
wraps it as a subquery for each read it needs (:meth:`ShopContract.abandoned`): the sweep's
keyset pages, the rows with unusable times, one order by id, the orders of some customers
(search) and the orders abandoned in a period (report). The wrappers are fixed text around the
file; every value is a bind parameter, never spliced into the SQL.

Columns are optional where a default makes sense (:data:`ABANDONED_COLUMNS`): the reader finds
which ones the file returns by running it once with no rows (``LIMIT 0``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import DateTime, bindparam, text
from sqlalchemy.sql.elements import TextClause

from cartnudge.errors import ContractError


@dataclass(frozen=True)
class Column:
    """One contract column: ``required`` or else ``default`` (as the README's table says)."""

    name: str
    kind: str  # id | text | money | time | flag | enum
    required: bool
    default: str
    meaning: str


ABANDONED_COLUMNS: tuple[Column, ...] = (
    Column("order_id", "id", True, "-", "the abandoned order's (or cart's) id, unique"),
    Column(
        "customer_id",
        "id",
        True,
        "-",
        "the customer record; NULL for a guest or a deleted customer",
    ),
    Column("abandoned_at", "time", True, "-", "when the shopper left"),
    Column(
        "total_amount",
        "money",
        True,
        "-",
        "the items' total with tax, without shipping (what the items add up to)",
    ),
    Column(
        "customer_status",
        "enum",
        False,
        "member when customer_id is set, else visitor",
        "member | visitor",
    ),
    Column("customer_name", "text", False, "''", "for {{ customer_name }} 様"),
    Column("email", "text", False, "NULL", "the address reminders go to"),
    Column("email_consent", "flag", False, "no", "opt-in to advertising e-mail"),
    Column("storefront", "enum", False, "shop", "lp | shop"),
    Column("lp_id", "id", False, "NULL", "the landing page of an LP order"),
    Column("abandoned_step", "enum", False, "cart", "cart | confirm | payment_failed | input"),
    Column("last_activity_at", "time", False, "abandoned_at", "the cart's last activity"),
    Column("fraud_result", "text", False, "NULL (none)", "screening result, e.g. HOLD"),
    Column("fraud_action", "text", False, "NULL (none)", "screening action, e.g. redirect"),
    Column(
        "purchased_at",
        "time",
        False,
        "NULL (the re-check before sending decides)",
        "the customer's latest completed order",
    ),
    Column("phone", "text", False, "NULL", "as typed; normalised to E.164 for SMS"),
    Column("sms_consent", "flag", False, "no", "opt-in to SMS"),
    Column("push_token", "text", False, "NULL", "device token for push"),
    Column("push_consent", "flag", False, "no", "opt-in to push"),
    Column("line_user_id", "text", False, "NULL", "the shopper's LINE user id"),
    Column("line_consent", "flag", False, "no", "opt-in to LINE messages"),
    Column("logged_in", "flag", False, "no", "the shopper was logged in (input flow)"),
    Column(
        "ad_input_enabled",
        "flag",
        False,
        "no",
        "came through an ad URL whose input-abandonment setting is on (input flow)",
    ),
    Column(
        "updated_at",
        "time",
        False,
        "NULL (none: a change without a time is seen by the next full sweep)",
        "when the row last changed (consent, fraud hold...): incremental sweeps read rows "
        "updated since the last sweep",
    ),
    Column(
        "returning_customer",
        "flag",
        False,
        "NULL (an earlier purchased_at decides)",
        "the customer completed an order before (segments' first_time / returning)",
    ),
)
ABANDONED_NAMES = tuple(c.name for c in ABANDONED_COLUMNS)
REQUIRED_ABANDONED = tuple(c.name for c in ABANDONED_COLUMNS if c.required)

# name -> (required columns, optional columns, bind parameters it must use, datetime params)
FILES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "abandoned": (REQUIRED_ABANDONED, ABANDONED_NAMES, (), ()),
    "order_items": (
        ("order_id", "product_id", "product_name", "quantity", "unit_price"),
        ("category", "image_url", "product_url"),
        ("order_ids",),
        (),
    ),
    "purchases_since": (("customer_id", "purchased_at"), ("email",), ("customer_ids",), ()),
    "search_customers": (
        ("customer_id",),
        ("customer_name", "email", "email_consent", "customer_status"),
        (),
        (),
    ),
    "completed_orders": (
        ("order_id", "customer_id", "completed_at", "total_amount"),
        ("recovery_token", "abandoned_order_id", "email", "coupon_code"),
        ("completed_from", "completed_to"),
        ("completed_from", "completed_to"),
    ),
    # Optional (OPTIONAL_FILES): current price and stock of the products in some carts, for
    # trigger steps (price_drop, low_stock) and for leaving out items now out of stock.
    "product_status": (
        ("order_id", "product_id", "current_price", "stock"),
        (),
        ("order_ids",),
        (),
    ),
    # Optional (OPTIONAL_FILES): the shop's own write of a generated coupon code (coupons.source
    # pattern), an INSERT (or a call) run right after a code is given, before the message.
    "coupon_insert": (
        (),
        (),
        ("code", "discount", "expires_at", "customer_id", "order_id"),
        ("expires_at",),
    ),
}
# Files a shop may leave out: what needs them says so (README, "Price-drop and low-stock",
# "Coupons").
OPTIONAL_FILES = frozenset({"product_status", "coupon_insert"})
OPTIONAL_PARAMS = {"purchases_since": ("emails",)}
LIST_PARAMS = {"order_ids", "customer_ids", "emails"}
# Files of the earlier contract, replaced by abandoned.sql (README, "The shop contract").
REPLACED = ("abandoned_orders.sql", "abandoned_order.sql", "abandoned_in_period.sql")
PAGING_PARAMS = ("after_id", "chunk_size")

# Several sweepers (cartnudge.core.buckets): the order id's bucket hash in each database's SQL,
# the first 32 bits of the MD5 of the id's text, equal to cartnudge.core.buckets.bucket_hash
# (registered as a function on SQLite connections by cartnudge.engines).
BUCKET_HASH = {
    "postgresql": "('x' || substr(md5(CAST({id} AS TEXT)), 1, 8))::bit(32)::bigint",
    "mysql": "CAST(CONV(SUBSTRING(MD5({id}), 1, 8), 16, 10) AS UNSIGNED)",
    "mariadb": "CAST(CONV(SUBSTRING(MD5({id}), 1, 8), 16, 10) AS UNSIGNED)",
    "sqlite": "cartnudge_bucket({id})",
}
BUCKET_PARAMS = ("bucket", "bucket_count")


def bucket_predicate(dialect: str, column: str = "w.order_id") -> str:
    """``<hash of column> mod :bucket_count = :bucket`` in ``dialect``'s SQL: the condition a
    page query adds to read one bucket of the candidates. Raises ContractError for a database
    cartnudge cannot hash ids on."""
    expr = BUCKET_HASH.get(dialect)
    if expr is None:
        raise ContractError(f"sweep.buckets: cannot split candidates on {dialect}")
    hashed = expr.format(id=column)
    if dialect == "sqlite":  # no MOD() in every SQLite build
        return f"({hashed} % :bucket_count) = :bucket"
    return f"MOD({hashed}, :bucket_count) = :bucket"


def _body(path: Path) -> str:
    try:
        sql = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ContractError(f"{path}: cannot read shop query ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise ContractError(
            f"{path}: the shop query is not UTF-8 (byte {exc.start}); save it as UTF-8"
        ) from None
    # The header documents ":name" parameters; text() would bind those too.
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    body = "\n".join(lines).strip()
    while body.endswith(";"):
        body = body[:-1].rstrip()
    if not body:
        raise ContractError(f"{path}: empty shop query")
    return body


class ShopContract:
    """The SQL files, loaded once and checked for the bind parameters they must use.

    Raises ContractError naming the file when one cannot be read, misses a parameter, or is
    a file of the earlier contract that ``abandoned.sql`` replaces."""

    def __init__(self, sql_dir: Path) -> None:
        self.sql_dir = sql_dir
        self.bodies: dict[str, str] = {}
        self.statements: dict[str, TextClause] = {}
        if not (sql_dir / "abandoned.sql").exists():
            old = [name for name in REPLACED if (sql_dir / name).exists()]
            if old:
                raise ContractError(
                    f"{sql_dir / old[0]}: replaced by abandoned.sql, which defines abandoned "
                    "orders once (README, 'The shop contract'); write it from this file's SELECT"
                )
        for name, (_req, _opt, params, dt_params) in FILES.items():
            path = self.path(name)
            if name in OPTIONAL_FILES and not path.exists():
                continue
            body = _body(path)
            probe = text(body)
            missing = [p for p in params if p not in probe._bindparams]
            if missing:
                raise ContractError(f"{path}: bind parameter :{missing[0]} is not used")
            paging = [p for p in PAGING_PARAMS if p in probe._bindparams]
            if paging and name in ("abandoned", "completed_orders", "search_customers"):
                raise ContractError(
                    f"{path}: uses :{paging[0]}; cartnudge pages this query itself now: "
                    "remove the keyset condition, ORDER BY and LIMIT"
                )
            if name == "abandoned" and probe._bindparams:
                first = next(iter(probe._bindparams))
                raise ContractError(f"{path}: takes no bind parameters (found :{first})")
            self.bodies[name] = body
            all_params = params + tuple(
                p for p in OPTIONAL_PARAMS.get(name, ()) if p in probe._bindparams
            )
            self.statements[name] = self._bind(body, all_params, dt_params)

    @staticmethod
    def _bind(sql: str, params: tuple[str, ...], dt_params: tuple[str, ...] = ()) -> TextClause:
        binds = [
            bindparam(p, expanding=True)
            if p in LIST_PARAMS
            else bindparam(p, type_=DateTime())
            if p in dt_params
            else bindparam(p)
            for p in params
        ]
        return text(sql).bindparams(*binds)

    def has(self, name: str) -> bool:
        """Whether the contract has file ``name`` (an optional file may be left out)."""
        return name in self.statements

    def uses(self, name: str, param: str) -> bool:
        """Whether file ``name`` uses the optional bind parameter ``param``."""
        return param in self.statements[name]._bindparams

    def path(self, name: str) -> Path:
        return self.sql_dir / f"{name}.sql"

    # -- the wrappers: fixed SQL around the operator's file, values only as parameters --------

    def wrapped(self, name: str, where: str, tail: str, params: tuple[str, ...]) -> TextClause:
        """``SELECT * FROM (<file>) w WHERE <where> <tail>`` with ``params`` bound (the
        ``dt_`` ones as datetimes, ``ids`` expanding)."""
        sql = f"SELECT * FROM (\n{self.bodies[name]}\n) w WHERE {where} {tail}".rstrip()
        binds = [
            bindparam(p, expanding=True)
            if p == "ids"
            else bindparam(p, type_=DateTime())
            if p.startswith("dt_")
            else bindparam(p)
            for p in params
        ]
        inner = self.statements[name]._bindparams
        binds += [inner[p] for p in inner]
        return text(sql).bindparams(*binds)

    def columns_probe(self, name: str) -> TextClause:
        """The file with no rows: its columns, at no cost."""
        return self.wrapped(name, "1 = 0", "", ())

    def sweep_page(self, activity: str, *, first: bool, bucket: str | None = None) -> TextClause:
        """Orders that may be due, keyset-paged by (activity, order_id): abandoned at or before
        ``:dt_due_before``, active at or after ``:dt_active_since``; with ``bucket`` (the
        database's dialect name), only those in bucket ``:bucket`` of ``:bucket_count``."""
        act = f"w.{activity}"
        if first:
            where = f"w.abandoned_at <= :dt_due_before AND {act} >= :dt_active_since"
            params: tuple[str, ...] = ("dt_due_before", "dt_active_since", "chunk_size")
        else:
            # One lower bound for the index: the last page's end is after the window's start.
            where = (
                f"w.abandoned_at <= :dt_due_before AND {act} >= :after_at "
                f"AND ({act} > :after_at OR w.order_id > :after_id)"
            )
            params = ("dt_due_before", "after_at", "after_id", "chunk_size")
        if bucket is not None:
            where += f" AND {bucket_predicate(bucket)}"
            params += BUCKET_PARAMS
        return self.wrapped(
            "abandoned", where, f"ORDER BY {act}, w.order_id LIMIT :chunk_size", params
        )

    def strays_page(
        self, activity: str | None, *, first: bool, bucket: str | None = None
    ) -> TextClause:
        """Rows the sweep's pages cannot see: a NULL or implausible abandoned_at (year 0,
        ``infinity``, an epoch number or ``''`` on SQLite) or a NULL activity time in the
        window; paged by order_id; with ``bucket`` (the dialect), only bucket ``:bucket``."""
        cond = [
            "w.abandoned_at IS NULL",
            "w.abandoned_at < :dt_floor",
            "w.abandoned_at > :dt_ceiling",
        ]
        if activity:
            act = f"w.{activity}"
            cond += [
                f"({act} IS NULL AND w.abandoned_at >= :dt_active_since "
                "AND w.abandoned_at <= :dt_due_before)",
                # (an activity time beyond the ceiling is in the sweep's own pages already)
                f"{act} < :dt_floor",
            ]
        params: tuple[str, ...] = ("dt_floor", "dt_ceiling", "chunk_size")
        if activity:
            params += ("dt_active_since", "dt_due_before")
        where = "(" + " OR ".join(cond) + ")"
        if not first:
            where += " AND w.order_id > :after_id"
            params += ("after_id",)
        if bucket is not None:
            where += f" AND {bucket_predicate(bucket)}"
            params += BUCKET_PARAMS
        return self.wrapped("abandoned", where, "ORDER BY w.order_id LIMIT :chunk_size", params)

    @staticmethod
    def _in_window(activity: str) -> str:
        """The full sweep's window (abandoned at or before ``:dt_due_before``, active since
        ``:dt_active_since``; a NULL activity time counts as abandoned_at, as in the strays)."""
        act = f"w.{activity}"
        since = (
            "w.abandoned_at >= :dt_active_since"
            if activity == "abandoned_at"
            else f"({act} >= :dt_active_since OR ({act} IS NULL AND "
            "w.abandoned_at >= :dt_active_since))"
        )
        return f"w.abandoned_at <= :dt_due_before AND {since}"

    def changed_page(self, activity: str, key: str, *, bounded: bool, first: bool) -> TextClause:
        """An incremental sweep's read (cartnudge.core.incremental): the orders of the full
        sweep's window whose ``key`` column (abandoned_at, the activity time or updated_at) is
        after ``:dt_low`` (and, when ``bounded``, at or before ``:dt_high``), keyset-paged by
        (``key``, order_id)."""
        col = f"w.{key}"
        where = self._in_window(activity)
        params: tuple[str, ...] = ("dt_due_before", "dt_active_since", "chunk_size")
        if first:
            where += f" AND {col} > :dt_low"
            params += ("dt_low",)
        else:
            where += f" AND {col} >= :after_at AND ({col} > :after_at OR w.order_id > :after_id)"
            params += ("after_at", "after_id")
        if bounded:
            where += f" AND {col} <= :dt_high"
            params += ("dt_high",)
        return self.wrapped(
            "abandoned", where, f"ORDER BY {col}, w.order_id LIMIT :chunk_size", params
        )

    def orders_in_window(self, activity: str) -> TextClause:
        """The orders ``:ids`` (an expanding list) that are in the full sweep's window."""
        where = f"w.order_id IN :ids AND {self._in_window(activity)}"
        return self.wrapped("abandoned", where, "", ("ids", "dt_due_before", "dt_active_since"))

    def one_order(self) -> TextClause:
        return self.wrapped("abandoned", "w.order_id = :order_id", "", ("order_id",))

    def orders_of_customers(self) -> TextClause:
        return self.wrapped("abandoned", "w.customer_id IN :ids", "", ("ids",))

    def period_page(self, *, first: bool) -> TextClause:
        """Orders abandoned in [``:dt_from``, ``:dt_to``), keyset-paged by order_id."""
        where = "w.abandoned_at >= :dt_from AND w.abandoned_at < :dt_to"
        params: tuple[str, ...] = ("dt_from", "dt_to", "chunk_size")
        if not first:
            where += " AND w.order_id > :after_id"
            params += ("after_id",)
        return self.wrapped("abandoned", where, "ORDER BY w.order_id LIMIT :chunk_size", params)

    def completed_page(self, *, first: bool) -> TextClause:
        """completed_orders.sql for [``:completed_from``, ``:completed_to``), paged by id."""
        where = "1 = 1" if first else "w.order_id > :after_id"
        params: tuple[str, ...] = ("chunk_size",) if first else ("after_id", "chunk_size")
        return self.wrapped(
            "completed_orders", where, "ORDER BY w.order_id LIMIT :chunk_size", params
        )

    def customers_page(self, *, first: bool) -> TextClause:
        where = "1 = 1" if first else "w.customer_id > :after_id"
        params: tuple[str, ...] = ("chunk_size",) if first else ("after_id", "chunk_size")
        return self.wrapped(
            "search_customers", where, "ORDER BY w.customer_id LIMIT :chunk_size", params
        )


# -- query plans (``cartnudge check``; cartnudge.shop.explain) ---------------------------------

EXPLAIN_PREFIX = {
    "sqlite": "EXPLAIN QUERY PLAN ",
    "postgresql": "EXPLAIN (FORMAT JSON) ",
    "mysql": "EXPLAIN ",
    "mariadb": "EXPLAIN ",
}
# Run first, in the same transaction: PostgreSQL plans a small table with a Seq Scan even with
# an index; disabling it (for this transaction only) leaves a Seq Scan only where no index can
# serve the query (cartnudge.shop.plans).
EXPLAIN_SETUP = {"postgresql": ("SET LOCAL enable_seqscan = off",)}


def explained(stmt: TextClause, dialect: str) -> TextClause | None:
    """``stmt`` under the dialect's EXPLAIN with the same bind parameters, or None for a
    database cartnudge does not read plans of."""
    prefix = EXPLAIN_PREFIX.get(dialect)
    if prefix is None:
        return None
    return text(prefix + stmt.text).bindparams(*stmt._bindparams.values())
