"""Sphinx configuration: Markdown pages (MyST) and an API reference from the numpydoc docstrings.

Build: ``python -m sphinx -W -b html docs docs/_build/html`` (warnings are errors; the test
suite runs this build).
"""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

project = "uqsurrogate"
author = "the uqsurrogate developers"
copyright = "2026, the uqsurrogate developers"
extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.autosummary", "numpydoc", "sphinx.ext.mathjax"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
master_doc = "index"
exclude_patterns = ["_build"]
autosummary_generate = True
numpydoc_show_class_members = False
numpydoc_validation_checks = set()
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]
html_theme = "alabaster"
autodoc_mock_imports = []
nitpicky = False
