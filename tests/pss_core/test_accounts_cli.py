"""``pss admin`` and the first run of ``pss serve`` and ``pss initdb``, as real processes: on a
pseudo-terminal where they ask for the administrator, without one where they must refuse or say
how, and with the password on standard input or in a file for scripts."""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import socket
import subprocess
import sys
import termios
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy import select as sql_select

from pss_core import db
from pss_core.demo import DEMO_LOGINS
from pss_core.models import LoginKind, LoginSession, User
from pss_core.security import verify_secret
from pss_core.services import auth, setup
from pss_testing.database import migrated_sqlite

PSS = [sys.executable, "-m", "pss_core.cli"]
#: Generous: a loaded CI machine starts Python and migrates a database slowly.
TIMEOUT = 180


def _url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'pss.sqlite'}"


def run(tmp_path: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """``pss --db <tmp> ARGS`` without a terminal."""
    return subprocess.run(
        [*PSS, "--db", _url(tmp_path), *args],
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def users(tmp_path: Path) -> list[User]:
    engine = db.make_engine(_url(tmp_path))
    try:
        with db.session_scope(engine) as session:
            found = list(session.scalars(sql_select(User).order_by(User.id)))
            session.expunge_all()
            return found
    finally:
        engine.dispose()


def _make_controlling_terminal() -> None:
    # In the child, after setsid: the pseudo-terminal on stdin becomes /dev/tty, which is
    # where getpass reads passwords from.
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    """A process on a pseudo-terminal: read what it prints, type answers."""

    def __init__(self, argv: Sequence[str]) -> None:
        self.master, slave = os.openpty()
        self.proc = subprocess.Popen(
            argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
            preexec_fn=_make_controlling_terminal,
        )
        os.close(slave)
        self.output = ""

    def _read(self, deadline: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], max(deadline - time.monotonic(), 0))
        if not ready:
            return False
        try:
            chunk = os.read(self.master, 4096)
        except OSError:  # the process closed the terminal
            return False
        if not chunk:
            return False
        self.output += chunk.decode(errors="replace")
        return True

    def expect(self, text: str, timeout: float = TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            if not self._read(deadline) and (
                time.monotonic() >= deadline or self.proc.poll() is not None
            ):
                raise AssertionError(f"{text!r} never came; the terminal shows:\n{self.output}")
        # What was waited for is consumed, so the next expect looks for a new prompt.
        self.output = self.output[self.output.index(text) + len(text) :]

    def type(self, line: str) -> None:
        os.write(self.master, (line + "\n").encode())

    def finish(self, timeout: float = TIMEOUT) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self._read(min(deadline, time.monotonic() + 0.5))
        while self._read(time.monotonic() + 0.1):
            pass
        os.close(self.master)
        return self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
        with contextlib.suppress(OSError):  # closed already by finish()
            os.close(self.master)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def no_published_credentials(found: list[User]) -> None:
    for user in found:
        for login in DEMO_LOGINS:
            assert not (
                user.username == login.username
                and verify_secret(user.password_hash, login.password)
            ), user.username


# --- first run --------------------------------------------------------------------------------


def test_serve_without_a_terminal_refuses_an_empty_database(tmp_path: Path) -> None:
    done = run(tmp_path, "serve", "--port", str(free_port()))
    assert done.returncode == 2
    assert "no accounts yet" in done.stderr
    assert "pss admin create-owner USERNAME --admin" in done.stderr
    assert "serving" not in done.stdout
    assert users(tmp_path) == []


def test_serve_on_a_terminal_asks_for_the_administrator(tmp_path: Path) -> None:
    term = Terminal([*PSS, "--db", _url(tmp_path), "serve", "--port", str(free_port())])
    try:
        term.expect("Administrator's username: ")
        term.type("root")
        term.expect("New password (at least 8 characters): ")
        term.type("root-pass-1")
        term.expect("The same password again: ")
        term.type("root-pass-2")
        term.expect("The two new passwords are not the same.")
        term.expect("New password (at least 8 characters): ")
        term.type("root-pass-1")
        term.expect("The same password again: ")
        term.type("root-pass-1")
        term.expect("Administrator root created")
        term.expect("pss is serving on")
        # The typed password never shows on the terminal.
        assert "root-pass-1" not in term.output
    finally:
        term.stop()
    (root,) = users(tmp_path)
    assert (root.username, root.is_event_owner, root.is_instance_admin) == ("root", True, True)
    assert verify_secret(root.password_hash, "root-pass-1")
    no_published_credentials([root])


def test_serve_setup_on_an_empty_database_creates_no_known_credentials(tmp_path: Path) -> None:
    run(tmp_path, "serve", "--port", str(free_port()))
    run(tmp_path, "initdb")
    assert users(tmp_path) == []
    echo = subprocess.run(
        [
            *PSS,
            "--db",
            _url(tmp_path),
            "admin",
            "create-owner",
            "root",
            "--admin",
            "--password-stdin",
        ],
        input="root-pass-1\n",
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert echo.returncode == 0, echo.stderr
    no_published_credentials(users(tmp_path))


def test_serve_with_the_demo_needs_no_administrator(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [*PSS, "--db", _url(tmp_path), "serve", "--demo", "--port", str(free_port())],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        seen = []
        for line in proc.stdout:
            seen.append(line)
            if "owner-pass" in line:
                break
        assert any("pss is serving on" in line for line in seen), seen
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
    assert {u.username for u in users(tmp_path)} >= {"owner", "desk", "scorekeeper"}


def test_initdb_offers_the_prompt_and_may_skip_it(tmp_path: Path) -> None:
    term = Terminal([*PSS, "--db", _url(tmp_path), "initdb"])
    term.expect("Administrator's username (empty to skip): ")
    term.type("")
    term.expect("Skipped. Later: pss admin create-owner USERNAME --admin")
    assert term.finish() == 0
    assert users(tmp_path) == []
    term = Terminal([*PSS, "--db", _url(tmp_path), "initdb"])
    term.expect("Administrator's username (empty to skip): ")
    term.type("boss")
    term.expect("New password (at least 8 characters): ")
    term.type("boss-pass-1")
    term.expect("The same password again: ")
    term.type("boss-pass-1")
    term.expect("Administrator boss created")
    assert term.finish() == 0
    (boss,) = users(tmp_path)
    assert boss.is_instance_admin
    assert verify_secret(boss.password_hash, "boss-pass-1")
    # Once there is an account, initdb asks nothing.
    done = run(tmp_path, "initdb")
    assert done.returncode == 0
    assert "Administrator" not in done.stdout


def test_initdb_without_a_terminal_only_says_how(tmp_path: Path) -> None:
    done = run(tmp_path, "initdb")
    assert done.returncode == 0
    assert "pss admin create-owner USERNAME --admin" in done.stdout
    assert users(tmp_path) == []


# --- pss admin ----------------------------------------------------------------------------------


@pytest.fixture
def migrated(tmp_path: Path) -> None:
    """The database at the newest schema already (what ``pss admin`` would make it first), so
    each command's own upgrade finds nothing to do; the first-run tests above start empty."""
    migrated_sqlite(tmp_path / "pss.sqlite")


def test_create_owner_from_stdin_a_file_and_the_terminal(tmp_path: Path, migrated: None) -> None:
    done = run(
        tmp_path, "admin", "create-owner", "alice", "--password-stdin", stdin="alice-pass-1\n"
    )
    assert done.returncode == 0, done.stderr
    assert "Event owner alice created" in done.stdout
    secret = tmp_path / "pw"
    secret.write_text("bob-pass-12\n")
    done = run(
        tmp_path,
        "admin",
        "create-owner",
        "bob",
        "--admin",
        "--full-name",
        "Bob B",
        "--password-file",
        str(secret),
    )
    assert done.returncode == 0, done.stderr
    assert "Instance administrator bob created" in done.stdout
    term = Terminal([*PSS, "--db", _url(tmp_path), "admin", "create-owner", "carol"])
    term.expect("New password (at least 8 characters): ")
    term.type("carol-pass-1")
    term.expect("The same password again: ")
    term.type("carol-pass-1")
    term.expect("Event owner carol created")
    assert term.finish() == 0
    found = {u.username: u for u in users(tmp_path)}
    assert verify_secret(found["alice"].password_hash, "alice-pass-1")
    assert (found["bob"].full_name, found["bob"].is_instance_admin) == ("Bob B", True)
    assert not found["alice"].is_instance_admin
    assert verify_secret(found["carol"].password_hash, "carol-pass-1")
    listed = run(tmp_path, "admin", "owners").stdout.splitlines()
    assert listed == ["alice", "bob  (instance administrator)", "carol"]


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        ((), None, "No terminal to ask for the password on"),
        (("--password-stdin",), "short\n", "A password needs at least 8 characters."),
        (("--password-file", "/nonexistent/pw"), None, "Cannot read the password file"),
    ],
)
def test_create_owner_refusals(
    tmp_path: Path, migrated: None, args: tuple[str, ...], stdin: str | None, message: str
) -> None:
    done = run(tmp_path, "admin", "create-owner", "dave", *args, stdin=stdin)
    assert done.returncode == 2
    assert message in done.stderr
    assert users(tmp_path) == []


def test_a_password_on_the_command_line_works_with_a_warning(
    tmp_path: Path, migrated: None
) -> None:
    done = run(tmp_path, "admin", "create-owner", "erin", "--password", "erin-pass-1")
    assert done.returncode == 0
    assert "Warning: a password on the command line can be seen" in done.stderr
    # Not offered in the help: only the two safe ways are.
    assert "--password " not in run(tmp_path, "admin", "create-owner", "--help").stdout
    (erin,) = users(tmp_path)
    assert verify_secret(erin.password_hash, "erin-pass-1")


def test_set_password_ends_the_admin_logins_only(tmp_path: Path, migrated: None) -> None:
    run(tmp_path, "admin", "create-owner", "frank", "--password-stdin", stdin="frank-pass-1\n")
    engine = db.make_engine(_url(tmp_path))
    try:
        with db.session_scope(engine) as session:
            frank = setup.user_by_name(session, "frank")
            assert frank is not None
            event = setup.create_event(
                session, frank, "Frank Open", slug="frank", owner_password="frank-event"
            )
            setup.add_event_user(session, event, "gina", "gina-event", ["desk"])
            auth.login_admin(session, "frank", "frank-pass-1", auth.Client("192.0.2.1"))
            auth.login_staff(session, event, "frank", "frank-event", auth.Client("192.0.2.1"))
        done = run(
            tmp_path, "admin", "set-password", "frank", "--password-stdin", stdin="frank-pass-2\n"
        )
        assert done.returncode == 0, done.stderr
        assert "1 admin login ended" in done.stdout
        with db.session_scope(engine) as session:
            frank = setup.user_by_name(session, "frank")
            assert frank is not None
            assert verify_secret(frank.password_hash, "frank-pass-2")
            live = {
                row.kind
                for row in session.scalars(
                    sql_select(LoginSession).where(
                        LoginSession.user_id == frank.id, LoginSession.revoked_at.is_(None)
                    )
                )
            }
            assert live == {LoginKind.STAFF}
        # A staff-only account has no account password to set: its passwords are per event.
        done = run(
            tmp_path, "admin", "set-password", "gina", "--password-stdin", stdin="gina-pass-12\n"
        )
        assert (done.returncode, "not an event owner" in done.stderr) == (2, True)
        done = run(
            tmp_path, "admin", "set-password", "nobody", "--password-stdin", stdin="whatever-1\n"
        )
        assert (done.returncode, "no account called 'nobody'" in done.stderr) == (2, True)
    finally:
        engine.dispose()
