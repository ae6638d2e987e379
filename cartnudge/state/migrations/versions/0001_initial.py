"""cartnudge's first tables: deliveries, suppressions, runs.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "cartnudge_deliveries",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("flow", sa.String(64), nullable=False),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("episode", sa.Integer, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("customer_id", sa.String(64)),
        sa.Column("recipient", sa.String(254)),
        sa.Column("template_id", sa.Integer),
        sa.Column("amount", sa.Integer),
        sa.Column("abandoned_at", sa.DateTime),
        sa.Column("episode_started_at", sa.DateTime),
        sa.Column("due_at", sa.DateTime),
        sa.Column("claimed_by", sa.String(64)),
        sa.Column("lease_until", sa.DateTime),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("message_id", sa.String(255)),
        sa.Column("error", sa.String(1000)),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("sent_at", sa.DateTime),
        sa.UniqueConstraint(
            "order_id", "flow", "step", "episode", "channel", name="uq_cartnudge_delivery"
        ),
    )
    op.create_index(
        "ix_cartnudge_deliveries_status_lease", "cartnudge_deliveries", ["status", "lease_until"]
    )
    op.create_index("ix_cartnudge_deliveries_claimed_by", "cartnudge_deliveries", ["claimed_by"])
    op.create_index("ix_cartnudge_deliveries_created_at", "cartnudge_deliveries", ["created_at"])
    op.create_table(
        "cartnudge_suppressions",
        sa.Column("channel", sa.String(16), primary_key=True),
        sa.Column("address", sa.String(254), primary_key=True),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("detail", sa.String(500)),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "cartnudge_runs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("command", sa.String(32), nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime),
        sa.Column("now", sa.DateTime, nullable=False),
        sa.Column("host", sa.String(255)),
        sa.Column("pid", sa.Integer),
        sa.Column("dry_run", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("summary", sa.Text),
    )


def downgrade() -> None:
    op.drop_table("cartnudge_runs")
    op.drop_table("cartnudge_suppressions")
    op.drop_index("ix_cartnudge_deliveries_created_at", "cartnudge_deliveries")
    op.drop_index("ix_cartnudge_deliveries_claimed_by", "cartnudge_deliveries")
    op.drop_index("ix_cartnudge_deliveries_status_lease", "cartnudge_deliveries")
    op.drop_table("cartnudge_deliveries")
