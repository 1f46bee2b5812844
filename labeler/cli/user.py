"""`python -m labeler user`: the people who may sign in, their passwords and project roles.

Passwords are asked twice at the terminal (never echoed, never an argument: arguments show in
`ps` and shell history); `--password-stdin` reads one line from standard input instead, for
scripts. Only the password's argon2 hash is stored. A password change signs the person out of
every browser.

Examples:
  python -m labeler user add ana --owner              # the first owner: manages every project
  python -m labeler user add bo --project Biden       # an annotator on project Biden
  echo "$PW" | python -m labeler user passwd bo --password-stdin
  python -m labeler user role bo --project Biden --role adjudicator
  python -m labeler user list
  python -m labeler user add ana@lab.example --owner --no-password   # TWEET_LABELER_AUTH=oidc
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from ..errors import InputError
from .args import unknown_project

ROLES = ("owner", "adjudicator", "annotator")  # labeler.db.schema.ROLES (checked there too)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "user",
        help="add people, set passwords and project roles (for sign-in)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    add = actions.add_parser("add", help="add a person (asks for their password)")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--owner", action="store_true", help="owner of every project")
    _password_args(add, allow_none=True)
    _project_args(add, required=False)
    add.set_defaults(func=run_add)

    passwd = actions.add_parser("passwd", help="set a person's password (signs them out)")
    passwd.add_argument("name", metavar="NAME")
    _password_args(passwd, allow_none=False)
    passwd.set_defaults(func=run_passwd)

    role = actions.add_parser("role", help="put a person on a project's roster, or take them off")
    role.add_argument("name", metavar="NAME")
    _project_args(role, required=True)
    role.add_argument("--remove", action="store_true", help="take them off the roster")
    role.set_defaults(func=run_role)

    listing = actions.add_parser("list", help="list people (or one project's roster)")
    listing.add_argument("--project", metavar="NAME_OR_ID", help="list this project's roster")
    listing.set_defaults(func=run_list)
    return p


def _password_args(p: argparse.ArgumentParser, *, allow_none: bool) -> None:
    how = p.add_mutually_exclusive_group()
    how.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input (for scripts)",
    )
    if allow_none:
        how.add_argument(
            "--no-password",
            action="store_true",
            help="no password (signs in through the identity provider, TWEET_LABELER_AUTH=oidc)",
        )


def _project_args(p: argparse.ArgumentParser, *, required: bool) -> None:
    p.add_argument(
        "--project", required=required, metavar="NAME_OR_ID", help="project whose roster to change"
    )
    p.add_argument(
        "--role",
        choices=ROLES,
        default="annotator",
        help="role on that project (default: annotator)",
    )


def read_password(from_stdin: bool) -> str:
    """The new password: one line of standard input, or asked twice at the terminal."""
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise InputError("--password-stdin: standard input was empty; pipe the password in.")
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        raise InputError(
            "No terminal to ask for the password on: pass --password-stdin and pipe it in."
        )
    first = getpass.getpass("New password: ")
    if getpass.getpass("Again: ") != first:
        raise InputError("The two passwords differ; nothing was changed. Try again.")
    return first


def _project(store: Any, wanted: str) -> Any:
    """A project by name (any case), else by id."""
    project = store.projects.by_name(wanted)
    if project is None and wanted.strip().isdigit():
        project = next((p for p in store.projects.all() if p.id == int(wanted)), None)
    if project is None:
        raise unknown_project(store, wanted)
    return project


def run_add(args: argparse.Namespace) -> int:
    from ..db.store import open_store
    from ..db.users import Users, check_name
    from ..team.auth import hash_password

    check_name(args.name)  # before the store opens
    store = open_store()
    try:
        users = Users(store.db)
        users.check_free(args.name)  # before the password is asked
        project = _project(store, args.project) if args.project else None
        hashed = None if args.no_password else hash_password(read_password(args.password_stdin))
        user = users.add(args.name, hashed, owner=args.owner)
        said = f"added {user.name}" + (" (owner of every project)" if user.is_owner else "")
        if project is not None:
            users.add_member(project.id, user.name, args.role)
            said += f", {args.role} on project '{project.name}'"
    finally:
        store.close()
    print(said + ("; no password: signs in through the identity provider" if not hashed else ""))
    return 0


def run_passwd(args: argparse.Namespace) -> int:
    from ..db.store import open_store
    from ..db.users import Users
    from ..team.auth import hash_password

    store = open_store()
    try:
        users = Users(store.db)
        user = users.require(args.name)
        users.set_password(user.name, hash_password(read_password(args.password_stdin)))
    finally:
        store.close()
    print(f"password of {user.name} changed; their browsers are signed out")
    return 0


def run_role(args: argparse.Namespace) -> int:
    from ..db.store import open_store
    from ..db.users import Users

    store = open_store()
    try:
        users = Users(store.db)
        project = _project(store, args.project)
        if args.remove:
            users.remove_member(project.id, args.name)
            said = f"{args.name} is off project '{project.name}'"
        else:
            users.add_member(project.id, args.name, args.role)
            said = f"{args.name} is {args.role} on project '{project.name}'"
    finally:
        store.close()
    print(said)
    return 0


def run_list(args: argparse.Namespace) -> int:
    from ..db.store import open_store
    from ..db.users import Users

    store = open_store()
    try:
        users = Users(store.db)
        if args.project:
            project = _project(store, args.project)
            roster = users.roster(project.id)
            owners = [u.name for u in users.all() if u.is_owner]
        else:
            people = users.all()
    finally:
        store.close()
    if args.project:
        print(f"project '{project.name}':")
        for name, role in roster:
            print(f"  {name}\t{role}")
        for name in owners:
            print(f"  {name}\towner (of every project)")
        if not roster and not owners:
            print("  nobody yet: add people with `python -m labeler user role NAME --project P`")
        return 0
    for u in people:
        flags = ["owner" if u.is_owner else "", "password set" if u.has_password else "no password"]
        print("\t".join([u.name, *filter(None, flags)]))
    if not people:
        print("nobody yet: add the first owner with `python -m labeler user add NAME --owner`")
    return 0
