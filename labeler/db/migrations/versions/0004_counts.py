"""A million tweets (issue 16): per-project item counts and the indexes pages need at scale.

`item_counts` holds how many items each project has per (split, label, label source), '' for
none, `shuffle_counts` its pool items per 1/1024 of the shuffle rank's range (the overlap set's
size) and `projects.duplicate_texts` how many of its items repeat an earlier one's exact text:
all filled here from `items` and from then on changed in the transaction that changes an item's
label or adds items (labeler/db/counts.py). The indexes let pages read only what they show: a
project's items in id order, its disputed items, its newest annotation, people's labels (not an
import's), decisions, and (items_norm rebuilt with each tweet's length) a sample's lengths.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")

# frozen copy of counts.COUNT_ITEMS over every project
FILL = (
    "INSERT INTO item_counts (project_id, split, label, source, n)"
    " SELECT project_id, split, COALESCE(label, ''),"
    " CASE WHEN label IS NULL THEN '' ELSE COALESCE(label_source, '') END, COUNT(*)"
    " FROM items GROUP BY project_id, split, COALESCE(label, ''),"
    " CASE WHEN label IS NULL THEN '' ELSE COALESCE(label_source, '') END"
)


def _partial(name: str, table: str, columns: list[str], where: str) -> None:
    clause = sa.text(where)
    op.create_index(name, table, columns, postgresql_where=clause, sqlite_where=clause)


def upgrade() -> None:
    op.create_table(
        "item_counts",
        sa.Column(
            "project_id", ID, sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("split", sa.String(8), primary_key=True, nullable=False),
        sa.Column("label", sa.Text, primary_key=True, nullable=False),
        sa.Column("source", sa.Text, primary_key=True, nullable=False),
        sa.Column("n", sa.BigInteger, nullable=False),
        sqlite_with_rowid=False,
    )
    op.execute(FILL)
    op.create_table(
        "shuffle_counts",
        sa.Column(
            "project_id", ID, sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("slice", sa.Integer, primary_key=True, nullable=False),
        sa.Column("n", sa.BigInteger, nullable=False),
        sqlite_with_rowid=False,
    )
    op.execute(  # frozen copy of counts.COUNT_SLICES: 1024 slices of the shuffle rank's range
        "INSERT INTO shuffle_counts (project_id, slice, n) SELECT project_id,"
        f" shuffle / {2**50}, COUNT(*) FROM items WHERE split='pool'"
        f" GROUP BY project_id, shuffle / {2**50}"
    )
    op.add_column(
        "projects",
        sa.Column("duplicate_texts", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.execute(
        "UPDATE projects SET duplicate_texts = (SELECT COUNT(*) - COUNT(DISTINCT text_key)"
        " FROM items WHERE items.project_id=projects.id)"
    )
    op.create_index("items_project", "items", ["project_id", "id"])
    op.drop_index("items_norm", table_name="items")  # + each tweet's length: see schema.py
    op.create_index("items_norm", "items", ["project_id", "norm_key", sa.text("length(text)")])
    _partial("items_disputed", "items", ["project_id", "id"], "disputed = 1")
    op.create_index("annotations_newest", "annotations", ["project_id", "id"])
    _partial(
        "annotations_human",
        "annotations",
        ["project_id", "annotator", "created_at"],
        "source = 'human' AND retracts IS NULL",
    )
    _partial("annotations_decisions", "annotations", ["project_id", "id"], "source = 'adjudicated'")
    _partial(
        "codes_human",
        "codes",
        ["project_id", "annotator"],
        "source = 'human' AND label IS NOT NULL",
    )


def downgrade() -> None:
    raise NotImplementedError("No downgrade.")
