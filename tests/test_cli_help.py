"""What ``--help`` prints is true: every example command runs as written, every default is shown."""

from __future__ import annotations

import argparse
import shlex
import shutil

import pytest
from conftest import ANION_LMP, CATION_LMP, DATA, MD_PROFILES

from uqsurrogate.cli import build_parser, main
from uqsurrogate.study import STUDY_FILES, default_model_path


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def _examples(parser: argparse.ArgumentParser) -> list[list[str]]:
    """The example commands of a subcommand's epilog, split as a shell would."""
    out = []
    for line in (parser.epilog or "").splitlines():
        line = line.strip()
        if line.startswith(("uqsurrogate ", "python ")):
            out.append(shlex.split(line, comments=True))
    return out


def test_every_option_with_a_default_says_it():
    missing = []
    for name, p in _subparsers().items():
        for action in p._actions:
            if action.option_strings and action.default not in (None, False, argparse.SUPPRESS) \
                    and not isinstance(action, argparse._HelpAction):
                if "default" not in (action.help or ""):
                    missing.append(f"{name} {action.option_strings[-1]}")
    assert not missing, f"options whose help does not give their default: {missing}"


def test_every_subcommand_with_outputs_has_an_example():
    names = [n for n, p in _subparsers().items() if _examples(p)]
    for required in ("simulate", "train", "sensitivity", "calibrate", "import-md", "import-model"):
        assert required in names


@pytest.mark.parametrize("argv", [["-v", "info", "--example", "real-md"], ["info", "-v", "--example", "real-md"],
                                  ["info", "--example", "real-md", "-vv"], ["info", "--debug", "--example", "real-md"]])
def test_verbose_and_debug_before_or_after_the_subcommand(argv, capsys):
    assert main(argv) == 0
    assert "samples" in capsys.readouterr().out


def test_verbose_after_the_subcommand_counts(monkeypatch):
    seen = {}
    monkeypatch.setattr("uqsurrogate.cli.model._cmd_info", lambda args: seen.update(v=args.verbose, d=args.debug) or 0)
    build = build_parser()
    args = build.parse_args(["-v", "info", "--example", "real-md"])
    assert (args.verbose, args.debug) == (1, False)
    args = build.parse_args(["info", "-vv", "--debug", "--example", "real-md"])
    assert (args.verbose, args.debug) == (2, True)


def test_study_refuses_an_earlier_study_without_force(tmp_path, capsys):
    out = tmp_path / "study"
    out.mkdir()
    (out / STUDY_FILES[0]).write_text("earlier results")
    assert main(["study", "--out", str(out), "--quick", "--no-figures"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--force" in err and str(out) in err
    assert (out / STUDY_FILES[0]).read_text() == "earlier results"
    afile = tmp_path / "a-file"
    afile.write_text("x")
    assert main(["study", "--out", str(afile)]) == 2
    assert "is a file" in capsys.readouterr().err
    assert afile.read_text() == "x"


def _workspace(path, outputs: set[str]) -> None:
    """The files the examples name, as a user would have them (a tiny grid.nc for speed)."""
    from uqsurrogate.simulators import ElectrolyteSimulator, simulate
    from uqsurrogate.simulators.design import random_design

    md = path / "md-profiles"
    md.mkdir()
    for d in MD_PROFILES.iterdir():
        shutil.copytree(d, md / d.name)
    shutil.copy(CATION_LMP, path / "cation.dat")
    shutil.copy(ANION_LMP, path / "anion.dat")
    legacy = DATA / "nanoconfinement-md" / "legacy-surrogate"
    shutil.copy(legacy / "my_model.h5", path / "my_model.h5")
    shutil.copy(legacy / "scaler.pkl", path / "scaler.pkl")
    (path / "inputs.csv").write_text("h c d_plus d_minus sigma\n4.5 0.5 0.4 0.6 -0.015\n3.8 1.2 0.3 0.5 -0.01\n")
    shutil.copytree(default_model_path(), path / "model")
    shutil.copytree(default_model_path(), path / "ensemble")
    if "grid.nc" not in outputs:
        simulate(random_design(24, seed=3), path / "grid.nc", simulator=ElectrolyteSimulator(), seed=3,
                 progress=False)
    for name in outputs:
        target = path / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()


def _out_names(commands: list[list[str]]) -> set[str]:
    return {c[c.index("--out") + 1].rstrip("/") for c in commands if "--out" in c}


@pytest.mark.slow
@pytest.mark.filterwarnings("default::uqsurrogate.warnings.UQSurrogateWarning")  # printed, as a user sees them
@pytest.mark.parametrize("command", sorted(n for n, p in _subparsers().items() if _examples(p)))
def test_help_examples_run_as_written(command, tmp_path, monkeypatch, capsys):
    """Each example that ``uqsurrogate COMMAND --help`` prints runs, in order, against the shipped model."""
    commands = _examples(_subparsers()[command])
    _workspace(tmp_path, _out_names(commands))
    monkeypatch.chdir(tmp_path)
    for argv in commands:
        if argv[0] == "python":  # a step the user runs between ours
            import subprocess
            import sys

            done = subprocess.run([sys.executable, *argv[1:]], capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, done.stderr
            continue
        code = main(argv[1:])
        err = capsys.readouterr().err
        assert code == 0, f"{shlex.join(argv)} failed: {err}"
        for name in _out_names([argv]):
            assert (tmp_path / name).exists(), f"{shlex.join(argv)} wrote no {name}"

