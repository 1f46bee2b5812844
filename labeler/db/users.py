"""People, their sign-in sessions and each project's roster.

- `users`: one row per person (name unique whatever its case), an argon2 hash of their password
  (hashing and checking are `labeler.team.auth`'s; this module only stores the hash) and whether
  they own every project (`is_owner`, the first owner is made with `python -m labeler user add
  NAME --owner`).
- `sessions`: a browser's sign-in. The token it holds is never stored: only its SHA-256, so a copy
  of the database signs nobody in. A session lasts SESSION_TTL_S (14 days) and ends on sign-out,
  on a password change and when its person is deleted.
- `members`: who works on which project, as "owner", "adjudicator" or "annotator" (`ROLES`).
  A global owner counts as "owner" on every project without a row.

Names are matched case-insensitively and returned as first written ("Ana" signs in as "ana").
"""

from __future__ import annotations

import hashlib
import secrets
import time
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from ..errors import StoreError
from .engine import Database
from .schema import ROLES

MAX_NAME = 64
SESSION_DAYS = 14
SESSION_TTL_S = SESSION_DAYS * 24 * 3600.0
TOKEN_BYTES = 32  # secrets.token_urlsafe(32): 43 characters, 256 bits


def new_token() -> str:
    """A fresh session token for a browser (never stored as it is)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """What the store keeps of a token: its SHA-256, in hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_name(name: str) -> str:
    """The name as stored (spaces around it removed), or a StoreError saying what is wrong."""
    if not isinstance(name, str) or not name.strip():
        raise StoreError("A person's name cannot be empty.")
    name = name.strip()
    if len(name) > MAX_NAME:
        raise StoreError(
            f"The name {name[:20]!r}... is {len(name)} characters long; use at most {MAX_NAME}."
        )
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name):
        raise StoreError(
            f"The name {name!r} contains control characters (tabs, line breaks, invisible marks); "
            "type it again without them."
        )
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise StoreError(f"Unknown role {role!r}: use one of {', '.join(ROLES)}.")
    return role


@dataclass(frozen=True)
class User:
    name: str
    is_owner: bool
    created_at: float
    password_hash: str | None = field(default=None, repr=False)

    @property
    def has_password(self) -> bool:
        return bool(self.password_hash)


def _user(row: Any) -> User:
    return User(row.name, bool(row.is_owner), row.created_at, row.password_hash)


class Users:
    def __init__(self, db: Database):
        self.db = db

    # -- people ---------------------------------------------------------------------------------
    def add(self, name: str, password_hash: str | None = None, owner: bool = False) -> User:
        """A new person; a name already taken (in any case) is a StoreError."""
        name = self.check_free(name)
        try:
            with self.db.write() as conn:
                conn.execute(
                    text(
                        "INSERT INTO users (name, password_hash, is_owner, created_at)"
                        " VALUES (:name, :hash, :owner, :now)"
                    ),
                    {"name": name, "hash": password_hash, "owner": int(owner), "now": time.time()},
                )
        except IntegrityError as exc:  # another process added the same name meanwhile
            raise StoreError(self._taken(name)) from exc
        return self.require(name)

    def check_free(self, name: str) -> str:
        """The name as it would be stored, or a StoreError: not a valid name, or taken."""
        name = check_name(name)
        if self.get(name) is not None:
            raise StoreError(self._taken(name))
        return name

    @staticmethod
    def _taken(name: str) -> str:
        return (
            f"A person named {name!r} exists already (names ignore case); pick another name, or "
            "reset their password with `python -m labeler user passwd NAME`."
        )

    def get(self, name: str) -> User | None:
        with self.db.read() as conn:
            row = conn.execute(
                text("SELECT * FROM users WHERE lower(name) = lower(:name)"),
                {"name": (name or "").strip()},
            ).first()
        return _user(row) if row else None

    def require(self, name: str) -> User:
        user = self.get(name)
        if user is None:
            known = [u.name for u in self.all()]
            listed = f"; the people are: {', '.join(known)}" if known else "; there is nobody yet"
            raise StoreError(
                f"Nobody is named {name!r}{listed}. Add them with "
                "`python -m labeler user add NAME`."
            )
        return user

    def all(self) -> list[User]:
        with self.db.read() as conn:
            rows = conn.execute(text("SELECT * FROM users ORDER BY lower(name)"))
            return [_user(r) for r in rows]

    def set_password(self, name: str, password_hash: str | None) -> None:
        """Replace a person's password hash (None: no password, cannot sign in with one) and end
        every session they had: a reset password signs out the browsers that knew the old one."""
        user = self.require(name)
        with self.db.write() as conn:
            conn.execute(
                text("UPDATE users SET password_hash = :hash WHERE name = :name"),
                {"hash": password_hash, "name": user.name},
            )
            conn.execute(text("DELETE FROM sessions WHERE name = :name"), {"name": user.name})

    def set_owner(self, name: str, owner: bool) -> None:
        user = self.require(name)
        with self.db.write() as conn:
            conn.execute(
                text("UPDATE users SET is_owner = :owner WHERE name = :name"),
                {"owner": int(owner), "name": user.name},
            )

    def delete(self, name: str) -> None:
        """Remove a person, their sessions and their roster places (their labels stay)."""
        user = self.require(name)
        with self.db.write() as conn:
            for table in ("sessions", "members", "users"):
                conn.execute(
                    text(f"DELETE FROM {table} WHERE lower(name) = lower(:name)"),
                    {"name": user.name},
                )

    # -- sessions -------------------------------------------------------------------------------
    def create_session(self, name: str, ttl_s: float = SESSION_TTL_S) -> str:
        """A new sign-in for `name`, valid `ttl_s` seconds; returns the token (only its hash is
        kept). Expired sessions are cleared on the way."""
        user = self.require(name)
        token, now = new_token(), time.time()
        with self.db.write() as conn:
            conn.execute(text("DELETE FROM sessions WHERE expires_at <= :now"), {"now": now})
            conn.execute(
                text(
                    "INSERT INTO sessions (token_hash, name, created_at, expires_at)"
                    " VALUES (:hash, :name, :now, :expires)"
                ),
                {"hash": token_hash(token), "name": user.name, "now": now, "expires": now + ttl_s},
            )
        return token

    def resolve_session(self, token: str | None) -> str | None:
        """The name signed in with `token`, or None (unknown, ended, expired, person deleted)."""
        if not token or not isinstance(token, str):
            return None
        with self.db.read() as conn:
            row = conn.execute(
                text(
                    "SELECT u.name FROM sessions s JOIN users u ON u.name = s.name"
                    " WHERE s.token_hash = :hash AND s.expires_at > :now"
                ),
                {"hash": token_hash(token), "now": time.time()},
            ).first()
        return row.name if row else None

    def end_session(self, token: str | None) -> None:
        """Sign out the browser holding `token` (nothing happens for an unknown token)."""
        if not token or not isinstance(token, str):
            return
        with self.db.write() as conn:
            conn.execute(
                text("DELETE FROM sessions WHERE token_hash = :hash"), {"hash": token_hash(token)}
            )

    # -- rosters --------------------------------------------------------------------------------
    def add_member(self, project_id: int, name: str, role: str = "annotator") -> None:
        """Put `name` on the project's roster as `role` (already there: the role changes). A
        person with an account is written as their account spells it."""
        check_role(role)
        name = check_name(name)
        user = self.get(name)
        name = user.name if user else name
        with self.db.write() as conn:
            if not conn.execute(
                text("SELECT 1 FROM projects WHERE id = :p"), {"p": project_id}
            ).first():
                raise StoreError(f"No project with id {project_id}; it may have been deleted.")
            changed = conn.execute(
                text(
                    "UPDATE members SET role = :role"
                    " WHERE project_id = :p AND lower(name) = lower(:name)"
                ),
                {"role": role, "p": project_id, "name": name},
            ).rowcount
            if not changed:
                conn.execute(
                    text(
                        "INSERT INTO members (project_id, name, role, created_at)"
                        " VALUES (:p, :name, :role, :now)"
                    ),
                    {"p": project_id, "name": name, "role": role, "now": time.time()},
                )

    def set_role(self, project_id: int, name: str, role: str) -> None:
        """Change the role of someone already on the roster."""
        check_role(role)
        with self.db.write() as conn:
            changed = conn.execute(
                text(
                    "UPDATE members SET role = :role"
                    " WHERE project_id = :p AND lower(name) = lower(:name)"
                ),
                {"role": role, "p": project_id, "name": (name or "").strip()},
            ).rowcount
        if not changed:
            raise StoreError(f"{name!r} is not on this project's roster; add them first.")

    def remove_member(self, project_id: int, name: str) -> None:
        with self.db.write() as conn:
            conn.execute(
                text("DELETE FROM members WHERE project_id = :p AND lower(name) = lower(:name)"),
                {"p": project_id, "name": (name or "").strip()},
            )

    def roster(self, project_id: int) -> list[tuple[str, str]]:
        """(name, role) of everyone on the project's roster, by role then name (global owners
        without a roster row are not listed: see `owners`)."""
        with self.db.read() as conn:
            rows = conn.execute(
                text("SELECT name, role FROM members WHERE project_id = :p ORDER BY lower(name)"),
                {"p": project_id},
            ).all()
        order = {role: i for i, role in enumerate(ROLES)}
        return sorted(((r.name, r.role) for r in rows), key=lambda nr: order.get(nr[1], 99))

    def role_of(self, project_id: int, name: str | None) -> str | None:
        """ "owner" for a global owner; else the roster's role; None for someone not on it."""
        if not name:
            return None
        with self.db.read() as conn:
            row = conn.execute(
                text(
                    "SELECT (SELECT is_owner FROM users WHERE lower(name) = lower(:name)) AS g,"
                    " (SELECT role FROM members WHERE project_id = :p"
                    " AND lower(name) = lower(:name)) AS role"
                ),
                {"p": project_id, "name": name.strip()},
            ).one()
        if row.g:
            return "owner"
        return row.role

    def owners(self, project_id: int) -> list[str]:
        """Who may manage the project: its roster's owners, then the global owners."""
        names = [n for n, role in self.roster(project_id) if role == "owner"]
        seen = {n.lower() for n in names}
        return names + [u.name for u in self.all() if u.is_owner and u.name.lower() not in seen]

    def projects_of(self, name: str | None) -> set[int] | None:
        """The ids of the projects `name` may open; None means every project (a global owner)."""
        if not name:
            return set()
        user = self.get(name)
        if user is not None and user.is_owner:
            return None
        with self.db.read() as conn:
            rows = conn.execute(
                text("SELECT project_id FROM members WHERE lower(name) = lower(:name)"),
                {"name": name.strip()},
            )
            return {int(r.project_id) for r in rows}
