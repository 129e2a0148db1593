"""Meta-tests: every hook is documented, implemented by some plugin, and called by pss."""

import inspect
from pathlib import Path

import pytest

from pss_core import hookspecs
from pss_core.plugins import get_plugin_manager

SRC = Path(__file__).resolve().parents[2] / "src"
HOOKS = sorted(
    name for name, fn in vars(hookspecs).items() if name.startswith("pss_") and callable(fn)
)


def test_there_are_hooks_for_every_family():
    families = {
        "register": "pss_register_",
        "tickets": "pss_tokens_per_ticket",
        "tokens": "pss_token_",
        "games": "pss_check_game_start",
        "scoring": "pss_compute_standings",
        "queues": "pss_check_queue_join",
    }
    for family, prefix in families.items():
        assert any(h.startswith(prefix) for h in HOOKS), family


@pytest.mark.parametrize("name", HOOKS)
def test_hook_is_documented_and_typed(name):
    fn = getattr(hookspecs, name)
    doc = inspect.getdoc(fn) or ""
    assert len(doc) > 40, f"{name} needs a docstring saying when it is called and what it returns"
    sig = inspect.signature(fn)
    assert sig.return_annotation is not inspect.Signature.empty
    for param in sig.parameters.values():
        assert param.annotation is not inspect.Parameter.empty, f"{name}({param.name})"


@pytest.mark.parametrize("name", HOOKS)
def test_hook_is_implemented_by_an_installed_plugin(name):
    pss = get_plugin_manager()
    impls = getattr(pss.pm.hook, name).get_hookimpls()
    assert impls, f"no built-in or installed plugin implements {name}"


@pytest.mark.parametrize("name", HOOKS)
def test_hook_is_called_by_pss(name):
    callers = [
        p for p in SRC.rglob("*.py") if f"hook.{name}(" in p.read_text(encoding="utf-8")
    ] + [p for p in SRC.rglob("plugins.py") if f'"{name}"' in p.read_text(encoding="utf-8")]
    assert callers, f"nothing in src/ calls {name}"
