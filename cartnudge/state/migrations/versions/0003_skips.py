"""Skip reasons per order: what the report counts as "skipped, by reason".

One row per (order, flow, episode, reason), written the first time a sweep skips an order for
that reason, so hourly sweeps do not count the same order again.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cartnudge_skips",
        sa.Column("order_id", sa.String(64), primary_key=True),
        sa.Column("flow", sa.String(64), primary_key=True),
        sa.Column("episode", sa.Integer, primary_key=True),
        sa.Column("reason", sa.String(32), primary_key=True),
        sa.Column("customer_id", sa.String(64)),
        sa.Column("abandoned_at", sa.DateTime, nullable=False),
        sa.Column("first_seen_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_cartnudge_skips_abandoned_at", "cartnudge_skips", ["abandoned_at"])


def downgrade() -> None:
    op.drop_index("ix_cartnudge_skips_abandoned_at", "cartnudge_skips")
    op.drop_table("cartnudge_skips")
