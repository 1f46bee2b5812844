"""Sign-in: the server's setting, password hashing and checking, and signing a person in.

The server setting `TWEET_LABELER_AUTH` says how people sign in:

- `off` (the default): nobody signs in. A person alone on a laptop types their name once in the
  sidebar, and every label carries it.
- `password`: people sign in with a name and a password. Passwords are stored as argon2id hashes
  (argon2-cffi's defaults); a browser keeps a random session token (`labeler.db.users`: the store
  keeps only its SHA-256) for 14 days or until it signs out. Create the first owner with
  `python -m labeler user add NAME --owner`, reset a password with `python -m labeler user passwd
  NAME`.
- `oidc`: Streamlit's built-in login (`st.login`) against the lab's identity provider; a person's
  name is their e-mail address (put it on rosters, and make the first owner with `python -m
  labeler user add ana@lab.example --owner --no-password`). See `ui/auth.py` for the
  `.streamlit/secrets.toml` it needs.

Labels always carry the signed-in name when sign-in is on: a `?annotator=` in a link does nothing.
Anything but "off" also restricts which model folders the pages read (`labeler.models.policy`).
"""

from __future__ import annotations

import os
from enum import StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ..db.users import SESSION_DAYS, SESSION_TTL_S, new_token, token_hash
from ..errors import InputError, SettingsError

if TYPE_CHECKING:
    from ..db.users import Users

AUTH_ENV = "TWEET_LABELER_AUTH"
MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # argon2 takes any length; a megabyte "password" would only cost CPU

__all__ = [
    "AUTH_ENV",
    "MIN_PASSWORD",
    "SESSION_DAYS",
    "SESSION_TTL_S",
    "AuthMode",
    "check_password",
    "hash_password",
    "new_token",
    "sign_in",
    "token_hash",
    "verify_password",
]


class AuthMode(StrEnum):
    OFF = "off"
    PASSWORD = "password"
    OIDC = "oidc"

    @classmethod
    def from_env(cls) -> AuthMode:
        """TWEET_LABELER_AUTH (unset or empty: off); any other value is a SettingsError."""
        raw = os.environ.get(AUTH_ENV, "").strip().lower()
        if not raw:
            return cls.OFF
        try:
            return cls(raw)
        except ValueError:
            raise SettingsError(
                f"{AUTH_ENV}={raw!r} is not a sign-in mode: set it to off (nobody signs in), "
                "password (names and passwords kept in the store) or oidc (the lab's identity "
                "provider through Streamlit's login)."
            ) from None

    @property
    def signs_in(self) -> bool:
        return self is not AuthMode.OFF


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    return PasswordHasher()


def check_password(password: str) -> None:
    """Raise an InputError unless `password` may be used (MIN_PASSWORD characters or more)."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        n = len(password) if isinstance(password, str) else 0
        raise InputError(
            f"The password has {n} character(s); use at least {MIN_PASSWORD} "
            "(a few unrelated words make a good one)."
        )
    if len(password) > MAX_PASSWORD:
        raise InputError(
            f"The password is longer than {MAX_PASSWORD} characters; use a shorter one."
        )


def hash_password(password: str) -> str:
    """The argon2id hash to store for `password` (checked by `check_password` first)."""
    check_password(password)
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` is the one `password_hash` was made from (False for no hash, or one
    that is not an argon2 hash)."""
    if not password_hash or not isinstance(password, str) or len(password) > MAX_PASSWORD:
        return False
    try:
        return _hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    return _hasher().hash(new_token())


def sign_in(users: Users, name: str, password: str) -> str | None:
    """A new session token for `name` when `password` is theirs, else None. An unknown name takes
    as long to refuse as a wrong password (a decoy hash is checked), so timing tells nobody who
    has an account. An outdated hash is upgraded on the way."""
    user = users.get(name) if (name or "").strip() else None
    if user is None or not user.password_hash:
        verify_password(_decoy_hash(), password)
        return None
    if not verify_password(user.password_hash, password):
        return None
    if _hasher().check_needs_rehash(user.password_hash):
        users.set_password(user.name, _hasher().hash(password))
    return users.create_session(user.name)
