"""The documentation builds with warnings as errors (the docstring examples run as doctests
through ``--doctest-modules`` in setup.cfg)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_docs_build_without_warnings(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(DOCS), str(tmp_path / "html")],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "html" / "api" / "generated" / "uqsurrogate.sensitivity.sobol.html").is_file()


COMMON = ("--help", "--verbose", "--debug")


def test_cli_reference_covers_every_subcommand_and_option():
    """docs/cli.md has a section per subcommand that names each of its long options."""
    import argparse
    import re

    from uqsurrogate.cli import build_parser

    text = (DOCS / "cli.md").read_text()
    sections = dict(re.findall(r"^## `uqsurrogate ([\w-]+)`\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S))
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    missing = []
    for name, parser in sub.choices.items():
        if name not in sections:
            missing.append(f"section for {name}")
            continue
        for action in parser._actions:
            # -v/--verbose and --debug belong to every subcommand: the page's head documents them once
            longs = [o for o in action.option_strings if o.startswith("--") and o not in COMMON]
            if longs and not any(re.search(re.escape(o) + r"(?![\w-])", sections[name]) for o in longs):
                missing.append(f"{name} {longs[0]}")
    assert not missing, f"docs/cli.md does not mention: {', '.join(missing)}"
    head = text.split("\n## ")[0]
    assert "`-v`" in head and "`--debug`" in head and "after the subcommand" in head
