"""Recovered orders: one row per shop order that came back after a reminder.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cartnudge_recoveries",
        sa.Column("order_id", sa.String(64), primary_key=True),  # the completed shop order
        sa.Column(
            "delivery_id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), nullable=False
        ),
        sa.Column("abandoned_order_id", sa.String(64), nullable=False),
        sa.Column("flow", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(64)),
        sa.Column("attribution", sa.String(16), nullable=False),  # url | window
        sa.Column("amount", sa.Integer, nullable=False),
        sa.Column("completed_at", sa.DateTime, nullable=False),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
    )
    op.create_index(
        "ix_cartnudge_recoveries_completed_at", "cartnudge_recoveries", ["completed_at"]
    )
    op.create_index("ix_cartnudge_recoveries_delivery", "cartnudge_recoveries", ["delivery_id"])
    op.create_index(
        "ix_cartnudge_deliveries_customer", "cartnudge_deliveries", ["customer_id", "sent_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_cartnudge_deliveries_customer", "cartnudge_deliveries")
    op.drop_index("ix_cartnudge_recoveries_delivery", "cartnudge_recoveries")
    op.drop_index("ix_cartnudge_recoveries_completed_at", "cartnudge_recoveries")
    op.drop_table("cartnudge_recoveries")
