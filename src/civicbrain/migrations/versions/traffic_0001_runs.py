"""Traffic: signal-control runs done through the platform.

Revision ID: traffic_0001
Revises: 0001_core
Create Date: 2026-11-24 13:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "traffic_0001"
down_revision = "0001_core"
branch_labels = ("traffic",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "traffic_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("scenario", sa.String(length=100), nullable=False),
        sa.Column("begin", sa.Float(), nullable=False),
        sa.Column("end", sa.Float(), nullable=False),
        sa.Column("scale", sa.Float(), nullable=False),
        sa.Column("seeds", sa.JSON(), nullable=False),
        sa.Column("controller", sa.String(length=64), nullable=False),
        sa.Column("candidate", sa.String(length=64), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("junctions", sa.JSON(), nullable=False),
        sa.Column("incidents", sa.JSON(), nullable=False),
        sa.Column("decisions", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_traffic_runs")),
    )
    with op.batch_alter_table("traffic_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_traffic_runs_scenario"), ["scenario"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("traffic_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_traffic_runs_scenario"))
    op.drop_table("traffic_runs")
