"""``request.dbsession``: one SQLAlchemy session per request, joined to pyramid_tm."""

from __future__ import annotations

from typing import Any

import zope.sqlalchemy
from sqlalchemy.orm import Session

from pss_core.db import make_engine, make_session_factory
from pss_core.jobs.queue import RUNTIME_INFO
from pss_web.readcache import read_engine
from pss_web.runtime import job_runtime, plugins_of


def get_tm_session(session_factory: Any, transaction_manager: Any, request: Any = None) -> Session:
    dbsession: Session = session_factory(info={"request": request})
    zope.sqlalchemy.register(dbsession, transaction_manager=transaction_manager)
    return dbsession


def includeme(config: Any) -> None:
    settings = config.get_settings()
    settings["tm.manager_hook"] = "pyramid_tm.explicit_manager"
    config.include("pyramid_tm")
    factory = settings.get("pss.session_factory")
    if factory is None:
        engine = settings.get("pss.engine") or make_engine(settings.get("pss.database_url"))
        factory = make_session_factory(engine)
    config.registry["dbsession_factory"] = factory

    config.registry["pss.read_engine"] = read_engine(factory.kw["bind"])

    def dbsession(request: Any) -> Session:
        # Tests hand in their own session through the environ to keep each test rolled back.
        session = request.environ.get("app.dbsession")
        if session is None:
            session = get_tm_session(factory, request.tm, request=request)
        # Jobs it defers that run here after commit (SQLite) get the app's plugins, payment
        # providers and SMTP settings (a test's own runtime stays).
        registry = request.registry
        session.info.setdefault(RUNTIME_INFO, lambda: job_runtime(registry, session.get_bind()))
        return session

    config.add_request_method(dbsession, reify=True)

    def pss(request: Any) -> Any:
        return plugins_of(request.registry)

    config.add_request_method(pss, reify=True)
