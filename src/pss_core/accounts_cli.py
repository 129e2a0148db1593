"""``pss admin``: event-owner accounts and passwords from the command line, and the first-run
setup that gives a new instance its administrator (``pss initdb``, ``pss serve``).

A password is never taken from the command line in clear unless forced (it shows in ``ps`` and in
the shell's history): it is asked for on the terminal, typed twice, or read from standard input
(``--password-stdin``) or a file (``--password-file``) by scripts.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

import attrs

from pss_core.errors import DomainError

if TYPE_CHECKING:  # the services are imported when a command runs, not for ``pss --help``
    from sqlalchemy.engine import Engine

    from pss_core.audit import Actor

#: What the first-run messages tell a person to run.
CREATE_ADMIN_HINT = "pss admin create-owner USERNAME --admin"


@attrs.frozen
class Terminal:
    """Where prompts go and answers come from: the real terminal by default, so that tests can
    drive the same code through a pseudo-terminal."""

    stdin: TextIO = attrs.field(factory=lambda: sys.stdin)
    stdout: TextIO = attrs.field(factory=lambda: sys.stdout)
    stderr: TextIO = attrs.field(factory=lambda: sys.stderr)
    ask_secret: Callable[[str], str] = getpass.getpass

    @property
    def interactive(self) -> bool:
        try:
            return self.stdin.isatty()
        except (AttributeError, ValueError):  # closed or replaced stdin
            return False

    def ask(self, prompt: str) -> str:
        self.stdout.write(prompt)
        self.stdout.flush()
        line = self.stdin.readline()
        if not line:
            raise EOFError
        return line.rstrip("\r\n")


class CommandError(Exception):
    """A refusal of a ``pss admin`` command: its message goes to stderr, the command exits 2."""


def _cli_actor() -> Actor:
    from pss_core.audit import Actor

    # The audit log says the change came from the command line of this machine's user.
    try:
        who = getpass.getuser()
    except (KeyError, OSError):  # no user name (a container without /etc/passwd entry)
        who = "unknown"
    return Actor(f"command line ({who})")


def ask_new_password(term: Terminal, *, minimum: int | None = None, tries: int = 3) -> str:
    """A new password typed twice on the terminal (not echoed); at least ``minimum``
    characters (default: an account password's minimum)."""
    from pss_core.services import accounts

    if minimum is None:
        minimum = accounts.ACCOUNT_PASSWORD_MIN
    for _ in range(tries):
        first = term.ask_secret(f"New password (at least {minimum} characters): ")
        second = term.ask_secret("The same password again: ")
        try:
            return accounts.check_new_password(first, second, minimum=minimum)
        except DomainError as exc:
            term.stderr.write(f"{exc.message}\n")
    raise CommandError("No password set.")


def _password_from(args: argparse.Namespace, term: Terminal) -> str:
    """The new password from ``--password-stdin``, ``--password-file``, ``--password`` or, on a
    terminal, a prompt."""
    from pss_core.services import accounts

    if args.password_stdin:
        line = term.stdin.readline()
        return accounts.check_new_password(line.rstrip("\r\n"))
    if args.password_file:
        try:
            with open(args.password_file, encoding="utf-8") as fh:
                line = fh.readline()
        except OSError as exc:
            raise CommandError(f"Cannot read the password file: {exc.strerror}.") from None
        return accounts.check_new_password(line.rstrip("\r\n"))
    if args.password is not None:
        term.stderr.write(
            "Warning: a password on the command line can be seen by other users "
            "of this machine (ps) and stays in the shell's history; prefer "
            "--password-stdin or --password-file.\n"
        )
        return accounts.check_new_password(args.password)
    if not term.interactive:
        raise CommandError(
            "No terminal to ask for the password on: give it with "
            "--password-stdin or --password-file."
        )
    return ask_new_password(term)


def create_admin_interactively(engine: Engine, term: Terminal, *, optional: bool) -> bool:
    """Ask for the instance administrator's username and password and create the account.
    With ``optional``, an empty username skips it; returns whether an account was made."""
    from pss_core import db
    from pss_core.services import accounts

    term.stdout.write(
        "This pss instance has no accounts yet. Create its administrator: an event owner who "
        "can also create other event owners' accounts.\n"
    )
    for _ in range(3):
        try:
            name = term.ask(
                "Administrator's username" + (" (empty to skip): " if optional else ": ")
            ).strip()
        except EOFError:
            name = ""
        if not name:
            if optional:
                term.stdout.write(f"Skipped. Later: {CREATE_ADMIN_HINT}\n")
                return False
            continue
        password = ask_new_password(term)
        try:
            with db.session_scope(engine) as session:
                user = accounts.create_owner(
                    session, name, password, instance_admin=True, actor=_cli_actor()
                )
                username = user.username
        except DomainError as exc:
            term.stderr.write(f"{exc.message}\n")
            continue
        term.stdout.write(f"Administrator {username} created: log in at /admin/login.\n")
        return True
    raise CommandError("No administrator created.")


def first_run(engine: Engine, term: Terminal, *, optional: bool) -> bool:
    """Make sure a new instance gets an administrator before anyone can reach it: on a database
    without accounts, ask for one on a terminal, else raise :class:`CommandError` saying how to
    create one (with ``optional``, as for ``pss initdb``, only say so). Returns whether the
    instance has an account now."""
    from pss_core import db
    from pss_core.services import accounts

    with db.session_scope(engine) as session:
        if accounts.has_users(session):
            return True
    if term.interactive:
        return create_admin_interactively(engine, term, optional=optional)
    message = (
        f"This pss instance has no accounts yet. Create its administrator with\n"
        f"    {CREATE_ADMIN_HINT}\n"
        "(it asks for the password, or reads it with --password-stdin), or serve the "
        "demo event with --demo."
    )
    if optional:
        term.stdout.write(message + "\n")
        return False
    raise CommandError(message)


# --- the commands -----------------------------------------------------------------------------


def cmd_create_owner(args: argparse.Namespace, term: Terminal | None = None) -> int:
    from pss_core import db
    from pss_core.services import accounts

    term = term or Terminal()
    engine = db.make_engine(args.db)
    db.upgrade(engine)
    try:
        password = _password_from(args, term)
        with db.session_scope(engine) as session:
            user = accounts.create_owner(
                session,
                args.username,
                password,
                full_name=args.full_name or "",
                email=args.email,
                instance_admin=args.admin,
                actor=_cli_actor(),
            )
            what = "Instance administrator" if user.is_instance_admin else "Event owner"
            name = user.username
    except (CommandError, DomainError) as exc:
        term.stderr.write(f"{getattr(exc, 'message', exc)}\n")
        return 2
    term.stdout.write(f"{what} {name} created: log in at /admin/login.\n")
    return 0


def cmd_set_password(args: argparse.Namespace, term: Terminal | None = None) -> int:
    from pss_core import db
    from pss_core.services import accounts
    from pss_core.services.setup import user_by_name

    term = term or Terminal()
    engine = db.make_engine(args.db)
    db.upgrade(engine)
    try:
        with db.session_scope(engine) as session:
            user = user_by_name(session, args.username)
            if user is None:
                raise CommandError(f"There is no account called {args.username!r}.")
            if not user.is_event_owner:
                raise CommandError(
                    f"{user.username} is not an event owner: staff passwords belong to each "
                    "event and are set on its staff page."
                )
        password = _password_from(args, term)
        with db.session_scope(engine) as session:
            user = user_by_name(session, args.username)
            assert user is not None
            ended = accounts.set_password(session, user, password, actor=_cli_actor())
            name = user.username
    except (CommandError, DomainError) as exc:
        term.stderr.write(f"{getattr(exc, 'message', exc)}\n")
        return 2
    term.stdout.write(
        f"New password set for {name}; {ended} admin login"
        f"{'s' if ended != 1 else ''} ended. Passwords for events are "
        "unchanged.\n"
    )
    return 0


def cmd_owners(args: argparse.Namespace, term: Terminal | None = None) -> int:
    from pss_core import db
    from pss_core.services import accounts

    term = term or Terminal()
    engine = db.make_engine(args.db)
    db.upgrade(engine)
    with db.session_scope(engine) as session:
        for user in accounts.owners(session):
            flag = "  (instance administrator)" if user.is_instance_admin else ""
            term.stdout.write(f"{user.username}{flag}\n")
    return 0


def _password_options(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input",
    )
    source.add_argument(
        "--password-file", metavar="FILE", help="read the password from the first line of FILE"
    )
    source.add_argument("--password", help=argparse.SUPPRESS)


def add_parser(subparsers: Any) -> None:
    admin = subparsers.add_parser(
        "admin",
        help="event-owner accounts and passwords",
        description="Event-owner accounts and passwords. Without --password-stdin or "
        "--password-file the password is asked for on the terminal, twice.",
    )
    sub = admin.add_subparsers(dest="admin_command", required=True)
    create = sub.add_parser("create-owner", help="create an event-owner account")
    create.add_argument("username")
    create.add_argument(
        "--admin", action="store_true", help="also an instance administrator (creates event owners)"
    )
    create.add_argument("--full-name", default="")
    create.add_argument("--email")
    _password_options(create)
    create.set_defaults(func=cmd_create_owner)
    setpw = sub.add_parser(
        "set-password", help="give an account a new password (its admin logins end)"
    )
    setpw.add_argument("username")
    _password_options(setpw)
    setpw.set_defaults(func=cmd_set_password)
    sub.add_parser("owners", help="list the event-owner accounts").set_defaults(func=cmd_owners)
