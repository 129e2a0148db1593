"""Meta-tests of the plugin contract: the built-in formats and the plugins in plugins/ use nothing
of pss but the contract, the hookspecs, the errors and the models; the contract sits at the
bottom; and no format or restriction kind guards on its own name."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import attrs
import pytest

import pss_core
from pss_core import contract

ROOT = Path(__file__).resolve().parents[2]
#: What a plugin may import from pss (``pss_core`` itself re-exports the contract).
PLUGIN_MAY_IMPORT = (
    "pss_core",
    "pss_core.contract",
    "pss_core.hookspecs",
    "pss_core.errors",
    "pss_core.models",
)
CONTRACT_MAY_IMPORT = ("pss_core.contract", "pss_core.errors", "pss_core.models")


def plugin_sources() -> list[Path]:
    """The importable code of the built-in formats and of every plugin distribution (their tests
    may use the services, as the project's own tests do)."""
    return sorted(
        [*(ROOT / "src" / "pss_formats").rglob("*.py"), *(ROOT / "plugins").glob("*/src/**/*.py")]
    )


def pss_imports(source: str) -> list[tuple[str, str | None]]:
    """``(module, name)`` for every import of a ``pss_core`` module in ``source``; ``name`` is the
    imported name for ``from pss_core import name``."""
    found: list[tuple[str, str | None]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(a.name, None) for a in node.names if a.name.split(".")[0] == "pss_core"]
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.level == 0
            and node.module.split(".")[0] == "pss_core"
        ):
            found += [(node.module, a.name) for a in node.names]
    return found


def outside(source: str, allowed: tuple[str, ...]) -> list[str]:
    """The pss_core imports of ``source`` that are not in ``allowed`` (a module there allows its
    submodules too); ``from pss_core import x`` must name something ``pss_core`` exports, or an
    allowed submodule."""
    bad = []
    for module, name in pss_imports(source):
        if module == "pss_core" and name is not None:
            if name not in pss_core.__all__ and f"pss_core.{name}" not in allowed:
                bad.append(f"pss_core.{name}")
        elif not any(module == a or module.startswith(a + ".") for a in allowed if a != "pss_core"):
            bad.append(module)
    return bad


def test_the_checker_catches_a_back_door():
    # The negative control: the imports the built-in formats used before the contract existed.
    source = (
        "from pss_core.services.quotas import live_purchase_filter\n"
        "from pss_core.standings import herb_standings\n"
        "import pss_core.plugins\n"
        "from pss_core import audit, hookimpl\n"
        "from pss_core.contract import Format\n"
    )
    assert outside(source, PLUGIN_MAY_IMPORT) == [
        "pss_core.services.quotas",
        "pss_core.standings",
        "pss_core.plugins",
        "pss_core.audit",
    ]


@pytest.mark.parametrize("path", plugin_sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_formats_and_plugins_use_only_the_contract(path):
    assert outside(path.read_text(encoding="utf-8"), PLUGIN_MAY_IMPORT) == []


def test_there_are_plugin_sources_to_check():
    names = {p.parent.name for p in plugin_sources()}
    assert {"pss_formats", "pss_coupons", "pss_early_bird", "pss_extra_curves"} <= names


@pytest.mark.parametrize(
    "path", sorted((ROOT / "src" / "pss_core" / "contract").glob("*.py")), ids=lambda p: p.name
)
def test_the_contract_imports_nothing_above_it(path):
    assert outside(path.read_text(encoding="utf-8"), CONTRACT_MAY_IMPORT) == []


def test_hookspecs_import_only_the_contract():
    source = (ROOT / "src" / "pss_core" / "hookspecs.py").read_text(encoding="utf-8")
    assert outside(source, CONTRACT_MAY_IMPORT) == []


GUARDS = re.compile(
    r"\.format\s*(==|!=|not in|in)\s|format\.name\s*(==|!=)|\.kind\s*(==|!=)|"
    r"kind\.name\s*(==|!=)|HERB_FORMATS|RANKED_HERE"
)


@pytest.mark.parametrize("path", plugin_sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_format_or_kind_asks_whether_it_is_its_own(path):
    # pss calls the tournament's own format and the restriction's own kind.
    assert GUARDS.findall(path.read_text(encoding="utf-8")) == []


def test_the_guard_pattern_finds_a_guard():
    assert GUARDS.search('    if tournament.format != "papa":\n')
    assert GUARDS.search("    if restriction.kind != KIND:\n")


def test_pss_core_exports_the_contract_hookimpl_and_version():
    assert set(contract.__all__) <= set(pss_core.__all__)
    assert set(pss_core.__all__) - set(contract.__all__) == {"hookimpl", "__version__"}
    assert all(getattr(pss_core, name) is getattr(contract, name) for name in contract.__all__)
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", pss_core.__version__)


VALUES = [
    name
    for name in contract.__all__
    if isinstance(getattr(contract, name), type) and attrs.has(getattr(contract, name))
]


@pytest.mark.parametrize("name", VALUES)
def test_contract_values_are_frozen_attrs(name):
    cls = getattr(contract, name)
    instance_setattr = cls.__setattr__
    assert instance_setattr is not object.__setattr__, f"{name} must be @attrs.frozen"


def field_docs(cls: type) -> dict[str, str]:
    """The ``#:`` comments of ``cls``'s fields, as Sphinx reads them."""
    from sphinx.pycode import ModuleAnalyzer

    docs = ModuleAnalyzer.for_module(cls.__module__).find_attr_docs()
    return {
        name: "".join(lines).strip()
        for (owner, name), lines in docs.items()
        if owner == cls.__qualname__
    }


@pytest.mark.parametrize("name", VALUES)
def test_every_contract_field_is_documented(name):
    cls = getattr(contract, name)
    assert (cls.__doc__ or "").strip(), f"{name} needs a docstring"
    documented = field_docs(cls)
    missing = [f.name for f in attrs.fields(cls) if not documented.get(f.name)]
    assert missing == [], f"{name}: document {missing} with a #: comment"


def test_every_contract_name_is_in_the_api_reference():
    page = (ROOT / "docs" / "contract.rst").read_text(encoding="utf-8")
    for name in contract.__all__:
        assert f"pss_core.contract.{name}\n" in page, f"docs/contract.rst does not show {name}"
