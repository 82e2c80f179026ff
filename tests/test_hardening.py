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
import stat
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
    """Every entry under root with its kind and, for a file, its size, modification time and content hash.

    Links are recorded as links, never followed (a link to /dev/zero is not read).
    """
    out = {}
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        if stat.S_ISREG(st.st_mode):
            what = hashlib.sha256(p.read_bytes()).hexdigest()
        elif stat.S_ISLNK(st.st_mode):
            what = "-> " + os.readlink(p)
        else:  # a folder's own time and size change when a lock or temporary is made and removed in it: its
            # entries are compared instead
            out[str(p.relative_to(root))] = ("dir" if stat.S_ISDIR(st.st_mode) else "special",)
            continue
        out[str(p.relative_to(root))] = (what, st.st_size, st.st_mtime_ns)
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


def _design_files(work: Path) -> None:
    """A sobol design of a and b as a table, and copies with one edit of its header each (issue 24)."""
    from uqsurrogate.problem import Problem, Uniform
    from uqsurrogate.sensitivity.external import sample, save_design

    save_design(sample("sobol", Problem({"a": Uniform(0, 1), "b": Uniform(0, 1)}), n=8, seed=1), work / "design.csv")
    first, *rest = (work / "design.csv").read_text().splitlines(keepends=True)
    prefix = "# uqsurrogate-design "
    attrs = json.loads(first[len(prefix):])
    for name, header in (("badjson", "{not json"),
                         ("noproblem", {k: v for k, v in attrs.items() if k != "problem"}),
                         ("badsettings", {**attrs, "settings": "{oops"}),
                         ("settingslist", {**attrs, "settings": "[1, 2]"}),
                         ("seedfraction", {**attrs, "seed": 1.5}),
                         ("seedtext", {**attrs, "seed": "one"}),
                         ("badproblem", {**attrs, "problem": '{"inputs": 3}'}),
                         ("badmethod", {**attrs, "method": "magic"})):
        text = header if isinstance(header, str) else json.dumps(header)
        (work / f"h_{name}.csv").write_text(prefix + text + "\n" + "".join(rest))
    rows = len(rest) - 1
    outputs = {"out": {}, "out_frac": {3: "2.5"}, "out_dup": {3: "2"}}
    for name, relabel in outputs.items():
        (work / f"{name}.csv").write_text("row,y\n" + "".join(f"{relabel.get(r, r)},{0.1 * r}\n" for r in range(rows)))
    (work / "out_short.csv").write_text("row,y\n" + "".join(f"{r},{0.1 * r}\n" for r in range(rows - 1)))
    (work / "out_nan.csv").write_text("row,y\n" + "".join(f"{r},{'nan' if r == 2 else 0.1 * r}\n" for r in range(rows)))
    (work / "out_latin1.csv").write_bytes(b"row,y\n0,\xff\xfe\n")


def _problem_files(work: Path) -> None:
    """--problem files in SALib's form and ours, each with one thing wrong."""
    uniform = {"kind": "uniform", "low": 0, "high": 1}
    salib = {"names": ["a", "b"], "bounds": [[0, 1], [0, 1]]}
    files = {
        "p_unitslist": {"inputs": {"a": uniform}, "units": ["nm"]},
        "p_strbounds": {**salib, "bounds": [["0", "1"], [0, 1]]},
        "p_boolbounds": {**salib, "bounds": [[False, True], [0, 1]]},
        "p_boolvalue": {"inputs": {"a": uniform, "k": {"kind": "fixed", "value": True}}},
        "p_complex": {"inputs": {"a": uniform, "k": {"kind": "fixed", "value": "1+2j"}}},
        "p_groups": {**salib, "groups": ["g", "g"]},
        "p_groups1": {**salib, "groups": ["g1", "g2"]},
        "p_space": {**salib, "names": ["a b", "c"]},
        "p_comma": {**salib, "names": ["a,b", "c"]},
        "p_empty": {**salib, "names": ["", "c"]},
        "p_intname": {**salib, "names": [1, "c"]},
        "p_slash": {**salib, "names": ["a/b", "c"]},
        "p_row": {**salib, "names": ["row", "c"]},
        "p_list": [1, 2],
    }
    for name, content in files.items():
        (work / f"{name}.json").write_text(json.dumps(content))
    (work / "p_latin1.json").write_bytes(b'{"names": ["a\\xff"], "bounds": [[0, 1]]}'.replace(b"\\\\xff", b"\\xff"))
    (work / "p_badjson.json").write_text("{oops")


def _altered_models(work: Path, name: str) -> None:
    """A copy of the model with model.keras a folder, a link to /dev/zero, or its metadata's bin count edited."""
    path = shutil.copytree(work / "model", work / name)
    if name == "mk_folder":
        (path / "model.keras").unlink()
        (path / "model.keras").mkdir()
    elif name == "mk_zero":
        (path / "model.keras").unlink()
        (path / "model.keras").symlink_to("/dev/zero")
    else:  # an odd bin count, with the digest recomputed: the counts no longer match outputs.scale
        _edit(path, lambda m: m["outputs"].update(n_bins=m["outputs"]["n_bins"] - 1), redigest=True)


def _inputs(work: Path, argv: list[str]) -> None:
    """The files the table's commands read: small ones always, copies of models only where a case names them."""
    (work / "bad_design.txt").write_text("h c d_plus d_minus sigma\n4.5 0.5 0.4 0.6 0.02\n")
    (work / "big_design.txt").write_text("h c d_plus d_minus sigma\n1e6 0.5 0.4 0.6 -0.015\n")
    (work / "cols_design.txt").write_text("h c d_plus sigma\n4.5 0.5 0.4 -0.015\n")
    (work / "dup_design.txt").write_text("h c d_plus d_minus sigma sigma\n4.5 0.5 0.4 0.6 -0.015 -0.015\n")
    (work / "latin1_design.txt").write_bytes(b"h c d_plus d_minus sigma\n4.5 0.5 0.4 \xff 0.6\n")
    (work / "binary.bin").write_bytes(bytes(range(256)) * 4)
    (work / "evil.pkl").write_bytes(pickle.dumps(_Evil()))
    (work / "text.h5").write_text("not hdf5")
    (work / "notes.txt").write_text("some notes\n")
    (work / "folder").mkdir()
    (work / "afile").write_text("x")
    (work / "short.csv").write_text("row,y\n0,1.0\n")
    _design_files(work)
    _problem_files(work)
    for name in ("mk_folder", "mk_zero", "mk_oddbins"):
        if name in argv:
            _altered_models(work, name)
    if "ens" in argv:
        shutil.copytree(default_model_path(), work / "ens")
    for name, n, bins in (("d16.nc", 16, 502), ("d30.nc", 40, 30)):
        if name in argv:
            save_dataset(synthetic(n=n, n_bins=bins), work / name)


P = "h=4.5,c=0.5,d_plus=0.4,d_minus=0.6,sigma=-0.015"
LMP = ["--lammps", str(CATION_LMP), str(ANION_LMP)]
FIX = ["--fix", "h=4.5", "--fix", "c=0.3", "--fix", "sigma=-0.015"]
SENS = ["sensitivity", "model", *FIX, "--out", "s.nc"]
VARY = ["--vary", "d_plus=normal(0.4,0.01)", "--vary", "d_minus=normal(0.45,0.015)"]
PROP = ["propagate", "model", *FIX, *VARY, "--out", "p.nc"]
SAMPLE = ["sample", "--method", "sobol", "--samples", "8", "--seed", "1", "--out", "x.csv"]
AB = ["--vary", "a=uniform(0,1)", "--vary", "b=uniform(0,1)"]
SIM = ["simulate", "--design", "sobol", "--n", "8", "--seed", "1"]
BIG = str(2**40)  # more than any machine holds: refused with the memory it would need, never a MemoryError
MEGA = str(2**20)
TABLE = [
    # simulate
    (["simulate", "--design", "sobol", "--n", "8", "--seed", "-1", "--out", "o.nc"], "--seed"),
    ([*SIM, "--blocks", "1", "--out", "o.nc"], "--blocks"),
    ([*SIM, "--bins", "1", "--out", "o.nc"], "--bins"),
    ([*SIM, "--chunk-size", "0", "--out", "o.nc"], "--chunk-size"),
    ([*SIM, "--lateral-area", "-1", "--out", "o.nc"], "--lateral-area"),
    (["simulate", "--design", "sobol", "--seed", "1", "--out", "o.nc"], "--n"),
    (["simulate", "--design", "paper-grid", "--n", "5", "--out", "o.nc"], "--n"),
    ([*SIM, "--workers", "0", "--out", "o.nc"], "--workers"),
    (["simulate", "--design", "bad_design.txt", "--seed", "1", "--out", "o.nc"], "design row 0"),
    (["simulate", "--design", "binary.bin", "--seed", "1", "--out", "o.nc"], "binary.bin"),
    ([*SIM, "--out", "folder"], "folder"),
    ([*SIM, "--out", "."], "--out . is a folder"),
    ([*SIM, "--out", "/"], "--out / is a folder"),
    ([*SIM, "--out", "/dev/null"], "--out /dev/null is a character device"),
    (["simulate", "--design", "sobol", "--n", BIG, "--seed", "1", "--out", "o.nc"], f"--n {BIG} samples"),
    (["simulate", "--design", "big_design.txt", "--seed", "1", "--out", "o.nc"], "design row 0: h = 1e+06 nm"),
    (["simulate", "--design", "cols_design.txt", "--seed", "1", "--out", "o.nc"], "cols_design.txt"),
    (["simulate", "--design", "dup_design.txt", "--seed", "1", "--out", "o.nc"], "sigma more than once"),
    (["simulate", "--design", "latin1_design.txt", "--seed", "1", "--out", "o.nc"], "latin1_design.txt"),
    (["simulate", "--design", "folder", "--seed", "1", "--out", "o.nc"], "folder"),
    (["simulate", "--design", "random", "--n", "8", "--out", "o.nc"], "--seed"),
    ([*SIM, "--temperature", "0", "--out", "o.nc"], "--temperature"),
    ([*SIM, "--bins", str(10**9), "--out", "o.nc"], "--bins 1000000000"),
    ([*SIM, "--wall", "glass", "--out", "o.nc"], "--wall"),
    # import-md
    (["import-md", *LMP, P, "--skip-blocks", "-1", "--out", "o.nc"], "--skip-blocks"),
    (["import-md", *LMP, P, "--bins", "-5", "--out", "o.nc"], "--bins"),
    (["import-md", *LMP, "h=4.5", "--out", "o.nc"], "missing"),
    (["import-md", *LMP, P, "--units", "lj", "--out", "o.nc"], "--length-scale"),
    (["import-md", "--run-dir", "no-such-run", "--out", "o.nc"], "no-such-run"),
    (["import-md", "--out", "o.nc"], "nothing to import"),
    (["import-md", *LMP, "h=4.5,c=0.5", "--out", "o.nc"], "missing d_plus, d_minus, sigma"),
    (["import-md", *LMP, P + ",temp=3", "--out", "o.nc"], "unknown input 'temp'"),
    (["import-md", *LMP, "h=4.5,c=x,d_plus=0.4,d_minus=0.6,sigma=0", "--out", "o.nc"], "c = 'x' is not a number"),
    (["import-md", "--run-dir", "nowhere", "--out", "o.nc"], "no such run folder"),
    (["import-md", "--tables", "notes.txt", "notes.txt", P, "--out", "o.nc"], "notes.txt, line 1"),
    (["import-md", "--tables", "nosuch", "nosuch", P, "--out", "o.nc"], "nosuch"),
    (["import-md", "--run-dir", "folder", "--out", "o.nc"], "'folder'"),
    (["import-md", "--run-dir", "folder", "h=4.5", "extra", "--out", "o.nc"], "--run-dir"),
    (["import-md", "--run-dir", "folder", "h4.5", "--out", "o.nc"], "'h4.5'"),
    (["import-md", "--run-dir", "folder", "--out", "."], "--out ."),
    # train
    (["train", "d.nc", "--out", "m", "--epochs", "0"], "--epochs"),
    (["train", "d.nc", "--out", "m", "--hidden", "0"], "--hidden"),
    (["train", "d.nc", "--out", "m", "--test-fraction", "1.5"], "--test-fraction"),
    (["train", "d.nc", "--out", "m", "--learning-rate", "-1"], "--learning-rate"),
    (["train", "d.nc", "--out", "m", "--members", "1"], "--members"),
    (["train", "d.nc", "--out", "m", "--bootstrap"], "--bootstrap"),
    (["train", "d.nc", "--out", "m", "--dropout", "1"], "--dropout"),
    (["train", "no-such.nc", "--out", "m"], "no-such.nc"),
    (["train", "d.nc", "--out", "afile", "--force", "--epochs", "2"], "afile"),
    (["train", "d.nc", "--out", "/"], "--out /"),
    (["train", "d.nc", "--out", "/dev/null"], "--out /dev/null"),
    (["train", "d.nc", "--out", "m", "--batch-size", "0"], "--batch-size"),
    (["train", "d.nc", "--out", "m", "--patience", "0"], "--patience"),
    (["train", "d.nc", "--out", "m", "--weight-decay", "-1"], "--weight-decay"),
    (["train", "d.nc", "--out", "m", "--checkpoint-every", "0"], "--checkpoint-every"),
    (["train", "d.nc", "--out", "m", "--learning-rate", "0.1", "--final-learning-rate", "1"], "final_learning_rate"),
    (["train", "d.nc", "--out", "m", "--head", "coordinate"], "head"),
    (["train", "notes.txt", "--out", "m"], "notes.txt"),
    (["train", "binary.bin", "--out", "m"], "binary.bin"),
    (["train", "folder", "--out", "m"], "folder"),
    # evaluate
    (["evaluate", "no-such-model", "d.nc", "--out", "m.nc"], "no-such-model"),
    (["evaluate", "model", "d.nc", "--out", "m.nc", "--split", "test"], "--split test"),
    (["evaluate", "mk_folder", "d.nc", "--out", "m.nc"], "mk_folder/model.keras is a folder"),
    (["evaluate", "mk_zero", "d.nc", "--out", "m.nc"], "mk_zero/model.keras is a character device"),
    (["evaluate", "mk_oddbins", "d.nc", "--out", "m.nc"], "outputs.n_bins (501)"),
    (["evaluate", "model", "notes.txt", "--out", "m.nc"], "notes.txt"),
    (["evaluate", "model", "folder", "--out", "m.nc"], "folder"),
    (["evaluate", "model", "d.nc", "--out", "."], "--out ."),
    # sensitivity
    ([*SENS, *VARY, "--conf-level", "1.5"], "--conf-level"),
    ([*SENS, "--vary", "d_plus=gamma(1,2)", "--vary", "d_minus=normal(0.45,0.015)"], "gamma"),
    ([*SENS, "--vary", "d_plus=normal(0.4)", "--vary", "d_minus=normal(0.45,0.015)"], "normal takes 2 numbers"),
    ([*SENS, *VARY, "--z", "50", "-50"], "z = 50 -50: outside the slit"),
    (["sensitivity", "model", *VARY, "--out", "s.nc"], "give --vary or --fix for ['h', 'c', 'sigma']"),
    ([*SENS, "--problem", "no-such.json"], "no-such.json"),
    ([*SENS, *VARY, "--samples", "1"], "--samples"),
    ([*SENS, "--vary", "d_plus=normal(0.4,0.01)", "--vary", "d_minus=normal(0.9,0.015)"], "--extrapolation warn"),
    ([*SENS, *VARY, "--species", "cation", "cation"], "species = cation cation"),
    ([*SENS, *VARY, "--species", "proton"], "proton"),
    ([*SENS, *VARY, "--z", "-1", "-1"], "z = -1 -1"),
    ([*SENS, *VARY, "--bins", "3", "3"], "bins = 3 3"),
    ([*SENS, *VARY, "--bins", "100000"], "bins = [100000]"),
    ([*SENS, *VARY, "--z", "nan"], "--z"),
    ([*SENS, *VARY, "--output", "charge_density", "--species", "cation"], "species"),
    ([*SENS, *VARY, "--members"], "--members"),
    ([*SENS, *VARY, "--method", "sobol", "--samples", BIG], f"n = {BIG} base samples"),
    ([*SENS, *VARY, "--method", "sobol", "--samples", "1000"], "n = 1000"),
    ([*SENS, *VARY, "--method", "pce", "--samples", BIG], f"n = {BIG}"),
    ([*SENS, *VARY, "--method", "nested", "--samples", MEGA, "--inner", MEGA], f"n_inner = {MEGA}"),
    ([*SENS, *VARY, "--method", "nested", "--samples", MEGA, "--inner", MEGA, "--resamples", "0", "--z", "-1"],
     f"n_outer x n_inner = {MEGA} x {MEGA}"),
    ([*SENS, *VARY, "--method", "nested", "--second-order"], "--second-order"),
    ([*SENS, *VARY, "--method", "sobol", "--order", "3"], "--order"),
    ([*SENS, *VARY, "--method", "pce", "--inner", "3"], "--inner"),
    ([*SENS, *VARY, "--method", "pce", "--estimator", "janon2014"], "--estimator"),
    ([*SENS, "--vary", "d_plus=normal(0.4,0.01)", "--fix", "d_minus=0.45", "--method", "nested"], "['d_plus']"),
    ([*SENS, *VARY, "--fix", "k=nan"], "--fix k=nan"),
    ([*SENS, *VARY, "--fix", "T=1"], "unknown ['T']"),
    ([*SENS, "--vary", "d_plus=normal(nan,1)", "--vary", "d_minus=normal(0.45,0.015)"], "--vary d_plus=normal(nan,1)"),
    ([*SENS[:-2], *VARY, "--out", "."], "--out ."),
    ([*SENS[:-2], *VARY, "--out", "model"], "--out model"),
    ([*SENS[:-2], *VARY, "--out", "nodir/s.nc"], "nodir"),
    # propagate
    ([*PROP, "--n", "1"], "--n"),
    ([*PROP, "--quantiles", "1.5"], "--quantiles"),
    ([*PROP, "--quantiles", "0.5", "0.5"], "quantiles = [0.5, 0.5]"),
    ([*PROP, "--n", BIG], f"n = {BIG}"),
    ([*PROP, "--species", "anion", "anion"], "species = anion anion"),
    ([*PROP, "--output", "integrated_charge", "--species", "cation"], "species"),
    ([*PROP, "--fix", "k=nan"], "--fix k=nan"),
    ([*PROP, "--conf-level", "1"], "--conf-level"),
    (["propagate", "folder", *FIX, *VARY, "--out", "p.nc"], "folder"),
    (["propagate", "afile", *FIX, *VARY, "--out", "p.nc"], "afile"),
    (["propagate", "model", *FIX, "--vary", "d_plus=normal(0.4,0.01)", "--vary", "d_minus=uniform(0.1,0.9)",
      "--out", "p.nc"], "d_minus"),
    # sample: input names, distributions, --problem files, sizes, another method's options
    (["sample", "--method", "nested", "--vary", "a=uniform(0,1)", "--vary", "b=uniform(0,1)", "--vary",
      "c=uniform(0,1)", "--out", "x.csv"], "exactly two varied inputs"),
    (["sample", "--out", "x.csv"], "give the inputs"),
    ([*SAMPLE, "--vary", "a b=uniform(0,1)", "--vary", "b=uniform(0,1)"], "'a b'"),
    ([*SAMPLE, "--vary", "a,b=uniform(0,1)", "--vary", "b=uniform(0,1)"], "'a,b'"),
    ([*SAMPLE, "--vary", "=uniform(0,1)", "--vary", "b=uniform(0,1)"], "--vary =uniform(0,1)"),
    ([*SAMPLE, "--vary", "a/b=uniform(0,1)", "--vary", "b=uniform(0,1)"], "'a/b'"),
    ([*SAMPLE, "--vary", "row=uniform(0,1)", "--vary", "b=uniform(0,1)"], "'row'"),
    ([*SAMPLE, *AB, "--fix", "k=nan"], "--fix k=nan"),
    ([*SAMPLE, *AB, "--fix", "k=inf"], "--fix k=inf"),
    ([*SAMPLE, *AB, "--fix", "k=1+2j"], "--fix k=1+2j"),
    ([*SAMPLE, *AB, "--fix", "a=1"], "'a'"),
    ([*SAMPLE, "--vary", "a=normal(nan,1)", "--vary", "b=uniform(0,1)"], "--vary a=normal(nan,1)"),
    ([*SAMPLE, "--vary", "a=uniform(1,0)", "--vary", "b=uniform(0,1)"], "--vary a=uniform(1,0)"),
    ([*SAMPLE, "--vary", "a=lognormal(0,-1)", "--vary", "b=uniform(0,1)"], "--vary a=lognormal(0,-1)"),
    ([*SAMPLE, "--vary", "a=loguniform(0,1)", "--vary", "b=uniform(0,1)"], "--vary a=loguniform(0,1)"),
    ([*SAMPLE, "--vary", "a=triangular(0,2,1)", "--vary", "b=uniform(0,1)"], "--vary a=triangular(0,2,1)"),
    *[([*SAMPLE, "--problem", f"{name}.json"], f"--problem {name}.json") for name in (
        "p_unitslist", "p_strbounds", "p_boolbounds", "p_boolvalue", "p_complex", "p_groups", "p_groups1", "p_space", "p_comma",
        "p_empty", "p_intname", "p_slash", "p_latin1", "p_list", "p_badjson")],
    ([*SAMPLE, "--problem", "p_row.json"], "'row'"),
    ([*SAMPLE, "--problem", "folder"], "folder"),
    ([*SAMPLE, "--problem", "binary.bin"], "--problem binary.bin"),
    ([*SAMPLE, *AB, "--problem", "p_space.json"], "--problem FILE"),
    (["sample", "--method", "sobol", "--samples", BIG, "--seed", "1", *AB, "--out", "x.csv"], f"n = {BIG}"),
    (["sample", "--method", "sobol", "--samples", BIG, "--ci", "rqmc", "--seed", "1", *AB, "--out", "x.csv"],
     f"n = {BIG}"),
    (["sample", "--method", "nested", "--samples", MEGA, "--inner", MEGA, "--seed", "1", *AB, "--out", "x.csv"],
     f"n_inner = {MEGA}"),
    (["sample", "--method", "pce", "--samples", BIG, "--seed", "1", *AB, "--out", "x.csv"], f"n = {BIG}"),
    (["sample", "--method", "nested", "--second-order", "--seed", "1", *AB, "--out", "x.csv"], "--second-order"),
    (["sample", "--method", "nested", "--ci", "rqmc", "--seed", "1", *AB, "--out", "x.csv"], "--ci"),
    (["sample", "--method", "pce", "--inner", "4", "--seed", "1", *AB, "--out", "x.csv"], "--inner"),
    (["sample", "--method", "sobol", "--order", "3", "--seed", "1", *AB, "--out", "x.csv"], "--order"),
    (["sample", "--method", "sobol", "--seed", "-1", *AB, "--out", "x.csv"], "--seed"),
    (["sample", "--method", "sobol", "--seed", "1", *AB, "--out", "."], "--out ."),
    (["sample", "--method", "sobol", "--seed", "1", *AB, "--out", "/"], "--out /"),
    (["sample", "--method", "sobol", "--seed", "1", *AB, "--out", "design.csv"], "--out design.csv"),
    (["sample", "--method", "sobol", "--seed", "1", *AB, "--model", "folder", "--out", "x.csv"], "folder"),
    # analyze: edited design headers, odd outputs, another method's options
    (["analyze", "notes.txt", "short.csv", "--out", "a.nc"], "notes.txt"),
    *[(["analyze", f"h_{name}.csv", "out.csv", "--out", "a.nc"], f"h_{name}.csv") for name in (
        "badjson", "noproblem", "badsettings", "settingslist", "seedfraction", "seedtext", "badproblem", "badmethod")],
    (["analyze", "design.csv", "out_frac.csv", "--out", "a.nc"], "row label 2.5"),
    (["analyze", "design.csv", "out_dup.csv", "--out", "a.nc"], "rows [2] more than once"),
    (["analyze", "design.csv", "out_short.csv", "--out", "a.nc"], "1 missing (first [31])"),
    (["analyze", "design.csv", "out_nan.csv", "--out", "a.nc"], "rows (first [2])"),
    (["analyze", "design.csv", "out_latin1.csv", "--out", "a.nc"], "out_latin1.csv: not UTF-8"),
    (["analyze", "design.csv", "d.nc", "--out", "a.nc"], "d.nc"),
    (["analyze", "design.csv", "out.csv", "--variable", "y", "--out", "a.nc"], "--variable"),
    (["analyze", "design.csv", "out.csv", "--order", "3", "--out", "a.nc"], "--order"),
    (["analyze", "design.csv", "out.csv", "--resamples", "-1", "--out", "a.nc"], "--resamples"),
    (["analyze", "design.csv", "out.csv", "--out", "design.csv"], "--out design.csv"),
    # plot, info
    (["plot", "notes.txt", "--out", "figs"], "notes.txt"),
    (["plot", "folder", "--out", "figs"], "folder"),
    (["plot", "d.nc", "--out", "afile"], "afile"),
    (["plot", "binary.bin", "--out", "figs"], "binary.bin"),
    (["info", "--example", "foo"], "--example"),
    (["info", "folder"], "folder"),
    (["info", "missing.nc"], "no such file"),
    (["info"], "give one of FILE, --example NAME or --model NAME|DIR"),
    (["info", "--example", "nope"], "argument --example: invalid choice: 'nope' (choose from 'real-md')"),
    (["info", "notes.txt"], "notes.txt"),
    (["info", "binary.bin"], "binary.bin"),
    (["info", "d.nc", "--example", "real-md"], "give one of FILE, --example NAME or --model NAME|DIR"),
    # calibrate
    (["calibrate", "model", "d.nc"], "not an ensemble"),
    (["calibrate", "ens", "d.nc", "--alpha", "2"], "--alpha"),
    (["calibrate", "ens", "d16.nc"], "d16.nc: data has 16 samples"),
    (["calibrate", "ens", "d30.nc"], "d30.nc: data: density_true has 2 species x 30 bins"),
    (["calibrate", "ens", "d16.nc", "--training-data", "d16.nc"], "training rows"),
    (["calibrate", "ens", "notes.txt"], "notes.txt"),
    (["calibrate", "ens", "d.nc", "--training-data", "no-such.nc"], "no-such.nc"),
    (["calibrate", "folder", "d.nc"], "folder"),
    # study, import-model, active
    (["study", "--out", "afile"], "afile"),
    (["study", "--model", "folder", "--out", "s"], "folder"),
    (["study", "--out", "/dev/null"], "/dev/null"),
    (["study", "--out", "/", "--quick"], "/ has no name"),
    (["study", "--refine", "0", "--out", "s"], "budget"),
    (["study", "--tolerance", "0.1", "--out", "s"], "--refine"),
    (["study", "--model", "no-such-model", "--out", "s"], "no-such-model"),
    (["import-model", "--keras2", str(LEGACY / "my_model.h5"), "--scaler", "evil.pkl", "--out", "legacy"],
     "evil.pkl"),
    (["import-model", "--keras2", "text.h5", "--scaler", str(LEGACY / "scaler.pkl"), "--out", "legacy"], "text.h5"),
    (["import-model", "--keras2", str(LEGACY / "my_model.h5"), "--scaler", str(LEGACY / "scaler.pkl"), "--inputs",
      "a,b", "--out", "legacy"], "--inputs"),
    (["import-model", "--keras2", "no-such.h5", "--scaler", "no-such.pkl", "--out", "legacy"], "no-such.h5"),
    (["import-model", "--keras2", "text.h5", "--scaler", "notes.txt", "--z-start", "h=x", "--out", "legacy"],
     "--z-start"),
    (["import-model", "--keras2", "text.h5", "--scaler", "notes.txt", "--z-start", "q=1", "--out", "legacy"],
     "--z-start"),
    (["active", "run", "folder", "d.nc", "--out", "al", "--rounds", "1"], "folder"),
    (["active", "run", "model", "d.nc", "--out", "al", "--rounds", "1"], "model"),
    (["active", "run", "ens", "d.nc", "--out", "al", "--rounds", "1", "--batch", "0"], "--batch"),
    (["active", "run", "ens", "d.nc", "--out", "al", "--rounds", "1", "--kT", "0"], "--kT"),
    (["active", "run", "ens", "d.nc", "--out", "al", "--rounds", "1", "--percentile", "101"], "--percentile"),
    (["active", "propose", "ens", "d.nc", "--out", "al", "--calibration", "5"], "--calibration 5"),
    (["active", "propose", "ens", "d.nc", "--out", "al", "--calibration", "no-such.nc"], "no-such.nc"),
    (["active", "ingest", "folder", "d.nc"], "folder"),
    (["active", "ingest", "no-such-run", "d.nc"], "no-such-run"),
    (["active"], "STEP"),
    (["no-such-command"], "no-such-command"),
]


@pytest.mark.filterwarnings("default::uqsurrogate.warnings.UQSurrogateWarning")
@pytest.mark.parametrize("argv, names", TABLE, ids=[" ".join(a[:1] + [names]) for a, names in TABLE])
def test_bad_input_is_one_line_exit_2_and_changes_nothing(work, capsys, argv, names):
    """Every case: exit status 2, one line on stderr naming the flag, file or row, no traceback, nothing made or
    changed in the work folder (names, kinds, sizes, times and contents of every entry)."""
    _inputs(work, argv)
    before = _snapshot(work)
    err = _one_line_error(capsys, main(argv))
    assert names in err, err
    assert "this must never run" not in capsys.readouterr().out
    assert _snapshot(work) == before


def test_the_table_is_large_and_wide():
    assert len(TABLE) >= 130
    assert len({argv[0] for argv, _ in TABLE}) >= 15  # every subcommand that reads input
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
