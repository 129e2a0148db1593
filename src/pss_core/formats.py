"""Kept so that ``pss_core.formats`` imports keep working; the values live in
:mod:`pss_core.contract`, which plugins import."""

from pss_core.contract.curves import PointsCurve
from pss_core.contract.formats import Format, FormatSpec
from pss_core.contract.options import OPTION_TYPES, OptionSpec, find_option, resolve_options

__all__ = [
    "OPTION_TYPES",
    "Format",
    "FormatSpec",
    "OptionSpec",
    "PointsCurve",
    "find_option",
    "resolve_options",
]
