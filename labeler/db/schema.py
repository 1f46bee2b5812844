"""The tables, as SQLAlchemy Core objects that render for SQLite and PostgreSQL alike.

What the shape guarantees:
- Annotations are append-only: (item, annotator, label, source, codebook version, time). Undo
  appends a row that `retracts` the undone one. `items.label` mirrors the item's newest label,
  written in the same transaction, so queues and counts are index lookups at 1M items.
- Label sources and run kinds are checked in Python (`SOURCES`, `RUN_KINDS`), not by CHECK
  constraints, so adding one (the coding team's `adjudicated`) needs no table rebuild.
- Each item is put once, at import, in the held-out share or the pool (`split`), by a hash of its
  normalised text; held-out items are the test set of every model.
- Zero-shot scores are cached per (run key, exact text); per-run predictions keep every score.

The migrations in `migrations/versions/` create these tables; a test checks that they agree.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    and_,
    func,
)

SOURCES = ("human", "accepted-suggestion", "imported", "adjudicated")
ROLES = ("owner", "adjudicator", "annotator")
RUN_KINDS = ("zeroshot", "train", "predict", "live", "embed")
ACTIVE = ("queued", "running")

# SQLite's rowid alias must be spelt INTEGER; PostgreSQL gets 64-bit keys.
ID = BigInteger().with_variant(Integer, "sqlite")

metadata = MetaData()

projects = Table(
    "projects",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False),
    Column("guidelines", Text, nullable=False, server_default=""),
    Column("labels", Text, nullable=False),  # JSON list, label order = score column order
    Column("target", Text, nullable=False, server_default=""),
    Column("template", Text, nullable=False),
    Column("phrases", Text, nullable=False),  # JSON list, one per label
    Column("heldout_share", Double, nullable=False, server_default="0.2"),
    Column("created_at", Double, nullable=False),
    Column("updated_at", Double, nullable=False),
    # the coding team (migration 0002): the overlap set's share of the pool, coders per overlap
    # item, whether overlap items hide the model's suggestion, the codebook version in force
    Column("overlap_share", Double, nullable=False, server_default="0.2"),
    Column("coders_per_item", Integer, nullable=False, server_default="2"),
    Column("blind_suggestions", SmallInteger, nullable=False, server_default="1"),
    Column("codebook_version", Integer, nullable=False, server_default="0"),
    # (migration 0004) items whose exact text an earlier item of the project has, kept by each
    # import (counts.py): the Data page's "Duplicate texts" without grouping every item
    Column("duplicate_texts", BigInteger, nullable=False, server_default="0"),
)
Index("projects_name_ci", func.lower(projects.c.name), unique=True)

items = Table(
    "items",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("project_id", ID, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("text", Text, nullable=False),
    Column("text_key", String(40), nullable=False),  # SHA-1 of the exact text
    Column("norm_key", BigInteger, nullable=False),  # 64-bit hash of the normalised text
    Column("ext_id", Text),
    Column("source_name", Text),
    Column("source_row", BigInteger),
    Column("extra", Text),  # JSON object of the imported file's other columns
    Column("split", String(8), nullable=False),  # 'heldout' | 'pool'
    Column("shuffle", BigInteger, nullable=False),
    Column("label", Text),
    Column("label_source", Text),
    Column("annotator", Text),
    Column("labelled_at", Double),
    Column("unsure", SmallInteger, nullable=False, server_default="0"),
    Column("review", SmallInteger, nullable=False, server_default="0"),
    Column("comment", Text, nullable=False, server_default=""),
    Column("created_at", Double, nullable=False),
    Column("coders", SmallInteger, nullable=False, server_default="0"),  # people with a code
    Column("disputed", SmallInteger, nullable=False, server_default="0"),  # codes disagree
)
Index("items_queue", items.c.project_id, items.c.split, items.c.label, items.c.id)
Index("items_shuffle", items.c.project_id, items.c.split, items.c.label, items.c.shuffle)
Index("items_label", items.c.project_id, items.c.label)
# (migration 0004 adds the length) the Data page's lengths of a uniform sample of tweets (a
# range of norm_key) come from this index alone: read from the rows, 50k of them spread over a
# 1M-item table took 8x longer than over 100k items
Index("items_norm", items.c.project_id, items.c.norm_key, func.length(items.c.text))
# (migration 0004) a project's items in id order: the Data page's table and the codebook's
# labelled examples read their first page, where items_label sorted every labelled item
Index("items_project", items.c.project_id, items.c.id)
# the adjudication queue: the few disputed items, without reading the project's codes
_DISPUTED = items.c.disputed == 1
Index(
    "items_disputed", items.c.project_id, items.c.id,
    postgresql_where=_DISPUTED, sqlite_where=_DISPUTED,
)  # fmt: skip
# PostgreSQL will not order by an index whose middle column is only constrained by IS NULL
# (SQLite does, with items_queue): there the queue's usual question, "the next unlabelled tweet",
# gets small partial indexes (13 ms -> 0.02 ms at 100k items). SQLite skips them: they would
# only slow its imports.
_TODO = items.c.label.is_(None)
POSTGRES_ONLY_INDEXES = ("items_todo_id", "items_todo_shuffle")
for _name, _last in zip(POSTGRES_ONLY_INDEXES, (items.c.id, items.c.shuffle), strict=True):
    Index(_name, items.c.project_id, items.c.split, _last, postgresql_where=_TODO).ddl_if(
        dialect="postgresql"
    )

annotations = Table(
    "annotations",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("item_id", ID, ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
    Column("project_id", ID, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("label", Text),
    Column("source", Text, nullable=False),
    Column("annotator", Text, nullable=False, server_default=""),
    Column("run_id", BigInteger),
    Column("retracts", ID, ForeignKey("annotations.id")),
    Column("codebook_version", Integer),
    Column("created_at", Double, nullable=False),
)
Index("annotations_item", annotations.c.item_id, annotations.c.id)
Index("annotations_project", annotations.c.project_id, annotations.c.annotator, annotations.c.id)
Index("annotations_time", annotations.c.project_id, annotations.c.created_at)
# undo asks "was this row retracted?": only undo rows carry `retracts`, so the index stays tiny
_UNDO_ROWS = annotations.c.retracts.isnot(None)
Index(
    "annotations_retracts", annotations.c.retracts,
    postgresql_where=_UNDO_ROWS, sqlite_where=_UNDO_ROWS,
)  # fmt: skip
# (migration 0004) the newest annotation of a project (Agreement's cache key), a person's labels
# today (Annotate's counter: an import's rows made today are not read), and the decisions
Index("annotations_newest", annotations.c.project_id, annotations.c.id)
_HUMAN = and_(annotations.c.source == "human", annotations.c.retracts.is_(None))
Index(
    "annotations_human", annotations.c.project_id, annotations.c.annotator,
    annotations.c.created_at, postgresql_where=_HUMAN, sqlite_where=_HUMAN,
)  # fmt: skip
_DECIDED = annotations.c.source == "adjudicated"
Index(
    "annotations_decisions", annotations.c.project_id, annotations.c.id,
    postgresql_where=_DECIDED, sqlite_where=_DECIDED,
)  # fmt: skip

runs = Table(
    "runs",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("project_id", ID, ForeignKey("projects.id", ondelete="CASCADE")),
    Column("kind", Text, nullable=False),
    Column("params", Text, nullable=False, server_default="{}"),
    Column("status", Text, nullable=False, server_default="queued"),
    Column("done", BigInteger, nullable=False, server_default="0"),
    Column("total", BigInteger, nullable=False, server_default="0"),
    Column("rate", Double),
    Column("eta_s", Double),
    Column("message", Text, nullable=False, server_default=""),
    Column("error", Text),
    Column("heartbeat", Double),
    Column("pid", Integer),
    Column("model", Text),
    Column("run_key", Text),
    Column("artifact_path", Text),
    Column("metrics", Text),
    Column("log", Text),
    Column("created_at", Double, nullable=False),
    Column("started_at", Double),
    Column("finished_at", Double),
)
Index("runs_project", runs.c.project_id, runs.c.kind, runs.c.id)

predictions = Table(
    "predictions",
    metadata,
    Column(
        "run_id", ID, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True, nullable=False
    ),
    Column(
        "item_id", ID, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True, nullable=False
    ),
    Column("label", Text, nullable=False),
    Column("score", Double, nullable=False),
    Column("scores", Text, nullable=False),  # JSON list in the run's label order
    # queue keys (migration 0003): top-1 minus top-2, entropy, a diversity-aware rank, and for
    # labelled items the live model's label-quality score (low = suspect)
    Column("margin", Double),
    Column("entropy", Double),
    Column("diverse_rank", BigInteger),
    Column("suspect", Double),
    sqlite_with_rowid=False,
)
Index("predictions_score", predictions.c.run_id, predictions.c.score)
Index("predictions_item", predictions.c.item_id)
for _key in ("margin", "entropy", "diverse_rank", "suspect"):
    Index(f"predictions_{_key}", predictions.c.run_id, predictions.c[_key])

score_cache = Table(
    "score_cache",
    metadata,
    Column("run_key", Text, primary_key=True, nullable=False),
    Column("text_key", String(40), primary_key=True, nullable=False),
    Column("scores", Text, nullable=False),
    sqlite_with_rowid=False,
)

# -- the coding team (migration 0002) ----------------------------------------------------------

users = Table(
    "users",
    metadata,
    Column("name", Text, primary_key=True, nullable=False),
    Column("password_hash", Text),  # argon2; NULL: no password yet (cannot sign in)
    Column("is_owner", SmallInteger, nullable=False, server_default="0"),  # owns every project
    Column("created_at", Double, nullable=False),
)
Index("users_name_ci", func.lower(users.c.name), unique=True)

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True, nullable=False),  # SHA-256 of the token
    Column("name", Text, nullable=False),
    Column("created_at", Double, nullable=False),
    Column("expires_at", Double, nullable=False),
)

members = Table(
    "members",
    metadata,
    Column("project_id", ID, ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    Column("name", Text, primary_key=True, nullable=False),
    Column("role", Text, nullable=False),  # ROLES, checked in Python
    Column("created_at", Double, nullable=False),
)

# Each person's code in effect per item, mirrored from `annotations` in the same transaction (as
# `items.label` mirrors the gold label): agreement, the queue's "not coded by me yet" and gold
# derivation read one row per coder instead of replaying history. Also each person's own unsure
# flag and comment, so a second coder never sees the first one's note.
codes = Table(
    "codes",
    metadata,
    Column("item_id", ID, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("annotator", Text, primary_key=True, nullable=False),
    Column("project_id", ID, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("label", Text),
    Column("source", Text),
    Column("codebook_version", Integer),
    Column("unsure", SmallInteger, nullable=False, server_default="0"),
    Column("comment", Text, nullable=False, server_default=""),
    Column("updated_at", Double, nullable=False),
    sqlite_with_rowid=False,
)
Index("codes_project", codes.c.project_id, codes.c.annotator)
# (migration 0004) the people labelling here: Team's progress and Agreement read their codes
# without the import's (600k codes at 1M items)
_PEOPLE_CODES = and_(codes.c.source == "human", codes.c.label.isnot(None))
Index(
    "codes_human", codes.c.project_id, codes.c.annotator,
    postgresql_where=_PEOPLE_CODES, sqlite_where=_PEOPLE_CODES,
)  # fmt: skip

# Who is looking at which item right now; a lease expires on its own (a closed tab frees it).
leases = Table(
    "leases",
    metadata,
    Column("item_id", ID, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("annotator", Text, primary_key=True, nullable=False),
    # (migration 0005) the card holding it: one person's two tabs are two holders
    Column("sitting", Text, primary_key=True, nullable=False, server_default=""),
    Column("project_id", ID, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("expires_at", Double, nullable=False),
    sqlite_with_rowid=False,
)
Index("leases_holder", leases.c.project_id, leases.c.annotator)

codebook = Table(
    "codebook",
    metadata,
    Column("project_id", ID, ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    Column("version", Integer, primary_key=True, nullable=False),
    Column("entries", Text, nullable=False),  # JSON {label: {definition, include, exclude,
    Column("author", Text, nullable=False, server_default=""),  #   examples: [item ids]}}
    Column("created_at", Double, nullable=False),
)

# (migration 0004) items per (split, label, label source) of each project, '' for none: see
# counts.py. Changed in the transaction that changes an item's label or adds items.
item_counts = Table(
    "item_counts",
    metadata,
    Column("project_id", ID, ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    Column("split", String(8), primary_key=True, nullable=False),
    Column("label", Text, primary_key=True, nullable=False),
    Column("source", Text, primary_key=True, nullable=False),
    Column("n", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)

# (migration 0004) pool items per slice of the shuffle rank (counts.SHUFFLE_SLICE): the
# overlap set's size without counting the pool below the cut item by item
shuffle_counts = Table(
    "shuffle_counts",
    metadata,
    Column("project_id", ID, ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    Column("slice", Integer, primary_key=True, nullable=False),
    Column("n", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)

# Tables a copy or archive carries; sessions and leases are moments, not data.
TABLES = (
    "projects", "items", "annotations", "runs", "predictions", "score_cache",
    "users", "members", "codes", "codebook", "item_counts", "shuffle_counts",
)  # fmt: skip
