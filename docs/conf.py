"""Sphinx configuration for the pss documentation."""

import os

project = "pss"
author = "the pss contributors"
copyright = "2026, the pss contributors"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.intersphinx", "sphinx.ext.viewcode"]
exclude_patterns = ["_build"]
html_theme = "alabaster"
autodoc_member_order = "bysource"
autodoc_typehints = "description"
# Every reference must resolve (``sphinx-build -n -W``): ours within these pages, the standard
# library's, SQLAlchemy's and pluggy's through their inventories.
nitpicky = True
intersphinx_mapping = {
    "python": ("https://docs.python.org/3", None),
    # The release series pss installs and is tested with (SQLAlchemy 2.1).
    "sqlalchemy": ("https://docs.sqlalchemy.org/en/21", None),
    "pluggy": ("https://pluggy.readthedocs.io/en/stable", None),
}
#: The projects whose names the inventories resolve.
EXTERNAL = (r"(argparse|datetime|collections|contextlib|decimal|fractions|typing|enum|importlib|"
            r"types|pathlib|sqlalchemy|"
            r"pluggy)"
            r"(\..*)?|Session|Engine")
# Type variables (``T``, ``R``) are not objects to link to.
nitpick_ignore_regex = [(r"py:class", r"pss_core(\.\w+)*\.[A-Z]")]
# Documented where it is re-exported (pss_core.lifecycle), annotated where it is defined.
nitpick_ignore = [("py:class", "pss_core.lifecycle.service.StatusChange")]
if os.environ.get("PSS_DOCS_OFFLINE"):
    # Without a network the inventories cannot be fetched: check our own references and leave
    # the other projects' names as plain text.
    intersphinx_mapping = {}
    nitpick_ignore_regex.append((r"py:.*", EXTERNAL))

#: Names that annotations imported only for type checking leave short, spelled out.
SHORT_NAMES = {
    "Session": "sqlalchemy.orm.Session",
    "Engine": "sqlalchemy.engine.Engine",
    "datetime": "datetime.datetime",
}


def _spell_out(app, env, node, contnode):  # type: ignore[no-untyped-def]
    full = SHORT_NAMES.get(node.get("reftarget"))
    if full is None:
        return None
    node["reftarget"] = full
    if not intersphinx_mapping:
        return None
    from sphinx.ext import intersphinx

    return intersphinx.missing_reference(app, env, node, contnode)


def setup(app):  # type: ignore[no-untyped-def]
    # Before intersphinx's own handler, which would not know the short names.
    app.connect("missing-reference", _spell_out, priority=400)
