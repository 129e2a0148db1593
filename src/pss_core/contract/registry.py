"""Registrars that plugins fill through the ``pss_register_*`` hooks; duplicates are refused."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, Protocol, TypeVar

from pss_core.errors import DuplicateRegistration, NotFound


class Named(Protocol):
    """Anything with a ``name``: what a registry holds."""

    @property
    def name(self) -> str: ...


T = TypeVar("T", bound=Named)


class Registry(Generic[T]):
    """Named things added by plugins. Adding a name twice is an error, never a silent override."""

    def __init__(self, what: str) -> None:
        #: What the items are, for messages ("format", "points curve").
        self.what = what
        self._items: dict[str, T] = {}
        self._owners: dict[str, str] = {}
        self.current_plugin = "?"

    def add(self, item: T) -> None:
        """Register ``item`` under its name; a name already taken raises
        :class:`~pss_core.errors.DuplicateRegistration` naming both plugins."""
        if item.name in self._items:
            raise DuplicateRegistration(
                f"{self.what} {item.name!r} is registered twice: by {self._owners[item.name]}"
                f" and by {self.current_plugin}"
            )
        self._items[item.name] = item
        self._owners[item.name] = self.current_plugin

    def __getitem__(self, name: str) -> T:
        """The item called ``name``; :class:`~pss_core.errors.NotFound` listing the installed
        names otherwise."""
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none"
            raise NotFound(
                f"There is no {self.what} called {name!r} (installed: {known}).",
                code=f"unknown_{self.what.replace(' ', '_')}",
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[T]:
        return iter(sorted(self._items.values(), key=lambda i: i.name))

    def __len__(self) -> int:
        return len(self._items)

    def owner(self, name: str) -> str:
        """The name of the plugin that registered ``name``."""
        return self._owners[name]
