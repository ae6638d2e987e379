"""Coupon codes and who was given one when (issue 13).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cartnudge_coupons",
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("discount", sa.String(64), nullable=False),
        sa.Column("valid_until", sa.DateTime),
        sa.Column("imported_at", sa.DateTime, nullable=False),
        sa.Column("delivery_id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), unique=True),
        sa.Column("assigned_at", sa.DateTime),
        sa.Column("expires_at", sa.DateTime),
        sa.Column("redeemed_order_id", sa.String(64)),
        sa.Column("redeemed_at", sa.DateTime),
    )
    op.create_index("ix_cartnudge_coupons_free", "cartnudge_coupons", ["delivery_id", "code"])
    op.create_table(
        "cartnudge_coupon_grants",
        sa.Column("person", sa.String(300), primary_key=True),
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("granted_at", sa.DateTime, nullable=False),
    )
    op.create_index(
        "ix_cartnudge_coupon_grants_person", "cartnudge_coupon_grants", ["person", "granted_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_cartnudge_coupon_grants_person", "cartnudge_coupon_grants")
    op.drop_table("cartnudge_coupon_grants")
    op.drop_index("ix_cartnudge_coupons_free", "cartnudge_coupons")
    op.drop_table("cartnudge_coupons")
