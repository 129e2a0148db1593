"""``pss worker --once`` sends the mails a committed change queued, with SMTP settings from the
ini file or the environment."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from pss_core import cli
from pss_core.audit import Actor
from pss_core.demo import create_demo
from pss_core.models import EventPlayer, MailStatus, OutgoingMail, Tournament
from pss_core.services import tickets as tickets_svc
from pss_testing.database import migrated_sqlite

from .conftest import parts


def _sell_committed(engine, pss, smtp_settings=None) -> str:
    with Session(engine, expire_on_commit=False) as s:
        event = create_demo(s, pss)
        s.flush()
        player = s.scalars(
            select(EventPlayer).where(EventPlayer.event_id == event.id).order_by(EventPlayer.number)
        ).first()
        assert player is not None
        player.player.email = "carol@players.example"
        main = s.scalars(
            select(Tournament).where(Tournament.event_id == event.id, Tournament.slug == "main")
        ).one()
        tickets_svc.sell_tickets(
            s, pss, player=player, count=2, tournament=main, actor=Actor("desk", user_id=None)
        )
        s.commit()
        return event.name


def _statuses(engine) -> list[MailStatus]:
    with Session(engine) as s:
        return list(s.scalars(select(OutgoingMail.status)))


def test_worker_process_sends_what_was_committed(committed_engine, database_url, pss, inbox):
    if committed_engine.dialect.name == "postgresql":
        with committed_engine.begin() as conn:
            conn.execute(
                text(
                    "TRUNCATE procrastinate_jobs, procrastinate_periodic_defers "
                    "RESTART IDENTITY CASCADE"
                )
            )
    else:
        inbox.refuse = True  # SQLite sent it after commit; make that fail so the worker retries
    name = _sell_committed(committed_engine, pss)
    assert _statuses(committed_engine) == [MailStatus.PENDING]
    if committed_engine.dialect.name == "sqlite":
        inbox.refuse = False
        with committed_engine.begin() as conn:  # due again, as if the wait had passed
            conn.execute(text("UPDATE outgoing_mails SET next_attempt_at = created_at"))
    env = {
        **os.environ,
        "PSS_SMTP_HOST": "127.0.0.1",
        "PSS_SMTP_PORT": str(inbox.port),
        "PSS_MAIL_FROM": "desk@pss.example",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "pss_core.cli", "--db", database_url, "worker", "--once"],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _statuses(committed_engine) == [MailStatus.SENT]
    [msg] = inbox.messages
    assert msg["From"] == "desk@pss.example"
    assert name in msg["Subject"]
    assert name in parts(msg)[1]


def test_worker_reads_smtp_settings_from_the_ini_file(tmp_path, pss, inbox, monkeypatch, capsys):
    from pss_core import db

    url = migrated_sqlite(tmp_path / "pss.sqlite")
    engine = db.make_engine(url)
    for var in ("PSS_SMTP_HOST", "PSS_SMTP_PORT"):
        monkeypatch.delenv(var, raising=False)
    _sell_committed(engine, pss)  # no SMTP configured in this process: the mail waits
    with Session(engine) as s:
        [waiting] = s.scalars(select(OutgoingMail)).all()
        assert waiting.status == MailStatus.PENDING
        assert "no SMTP server is configured" in (waiting.last_error or "")
    ini = tmp_path / "pss.ini"
    ini.write_text(
        f"[app:main]\npss.mail.smtp_host = 127.0.0.1\n"
        f"pss.mail.smtp_port = {inbox.port}\npss.mail.from = td@pss.example\n"
    )
    assert cli.main(["--db", url, "worker", "--once", "--config", str(ini)]) == 0
    assert "pss.mail.resend_due: sent=1" in capsys.readouterr().out
    assert [m["From"] for m in inbox.messages] == ["td@pss.example"]
    engine.dispose()
