"""The redeemed order's amount on a coupon code, for the report's discount cost of a
percentage code (issue 13).

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("cartnudge_coupons", sa.Column("redeemed_amount", sa.BigInteger))


def downgrade() -> None:
    op.drop_column("cartnudge_coupons", "redeemed_amount")
