"""Incremental sweeps (issue 14): per order, when its decisions can next change without a
change in the shop (cartnudge.core.incremental.revisit_time); each sweep run's mode (full or
incremental) and the fingerprint of the configuration it ran with.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cartnudge_revisits",
        sa.Column("order_id", sa.String(64), primary_key=True),
        sa.Column("revisit_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_cartnudge_revisits_at", "cartnudge_revisits", ["revisit_at"])
    op.add_column("cartnudge_runs", sa.Column("mode", sa.String(16)))
    op.add_column("cartnudge_runs", sa.Column("fingerprint", sa.String(64)))


def downgrade() -> None:
    op.drop_column("cartnudge_runs", "fingerprint")
    op.drop_column("cartnudge_runs", "mode")
    op.drop_index("ix_cartnudge_revisits_at", table_name="cartnudge_revisits")
    op.drop_table("cartnudge_revisits")
