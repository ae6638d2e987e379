"""Several sweepers divide the work: the bucket leases (issue 14, point 6).

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cartnudge_sweep_buckets",
        sa.Column("buckets", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("bucket", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("owner", sa.String(36)),
        sa.Column("lease_until", sa.DateTime),
        sa.Column("swept_for", sa.DateTime),
        sa.Column("swept_at", sa.DateTime),
        sa.Column("swept_by", sa.String(36)),
    )


def downgrade() -> None:
    op.drop_table("cartnudge_sweep_buckets")
