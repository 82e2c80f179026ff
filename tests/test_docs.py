"""The documentation builds with warnings as errors (the docstring examples run as doctests
through ``--doctest-modules`` in setup.cfg)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

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


# ---- every Python block of the README and docs/ runs as written --------------------------------------

ROOT = DOCS.parent
#: The opt-out marker, on the line just before a block's fence, with the reason in parentheses.
SKIP = "<!-- doc-check: skip ("
#: How many blocks may opt out; each says why (the reason is printed in the docs beside it).
MAX_SKIPPED = 2


def _python_blocks(text: str) -> list[tuple[int, str, str | None]]:
    """The fenced ``python`` blocks of a Markdown text: (first code line, code, opt-out reason or None)."""
    lines = text.splitlines()
    blocks, i = [], 0
    while i < len(lines):
        if lines[i].strip() == "```python":
            start = i + 1
            end = next(j for j in range(start, len(lines)) if lines[j].strip() == "```")
            before = lines[i - 1].strip() if i else ""
            reason = before[len(SKIP):].rsplit(")", 1)[0] if before.startswith(SKIP) else None
            blocks.append((start + 1, "\n".join(lines[start:end]), reason))
            i = end
        i += 1
    return blocks


def _doc_files() -> list[Path]:
    return [p for p in [ROOT / "README.md", *sorted(DOCS.glob("*.md"))] if _python_blocks(p.read_text())]


def test_python_block_extraction():
    text = "x\n```python\na = 1\n```\n<!-- doc-check: skip (slow) -->\n```python\nb = 2\nc = 3\n```\n```bash\nls\n```\n"
    assert _python_blocks(text) == [(3, "a = 1", None), (7, "b = 2\nc = 3", "slow")]
    assert {p.name for p in _doc_files()} >= {"README.md", "data.md", "sensitivity.md", "uncertainty.md"}


def test_few_blocks_opt_out():
    skipped = [(p.name, line, reason) for p in _doc_files() for line, _, reason in _python_blocks(p.read_text())
               if reason is not None]
    assert len(skipped) <= MAX_SKIPPED, skipped
    assert all(reason.strip() for _, _, reason in skipped)


#: Runs each block at its own line numbers in one namespace per file, so tracebacks point into the Markdown.
_DRIVER = """
import json, sys
ns = {"__name__": "__main__"}
for path, line, code in json.load(open(sys.argv[1])):
    exec(compile("\\n" * (line - 1) + code, path, "exec"), ns)
"""


#: Files whose blocks take long (the paper's 10^6-evaluation nested run): they run with the slow checks.
SLOW_DOCS = {"sensitivity.md"}


@pytest.mark.parametrize("doc", [pytest.param(p.name, marks=[pytest.mark.slow] if p.name in SLOW_DOCS else [])
                                 for p in _doc_files()
                                 if any(reason is None for _, _, reason in _python_blocks(p.read_text()))])
def test_python_blocks_run_as_written(doc, tmp_path):
    """Each file's Python blocks run in order, in a fresh interpreter, from a folder that has the clone's
    ``tests/data`` (the README's paths) and nothing else; blocks may write files there."""
    import json
    import os

    path = ROOT / doc if doc == "README.md" else DOCS / doc
    blocks = [(str(path), line, code) for line, code, reason in _python_blocks(path.read_text()) if reason is None]
    (tmp_path / "tests").symlink_to(ROOT / "tests")
    (tmp_path / "blocks.json").write_text(json.dumps(blocks))
    (tmp_path / "driver.py").write_text(_DRIVER)
    env = {**os.environ, "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, "driver.py", "blocks.json"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-4000:]


def _written_by_commands() -> set[str]:
    """What the bash blocks of the README and docs/ and the ``--help`` examples write (``--out X``, ``run.sh X``)."""
    import re

    from uqsurrogate.cli import build_parser

    texts = []
    for path in [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]:
        texts += re.findall(r"^```bash\n(.*?)^```", path.read_text(), flags=re.M | re.S)
    sub = next(a for a in build_parser()._actions if hasattr(a, "choices") and isinstance(a.choices, dict))
    texts += [p.epilog or "" for p in sub.choices.values()]
    found = set()
    for text in texts:
        found.update(re.findall(r"--out\s+([\w./-]+)", text) + re.findall(r"run\.sh\s+([\w./-]+)", text))
    return {f.rstrip("/") for f in found if not f.startswith("/") and not f.isupper()}


def test_what_the_commands_write_is_ignored_by_git():
    """A newcomer who runs the README's commands in the clone sees a clean ``git status``."""
    import shutil

    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    written = sorted(_written_by_commands())
    assert {"study", "external-run", "figures", "grid.nc", "model"} <= set(written)
    for name in ("data.nc", "design.csv"):  # what the Python blocks write
        written.append(name)
    done = subprocess.run(["git", "check-ignore", "--no-index", *written], cwd=ROOT, capture_output=True, text=True)
    ignored = set(done.stdout.split())
    assert not set(written) - ignored, f"not in .gitignore: {sorted(set(written) - ignored)}"


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
