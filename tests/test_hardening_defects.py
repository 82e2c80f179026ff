"""The defects a hostile probe found (issue 24): each test is named after its defect.

Every test failed before its fix.  Errors are the package's own (InputError and its
subclasses), one message naming the argument, file or row, the value and what is allowed;
on the command line one line and exit status 2.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest
import xarray as xr
from test_hardening import _one_line_error

from uqsurrogate.cli import main
from uqsurrogate.errors import InputError
from uqsurrogate.problem import Problem, Uniform


# ------------------------------------------------------------------ defect 1: row labels matched exactly
def _design_and_outputs():
    from uqsurrogate.sensitivity.external import sample

    design = sample("sobol", Problem({"a": Uniform(0, 1), "b": Uniform(0, 1)}), n=8, seed=1)
    y = design["a"].values + 0.1 * design["b"].values
    return design, y


def test_defect_01_string_row_labels_are_matched_exactly_or_refused(tmp_path, capsys):
    from uqsurrogate.sensitivity.external import analyze, load_outputs, save_design

    design, y = _design_and_outputs()
    rows = np.arange(len(y))
    reference = analyze(design, xr.DataArray(y, dims="row", coords={"row": rows}))
    # text labels "0", "1", "10", ... in text order: each must reach its own row
    order = np.argsort(rows.astype(str))
    as_text = xr.DataArray(y[order], dims="row", coords={"row": rows[order].astype(str)})
    np.testing.assert_array_equal(analyze(design, as_text)["S1"].values, reference["S1"].values)
    as_object = xr.DataArray(y, dims="row", coords={"row": np.array([str(r) for r in rows], dtype=object)})
    np.testing.assert_array_equal(analyze(design, as_object)["S1"].values, reference["S1"].values)
    # labels that are not whole numbers are refused, naming one
    for bad, shown in (("x3", "'x3'"), ("2.5", "'2.5'")):
        labels = rows.astype(str).astype(object)
        labels[3] = bad
        with pytest.raises(InputError, match=f"row label {shown}"):
            analyze(design, xr.DataArray(y, dims="row", coords={"row": labels}))
    fractional = rows.astype(float)
    fractional[3] = 2.5
    with pytest.raises(InputError, match="row label 2.5"):
        analyze(design, xr.DataArray(y, dims="row", coords={"row": fractional}))
    # a table's row column is converted exactly too (2.5 was truncated to 2)
    table = tmp_path / "out.csv"
    table.write_text("row,y\n" + "".join(f"{r if r != 3 else 2.5},{float(v)!r}\n" for r, v in zip(rows, y)))
    with pytest.raises(InputError, match=r"out.csv.*row label 2.5"):
        load_outputs(table)
    # the command line: string labels in a netCDF file give the same indices; bad ones one line, exit 2
    save_design(design, tmp_path / "design.nc")
    as_text.rename("y").to_dataset().to_netcdf(tmp_path / "text.nc")
    assert main(["analyze", str(tmp_path / "design.nc"), str(tmp_path / "text.nc"), "--out",
                 str(tmp_path / "r.nc")]) == 0
    capsys.readouterr()
    with xr.open_dataset(tmp_path / "r.nc") as r:
        np.testing.assert_array_equal(r["S1"].values, reference["S1"].values)
    labels = rows.astype(str).astype(object)
    labels[5] = "five"
    xr.DataArray(y, dims="row", coords={"row": labels}, name="y").to_dataset().to_netcdf(tmp_path / "bad.nc")
    err = _one_line_error(capsys, main(["analyze", str(tmp_path / "design.nc"), str(tmp_path / "bad.nc"),
                                        "--out", str(tmp_path / "r2.nc")]))
    assert "bad.nc: y: row label 'five'" in err
    assert not (tmp_path / "r2.nc").exists()


# ------------------------------------------------------------------ defect 2: duplicate input names
def test_defect_02_duplicate_input_names_are_refused_in_every_way_a_problem_is_made(tmp_path, capsys):
    import json

    salib = {"num_vars": 2, "names": ["x", "x"], "bounds": [[0, 1], [0, 2]]}
    with pytest.raises(InputError, match="'x' more than once"):
        Problem.from_salib(salib)
    ours = '{"inputs": {"x": {"kind": "uniform", "low": 0, "high": 1}, "x": {"kind": "fixed", "value": 2}}}'
    with pytest.raises(InputError, match="'x' more than once"):
        Problem.from_json(ours)
    with pytest.raises(InputError, match="'x' more than once"):
        Problem.from_salib(salib, fixed={"y": 1.0}, order=["x", "x", "y"])
    (tmp_path / "salib.json").write_text(json.dumps(salib))
    (tmp_path / "ours.json").write_text(ours)
    for name in ("salib.json", "ours.json"):
        with pytest.raises(InputError, match=rf"{name}.*'x' more than once"):
            Problem.from_file(tmp_path / name)
    xr.Dataset(attrs={"problem": ours}).to_netcdf(tmp_path / "result.nc")
    with pytest.raises(InputError, match=r"result.nc.*'x' more than once"):
        Problem.from_file(tmp_path / "result.nc")
    for name in ("salib.json", "ours.json", "result.nc"):
        err = _one_line_error(capsys, main(["sample", "--method", "sobol", "--problem", str(tmp_path / name),
                                            "--samples", "8", "--out", str(tmp_path / "d.nc")]))
        assert "'x' more than once" in err and name in err
    assert not (tmp_path / "d.nc").exists()


# ------------------------------------------------------------------ defect 3: truncnormal parameters
def test_defect_03_truncnormal_needs_finite_parameters_and_probability_mass(tmp_path, capsys):
    import json
    import math

    from uqsurrogate.problem import Normal, TruncNormal

    nan, inf = math.nan, math.inf
    for args, name in (((nan, 1, 0, 1), "mean"), ((0, nan, 0, 1), "sd"), ((0, inf, 0, 1), "sd"),
                       ((0, 1, nan, 1), "low"), ((0, 1, 0, inf), "high"), ((0, 1, -inf, 1), "low")):
        value = args[["mean", "sd", "low", "high"].index(name)]
        with pytest.raises(InputError, match=rf"truncnormal\(.*\): {name} = {value}; it must be a number"):
            TruncNormal(*args)
    for args in ((0, 1, 1e200, 1e201), (0, 1e-300, 5, 6), (0, 1, -1e200, -1e199), (1e300, 1e-10, 0, 1)):
        with pytest.raises(InputError, match="no probability mass"):
            TruncNormal(*args)
    # far in the tail but representable: still allowed, and its draws are finite and in range
    far = TruncNormal(0, 1, 40, 41).scipy().ppf([1e-12, 0.5, 1 - 1e-12])
    assert np.all(np.isfinite(far)) and far.min() >= 40 and far.max() <= 41
    with pytest.raises(InputError, match=r"normal\(mean=nan, sd=1\): mean = nan; it must be a number$"):
        Normal(nan, 1)
    with pytest.raises(InputError, match="sd = 0; it must be a number > 0"):
        Normal(0, 0)
    # the command line, a --problem file in SALib's form and one in ours
    base = ["sample", "--method", "sobol", "--samples", "8", "--out", str(tmp_path / "d.nc")]
    for spec in ("truncnormal(nan,1,0,1)", "truncnormal(0,1,1e200,1e201)", "truncnormal(0,inf,0,1)"):
        err = _one_line_error(capsys, main([*base, "--vary", f"x={spec}", "--vary", "y=uniform(0,1)"]))
        assert "truncnormal(" in err
    (tmp_path / "salib.json").write_text(json.dumps({"names": ["x", "y"], "bounds": [[1e200, 1e201, 0, 1], [0, 1]],
                                                     "dists": ["truncnorm", "unif"]}))
    (tmp_path / "ours.json").write_text('{"inputs": {"x": {"kind": "truncnormal", "mean": NaN, "sd": 1, "low": 0, '
                                        '"high": 1}, "y": {"kind": "uniform", "low": 0, "high": 1}}}')
    for name in ("salib.json", "ours.json"):
        err = _one_line_error(capsys, main([*base, "--problem", str(tmp_path / name)]))
        assert name in err and "truncnormal(" in err
    assert not (tmp_path / "d.nc").exists()


# ------------------------------------------------------------------ defect 4: clip and the z grid
def test_defect_04_under_clip_the_z_grid_and_labels_are_those_of_the_h_the_model_runs_at(tmp_path, capsys):
    from uqsurrogate.model_function import ModelFunction
    from uqsurrogate.study import default_model_path
    from uqsurrogate.surrogate.zgrid import uniform_slit_centres

    model = default_model_path()
    f = ModelFunction.from_artifact(model, extrapolation="clip", dtype=np.float64)
    h_max = float(f.train_max[f.input_names.index("h")])
    assert h_max < 5.9
    grid = uniform_slit_centres(h_max, f.n_bins)
    # h = 6 runs the model at h_max: z = 2.9 lies in no bin it computes (it selected a bin of z 2.4 labelled 2.9)
    with pytest.raises(InputError, match=rf"z = 2.9: outside the slit \[-{h_max / 2:g}, {h_max / 2:g}\] nm of "
                                         rf"h = {h_max:g} \(h = 6 is outside the training range: under "
                                         rf"extrapolation='clip' the model runs at h = {h_max:g}"):
        f.restrict(z=[2.9], h=6.0)
    g = f.restrict(z=[2.3, -1.0], h=6.0)
    _, z, attrs = g.output_coords({"h": 6.0})["z"]
    np.testing.assert_array_equal(z, grid[g.bin_index])
    assert np.all(np.abs(z - [2.3, -1.0]) <= h_max / f.n_bins / 2 + 1e-12)
    assert f"bin centres of h = {h_max:g} nm (h = 6 is outside" in attrs["comment"]
    # the values are those at h_max, which the labels now describe; z_for says the same
    x6 = np.array([[6.0, 0.5, 0.4, 0.5, -0.015]])
    x_max = x6.copy()
    x_max[0, 0] = h_max
    np.testing.assert_array_equal(g(x6), f.restrict(z=[2.3, -1.0], h=h_max)(x_max))
    np.testing.assert_array_equal(f.z_for(x6), grid[None])
    # under warn the model runs at h = 6 itself: its bins and labels are h = 6's
    w = f.with_options(extrapolation="warn").restrict(z=[2.9], h=6.0)
    np.testing.assert_array_equal(w.output_coords({"h": 6.0})["z"][1], uniform_slit_centres(6.0, f.n_bins)[w.bin_index])
    # the command line: refused in one line, or labelled with the bins the model computed
    out = tmp_path / "s.nc"
    base = ["sensitivity", str(model), "--method", "sobol", "--vary", "c=uniform(0.3,0.6)", "--vary",
            "d_plus=uniform(0.35,0.45)", "--fix", "h=6", "--fix", "d_minus=0.5", "--fix", "sigma=-0.015",
            "--species", "cation", "--samples", "16", "--extrapolation", "clip", "--quiet", "--out", str(out)]
    err = _one_line_error(capsys, main([*base, "--z", "2.9"]))
    assert "h = 6 is outside the training range" in err and not out.exists()
    assert main([*base, "--z", "2.3"]) == 0
    with xr.open_dataset(out) as r:
        np.testing.assert_allclose(r["z"].values, grid[g.bin_index[:1]])
        assert r["z"].values[0] < h_max / 2


# ------------------------------------------------------------------ defect 5: a large polynomial order
@pytest.fixture
def deadline():
    """Fail (instead of hanging) if the test's work takes more than 20 s."""
    import signal

    def expired(signum, frame):
        raise TimeoutError("took more than 20 s")

    old = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, 20)
    yield
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, old)


def test_defect_05_a_large_polynomial_order_is_refused_at_once_with_the_sizes(tmp_path, capsys, deadline):
    from math import comb

    from uqsurrogate.sensitivity import pce
    from uqsurrogate.sensitivity.external import sample, save_design
    from uqsurrogate.sensitivity.pce import multi_indices

    problem = Problem({"a": Uniform(0, 1), "b": Uniform(0, 1), "c": Uniform(0, 1), "d": Uniform(0, 1)})
    terms = comb(4 + 1500, 4)
    with pytest.raises(InputError, match=rf"order-1500 expansion in 4 inputs has {terms} terms: use n >= {2 * terms}"):
        pce(lambda x: x.sum(axis=1), problem, n=512, order=1500, progress=False)
    # the terms are made in their number of steps, in the same graded order
    assert multi_indices(2, 2).tolist() == [[0, 0], [0, 1], [1, 0], [0, 2], [1, 1], [2, 0]]
    assert len(multi_indices(6, 12)) == comb(18, 6)
    # the command line: sensitivity and analyze refuse it in one line
    design = sample("pce", problem, n=64, seed=0)
    save_design(design, tmp_path / "design.nc")
    xr.DataArray(np.stack([design[k].values for k in "abcd"], axis=1).sum(axis=1), dims="row",
                 coords={"row": design["row"].values}, name="y").to_dataset().to_netcdf(tmp_path / "y.nc")
    err = _one_line_error(capsys, main(["analyze", str(tmp_path / "design.nc"), str(tmp_path / "y.nc"),
                                        "--order", "1500", "--out", str(tmp_path / "r.nc")]))
    assert f"{terms} terms" in err
    assert not (tmp_path / "r.nc").exists()


# ------------------------------------------------------------------ defect 6: --out a device, a pipe or a socket
def test_defect_06_out_that_is_not_a_regular_file_or_folder_is_never_replaced(tmp_path, capsys, monkeypatch):
    import os
    import stat

    from uqsurrogate._atomic import atomic_directory, atomic_path

    monkeypatch.chdir(tmp_path)
    os.mkfifo("pipe")
    os.symlink("pipe", "link")
    specials = ["pipe", "link"]
    try:  # a device node like /dev/null, where the system lets us make one (root with CAP_MKNOD)
        os.mknod("null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
        specials.append("null")
    except OSError:
        pass
    sample = ["sample", "--method", "sobol", "--vary", "x=uniform(0,1)", "--vary", "y=uniform(0,1)", "--samples", "8"]
    for name in specials:
        for force in ([], ["--force"]):
            err = _one_line_error(capsys, main([*sample, "--out", name, *force]))
            assert f"--out {name}" in err and "not a regular file" in err, err
        # a command that writes a folder
        err = _one_line_error(capsys, main(["import-model", "--keras2", "k.h5", "--scaler", "s.pkl", "--out", name,
                                            "--force"]))
        assert f"--out {name}" in err and "not a folder" in err, err
        with pytest.raises(InputError, match="not a regular file"), atomic_path(name) as tmp:
            tmp.write_text("x")
        with pytest.raises(InputError, match="not a folder"), atomic_directory(name):
            pass
    assert stat.S_ISFIFO(os.stat("pipe").st_mode) and os.path.islink("link")
    if "null" in specials:
        assert stat.S_ISCHR(os.stat("null").st_mode)


# ------------------------------------------------------------------ defect 8: what ensemble.json lists
@pytest.fixture
def shipped_ensemble(tmp_path):
    """A copy of the shipped five-member ensemble (its ensemble.json has no digest of itself: an old file)."""
    import shutil

    from uqsurrogate.study import default_model_path

    path = tmp_path / "ens"
    shutil.copytree(default_model_path(), path)
    return path


def _edit(path, change):
    import json

    doc = json.loads((path / "ensemble.json").read_text())
    doc.pop("ensemble_sha256", None)
    change(doc)
    (path / "ensemble.json").write_text(json.dumps(doc))


def test_defect_08_ensemble_members_are_distinct_inside_their_folder_and_the_calibration_well_typed(
        shipped_ensemble, tmp_path, capsys):
    import json
    import shutil

    from uqsurrogate.surrogate.artifact import ArtifactError
    from uqsurrogate.surrogate.ensemble import read_ensemble, set_calibration

    ens = shipped_ensemble
    doc = read_ensemble(ens)  # the shipped file, without a digest of itself, still loads
    assert len(doc["members"]) == 5
    original = (ens / "ensemble.json").read_text()

    def refused(change, message):
        (ens / "ensemble.json").write_text(original)
        _edit(ens, change)
        with pytest.raises(ArtifactError, match=message):
            read_ensemble(ens)

    refused(lambda d: d.update(members=["member-00", "member-00", "member-01"]), "'member-00' more than once")
    # a member that is a copy of another (the same metadata): its spread would be zero
    shutil.copytree(ens / "member-00", ens / "member-05")

    def copy(d):
        d["members"].append("member-05")
        d["files"]["member-05"] = d["files"]["member-00"]
    refused(copy, "member member-05 is a copy of member member-00")
    # members outside the folder: a relative path out of it, an absolute path, a link out of it
    shutil.copytree(ens / "member-01", tmp_path / "m1")

    def outside(name):
        def change(d):
            d["members"][1] = name
            d["files"][name] = d["files"].pop("member-01")
        return change
    refused(outside("../m1"), r"member '../m1' is not a folder inside")
    refused(outside(str(tmp_path / "m1")), "is not a folder inside")
    (ens / "link").symlink_to(tmp_path / "m1")
    refused(outside("link"), "member 'link' is not a folder inside")
    # the stored calibration: a dict of output kinds, each a dict, with numeric lists
    for calibration, message in (
            ([1, 2], "calibration is a list"),
            ({"density": "isotonic"}, r"calibration\['density'\] is a str"),
            ({"density": {"calibration": {"kind": "isotonic", "x": "abc", "y": [1.0]}}},
             r"calibration\['density'\]\['calibration'\]\['x'\] is a str"),
            ({"density": {"calibration": {"kind": "isotonic", "x": [0.0, "1"], "y": [0.0, 1.0]}}},
             r"\['x'\] holds a str"),
            ({"density": {"calibration": {"kind": "isotonic", "x": [0.0, 1.0], "y": [0.0]}}}, "as many"),
            ({"density": {"calibration": {"kind": "magic"}}}, "kind = 'magic'"),
            ({"density": {"calibration": {"kind": "scale", "scale": -1}}}, "scale"),
            ({"density": {"method": "isotonic"}}, r"calibration\['density'\] has no 'calibration'")):
        refused(lambda d, c=calibration: d.update(calibration=c), message)
    # ensemble.json now records its own digest: an edit after saving is refused; set_calibration rewrites it
    (ens / "ensemble.json").write_text(original)
    set_calibration(ens, read_ensemble(ens)["calibration"])
    stored = json.loads((ens / "ensemble.json").read_text())
    assert len(stored["ensemble_sha256"]) == 64
    assert read_ensemble(ens)["calibration"] == json.loads(original)["calibration"]
    stored["training"]["seeds"] = [0, 0, 0, 0, 0]
    (ens / "ensemble.json").write_text(json.dumps(stored))
    with pytest.raises(ArtifactError, match="ensemble.json was changed after it was written"):
        read_ensemble(ens)
    err = _one_line_error(capsys, main(["propagate", str(ens), "--vary", "h=uniform(4,5)", "--fix", "c=0.5",
                                        "--fix", "d_plus=0.4", "--fix", "d_minus=0.5", "--fix", "sigma=-0.01",
                                        "--n", "4", "--out", str(tmp_path / "p.nc")]))
    assert "changed after it was written" in err and not (tmp_path / "p.nc").exists()


# ------------------------------------------------------------------ defect 7: a format version that switched off checks
def test_defect_07_a_format_version_cannot_switch_off_the_checks_of_what_the_file_holds(shipped_ensemble, tmp_path,
                                                                                          capsys):
    import copy
    import json

    from conftest import synthetic

    from uqsurrogate.surrogate import SurrogateTrainer, TrainingConfig
    from uqsurrogate.surrogate.artifact import (
        ArtifactError,
        load_artifact,
        metadata_digest,
    )
    from uqsurrogate.warnings import IntegrityWarning

    member = shipped_ensemble / "member-00"  # format 4: the metadata's own SHA-256 is checked
    original = json.loads((member / "metadata.json").read_text())
    assert original["format_version"] == 4

    def edited(path, base, *changes, digest=False):
        meta = copy.deepcopy(base)
        for change in changes:
            change(meta)
        if digest:
            meta["metadata_sha256"] = metadata_digest(meta)
        (path / "metadata.json").write_text(json.dumps(meta))
        return path

    def swap(meta):
        meta["outputs"]["species"] = ["anion", "cation"]

    def version(v):
        return lambda meta: meta.update(format_version=v)

    def undigested(meta):
        meta.pop("metadata_sha256")

    # the probe: species swapped, format_version 3 (which predates the digest), no hash recomputed
    edited(member, original, swap, version(3))
    with pytest.raises(ArtifactError, match=r"format_version 3, but it holds metadata_sha256, which format 4 "
                                            r"introduced: the version was changed after saving"):
        load_artifact(member)
    err = _one_line_error(capsys, main(["propagate", str(member), "--vary", "h=uniform(4,5)", "--fix", "c=0.5",
                                        "--fix", "d_plus=0.4", "--fix", "d_minus=0.5", "--fix", "sigma=-0.01",
                                        "--n", "4", "--out", str(tmp_path / "p.nc")]))
    assert "which format 4 introduced" in err and not (tmp_path / "p.nc").exists()
    # a current model relabelled as an older format, its digest dropped too: its later fields give it away
    data = synthetic(n=8, n_bins=12, seed=0)
    config = TrainingConfig(loss="mse", epochs=1, hidden=(4,), dropout=0.0, batch_size=4, seed=0)
    current = SurrogateTrainer(config, progress=False).fit(data).save(tmp_path / "current")
    fresh = json.loads((current / "metadata.json").read_text())
    for v in (3, 4):
        edited(current, fresh, swap, version(v), undigested)
        with pytest.raises(ArtifactError, match=rf"format_version {v}, but it holds training\.representation, which "
                                                "format 5 introduced"):
            load_artifact(current)
    edited(current, fresh, swap)  # format 5 with its digest: refused as before
    with pytest.raises(ArtifactError, match="does not match the recorded metadata_sha256"):
        load_artifact(current)
    # an old (format-3) file loads; what its model.keras holds is checked against its metadata, digest or none
    old = edited(member, original, version(3), undigested)
    with pytest.warns(IntegrityWarning, match="predates the metadata's own digest"):
        assert load_artifact(old).metadata["outputs"]["species"] == ["cation", "anion"]
    # the gap that is left, said out loud: format 3 has no digest, so a swap in one loads, with that warning
    edited(old, original, version(3), undigested, swap)
    with pytest.warns(IntegrityWarning, match="the species' order"):
        assert load_artifact(old).metadata["outputs"]["species"] == ["anion", "cation"]
    v3 = json.loads((old / "metadata.json").read_text())

    def scaled(meta):
        meta["outputs"]["scale"] = [2 * v for v in meta["outputs"]["scale"]]

    def unpinned(meta):
        meta["outputs"]["always_zero"] = meta["outputs"]["always_zero"][1:]

    def one_species(meta):
        meta["outputs"].update(species=["cation"], n_bins=2 * meta["outputs"]["n_bins"])

    def times_c(meta):
        meta["outputs"]["scale_by_input"] = "c"

    for change, message in ((scaled, "outputs.scale and outputs.always_zero differ from its output scaling"),
                            (unpinned, "outputs.scale and outputs.always_zero differ"),
                            (one_species, "it gives 2 x 502 outputs, not 1 species x 1004 bins"),
                            (times_c, "it multiplies by no input, outputs.scale_by_input is 'c'")):
        edited(old, v3, change)
        with pytest.raises(ArtifactError, match=rf"model.keras does not match metadata.json: {message}"):
            load_artifact(old)
        edited(old, original, change, digest=True)  # the same edit with a digest recomputed
        with pytest.raises(ArtifactError, match=message):
            load_artifact(old)
    edited(old, v3, lambda meta: meta["outputs"].update(always_zero=[5000]))
    with pytest.raises(ArtifactError, match=r"outputs.always_zero must be a list of output indices in \[0, 1003\]"):
        load_artifact(old)
    edited(old, v3, version(2))  # formats 1-2 hold the bare network
    with pytest.raises(ArtifactError, match="format_version 2, but model.keras is self-contained"):
        load_artifact(old)
    # the representation's head: the network's last layer must give what the recorded grid takes
    aligned = SurrogateTrainer(
        TrainingConfig(loss="mse", epochs=1, hidden=(4,), dropout=0.0, batch_size=4, seed=0, representation="aligned",
                       output_scale="concentration", output_activation="linear"), progress=False,
    ).fit(data).save(tmp_path / "aligned")
    record = json.loads((aligned / "metadata.json").read_text())
    load_artifact(aligned)

    def finer(meta):
        meta["outputs"]["representation"]["grid"]["steps"][0] /= 2

    edited(aligned, record, finer, digest=True)
    with pytest.raises(ArtifactError, match=r"the network's last layer gives \d+ values, but the metadata's "
                                            r"representation \(aligned\) takes \d+"):
        load_artifact(aligned)


# ------------------------------------------------------------------ defect 9: stale members of train --members
def test_defect_09_a_resumed_ensemble_refuses_members_of_other_data_or_settings(tmp_path, capsys):
    import dataclasses

    from conftest import synthetic

    from uqsurrogate.data import save_dataset
    from uqsurrogate.surrogate import SurrogateTrainer, TrainingConfig
    from uqsurrogate.surrogate.artifact import load_artifact
    from uqsurrogate.surrogate.ensemble import train_ensemble

    data, other = synthetic(n=8, n_bins=12, seed=0), synthetic(n=8, n_bins=12, seed=1)
    config = TrainingConfig(loss="mse", epochs=1, hidden=(4,), dropout=0.0, batch_size=4, seed=0)
    out = tmp_path / "ens"
    parts = tmp_path / "ens.members"
    parts.mkdir()
    # member 0 as a run interrupted after it would have left it
    SurrogateTrainer(dataclasses.replace(config, split_seed=0), progress=False).fit(data).save(parts / "member-00")
    before = load_artifact(parts / "member-00").model.get_weights()
    with pytest.raises(InputError, match=r"ens.members holds members trained on other data \(member 0: data SHA-256"):
        train_ensemble(config, other, out, members=2, progress=False)
    with pytest.raises(InputError, match=r"holds members trained with other settings \(member 0: epochs 1 \(now 2\)\)"):
        train_ensemble(dataclasses.replace(config, epochs=2), data, out, members=2, progress=False)
    with pytest.raises(InputError, match=r"bootstrap False \(now True\)"):
        train_ensemble(config, data, out, members=2, bootstrap=True, progress=False)
    with pytest.raises(InputError, match=r"hidden \[4\] \(now \[5\]\)"):
        train_ensemble(dataclasses.replace(config, hidden=(5,)), data, out, members=2, progress=False)
    assert not out.exists()
    # the command line: one line, exit 2
    save_dataset(other, tmp_path / "other.nc")
    err = _one_line_error(capsys, main(["train", str(tmp_path / "other.nc"), "--out", str(out), "--members", "2",
                                        "--epochs", "1", "--hidden", "4", "--quiet"]))
    assert "trained on other data" in err and not out.exists()
    # the same data and settings resume: member 0 is kept as it was
    train_ensemble(config, data, out, members=2, progress=False)
    np.testing.assert_array_equal(load_artifact(out / "member-00").model.get_weights()[0], before[0])
    assert not parts.exists()


# ------------------------------------------------------------------ defect 10: edited parts of simulate
def test_defect_10_an_edited_or_unchecked_part_of_simulate_is_recomputed_with_a_warning(tmp_path, monkeypatch,
                                                                                        caplog):
    import logging

    from uqsurrogate.data import load_dataset
    from uqsurrogate.simulators import (
        ElectrolyteSimulator,
        random_design,
        runner,
        simulate,
    )

    small = ElectrolyteSimulator(n_bins=100)
    design = random_design(6, seed=4)
    out = tmp_path / "run.nc"
    real = runner._SimulateChunk.__call__
    calls = []

    def crash_on_third(self, bounds):
        calls.append(bounds[0])
        if len(calls) == 3:
            raise KeyboardInterrupt("Ctrl-C")
        return real(self, bounds)

    monkeypatch.setattr(runner._SimulateChunk, "__call__", crash_on_third)
    with pytest.raises(KeyboardInterrupt):
        simulate(design, out, simulator=small, seed=2, chunk_size=2, progress=False)
    parts = tmp_path / "run.nc.parts"
    first, second = parts / "chunk-000000.nc", parts / "chunk-000001.nc"
    assert first.is_file() and second.is_file()
    # someone edits a finished part (a value of the training data), keeping it a valid file
    edited = load_dataset(first)
    edited["density"].values[0, 0, 0] += 1.0
    edited.to_netcdf(first)
    counted = []
    monkeypatch.setattr(runner._SimulateChunk, "__call__", lambda self, b: counted.append(b[0]) or real(self, b))
    with caplog.at_level(logging.WARNING, logger="uqsurrogate.simulators.runner"):
        simulate(design, out, simulator=small, seed=2, chunk_size=2, progress=False)
    assert counted == [0, 4]  # the edited part again, and the one never finished; the intact one kept
    assert any("chunk-000000.nc" in r.getMessage() and "SHA-256" in r.getMessage() for r in caplog.records)
    fresh = simulate(design, tmp_path / "fresh.nc", simulator=small, seed=2, chunk_size=2, progress=False)
    xr.testing.assert_equal(load_dataset(out), load_dataset(fresh))


# ------------------------------------------------------------------ defect 11: a design row too large to solve
def test_defect_11_a_design_row_whose_grid_exceeds_the_memory_bound_is_refused_before_any_work(tmp_path, capsys):
    from uqsurrogate.simulators import ElectrolyteSimulator, simulate
    from uqsurrogate.simulators.electrolyte import (
        MAX_CELLS,
        SlitModel,
        check_row,
        grid_cells,
    )

    # checked first, without solving (before the fix this row passed and the solver grew to 24 GB)
    with pytest.raises(InputError, match=rf"h = 1e\+06 nm needs a solver grid of 2.24e\+08 cells.*{MAX_CELLS} cells"):
        check_row(1e6, 0.5, 0.4, 0.6, -0.01)
    assert grid_cells(4.5, SlitModel(), 502) == 1004  # the solver's own sizing
    check_row(4.5, 0.5, 0.4, 0.6, -0.01, n_bins=502)
    limit = MAX_CELLS / SlitModel().cells_per_nm
    check_row(0.9 * limit, 0.5, 0.4, 0.6, -0.01)
    with pytest.raises(InputError, match="fewer bins"):
        check_row(4.5, 0.5, 0.4, 0.6, -0.01, n_bins=2 * MAX_CELLS)
    with pytest.raises(InputError, match="needs a solver grid"):
        ElectrolyteSimulator().exact(1e300, 0.5, 0.4, 0.6, -0.01)
    design = {"h": [4.5, 1e6], "c": [0.5, 0.5], "d_plus": [0.4, 0.4], "d_minus": [0.6, 0.6], "sigma": [-0.01, -0.01]}
    with pytest.raises(InputError, match=r"design row 1: h = 1e\+06 nm"):
        simulate(design, tmp_path / "s.nc", seed=0, progress=False)
    assert not (tmp_path / "s.nc.parts").exists()
    (tmp_path / "d.csv").write_text("h c d_plus d_minus sigma\n4.5 0.5 0.4 0.6 -0.01\n1e6 0.5 0.4 0.6 -0.01\n")
    err = _one_line_error(capsys, main(["simulate", "--design", str(tmp_path / "d.csv"), "--seed", "0", "--out",
                                        str(tmp_path / "s.nc")]))
    assert "design row 1" in err and f"{MAX_CELLS} cells" in err
    assert not (tmp_path / "s.nc").exists() and not (tmp_path / "s.nc.parts").exists()


# ------------------------------------------------------------------ defect 12: a model returning other rows
def _half_rows(x):
    """A broken model: half as many output rows as input rows (but one for one)."""
    return x[: max(1, len(x) // 2), :1] * 2.0


def test_defect_12_every_chunk_of_every_method_must_return_one_output_row_per_input_row():
    from uqsurrogate.evaluation import Collect, evaluate
    from uqsurrogate.sensitivity import nested, pce, sobol
    from uqsurrogate.uncertainty.propagation import propagate

    problem = Problem({"a": Uniform(0, 1), "b": Uniform(0, 1)})
    with pytest.raises(InputError, match=r"_half_rows returned shape \(500, 1\) for rows 0 to 999; expected "
                                         r"\(1000, \.\.\.\): one output row per input row"):
        propagate(_half_rows, problem, 1000, chunk_size=1000, progress=False)
    with pytest.raises(InputError, match=r"returned shape \(0, 1\) for rows 0 to 0; expected \(1, \.\.\.\)"):
        propagate(lambda x: x[:0, :1], problem, 1000, progress=False)  # the first row alone: the output's shape
    for method, kwargs in ((sobol, {"n": 64}), (nested, {"n_outer": 8, "n_inner": 8}), (pce, {"n": 64, "order": 2})):
        with pytest.raises(InputError, match="one output row per input row"):
            method(_half_rows, problem, **kwargs, seed=0, progress=False)

    calls = []

    def growing(x):  # the output's shape changes between calls
        calls.append(len(x))
        return np.zeros((len(x), len(calls)))

    with pytest.raises(InputError, match=r"growing returned shape \(4, 2\) for rows 4 to 7; expected \(4, 1\) as for "
                                         "the first rows"):
        evaluate(growing, np.zeros((10, 2)), [Collect()], chunk_size=4, progress=False)
    with pytest.raises(InputError, match=r"returned shape \(\) for rows 0 to 3; expected \(4, \.\.\.\)"):
        evaluate(lambda x: 1.0, np.zeros((4, 2)), [Collect()], progress=False)


# ------------------------------------------------------------------ defect 13: input names that label the result
class _Profile:
    """A model with labelled outputs: (species, bin) with a z coordinate."""

    output_dims: ClassVar[list] = ["species", "bin"]
    output_coords: ClassVar[dict] = {"species": ["cation", "anion"], "z": ("bin", np.linspace(-1, 1, 3))}

    def __call__(self, x):
        return np.repeat((x[:, :1] + 2 * x[:, 1:2])[:, None, :], 2, axis=1) * np.ones((1, 2, 3))


def test_defect_13_input_names_that_are_dims_or_coordinates_of_the_result_are_refused(tmp_path, capsys):
    from uqsurrogate.sensitivity import nested, pce, sobol
    from uqsurrogate.sensitivity.external import sample

    def problem(name):
        return Problem({name: Uniform(0, 1), "b": Uniform(0, 1)})

    def two(x):
        return np.stack([x[:, 0], x[:, 1]], axis=1)

    # nested with an input named like the output dim: relabelled when the sizes agree, an xarray error otherwise
    for n_outer in (2, 8):
        with pytest.raises(InputError, match=r"input name 'output' is also a dim or coordinate of nested's result"):
            nested(two, problem("output"), n_outer=n_outer, n_inner=4, resamples=0, seed=0, progress=False)
    cases = [(nested, {"n_outer": 4, "n_inner": 4}, ("input", "surface", "output", "species", "bin", "z")),
             (sobol, {"n": 16}, ("input", "input_2", "output", "species", "z")),
             (pce, {"n": 32, "order": 1}, ("input", "term", "output", "bin", "z"))]
    for method, kwargs, names in cases:
        for name in names:
            f = two if name == "output" else _Profile()
            with pytest.raises(InputError, match=rf"input name '{name}' is also a dim or coordinate of "
                                                 rf"{method.__name__}'s result"):
                method(f, problem(name), **kwargs, seed=0, progress=False)
        method(_Profile(), problem("a"), **kwargs, seed=0, progress=False)  # other names are fine
    # sample: its design's row dim, and the result's dims
    for method, name in (("sobol", "row"), ("nested", "row"), ("pce", "row"), ("sobol", "output"),
                         ("nested", "input")):
        with pytest.raises(InputError, match=f"input name '{name}'"):
            sample(method, problem(name), seed=0)
    err = _one_line_error(capsys, main(["sample", "--method", "nested", "--vary", "output=uniform(0,1)", "--vary",
                                        "b=uniform(0,1)", "--samples", "4", "--out", str(tmp_path / "d.nc")]))
    assert "input name 'output'" in err and not (tmp_path / "d.nc").exists()
