"""Options: the typed settings a format or a restriction kind declares, from which pss builds the
organizer's form and validates what is stored."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

import attrs

from pss_core.errors import InvalidInput

OPTION_TYPES = ("int", "decimal", "bool", "choice", "str", "points_curve", "per_machine")
#: The types a ``per_machine`` option's values may have.
ITEM_TYPES = ("int", "decimal", "bool", "choice", "str")
_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def _decimal_text(value: Fraction) -> str:
    # Stored as the decimal an organizer typed ("2.5"); a fraction with no decimal form as "1/3".
    if value.denominator == 1:
        return str(value.numerator)
    d = value.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    if d != 1:
        return f"{value.numerator}/{value.denominator}"
    places = 0
    while (value * 10**places).denominator != 1:
        places += 1
    return f"{Decimal(value.numerator) / Decimal(value.denominator):.{places}f}"


@attrs.frozen
class OptionSpec:
    """One setting a format (or a restriction kind) understands; the organizer's form shows one
    field per option (a ``per_machine`` option: one per machine of the tournament)."""

    #: The key the value is stored under in ``Tournament.format_options``.
    name: str
    #: One of ``int``, ``decimal`` (an exact :class:`fractions.Fraction`, typed as ``2.5``),
    #: ``bool``, ``choice``, ``str``, ``points_curve`` (the name of an installed
    #: :class:`~pss_core.contract.PointsCurve`) or ``per_machine`` (a value per machine of the
    #: tournament, a dict from machine name to a value of type :attr:`item`).
    type: str = attrs.field(validator=attrs.validators.in_(OPTION_TYPES))
    #: The value when the organizer gives none (``{}`` suits ``per_machine``).
    default: Any
    #: The form field's label.
    title: str = ""
    #: One sentence under the field saying what it does.
    help: str = ""
    #: Allowed values for ``choice`` options (and ``per_machine`` ones of ``choice`` items).
    choices: tuple[str, ...] = ()
    #: The smallest value allowed for ``int`` and ``decimal`` options, and for the items of a
    #: ``per_machine`` one (``None``: no bound).
    minimum: int | Fraction | None = None
    #: The largest value allowed, likewise (``None``: no bound).
    maximum: int | Fraction | None = None
    #: ``None`` allowed as a value (an "unlimited" int, say).
    nullable: bool = False
    #: The type of each machine's value in a ``per_machine`` option (``int`` by default).
    item: str = attrs.field(default="int", validator=attrs.validators.in_(ITEM_TYPES))

    def parse(self, raw: Any) -> Any:
        """Turn a form or command-line value into a typed, validated one. A ``per_machine``
        value is a mapping from machine name to value, or text like ``"A=10; B=20"``; machines
        left blank have no value."""
        if self.type == "per_machine":
            return self._parse_machines(raw)
        return self._parse_one(raw, self.type, f"Option {self.name!r}")

    def _parse_machines(self, raw: Any) -> dict[str, Any]:
        if raw is None or raw == "":
            return {}
        if isinstance(raw, str):
            pairs = {}
            for part in re.split(r"[;\n]", raw):
                if part.strip():
                    machine, sep, value = part.partition("=")
                    if not sep or not machine.strip():
                        raise InvalidInput(
                            f"Option {self.name!r} takes MACHINE=VALUE pairs separated by ';', "
                            f"not {part.strip()!r}.",
                            code="invalid_option",
                            option=self.name,
                        )
                    pairs[machine.strip()] = value
            raw = pairs
        if not isinstance(raw, Mapping):
            raise InvalidInput(
                f"Option {self.name!r} needs a value per machine.",
                code="invalid_option",
                option=self.name,
            )
        title = self.title or self.name.replace("_", " ").capitalize()
        values = {}
        for machine, value in raw.items():
            if value is None or (isinstance(value, str) and value.strip() == ""):
                continue
            values[str(machine)] = self._parse_one(value, self.item, f"{title} for {machine}")
        return values

    def _parse_one(self, raw: Any, type_: str, what: str) -> Any:
        if raw is None or (isinstance(raw, str) and raw.strip() == ""):
            if self.nullable:
                return None
            raise InvalidInput(f"{what} needs a value.", code="invalid_option", option=self.name)
        value: Any
        if type_ == "int":
            try:
                value = int(str(raw).replace(",", "").strip()) if not isinstance(raw, int) else raw
            except ValueError:
                raise InvalidInput(
                    f"{what} must be a whole number, not {raw!r}.",
                    code="invalid_option",
                    option=self.name,
                ) from None
            if isinstance(value, bool):
                raise InvalidInput(
                    f"{what} must be a whole number.", code="invalid_option", option=self.name
                )
        elif type_ == "decimal":
            value = self._decimal(raw, what)
        elif type_ == "bool":
            if isinstance(raw, bool):
                value = raw
            elif str(raw).strip().lower() in ("1", "true", "yes", "on"):
                value = True
            elif str(raw).strip().lower() in ("0", "false", "no", "off"):
                value = False
            else:
                raise InvalidInput(
                    f"{what} must be yes or no.", code="invalid_option", option=self.name
                )
        elif type_ == "choice":
            value = str(raw)
            if value not in self.choices:
                raise InvalidInput(
                    f"{what} must be one of {', '.join(self.choices)}.",
                    code="invalid_option",
                    option=self.name,
                )
        else:
            value = str(raw).strip()
        if type_ in ("int", "decimal"):
            if self.minimum is not None and value < self.minimum:
                raise InvalidInput(
                    f"{what} must be at least {_shown(self.minimum)}.",
                    code="invalid_option",
                    option=self.name,
                )
            if self.maximum is not None and value > self.maximum:
                raise InvalidInput(
                    f"{what} must be at most {_shown(self.maximum)}.",
                    code="invalid_option",
                    option=self.name,
                )
        return value

    def _decimal(self, raw: Any, what: str) -> Fraction:
        if isinstance(raw, bool):
            raise InvalidInput(f"{what} must be a number.", code="invalid_option", option=self.name)
        if isinstance(raw, int | Fraction):
            return Fraction(raw)
        if isinstance(raw, float | Decimal):
            return Fraction(repr(raw)) if isinstance(raw, float) else Fraction(raw)
        text = str(raw).replace(",", "").strip()
        if _DECIMAL.match(text):
            return Fraction(text)
        if re.fullmatch(r"[+-]?\d+/\d+", text) and not text.endswith("/0"):
            return Fraction(text)
        raise InvalidInput(
            f"{what} must be a number such as 2.5, not {raw!r}.",
            code="invalid_option",
            option=self.name,
        )

    def store(self, value: Any) -> Any:
        """``value`` as it is kept in the database's JSON: decimals as text (``"2.5"``), every
        other type as it is."""
        if self.type == "decimal" and value is not None:
            return _decimal_text(Fraction(value))
        if self.type == "per_machine":
            return {
                machine: _decimal_text(Fraction(v)) if self.item == "decimal" else v
                for machine, v in (value or {}).items()
            }
        return value


def _shown(bound: int | Fraction) -> str:
    return _decimal_text(Fraction(bound))


def find_option(options: Iterable[OptionSpec], name: str, missing: str) -> OptionSpec:
    """The option called ``name``; otherwise an error starting with ``missing`` ("The HERB format
    has no option") that lists the known names."""
    options = tuple(options)
    for opt in options:
        if opt.name == name:
            return opt
    known = ", ".join(o.name for o in options) or "none"
    raise InvalidInput(f"{missing} {name!r} (known: {known}).", code="unknown_option")


def resolve_options(
    options: Iterable[OptionSpec], raw: Mapping[str, Any], missing: str
) -> dict[str, Any]:
    """Every option's default overlaid with ``raw``, each value parsed and validated."""
    options = tuple(options)
    values = {
        opt.name: dict(opt.default) if isinstance(opt.default, Mapping) else opt.default
        for opt in options
    }
    for name, value in raw.items():
        values[name] = find_option(options, name, missing).parse(value)
    return values


def store_options(options: Iterable[OptionSpec], resolved: Mapping[str, Any]) -> dict[str, Any]:
    """Resolved options as they are kept in the database's JSON (decimals as text)."""
    specs = {opt.name: opt for opt in options}
    return {
        name: specs[name].store(value) if name in specs else value
        for name, value in resolved.items()
    }
