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


def test_measured_figures_live_in_benchmarks_and_the_others_agree_and_link_there():
    """One home for the measured times (docs/benchmarks.md); the pages that quote them round them, link there,
    and say the same of --quick (its share of the time and its smaller accuracy check) as --help does."""
    import re

    from uqsurrogate.cli import build_parser

    root = DOCS.parent
    bench = (DOCS / "benchmarks.md").read_text()
    section = bench.split("## The main job and the tests: the figures the other pages quote")[1].split("\n## ")[0]
    quick = re.search(r"study --quick` \| (\d+) s, \*\*(\d+) %\*\* of the full study", section)
    full_busy = re.search(r"on a busy machine \| (\d+) s", section)
    share = round(100 * int(quick.group(1)) / int(full_busy.group(1)))  # the quoted share, from the two times
    assert share == int(quick.group(2))
    pages = {"README.md": (root / "README.md").read_text(), "quickstart": (DOCS / "quickstart.md").read_text(),
             "cli.md": (DOCS / "cli.md").read_text()}
    anchor = "the-main-job-and-the-tests-the-figures-the-other-pages-quote"
    for name, text in pages.items():
        assert f"benchmarks.md#{anchor}" in text, name
        assert not re.search(r"\b\d{2,3} s (measured|on an idle)", text), name  # no second copy of a measurement
    study = build_parser()._subparsers._group_actions[0].choices["study"]
    help_text = " ".join(study.format_help().split())
    for name, text in {"--help": help_text, "quickstart": " ".join(pages["quickstart"].split()),
                       "cli.md": " ".join(pages["cli.md"].split())}.items():
        said = re.search(r"about (\d+) ?% of the time", text)
        assert said and abs(int(said.group(1)) - share) <= 5, name
        assert "4 fresh inputs instead of 8" in text, name  # --quick's smaller accuracy check, said where it is
