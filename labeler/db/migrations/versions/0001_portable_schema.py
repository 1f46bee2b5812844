"""The portable schema (SQLite and PostgreSQL); adopts a first-version workspace.

The first version kept its schema in `PRAGMA user_version` = 1, with CHECK constraints on label
sources and splits (the coding team adds sources, so they are checked in Python now), a
NOCASE-collated unique project name and no codebook version on annotations. Such a file is
renamed table by table to `v1_*`, the new tables are created, every row is copied with its id,
and the old tables are dropped, all in one transaction.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")
# children after parents for creating and copying; reversed for dropping
TABLES = ("projects", "items", "annotations", "runs", "predictions", "score_cache")


def _create_tables() -> None:
    op.create_table(
        "projects",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("guidelines", sa.Text, nullable=False, server_default=""),
        sa.Column("labels", sa.Text, nullable=False),
        sa.Column("target", sa.Text, nullable=False, server_default=""),
        sa.Column("template", sa.Text, nullable=False),
        sa.Column("phrases", sa.Text, nullable=False),
        sa.Column("heldout_share", sa.Double, nullable=False, server_default="0.2"),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("updated_at", sa.Double, nullable=False),
    )
    op.create_index("projects_name_ci", "projects", [sa.text("lower(name)")], unique=True)
    op.create_table(
        "items",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column(
            "project_id", ID, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("text_key", sa.String(40), nullable=False),
        sa.Column("norm_key", sa.BigInteger, nullable=False),
        sa.Column("ext_id", sa.Text),
        sa.Column("source_name", sa.Text),
        sa.Column("source_row", sa.BigInteger),
        sa.Column("extra", sa.Text),
        sa.Column("split", sa.String(8), nullable=False),
        sa.Column("shuffle", sa.BigInteger, nullable=False),
        sa.Column("label", sa.Text),
        sa.Column("label_source", sa.Text),
        sa.Column("annotator", sa.Text),
        sa.Column("labelled_at", sa.Double),
        sa.Column("unsure", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("review", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("comment", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", sa.Double, nullable=False),
    )
    op.create_index("items_queue", "items", ["project_id", "split", "label", "id"])
    op.create_index("items_shuffle", "items", ["project_id", "split", "label", "shuffle"])
    op.create_index("items_label", "items", ["project_id", "label"])
    op.create_index("items_norm", "items", ["project_id", "norm_key"])
    if op.get_bind().dialect.name == "postgresql":  # see schema.py
        todo = sa.text("label IS NULL")
        for name, last in (("items_todo_id", "id"), ("items_todo_shuffle", "shuffle")):
            op.create_index(name, "items", ["project_id", "split", last], postgresql_where=todo)
    op.create_table(
        "annotations",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("item_id", ID, sa.ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
        sa.Column(
            "project_id", ID, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("label", sa.Text),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("annotator", sa.Text, nullable=False, server_default=""),
        sa.Column("run_id", sa.BigInteger),
        sa.Column("retracts", ID, sa.ForeignKey("annotations.id")),
        sa.Column("codebook_version", sa.Integer),
        sa.Column("created_at", sa.Double, nullable=False),
    )
    op.create_index("annotations_item", "annotations", ["item_id", "id"])
    op.create_index("annotations_project", "annotations", ["project_id", "annotator", "id"])
    op.create_index("annotations_time", "annotations", ["project_id", "created_at"])
    undo_rows = sa.text("retracts IS NOT NULL")
    op.create_index(
        "annotations_retracts",
        "annotations",
        ["retracts"],
        postgresql_where=undo_rows,
        sqlite_where=undo_rows,
    )
    op.create_table(
        "runs",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("project_id", ID, sa.ForeignKey("projects.id", ondelete="CASCADE")),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("params", sa.Text, nullable=False, server_default="{}"),
        sa.Column("status", sa.Text, nullable=False, server_default="queued"),
        sa.Column("done", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("total", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("rate", sa.Double),
        sa.Column("eta_s", sa.Double),
        sa.Column("message", sa.Text, nullable=False, server_default=""),
        sa.Column("error", sa.Text),
        sa.Column("heartbeat", sa.Double),
        sa.Column("pid", sa.Integer),
        sa.Column("model", sa.Text),
        sa.Column("run_key", sa.Text),
        sa.Column("artifact_path", sa.Text),
        sa.Column("metrics", sa.Text),
        sa.Column("log", sa.Text),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("started_at", sa.Double),
        sa.Column("finished_at", sa.Double),
    )
    op.create_index("runs_project", "runs", ["project_id", "kind", "id"])
    op.create_table(
        "predictions",
        sa.Column("run_id", ID, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("item_id", ID, sa.ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("score", sa.Double, nullable=False),
        sa.Column("scores", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("run_id", "item_id"),
        sqlite_with_rowid=False,
    )
    op.create_index("predictions_score", "predictions", ["run_id", "score"])
    op.create_index("predictions_item", "predictions", ["item_id"])
    op.create_table(
        "score_cache",
        sa.Column("run_key", sa.Text, nullable=False),
        sa.Column("text_key", sa.String(40), nullable=False),
        sa.Column("scores", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("run_key", "text_key"),
        sqlite_with_rowid=False,
    )


def upgrade() -> None:
    bind = op.get_bind()
    legacy = bind.dialect.name == "sqlite" and "projects" in sa.inspect(bind).get_table_names()
    if legacy:
        for name in TABLES:
            op.rename_table(name, f"v1_{name}")
        # index names are global in SQLite: the old ones must go before the new ones exist
        for (index,) in bind.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type='index' AND sql IS NOT NULL"
        ).fetchall():
            op.execute(sa.text(f'DROP INDEX "{index}"'))
    _create_tables()
    if legacy:
        for name in TABLES:
            old = {c["name"] for c in sa.inspect(bind).get_columns(f"v1_{name}")}
            cols = ", ".join(
                c["name"] for c in sa.inspect(bind).get_columns(name) if c["name"] in old
            )
            op.execute(sa.text(f"INSERT INTO {name} ({cols}) SELECT {cols} FROM v1_{name}"))
        for name in reversed(TABLES):
            op.execute(sa.text(f"DROP TABLE v1_{name}"))
