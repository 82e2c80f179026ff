"""Nothing lost, nothing trusted blindly, every failure one clear line (issue 16).

The tests named ``test_fN_...`` map to the issue's failures 1-7; the table-driven test runs
its bad inputs through the command line.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import ANION_LMP, CATION_LMP, DATA, synthetic

from uqsurrogate.cli import main
from uqsurrogate.data import save_dataset
from uqsurrogate.errors import InputError
from uqsurrogate.study import default_model_path
from uqsurrogate.surrogate.artifact import ArtifactError, load_artifact, metadata_digest, sha256_file

MEMBER = default_model_path() / "member-00"
LEGACY = DATA / "nanoconfinement-md" / "legacy-surrogate"


def _snapshot(root: Path) -> dict:
    """Every file and folder under root with its content hash: to see that nothing changed."""
    out = {}
    for p in sorted(root.rglob("*")):
        out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
    return out


def _one_line_error(capsys, code: int) -> str:
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert err and len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    return err


@pytest.fixture
def work(tmp_path, monkeypatch):
    """A folder with a small training file, a model copy and a few inputs, as a user has them."""
    save_dataset(synthetic(n=8, n_bins=20), tmp_path / "d.nc")
    shutil.copytree(MEMBER, tmp_path / "model")
    monkeypatch.chdir(tmp_path)
    return tmp_path


# ------------------------------------------------------------------ failure 1: --force never destroys an input
@pytest.mark.parametrize("argv", [
    ["train", "d.nc", "--out", "d.nc", "--epochs", "3", "--force"],
    ["evaluate", "model", "d.nc", "--out", "d.nc", "--force"],
    ["evaluate", "model", "d.nc", "--out", "model", "--force"],
    ["train", "d.nc", "--out", ".", "--epochs", "3", "--force"],
])
def test_f1_force_never_replaces_an_input(work, capsys, argv):
    before = _snapshot(work)
    err = _one_line_error(capsys, main(argv))
    assert "input" in err and "--out" in err
    assert _snapshot(work) == before


def test_f1_writers_never_swap_a_file_and_a_folder(tmp_path):
    from uqsurrogate._atomic import atomic_directory, atomic_path

    (tmp_path / "f").write_text("data")
    (tmp_path / "d").mkdir()
    with pytest.raises(NotADirectoryError, match="is a file"):
        with atomic_directory(tmp_path / "f"):
            pass
    with pytest.raises(IsADirectoryError, match="is a directory"):
        with atomic_path(tmp_path / "d"):
            pass
    assert (tmp_path / "f").read_text() == "data" and (tmp_path / "d").is_dir()


def test_f1_directory_swap_leaves_no_window(tmp_path):
    """On Linux the new folder replaces the old with one exchange: the name exists at every instant."""
    import sys

    from uqsurrogate._atomic import _exchange, atomic_directory

    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "a").write_text("old")
    with atomic_directory(tmp_path / "m") as tmp:
        (tmp / "a").write_text("new")
    assert (tmp_path / "m" / "a").read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["m"]
    if sys.platform.startswith("linux"):
        (tmp_path / "x").mkdir()
        assert _exchange(tmp_path / "x", tmp_path / "m") and (tmp_path / "x" / "a").read_text() == "new"


# ------------------------------------------------------------------ failure 2: metadata.json is verified
def _edit(path: Path, change, redigest: bool) -> None:
    meta = json.loads((path / "metadata.json").read_text())
    change(meta)
    if redigest:
        meta["metadata_sha256"] = metadata_digest(meta)
    (path / "metadata.json").write_text(json.dumps(meta))


@pytest.mark.parametrize("change, redigest, message", [
    (lambda m: m["outputs"].update(scale=1000.0), False, "metadata_sha256"),
    (lambda m: m["scaling"]["min"].__setitem__(0, float("nan")), False, "metadata_sha256"),
    (lambda m: m["scaling"]["min"].__setitem__(0, None), True, "scaling.min is not finite"),
    (lambda m: m["outputs"].update(scale=-1.0), True, "outputs.scale must be"),
    (lambda m: m["scaling"]["max"].__setitem__(0, 99.0), True, "equal the inputs' training ranges"),
    (lambda m: m["outputs"].update(scale_by_input="q"), True, "scale_by_input 'q' is not an input"),
])
def test_f2_edited_metadata_is_refused(tmp_path, change, redigest, message):
    path = shutil.copytree(MEMBER, tmp_path / "m")
    _edit(path, change, redigest)
    with pytest.raises(ArtifactError, match=message) as info:
        load_artifact(path)
    assert "metadata.json" in str(info.value)


def test_f2_evaluate_refuses_an_edited_scale(work, capsys):
    _edit(work / "model", lambda m: m["outputs"].update(scale=1000.0), redigest=False)
    err = _one_line_error(capsys, main(["evaluate", "model", "d.nc", "--out", "m.nc"]))
    assert "metadata.json" in err and not (work / "m.nc").exists()


# ------------------------------------------------------------------ failure 3: damaged internal files, one line
def _rehash_model(path: Path) -> None:
    _edit(path, lambda m: m["files"].update({"model.keras": sha256_file(path / "model.keras")}), redigest=True)


def test_f3_metadata_without_outputs(work, capsys):
    _edit(work / "model", lambda m: m.pop("outputs"), redigest=True)
    for argv in (["evaluate", "model", "d.nc", "--out", "m.nc"], ["study", "--model", "model", "--out", "s"]):
        err = _one_line_error(capsys, main(argv))
        assert "metadata.json" in err and "'outputs'" in err
    assert not (work / "s").exists() and not (work / "m.nc").exists()


def test_f3_model_keras_without_config_and_garbage(work, capsys):
    path = work / "model" / "model.keras"
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist() if n != "config.json"}
    with zipfile.ZipFile(path, "w") as z:
        for n, b in members.items():
            z.writestr(n, b)
    _rehash_model(work / "model")
    err = _one_line_error(capsys, main(["evaluate", "model", "d.nc", "--out", "m.nc"]))
    assert "model.keras: Keras cannot read it" in err
    path.write_bytes(b"not a zip at all")
    _rehash_model(work / "model")
    err = _one_line_error(capsys, main(["evaluate", "model", "d.nc", "--out", "m.nc"]))
    assert "model.keras: not a Keras archive" in err and "not found" not in err.lower()


def test_f3_damaged_manifest(work, capsys):
    parts = work / "o.nc.parts"
    parts.mkdir()
    (parts / "manifest.json").write_text(json.dumps({"n": 8}))
    err = _one_line_error(capsys, main(["simulate", "--design", "sobol", "--n", "8", "--seed", "1", "--out",
                                        "o.nc"]))
    assert "manifest.json: damaged" in err


# ------------------------------------------------------------------ failure 4: solver failures name the row
@pytest.mark.parametrize("row, message", [
    ("4.5 0.0 0.4 0.6 -0.015", "design row 1: c = 0.0 mol/L"),
    ("4.5 100 0.4 0.6 -0.015", "design row 1: c = 100.0 mol/L .* packs the bulk"),
    ("4.5 0.5 0.4 0.6 0.01", "design row 1: sigma = 0.01"),
    ("4.5 nan 0.4 0.6 -0.015", "design row 1: c = nan"),
    ("0.5 0.5 0.6 0.6 -0.015", "design row 1: d_plus = 0.6 nm does not fit"),
])
def test_f4_impossible_rows_are_refused_before_any_work(work, capsys, row, message):
    (work / "design.txt").write_text(f"h c d_plus d_minus sigma\n4.5 0.5 0.4 0.6 -0.015\n{row}\n")
    before = _snapshot(work)
    err = _one_line_error(capsys, main(["simulate", "--design", "design.txt", "--seed", "1", "--out", "o.nc"]))
    assert __import__("re").search(message, err), err
    assert _snapshot(work) == before  # no OUT.parts/ left behind


def test_f4_a_row_that_does_not_converge_is_named(monkeypatch):
    from uqsurrogate.simulators import ElectrolyteSimulator, runner
    from uqsurrogate.simulators.electrolyte import ConvergenceError

    def fail(*args, **kwargs):
        raise ConvergenceError("no convergence after 3000 iterations")

    monkeypatch.setattr(runner, "solve_slit", fail)
    design = {"h": [4.5, 4.4], "c": [0.5, 0.5], "d_plus": [0.4, 0.4], "d_minus": [0.6, 0.6], "sigma": [-0.01, -0.01]}
    with pytest.raises(ConvergenceError, match=r"design row 7 \(h=4.5, c=0.5, d_plus=0.4, d_minus=0.6, sigma=-0.01\)"):
        ElectrolyteSimulator().run(design, seed=0, start=7)


# ------------------------------------------------------------------ failure 5: broken Keras-2 files
def _h5(path: Path, config: object, weights: bool = True) -> Path:
    import h5py

    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(config)
        g = f.create_group("model_weights")
        if weights:
            d = g.create_group("dense")
            d.attrs["weight_names"] = [b"dense/kernel:0", b"dense/bias:0"]
            d["dense/kernel:0"] = np.ones((5, 3))
            d["dense/bias:0"] = np.zeros(3)
    return path


DENSE = {"class_name": "Dense", "config": {"name": "dense", "units": 3, "activation": "relu"}}


@pytest.mark.parametrize("config, weights, message", [
    ({"class_name": "Sequential"}, True, "a damaged Keras-2 model \\(missing 'config'\\)"),
    ({"class_name": "Sequential", "config": {"layers": [DENSE]}}, False, "a damaged Keras-2 model \\(missing"),
    ({"class_name": "Sequential", "config": {"layers": [{**DENSE, "config": {**DENSE["config"], "activation": {
        "module": "os", "class_name": "function", "config": "system"}}}]}}, True, "activation 'a dict'"),
    ({"class_name": "Sequential", "config": {"layers": [{**DENSE, "config": {**DENSE["config"],
                                                                           "activation": "exec"}}]}},
     True, "activation 'exec'; allowed"),
])
def test_f5_broken_keras2_files_are_refused(tmp_path, config, weights, message):
    from uqsurrogate.surrogate.legacy import read_keras2_h5

    path = _h5(tmp_path / "m.h5", config, weights)
    with pytest.raises(ArtifactError, match=message):
        read_keras2_h5(path)


def test_f5_text_file_as_h5(tmp_path):
    from uqsurrogate.surrogate.legacy import read_keras2_h5

    (tmp_path / "m.h5").write_text("hello")
    with pytest.raises(ArtifactError, match="m.h5: not an HDF5 file"):
        read_keras2_h5(tmp_path / "m.h5")


# ------------------------------------------------------------------ the table: bad inputs through the CLI
class _Evil:
    def __reduce__(self):
        return (print, ("this must never run",))


def _inputs(work: Path) -> None:
    (work / "bad_design.txt").write_text("h c d_plus d_minus sigma\n4.5 0.5 0.4 0.6 0.02\n")
    (work / "binary.bin").write_bytes(bytes(range(256)) * 4)
    (work / "evil.pkl").write_bytes(pickle.dumps(_Evil()))
    (work / "text.h5").write_text("not hdf5")
    (work / "notes.txt").write_text("some notes\n")
    (work / "folder").mkdir()
    (work / "afile").write_text("x")
    (work / "short.csv").write_text("row,y\n0,1.0\n")


P = "h=4.5,c=0.5,d_plus=0.4,d_minus=0.6,sigma=-0.015"
SENS = ["sensitivity", "model", "--fix", "h=4.5", "--fix", "c=0.3", "--fix", "sigma=-0.015", "--out", "s.nc"]
VARY = ["--vary", "d_plus=normal(0.4,0.01)", "--vary", "d_minus=normal(0.45,0.015)"]
TABLE = [
    (["simulate", "--design", "sobol", "--n", "8", "--seed", "-1", "--out", "o.nc"], "--seed"),
    (["simulate", "--design", "sobol", "--n", "8", "--seed", "1", "--blocks", "1", "--out", "o.nc"], "--blocks"),
    (["simulate", "--design", "sobol", "--n", "8", "--seed", "1", "--bins", "1", "--out", "o.nc"], "--bins"),
    (["simulate", "--design", "sobol", "--n", "8", "--seed", "1", "--chunk-size", "0", "--out", "o.nc"],
     "--chunk-size"),
    (["simulate", "--design", "sobol", "--n", "8", "--seed", "1", "--lateral-area", "-1", "--out", "o.nc"],
     "--lateral-area"),
    (["simulate", "--design", "sobol", "--seed", "1", "--out", "o.nc"], "--n"),
    (["simulate", "--design", "paper-grid", "--n", "5", "--out", "o.nc"], "--n"),
    (["simulate", "--design", "sobol", "--n", "8", "--seed", "1", "--workers", "0", "--out", "o.nc"], "--workers"),
    (["simulate", "--design", "bad_design.txt", "--seed", "1", "--out", "o.nc"], "design row 0"),
    (["simulate", "--design", "binary.bin", "--seed", "1", "--out", "o.nc"], "binary.bin"),
    (["simulate", "--design", "sobol", "--n", "8", "--seed", "1", "--out", "folder"], "folder"),
    (["import-md", "--lammps", str(CATION_LMP), str(ANION_LMP), P, "--skip-blocks", "-1", "--out", "o.nc"],
     "--skip-blocks"),
    (["import-md", "--lammps", str(CATION_LMP), str(ANION_LMP), P, "--bins", "-5", "--out", "o.nc"], "--bins"),
    (["import-md", "--lammps", str(CATION_LMP), str(ANION_LMP), "h=4.5", "--out", "o.nc"], "missing"),
    (["import-md", "--lammps", str(CATION_LMP), str(ANION_LMP), P, "--units", "lj", "--out", "o.nc"],
     "--length-scale"),
    (["import-md", "--run-dir", "no-such-run", "--out", "o.nc"], "no-such-run"),
    (["train", "d.nc", "--out", "m", "--epochs", "0"], "--epochs"),
    (["train", "d.nc", "--out", "m", "--hidden", "0"], "--hidden"),
    (["train", "d.nc", "--out", "m", "--test-fraction", "1.5"], "--test-fraction"),
    (["train", "d.nc", "--out", "m", "--learning-rate", "-1"], "--learning-rate"),
    (["train", "d.nc", "--out", "m", "--members", "1"], "--members"),
    (["train", "d.nc", "--out", "m", "--bootstrap"], "--bootstrap"),
    (["train", "d.nc", "--out", "m", "--dropout", "1"], "--dropout"),
    (["train", "no-such.nc", "--out", "m"], "no-such.nc"),
    (["train", "d.nc", "--out", "afile", "--force", "--epochs", "2"], "afile"),
    (["evaluate", "no-such-model", "d.nc", "--out", "m.nc"], "no-such-model"),
    (["evaluate", "model", "d.nc", "--out", "m.nc", "--split", "test"], "--split test"),
    (SENS + VARY + ["--conf-level", "1.5"], "--conf-level"),
    (SENS + ["--vary", "d_plus=gamma(1,2)", "--vary", "d_minus=normal(0.45,0.015)"], "gamma"),
    (SENS + ["--vary", "d_plus=normal(0.4)", "--vary", "d_minus=normal(0.45,0.015)"], "normal takes 2 numbers"),
    (SENS + VARY + ["--z", "50", "-50"], "z = 50 -50: outside the slit"),
    (["sensitivity", "model", *VARY, "--out", "s.nc"], "give --vary or --fix for ['h', 'c', 'sigma']"),
    (SENS + ["--problem", "no-such.json"], "no-such.json"),
    (SENS + VARY + ["--samples", "1"], "--samples"),
    (SENS + ["--vary", "d_plus=normal(0.4,0.01)", "--vary", "d_minus=normal(0.9,0.015)"],
     "--extrapolation warn"),
    (["propagate", "model", "--fix", "h=4.5", "--fix", "c=0.3", "--fix", "sigma=-0.015", *VARY, "--n", "1",
      "--out", "p.nc"], "--n"),
    (["propagate", "model", "--fix", "h=4.5", "--fix", "c=0.3", "--fix", "sigma=-0.015", *VARY, "--quantiles",
      "1.5", "--out", "p.nc"], "--quantiles"),
    (["sample", "--method", "nested", "--vary", "a=uniform(0,1)", "--vary", "b=uniform(0,1)", "--vary",
      "c=uniform(0,1)", "--out", "x.csv"], "exactly two varied inputs"),
    (["sample", "--out", "x.csv"], "give the inputs"),
    (["analyze", "notes.txt", "short.csv", "--out", "a.nc"], "notes.txt"),
    (["plot", "notes.txt", "--out", "figs"], "notes.txt"),
    (["plot", "folder", "--out", "figs"], "folder"),
    (["info", "--example", "foo"], "--example"),
    (["info", "folder"], "folder"),
    (["calibrate", "model", "d.nc"], "not an ensemble"),
    (["calibrate", str(default_model_path()), "d.nc", "--alpha", "2"], "--alpha"),
    (["study", "--out", "afile"], "afile"),
    (["study", "--model", "folder", "--out", "s"], "folder"),
    (["import-model", "--keras2", str(LEGACY / "my_model.h5"), "--scaler", "evil.pkl", "--out", "legacy"],
     "evil.pkl"),
    (["import-model", "--keras2", "text.h5", "--scaler", str(LEGACY / "scaler.pkl"), "--out", "legacy"], "text.h5"),
    (["import-model", "--keras2", str(LEGACY / "my_model.h5"), "--scaler", str(LEGACY / "scaler.pkl"), "--inputs",
      "a,b", "--out", "legacy"], "--inputs"),
]


@pytest.mark.filterwarnings("default::uqsurrogate.warnings.UQSurrogateWarning")
@pytest.mark.parametrize("argv, names", TABLE, ids=[" ".join(a[:1] + [names]) for a, names in TABLE])
def test_bad_input_is_one_line_exit_2_and_changes_nothing(work, capsys, argv, names):
    _inputs(work)
    before = _snapshot(work)
    err = _one_line_error(capsys, main(argv))
    assert names in err, err
    assert "this must never run" not in capsys.readouterr().out
    assert _snapshot(work) == before


def test_the_table_is_large_and_wide():
    assert len(TABLE) >= 40
    assert len({argv[0] for argv, _ in TABLE}) >= 12  # every subcommand that reads input
    with pytest.raises(InputError):
        raise InputError("a subclass of ValueError for callers who catch that")


def test_stale_temporaries_of_killed_writers_are_removed(tmp_path):
    """A kill -9 leaves a temporary behind; the next write beside it removes it (its process is gone)."""
    from uqsurrogate._atomic import atomic_directory, atomic_path

    dead = subprocess_pid_that_exited()
    (tmp_path / f".tmp-{dead}-abcd-out.nc").write_text("half")
    (tmp_path / f".m.tmp-{dead}-abcd").mkdir()
    (tmp_path / f".tmp-{os.getpid()}-live-out.nc").write_text("mine")  # a live process's: kept
    with atomic_path(tmp_path / "out.nc") as tmp:
        tmp.write_text("whole")
    with atomic_directory(tmp_path / "m") as tmp:
        (tmp / "a").write_text("x")
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(["out.nc", "m", f".tmp-{os.getpid()}-live-out.nc"])


def subprocess_pid_that_exited() -> int:
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_chunk_size_changes_no_bit_and_a_resume_names_the_one_to_use(tmp_path, monkeypatch):
    """The docs say 'bit for bit whatever --chunk-size': arrays and attributes; a resume names the flag to use."""
    import xarray as xr

    from uqsurrogate.simulators import random_design, runner, simulate
    from uqsurrogate.simulators.electrolyte import ConvergenceError

    design = random_design(6, seed=2)
    a = simulate(design, tmp_path / "a.nc", seed=1, chunk_size=2, progress=False)
    b = simulate(design, tmp_path / "b.nc", seed=1, chunk_size=4, progress=False)
    with xr.open_dataset(a) as da, xr.open_dataset(b) as db:
        xr.testing.assert_identical(da, db)
    real = runner.solve_slit

    def fail_on_row_4(h, *args, **kwargs):
        if h == design["h"][4]:
            raise ConvergenceError("no convergence")
        return real(h, *args, **kwargs)

    monkeypatch.setattr(runner, "solve_slit", fail_on_row_4)
    with pytest.raises(ConvergenceError, match="design row 4"):
        simulate(design, tmp_path / "c.nc", seed=1, chunk_size=2, progress=False)
    monkeypatch.setattr(runner, "solve_slit", real)
    with pytest.raises(InputError, match="rerun with --chunk-size 2 to resume"):
        simulate(design, tmp_path / "c.nc", seed=1, chunk_size=4, progress=False)
    c = simulate(design, tmp_path / "c.nc", seed=1, chunk_size=2, progress=False)
    with xr.open_dataset(a) as da, xr.open_dataset(c) as dc:
        xr.testing.assert_identical(da, dc)


def test_a_nan_in_a_table_names_the_file_and_line(tmp_path, run_dirs):
    from uqsurrogate.data import read_run_folder

    run = shutil.copytree(run_dirs[0], tmp_path / run_dirs[0].name)
    table = run / "p_density_profile.dat"
    lines = table.read_text().splitlines()
    fields = lines[10].split()
    lines[10] = " ".join([fields[0], "nan", *fields[2:]])
    table.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"p_density_profile.dat, line 11: NaN or infinite value"):
        read_run_folder(run)


def test_simulate_makes_no_folder_for_its_output(tmp_path):
    from uqsurrogate.simulators import random_design, simulate

    with pytest.raises(FileNotFoundError, match="does not exist"):
        simulate(random_design(2, seed=1), tmp_path / "no" / "o.nc", seed=1, progress=False)
    assert not (tmp_path / "no").exists()
