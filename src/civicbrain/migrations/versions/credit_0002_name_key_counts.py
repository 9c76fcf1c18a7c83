"""Credit: posting counts of the name keys (``credit_name_key_counts``), built from the keys held now.

A check weighs its blocking keys by rarity; counting a common key's postings in ``credit_name_keys``
on every check cost more than the rest of its queries. The counts are kept in step by
``candidates.write_name_keys`` from here on.

Revision ID: credit_0002
Revises: credit_0001
Create Date: 2026-12-07 06:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "credit_0002"
down_revision = "credit_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credit_name_key_counts",
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("postings", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_credit_name_key_counts")),
    )
    op.execute(
        "INSERT INTO credit_name_key_counts (key, postings) SELECT key, count(*) FROM credit_name_keys GROUP BY key"
    )


def downgrade() -> None:
    op.drop_table("credit_name_key_counts")
