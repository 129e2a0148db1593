"""Views."""

from __future__ import annotations

from typing import Any

from pyramid.view import view_config
from sqlalchemy import select

from pss_core.models import Event
from pss_web.resources import EventResource, Root


@view_config(context=Root, renderer="home.html")
def home(context: Root, request: Any) -> dict[str, Any]:
    events = request.dbsession.scalars(select(Event).order_by(Event.id)).all()
    return {"events": events}


@view_config(context=EventResource, renderer="event.html")
def event_home(context: EventResource, request: Any) -> dict[str, Any]:
    return {"event": context.event}
