"""Clicks per delivery: how many times its recovery link was resolved, first and last time.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cartnudge_deliveries") as batch:
        batch.add_column(sa.Column("clicks", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("first_click_at", sa.DateTime))
        batch.add_column(sa.Column("last_click_at", sa.DateTime))


def downgrade() -> None:
    with op.batch_alter_table("cartnudge_deliveries") as batch:
        batch.drop_column("last_click_at")
        batch.drop_column("first_click_at")
        batch.drop_column("clicks")
