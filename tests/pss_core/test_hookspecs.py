"""Meta-tests: every hook is documented, exercised by some plugin, called by pss, and none is a
format's job in disguise."""

import inspect
from pathlib import Path

import pytest

from pss_core import hookspecs
from pss_core.plugins import get_plugin_manager

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
HOOKS = sorted(
    name for name, fn in vars(hookspecs).items() if name.startswith("pss_") and callable(fn)
)


def test_there_are_hooks_for_every_family():
    families = {
        "register": "pss_register_",
        "tickets": "pss_check_ticket_sale",
        "tokens": "pss_token_",
        "games": "pss_check_game_start",
        "scoring": "pss_game_finished",
        "queues": "pss_check_queue_join",
        "notifications": "pss_notify",
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
def test_hook_is_exercised_by_a_plugin(name):
    # Vetoes and observers are for house-rule plugins, so a test plugin may be the only one.
    pss = get_plugin_manager()
    if getattr(pss.pm.hook, name).get_hookimpls():
        return
    tests = [
        p
        for p in (ROOT / "tests").rglob("*.py")
        if f"def {name}(self" in p.read_text(encoding="utf-8")
    ]
    assert tests, f"no installed plugin and no test plugin implements {name}"


FORMAT_METHODS = ("tokens_per_ticket", "token_owner", "entry_for_game", "standings")


@pytest.mark.parametrize("name", HOOKS)
def test_no_hook_does_a_formats_job(name):
    # What a format does is a method of its Format object, called for its own tournaments only.
    assert not any(method in name for method in FORMAT_METHODS), name


@pytest.mark.parametrize("name", HOOKS)
def test_hook_is_called_by_pss(name):
    callers = [p for p in SRC.rglob("*.py") if f"hook.{name}(" in p.read_text(encoding="utf-8")] + [
        p for p in SRC.rglob("plugins.py") if f'"{name}"' in p.read_text(encoding="utf-8")
    ]
    assert callers, f"nothing in src/ calls {name}"
