"""The uqsurrogate command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import xarray as xr
from conftest import ANION_LMP, CATION_LMP

from uqsurrogate.cli import build_parser, main
from uqsurrogate.data import load_dataset, read_run_folder, runs_to_dataset

LMP_INPUTS = "h=4.5,c=0.5,d_plus=0.4,d_minus=0.6,sigma=-0.015"


def subcommands():
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return sorted(action.choices)


@pytest.mark.parametrize("command", [None, *subcommands()])
def test_help(command, capsys):
    assert main(["--help"] if command is None else [command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "usage: uqsurrogate" in out and len(out.splitlines()) > 5


@pytest.mark.parametrize("how", ["module", "console script"])
def test_entry_points(how):
    script = Path(sys.executable).with_name("uqsurrogate")  # pip puts console scripts beside python
    cmd = [sys.executable, "-m", "uqsurrogate.cli"] if how == "module" else [str(script)]
    out = subprocess.run([*cmd, "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("uqsurrogate ")


def test_import_md_and_info(tmp_path, run_dirs, capsys):
    out = tmp_path / "data.nc"
    args = ["import-md", "--out", str(out)]
    for d in run_dirs:
        args += ["--run-dir", str(d)]
    args += ["--lammps", str(CATION_LMP), str(ANION_LMP), LMP_INPUTS, "--bins", "150"]
    assert main(args) == 0
    ds = load_dataset(out)
    assert ds.sizes["sample"] == 6 and ds.sizes["bin"] == 150
    assert "import-md" in ds.attrs["history"]
    capsys.readouterr()
    assert main(["info", str(out)]) == 0
    text = capsys.readouterr().out
    for word in ("6 samples", "150 bins", "d_minus", "0.714", "C/m2", "median", "Sources:"):
        assert word in text


def test_run_dir_with_explicit_inputs(tmp_path, run_dirs):
    out = tmp_path / "one.nc"
    inputs = "h=3,c=0.5,d_plus=0.474,d_minus=0.627,sigma=0"
    assert main(["import-md", "--run-dir", str(run_dirs[1]), inputs, "--out", str(out)]) == 0
    expected = runs_to_dataset([read_run_folder(run_dirs[1])])
    got = load_dataset(out)
    xr.testing.assert_allclose(got.drop_attrs(), expected.drop_attrs())


def test_refuses_to_overwrite_without_force(tmp_path, run_dirs, capsys):
    out = tmp_path / "x.nc"
    out.write_text("precious")
    assert main(["import-md", "--run-dir", str(run_dirs[0]), "--out", str(out)]) == 2
    assert "pass --force" in capsys.readouterr().err
    assert out.read_text() == "precious"
    assert main(["import-md", "--run-dir", str(run_dirs[0]), "--out", str(out), "--force"]) == 0
    assert load_dataset(out).sizes["sample"] == 1


def test_info_lists_contract_problems(tmp_path, small_ds, capsys):
    bad = small_ds.copy(deep=True)
    bad["density"][0, 0, 0] = -1
    del bad["z"].attrs["units"]
    path = tmp_path / "bad.nc"
    bad.to_netcdf(path)
    assert main(["info", str(path)]) == 1
    out = capsys.readouterr().out
    assert "z has no 'units' attribute" in out and "density has 1 negative density" in out


def test_info_example(capsys):
    assert main(["info", "--example", "real-md"]) == 0
    out = capsys.readouterr().out
    assert "6 samples" in out and "nanoconfinement-md" in out


def test_cli_modules_and_functions_stay_small():
    """No module of uqsurrogate/cli/ over 400 lines, no function in it over 80 (decorators included)."""
    import ast

    import uqsurrogate.cli

    root = Path(uqsurrogate.cli.__file__).parent
    too_long = []
    for path in sorted(root.glob("*.py")):
        text = path.read_text()
        if len(text.splitlines()) > 400:
            too_long.append(f"{path.name}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                if node.end_lineno - start + 1 > 80:
                    too_long.append(f"{path.name}: {node.name} has {node.end_lineno - start + 1} lines")
    assert len(list(root.glob("*.py"))) >= 6  # the package, not the old single module
    assert not too_long, too_long
