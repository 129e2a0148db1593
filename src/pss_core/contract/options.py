"""Options: the typed settings a format or a restriction kind declares, from which pss builds the
organizer's form and validates what is stored."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from pss_core.errors import InvalidInput

OPTION_TYPES = ("int", "bool", "choice", "str", "points_curve")


@attrs.frozen
class OptionSpec:
    """One setting a format (or a restriction kind) understands; the organizer's form shows one
    field per option."""

    #: The key the value is stored under in ``Tournament.format_options``.
    name: str
    #: One of ``int``, ``bool``, ``choice``, ``str`` or ``points_curve`` (the name of an installed
    #: :class:`~pss_core.contract.PointsCurve`).
    type: str = attrs.field(validator=attrs.validators.in_(OPTION_TYPES))
    #: The value when the organizer gives none.
    default: Any
    #: The form field's label.
    title: str = ""
    #: One sentence under the field saying what it does.
    help: str = ""
    #: Allowed values for ``choice`` options.
    choices: tuple[str, ...] = ()
    #: The smallest value allowed for ``int`` options (``None``: no bound).
    minimum: int | None = None
    #: The largest value allowed for ``int`` options (``None``: no bound).
    maximum: int | None = None
    #: ``None`` allowed as a value (an "unlimited" int, say).
    nullable: bool = False

    def parse(self, raw: Any) -> Any:
        """Turn a form or command-line value into a typed, validated one."""
        if raw is None or (isinstance(raw, str) and raw.strip() == ""):
            if self.nullable:
                return None
            raise InvalidInput(f"Option {self.name!r} needs a value.", code="invalid_option")
        value: Any
        if self.type == "int":
            try:
                value = int(str(raw).replace(",", "").strip()) if not isinstance(raw, int) else raw
            except ValueError:
                raise InvalidInput(
                    f"Option {self.name!r} must be a whole number, not {raw!r}.",
                    code="invalid_option",
                ) from None
            if isinstance(value, bool):
                raise InvalidInput(
                    f"Option {self.name!r} must be a whole number.", code="invalid_option"
                )
            if self.minimum is not None and value < self.minimum:
                raise InvalidInput(
                    f"Option {self.name!r} must be at least {self.minimum}.", code="invalid_option"
                )
            if self.maximum is not None and value > self.maximum:
                raise InvalidInput(
                    f"Option {self.name!r} must be at most {self.maximum}.", code="invalid_option"
                )
        elif self.type == "bool":
            if isinstance(raw, bool):
                value = raw
            elif str(raw).strip().lower() in ("1", "true", "yes", "on"):
                value = True
            elif str(raw).strip().lower() in ("0", "false", "no", "off"):
                value = False
            else:
                raise InvalidInput(
                    f"Option {self.name!r} must be yes or no.", code="invalid_option"
                )
        elif self.type == "choice":
            value = str(raw)
            if value not in self.choices:
                raise InvalidInput(
                    f"Option {self.name!r} must be one of {', '.join(self.choices)}.",
                    code="invalid_option",
                )
        else:
            value = str(raw).strip()
        return value


def find_option(options: Iterable[OptionSpec], name: str, missing: str) -> OptionSpec:
    """The option called ``name``; otherwise an error starting with ``missing`` ("The HERB format
    has no option") that lists the known names."""
    options = tuple(options)
    for opt in options:
        if opt.name == name:
            return opt
    known = ", ".join(o.name for o in options) or "none"
    raise InvalidInput(f"{missing} {name!r} (known: {known}).", code="unknown_option")


def resolve_options(options: Iterable[OptionSpec], raw: Mapping[str, Any],
                    missing: str) -> dict[str, Any]:
    """Every option's default overlaid with ``raw``, each value parsed and validated."""
    options = tuple(options)
    values = {opt.name: opt.default for opt in options}
    for name, value in raw.items():
        values[name] = find_option(options, name, missing).parse(value)
    return values
