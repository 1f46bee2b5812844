"""The learning loop: per-prediction queue keys (margin, entropy, a diversity-aware rank) and the
suspect-label score of labelled items.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("predictions", sa.Column("margin", sa.Double))  # top-1 minus top-2
    op.add_column("predictions", sa.Column("entropy", sa.Double))
    op.add_column("predictions", sa.Column("diverse_rank", sa.BigInteger))
    op.add_column("predictions", sa.Column("suspect", sa.Double))  # label quality, low = suspect
    for key in ("margin", "entropy", "diverse_rank", "suspect"):  # each queue order an index scan
        op.create_index(f"predictions_{key}", "predictions", ["run_id", key])


def downgrade() -> None:
    raise NotImplementedError("No downgrade.")
