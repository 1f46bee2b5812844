"""The codebook: per label a definition, include and exclude rules and example tweets. Versioned.

Every save is a new version (the old ones stay), and every label records the version in force
when it was given (`annotations.codebook_version`, `codes.codebook_version`), so after an edit the
app can say how many labels predate it. Version 0 means "no codebook written yet".
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import text

from ..errors import StoreError
from .engine import Database
from .projects import Projects
from .sql import frame, to_utc

MAX_FIELD = 5_000  # characters per rule: a codebook entry, not a manual
MAX_EXAMPLES = 10


@dataclass
class Entry:
    definition: str = ""
    include: str = ""
    exclude: str = ""
    examples: list[int] = field(default_factory=list)  # item ids of labelled tweets

    def is_empty(self) -> bool:
        return not (self.definition or self.include or self.exclude or self.examples)


@dataclass
class CodebookVersion:
    version: int
    entries: dict[str, Entry]
    author: str = ""
    created_at: float | None = None


class Codebook:
    def __init__(self, db: Database, projects: Projects):
        self.db = db
        self.projects = projects

    def current(self, project_id: int) -> CodebookVersion:
        labels = self.projects.get(project_id).labels
        with self.db.read() as conn:
            row = conn.execute(
                text(
                    "SELECT c.version, c.entries, c.author, c.created_at FROM codebook c"
                    " JOIN projects p ON p.id=c.project_id AND p.codebook_version=c.version"
                    " WHERE c.project_id=:p"
                ),
                {"p": project_id},
            ).first()
        stored = json.loads(row.entries) if row else {}
        entries = {label: Entry(**stored.get(label, {})) for label in labels}
        if row is None:
            return CodebookVersion(0, entries)
        return CodebookVersion(row.version, entries, row.author, row.created_at)

    def save(self, project_id: int, entries: dict[str, Entry], *, author: str = "") -> int:
        """Store a new version (unless nothing changed); returns the version in force."""
        project = self.projects.get(project_id)
        unknown = sorted(set(entries) - set(project.labels))
        if unknown:
            raise StoreError(
                f"The codebook names {', '.join(unknown)}, which is not a label of this project "
                f"({', '.join(project.labels)})."
            )
        for label, entry in entries.items():
            for name in ("definition", "include", "exclude"):
                if len(getattr(entry, name)) > MAX_FIELD:
                    raise StoreError(
                        f"The {name} of {label!r} is longer than {MAX_FIELD:,} characters; "
                        "shorten it (the codebook is read on every tweet)."
                    )
            if len(entry.examples) > MAX_EXAMPLES:
                raise StoreError(f"Pick at most {MAX_EXAMPLES} examples for {label!r}.")
        self._check_examples(project_id, entries)
        current = self.current(project_id)
        merged = {**current.entries, **entries}
        if current.version and merged == current.entries:
            return current.version
        payload = json.dumps({k: asdict(v) for k, v in merged.items()}, ensure_ascii=False)
        with self.db.write() as conn:
            version = (
                conn.execute(
                    text("SELECT COALESCE(MAX(version), 0) FROM codebook WHERE project_id=:p"),
                    {"p": project_id},
                ).scalar_one()
                + 1
            )
            conn.execute(
                text(
                    "INSERT INTO codebook (project_id, version, entries, author, created_at)"
                    " VALUES (:p, :v, :e, :a, :now)"
                ),
                {"p": project_id, "v": version, "e": payload, "a": author, "now": time.time()},
            )
            conn.execute(
                text("UPDATE projects SET codebook_version=:v WHERE id=:p"),
                {"v": version, "p": project_id},
            )
        return version

    def versions(self, project_id: int) -> pd.DataFrame:
        df = frame(
            self.db,
            "SELECT version, author, created_at AS time_utc FROM codebook WHERE project_id=:p"
            " ORDER BY version",
            {"p": project_id},
        )
        df["time_utc"] = to_utc(df["time_utc"])
        return df

    def predating(self, project_id: int) -> int:
        """People's labels in effect given under an older codebook version (or none)."""
        with self.db.read() as conn:
            return conn.execute(
                text(
                    "SELECT COUNT(*) FROM codes c JOIN projects p ON p.id=c.project_id"
                    " WHERE c.project_id=:p AND c.label IS NOT NULL AND c.source='human'"
                    " AND p.codebook_version>0"
                    " AND (c.codebook_version IS NULL OR c.codebook_version<p.codebook_version)"
                ),
                {"p": project_id},
            ).scalar_one()

    def example_texts(self, project_id: int, entry: Entry) -> list[str]:
        if not entry.examples:
            return []
        rows = self._items(project_id, entry.examples)
        return [rows[i] for i in entry.examples if i in rows]

    def _items(self, project_id: int, ids: list[int]) -> dict[int, Any]:
        marks = ", ".join(f":i{k}" for k in range(len(ids)))
        with self.db.read() as conn:
            found = conn.execute(
                text(f"SELECT id, text FROM items WHERE project_id=:p AND id IN ({marks})"),
                {"p": project_id, **{f"i{k}": int(i) for k, i in enumerate(ids)}},
            ).all()
        return {r.id: r.text for r in found}

    def _check_examples(self, project_id: int, entries: dict[str, Entry]) -> None:
        wanted = sorted({int(i) for e in entries.values() for i in e.examples})
        if not wanted:
            return
        missing = sorted(set(wanted) - set(self._items(project_id, wanted)))
        if missing:
            raise StoreError(
                f"Example item(s) {', '.join(map(str, missing))} are not tweets of this project."
            )


def as_text(book: CodebookVersion, examples: dict[str, list[str]] | None = None) -> str:
    """The codebook as plain text for the annotation card (never Markdown)."""
    if not book.version:
        return "No codebook written yet: the project's owner writes it on the Team page."
    parts = [f"Codebook version {book.version}"]
    for label, entry in book.entries.items():
        lines = [f"{label}"]
        for name, value in (
            ("Definition", entry.definition),
            ("Include", entry.include),
            ("Exclude", entry.exclude),
        ):
            if value.strip():
                lines.append(f"  {name}: {value.strip()}")
        for example in (examples or {}).get(label, []):
            lines.append(f"  Example: {example}")
        parts.append("\n".join(lines))
    return "\n\n".join(parts)
