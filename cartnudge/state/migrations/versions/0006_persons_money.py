"""Real shops: 64-bit amounts (a cart of 2^31 yen or more is a real row, not an error) and an
index on the recipient, so the frequency cap and attribution find a person's reminders by
address as fast as by customer id (SPEC "person").

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_BIG = sa.BigInteger()


def upgrade() -> None:
    with op.batch_alter_table("cartnudge_deliveries") as batch:
        batch.alter_column("amount", type_=_BIG, existing_type=sa.Integer)
    with op.batch_alter_table("cartnudge_recoveries") as batch:
        batch.alter_column("amount", type_=_BIG, existing_type=sa.Integer, existing_nullable=False)
    op.create_index(
        "ix_cartnudge_deliveries_recipient",
        "cartnudge_deliveries",
        ["recipient", "created_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_cartnudge_deliveries_recipient", "cartnudge_deliveries")
    with op.batch_alter_table("cartnudge_recoveries") as batch:
        batch.alter_column("amount", type_=sa.Integer, existing_type=_BIG, existing_nullable=False)
    with op.batch_alter_table("cartnudge_deliveries") as batch:
        batch.alter_column("amount", type_=sa.Integer, existing_type=_BIG)
