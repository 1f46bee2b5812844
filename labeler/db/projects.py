"""Projects: name, label set, guidelines, zero-shot template and phrases, held-out share."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from ..errors import StoreError
from ..settings import DEFAULT_TEMPLATE, ProjectSettings, hypotheses
from .engine import Database


@dataclass
class Project:
    id: int
    name: str
    labels: list[str]
    guidelines: str = ""
    target: str = ""
    template: str = DEFAULT_TEMPLATE
    phrases: list[str] = field(default_factory=list)
    heldout_share: float = 0.2

    def hypothesis(self, phrase: str) -> str:
        """The NLI hypothesis for one label phrase, with the project's target filled in."""
        return hypotheses(self.template, self.target, [phrase])[0]

    def settings(self) -> ProjectSettings:
        fields = asdict(self)
        fields.pop("id")
        return ProjectSettings(**fields)


def _from_row(row: Any) -> Project:
    return Project(
        id=row.id,
        name=row.name,
        labels=json.loads(row.labels),
        guidelines=row.guidelines,
        target=row.target,
        template=row.template,
        phrases=json.loads(row.phrases),
        heldout_share=row.heldout_share,
    )


_INSERT = text(
    "INSERT INTO projects (name, guidelines, labels, target, template, phrases, heldout_share,"
    " created_at, updated_at) VALUES (:name, :guidelines, :labels, :target, :template, :phrases,"
    " :heldout_share, :now, :now) RETURNING id"
)
_UPDATE = text(
    "UPDATE projects SET name=:name, guidelines=:guidelines, labels=:labels, target=:target,"
    " template=:template, phrases=:phrases, heldout_share=:heldout_share, updated_at=:now"
    " WHERE id=:id"
)


def _values(s: ProjectSettings) -> dict[str, Any]:
    return {
        "name": s.name,
        "guidelines": s.guidelines,
        "labels": json.dumps(s.labels),
        "target": s.target,
        "template": s.template,
        "phrases": json.dumps(s.phrases),
        "heldout_share": s.heldout_share,
        "now": time.time(),
    }


class Projects:
    def __init__(self, db: Database):
        self.db = db

    def create(
        self,
        name: str,
        labels: list[str],
        *,
        guidelines: str = "",
        target: str = "",
        template: str = DEFAULT_TEMPLATE,
        phrases: list[str] | None = None,
        heldout_share: float = 0.2,
    ) -> Project:
        s = ProjectSettings(name, labels, guidelines, target, template, phrases, heldout_share)
        try:
            with self.db.write() as conn:
                project_id = conn.execute(_INSERT, _values(s)).scalar_one()
        except IntegrityError as exc:
            raise StoreError(
                f"A project named {s.name!r} exists already; pick another name."
            ) from exc
        return self.get(project_id)

    def get(self, project_id: int) -> Project:
        with self.db.read() as conn:
            row = conn.execute(
                text("SELECT * FROM projects WHERE id=:id"), {"id": project_id}
            ).first()
        if row is None:
            raise StoreError(f"No project with id {project_id}; it may have been deleted.")
        return _from_row(row)

    def by_name(self, name: str) -> Project | None:
        with self.db.read() as conn:
            row = conn.execute(
                text("SELECT * FROM projects WHERE lower(name)=lower(:name)"), {"name": name}
            ).first()
        return _from_row(row) if row else None

    def all(self) -> list[Project]:
        with self.db.read() as conn:
            rows = conn.execute(text("SELECT * FROM projects ORDER BY updated_at DESC, id DESC"))
            return [_from_row(r) for r in rows]

    def update(self, project_id: int, **changes: Any) -> Project:
        """Change name, guidelines, target, template, phrases or held-out share (labels are fixed
        once items carry them, to keep history meaningful; add labels by creating a project)."""
        current = self.get(project_id)
        allowed = {"name", "guidelines", "target", "template", "phrases", "heldout_share", "labels"}
        unknown = set(changes) - allowed
        if unknown:
            raise StoreError(f"Cannot change {', '.join(sorted(unknown))} of a project.")
        merged = {**asdict(current), **changes}
        merged.pop("id")
        if (
            "labels" in changes
            and changes["labels"] != current.labels
            and self._has_labels(project_id)
        ):
            raise StoreError(
                "This project already has labels; its label set can no longer change. "
                "Create a new project for a different label set."
            )
        if "labels" in changes and "phrases" not in changes:
            merged["phrases"] = None
        s = ProjectSettings(**merged)
        try:
            with self.db.write() as conn:
                conn.execute(_UPDATE, {**_values(s), "id": project_id})
        except IntegrityError as exc:
            raise StoreError(f"A project named {s.name!r} exists already.") from exc
        return self.get(project_id)

    def delete(self, project_id: int) -> None:
        with self.db.write() as conn:
            conn.execute(text("DELETE FROM projects WHERE id=:id"), {"id": project_id})

    def touch(self, conn: Any, project_id: int) -> None:
        conn.execute(
            text("UPDATE projects SET updated_at=:now WHERE id=:id"),
            {"now": time.time(), "id": project_id},
        )

    def _has_labels(self, project_id: int) -> bool:
        with self.db.read() as conn:
            return bool(
                conn.execute(
                    text("SELECT 1 FROM items WHERE project_id=:p AND label IS NOT NULL LIMIT 1"),
                    {"p": project_id},
                ).first()
            )
