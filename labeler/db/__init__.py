"""The store: projects, items, labels, runs and scores in SQLite (default) or PostgreSQL.

Modules: `engine` (URL, connections, the two kinds of transaction, error messages without
passwords), `schema` (tables), `migrate` + `migrations/` (Alembic), `projects`, `items` (import,
counts, pages, flags), `filters`, `queue` (what to show next), `annotations` (append-only labels,
undo, gold split, accepted suggestions), `runs` (jobs, predictions, score cache), `export` (the
export columns), `sql` (the few statements that differ by engine), `copy` (laptop -> server),
`store` (`Store`, `open_store`).
"""
