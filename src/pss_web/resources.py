"""The traversal tree: root → events → an Event context per URL segment → its children."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from pss_core.models import Event


class Resource:
    __name__: str | None = None
    __parent__: Any = None

    def __init__(self, request: Any, name: str | None = None, parent: Any = None) -> None:
        self.request = request
        self.__name__ = name
        self.__parent__ = parent


class Root(Resource):
    def __init__(self, request: Any) -> None:
        super().__init__(request, "", None)

    def __getitem__(self, name: str) -> Any:
        if name == "events":
            return EventsResource(self.request, "events", self)
        raise KeyError(name)


class EventsResource(Resource):
    def __getitem__(self, slug: str) -> EventResource:
        event = self.request.dbsession.scalars(select(Event).where(Event.slug == slug)).first()
        if event is None:
            raise KeyError(slug)
        return EventResource(self.request, slug, self, event)


class EventResource(Resource):
    def __init__(self, request: Any, name: str, parent: Any, event: Event) -> None:
        super().__init__(request, name, parent)
        self.event = event
