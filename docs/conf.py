"""Sphinx configuration for the pss documentation."""

project = "pss"
author = "the pss contributors"
copyright = "2026, the pss contributors"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.viewcode"]
exclude_patterns = ["_build"]
html_theme = "alabaster"
autodoc_member_order = "bysource"
autodoc_typehints = "description"
nitpicky = False
suppress_warnings = ["ref.python"]
