"""A lease names the card that holds it (a person's tab), not only the person.

With leases per person, two tabs of one person were one holder: both cards could show the same
tweet, and either tab giving its tweets back (starting over, leaving for another page) gave
back the other tab's too. `sitting` is the card's own token ('' for callers without a card).
Leases are moments, not data (no copy or archive carries them): the table is rebuilt empty
rather than converted; a card open during the upgrade leases its tweets again on its next key.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def _leases(per_sitting: bool) -> None:
    """The leases table, keyed by (item, person) before this revision and by (item, person,
    sitting) from it."""
    key = ["item_id", "annotator", *(["sitting"] if per_sitting else [])]
    op.create_table(
        "leases",
        sa.Column("item_id", ID, sa.ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
        sa.Column("annotator", sa.Text, nullable=False),
        *(
            [sa.Column("sitting", sa.Text, nullable=False, server_default="")]
            if per_sitting
            else []
        ),
        sa.Column(
            "project_id", ID, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("expires_at", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint(*key),
        sqlite_with_rowid=False,
    )
    op.create_index("leases_holder", "leases", ["project_id", "annotator"])


def upgrade() -> None:
    op.drop_table("leases")
    _leases(per_sitting=True)


def downgrade() -> None:
    op.drop_table("leases")
    _leases(per_sitting=False)
