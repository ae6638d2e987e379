"""A/B tests of a step's template and delay: the variant of each delivery, who was assigned to
which variant when (intention to treat), and each test's decision or stop.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cartnudge_deliveries") as batch:
        batch.add_column(sa.Column("variant", sa.String(32)))
    op.create_table(
        "cartnudge_assignments",
        sa.Column("experiment", sa.String(64), primary_key=True),
        sa.Column("order_id", sa.String(64), primary_key=True),
        sa.Column("episode", sa.Integer, primary_key=True),
        sa.Column("variant", sa.String(32), nullable=False),
        sa.Column("customer_id", sa.String(64)),
        sa.Column("abandoned_at", sa.DateTime, nullable=False),
        sa.Column("assigned_at", sa.DateTime, nullable=False),
    )
    op.create_index(
        "ix_cartnudge_assignments_assigned_at", "cartnudge_assignments", ["assigned_at"]
    )
    op.create_table(
        "cartnudge_experiments",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),  # winner | no_difference | stopped
        sa.Column("variant", sa.String(32)),  # the winner, or the variant kept when stopped
        sa.Column("detail", sa.String(500)),
        sa.Column("decided_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("cartnudge_experiments")
    op.drop_index("ix_cartnudge_assignments_assigned_at", "cartnudge_assignments")
    op.drop_table("cartnudge_assignments")
    with op.batch_alter_table("cartnudge_deliveries") as batch:
        batch.drop_column("variant")
