"""The coding team: people, project rosters, each coder's code in effect, leases, the codebook.

Adds the team settings to projects, coder counts and a disputed flag to items, and fills `codes`
from the history: each person's code in effect is their newest annotation that is neither an undo
row nor undone (nor an adjudication). Items keep the label they had: labels given before this
version are not re-derived, so nothing a user sees as gold changes on upgrade.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")

# the one definition of "a person's code in effect", shared with the store (annotations.py)
CODE_IN_EFFECT = (
    "SELECT a.item_id, a.annotator, a.project_id, a.label, a.source, a.codebook_version,"
    " a.created_at FROM annotations a WHERE a.id = (SELECT MAX(b.id) FROM annotations b"
    " WHERE b.item_id=a.item_id AND b.annotator=a.annotator AND b.source != 'adjudicated'"
    " AND b.retracts IS NULL AND NOT EXISTS (SELECT 1 FROM annotations r WHERE r.retracts=b.id))"
)


def upgrade() -> None:
    team = (
        sa.Column("overlap_share", sa.Double, nullable=False, server_default="0.2"),
        sa.Column("coders_per_item", sa.Integer, nullable=False, server_default="2"),
        sa.Column("blind_suggestions", sa.SmallInteger, nullable=False, server_default="1"),
        sa.Column("codebook_version", sa.Integer, nullable=False, server_default="0"),
    )
    for column in team:
        op.add_column("projects", column)
    op.add_column("items", sa.Column("coders", sa.SmallInteger, nullable=False, server_default="0"))
    op.add_column(
        "items", sa.Column("disputed", sa.SmallInteger, nullable=False, server_default="0")
    )
    op.create_table(
        "users",
        sa.Column("name", sa.Text, primary_key=True, nullable=False),
        sa.Column("password_hash", sa.Text),
        sa.Column("is_owner", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("created_at", sa.Double, nullable=False),
    )
    op.create_index("users_name_ci", "users", [sa.text("lower(name)")], unique=True)
    op.create_table(
        "sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("expires_at", sa.Double, nullable=False),
    )
    project = sa.ForeignKey("projects.id", ondelete="CASCADE")
    item = sa.ForeignKey("items.id", ondelete="CASCADE")
    op.create_table(
        "members",
        sa.Column("project_id", ID, project, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("project_id", "name"),
    )
    op.create_table(
        "codes",
        sa.Column("item_id", ID, item, nullable=False),
        sa.Column("annotator", sa.Text, nullable=False),
        sa.Column(
            "project_id", ID, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("label", sa.Text),
        sa.Column("source", sa.Text),
        sa.Column("codebook_version", sa.Integer),
        sa.Column("unsure", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("comment", sa.Text, nullable=False, server_default=""),
        sa.Column("updated_at", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("item_id", "annotator"),
        sqlite_with_rowid=False,
    )
    op.create_index("codes_project", "codes", ["project_id", "annotator"])
    op.create_table(
        "leases",
        sa.Column("item_id", ID, sa.ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
        sa.Column("annotator", sa.Text, nullable=False),
        sa.Column(
            "project_id", ID, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("expires_at", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("item_id", "annotator"),
        sqlite_with_rowid=False,
    )
    op.create_index("leases_holder", "leases", ["project_id", "annotator"])
    op.create_table(
        "codebook",
        sa.Column(
            "project_id", ID, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("entries", sa.Text, nullable=False),
        sa.Column("author", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("project_id", "version"),
    )
    op.execute(
        "INSERT INTO codes (item_id, annotator, project_id, label, source, codebook_version,"
        f" updated_at) {CODE_IN_EFFECT}"
    )
    op.execute(
        "UPDATE items SET coders = (SELECT COUNT(*) FROM codes c WHERE c.item_id=items.id"
        " AND c.label IS NOT NULL AND c.source='human')"
    )


def downgrade() -> None:
    raise NotImplementedError("The coding team's tables hold people's labels; no downgrade.")
