"""cartnudge's own tables (prefix ``cartnudge_``). Created and evolved by the Alembic
migrations in cartnudge/migrations; this metadata is what the code queries."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

deliveries = Table(
    "cartnudge_deliveries",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("order_id", String(64), nullable=False),
    Column("flow", String(64), nullable=False),
    Column("step", Integer, nullable=False),
    Column("episode", Integer, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("customer_id", String(64)),
    Column("recipient", String(254)),
    Column("template_id", Integer),
    Column("amount", BigInteger),
    Column("abandoned_at", DateTime),
    Column("episode_started_at", DateTime),
    Column("due_at", DateTime),
    Column("claimed_by", String(64)),
    Column("lease_until", DateTime),
    Column("attempts", Integer, nullable=False, default=0),
    Column("message_id", String(255)),
    Column("error", String(1000)),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("sent_at", DateTime),
    # Clicks: each resolution of the delivery's recovery token (the shop's restore page,
    # ``GET /r/<token>``), unless the shop asked not to record it.
    Column("clicks", Integer, nullable=False, default=0, server_default="0"),
    Column("first_click_at", DateTime),
    Column("last_click_at", DateTime),
    Column("variant", String(32)),  # the A/B test variant of its step, if any
    UniqueConstraint(
        "order_id", "flow", "step", "episode", "channel", name="uq_cartnudge_delivery"
    ),
    Index("ix_cartnudge_deliveries_status_lease", "status", "lease_until"),
    Index("ix_cartnudge_deliveries_claimed_by", "claimed_by"),
    Index("ix_cartnudge_deliveries_created_at", "created_at"),
    Index("ix_cartnudge_deliveries_customer", "customer_id", "sent_at"),
    Index("ix_cartnudge_deliveries_recipient", "recipient", "created_at"),
)

suppressions = Table(
    "cartnudge_suppressions",
    metadata,
    Column("channel", String(16), primary_key=True),
    Column("address", String(254), primary_key=True),
    Column("reason", String(32), nullable=False),  # opt_out | hard_bounce | manual | import
    Column("detail", String(500)),
    Column("created_at", DateTime, nullable=False),
)

runs = Table(
    "cartnudge_runs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("command", String(32), nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
    Column("now", DateTime, nullable=False),
    Column("host", String(255)),
    Column("pid", Integer),
    Column("dry_run", Boolean, nullable=False, default=False),
    Column("status", String(16), nullable=False),  # running | ok | problems | error | died
    Column("summary", Text),
    # Sweeps (issue 14): full | incremental, and the fingerprint of the configuration's flows
    # (cartnudge.core.incremental.fingerprint) the sweep ran with; set when it starts.
    Column("mode", String(16)),
    Column("fingerprint", String(64)),
)

recoveries = Table(
    "cartnudge_recoveries",
    metadata,
    Column("order_id", String(64), primary_key=True),  # the completed shop order
    Column("delivery_id", BigInteger().with_variant(Integer, "sqlite"), nullable=False),
    Column("abandoned_order_id", String(64), nullable=False),
    Column("flow", String(64), nullable=False),
    Column("customer_id", String(64)),
    Column("attribution", String(16), nullable=False),  # url | cart | window
    Column("amount", BigInteger, nullable=False),
    Column("completed_at", DateTime, nullable=False),
    Column("recorded_at", DateTime, nullable=False),
    Index("ix_cartnudge_recoveries_completed_at", "completed_at"),
    Index("ix_cartnudge_recoveries_delivery", "delivery_id"),
)

skips = Table(
    "cartnudge_skips",
    metadata,
    Column("order_id", String(64), primary_key=True),
    Column("flow", String(64), primary_key=True),
    Column("episode", Integer, primary_key=True),
    Column("reason", String(32), primary_key=True),
    Column("customer_id", String(64)),
    Column("abandoned_at", DateTime, nullable=False),
    Column("first_seen_at", DateTime, nullable=False),
    Index("ix_cartnudge_skips_abandoned_at", "abandoned_at"),
)

# A/B tests (SPEC 2.8): who was assigned to which variant, when the step first fell due under
# the test's earliest delay (intention to treat: a later variant's shoppers who buy before
# their reminder count in their variant).
assignments = Table(
    "cartnudge_assignments",
    metadata,
    Column("experiment", String(64), primary_key=True),
    Column("order_id", String(64), primary_key=True),
    Column("episode", Integer, primary_key=True),
    Column("variant", String(32), nullable=False),
    Column("customer_id", String(64)),
    Column("abandoned_at", DateTime, nullable=False),
    Column("assigned_at", DateTime, nullable=False),
    Index("ix_cartnudge_assignments_assigned_at", "assigned_at"),
)

# The first decision of each A/B test (winner, no_difference), or its stop by the operator.
experiments = Table(
    "cartnudge_experiments",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("variant", String(32)),
    Column("detail", String(500)),
    Column("decided_at", DateTime, nullable=False),
)

# Coupon codes imported into cartnudge's state (`cartnudge coupons import`); a code is given to
# one delivery at most (delivery_id unique), and keeps it across retries and re-renders.
coupons = Table(
    "cartnudge_coupons",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("discount", String(64), nullable=False),  # as shown: "500円", "10%"
    Column("valid_until", DateTime),  # a fixed expiry from the CSV, if any (naive UTC)
    Column("imported_at", DateTime, nullable=False),
    Column("delivery_id", BigInteger().with_variant(Integer, "sqlite"), unique=True),
    Column("assigned_at", DateTime),
    Column("expires_at", DateTime),  # the expiry the shopper was told (naive UTC)
    Column("redeemed_order_id", String(64)),
    Column("redeemed_at", DateTime),
    Column("redeemed_amount", BigInteger),  # the redeeming order's total_amount (minor unit)
    Index("ix_cartnudge_coupons_free", "delivery_id", "code"),
)

# Who got a coupon when, under every key the shopper is known by (cartnudge.core.persons), so
# that "no coupon again within coupons.repeat_window" holds whichever record, cart or flow.
coupon_grants = Table(
    "cartnudge_coupon_grants",
    metadata,
    Column("person", String(300), primary_key=True),
    Column("code", String(64), primary_key=True),
    Column("granted_at", DateTime, nullable=False),
    Index("ix_cartnudge_coupon_grants_person", "person", "granted_at"),
)

# Several sweepers sharing this state (cartnudge.core.buckets, cartnudge.state.buckets): one row
# per bucket of the candidates (and bucket -1, the once-per-round recoveries attribution), for
# each number of buckets in use; a sweeper owns a row until lease_until while it sweeps it.
sweep_buckets = Table(
    "cartnudge_sweep_buckets",
    metadata,
    Column("buckets", Integer, primary_key=True, autoincrement=False),  # sweep.buckets
    Column("bucket", Integer, primary_key=True, autoincrement=False),  # 0 .. buckets-1, or -1
    Column("owner", String(36)),  # the run sweeping it now (cartnudge_runs.id), else NULL
    Column("lease_until", DateTime),  # on the state database's clock (naive UTC)
    Column("swept_for", DateTime),  # the start of the round it was last swept for
    Column("swept_at", DateTime),  # when that sweep of it finished (the database's clock)
    Column("swept_by", String(36)),  # the run that swept it last
)

# Incremental sweeps (cartnudge.core.incremental): per order, the earliest time at which the
# sweep's decisions about it can change without a change in the shop (a wait's end, the next
# sweep for a reminder not yet on record for good). Orders without one are not listed.
revisits = Table(
    "cartnudge_revisits",
    metadata,
    Column("order_id", String(64), primary_key=True),
    Column("revisit_at", DateTime, nullable=False),
    Index("ix_cartnudge_revisits_at", "revisit_at"),
)
