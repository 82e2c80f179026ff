"""Sample, evaluate elsewhere, analyse: equal to the callable path on the same design; mismatches refused."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from uqsurrogate.cli import main
from uqsurrogate.errors import InputError
from uqsurrogate.problem import Normal, Problem
from uqsurrogate.sensitivity import (
    analyze,
    load_design,
    load_outputs,
    nested,
    nested_analyze,
    nested_sample,
    pce,
    pce_analyze,
    pce_sample,
    sample,
    save_design,
    sobol,
    sobol_analyze,
    sobol_sample,
)
from uqsurrogate.testing import bilinear, bilinear_problem, ishigami, ishigami_problem


def two_outputs(X):
    """Ishigami and a second output, shape (n, 2): the outputs keep their axis."""
    y = ishigami(X)
    return np.stack([y, y**2 + X[:, 0]], axis=1)


def _equal(a: xr.Dataset, b: xr.Dataset) -> None:
    assert set(a.data_vars) == set(b.data_vars)
    for k in a.data_vars:
        np.testing.assert_allclose(a[k].values, b[k].values, rtol=1e-12, atol=1e-15, err_msg=k)


def _design_inputs(design: xr.Dataset) -> np.ndarray:
    names = json.loads(design.attrs["problem"])["inputs"]
    return np.stack([design[n].values for n in names], axis=1)


@pytest.mark.parametrize("kwargs", [{}, {"second_order": True}, {"ci": "rqmc", "replicates": 4}, {"ci": "bootstrap"}])
def test_sobol_from_outputs_equals_the_callable(kwargs):
    p = ishigami_problem()
    direct = sobol(two_outputs, p, 256, seed=5, progress=False, **kwargs)
    design = sobol_sample(p, 256, seed=5, **kwargs)
    Y = two_outputs(_design_inputs(design))
    _equal(direct, sobol_analyze(p, design, Y))
    # other analysis options on the same outputs, e.g. another estimator
    alt = sobol(two_outputs, p, 256, seed=5, progress=False, estimator="janon2014", **kwargs)
    _equal(alt, sobol_analyze(None, design, Y, estimator="janon2014"))


def test_nested_and_pce_from_outputs_equal_the_callable():
    p = bilinear_problem()
    direct = nested(bilinear, p, 24, 20, seed=2, resamples=50, progress=False)
    design = nested_sample(p, 24, 20, seed=2)
    assert design.sizes["row"] == 24 * 20
    _equal(direct, nested_analyze(p, design, bilinear(_design_inputs(design)), resamples=50))
    q = ishigami_problem()
    direct = pce(ishigami, q, 256, order=6, seed=4, resamples=20)
    design = pce_sample(q, 256, seed=4)
    _equal(direct, pce_analyze(q, design, ishigami(_design_inputs(design)), order=6, resamples=20))


@pytest.mark.parametrize("suffix", [".nc", ".csv", ".txt"])
def test_files_round_trip_and_outputs_in_any_order(tmp_path, suffix):
    p = Problem({"x1": "uniform(-3.14159, 3.14159)", "k": 1.5, "x2": "normal(0, 1)", "x3": "uniform(-3, 3)"})
    design = sobol_sample(p, 64, seed=9)
    path = save_design(design, tmp_path / f"design{suffix}")
    back = load_design(path)
    X = _design_inputs(back)
    np.testing.assert_array_equal(X, _design_inputs(design))  # every number exact through text
    f = lambda X: ishigami(X[:, [0, 2, 3]])  # noqa: E731
    y = f(X)
    order = np.random.default_rng(0).permutation(len(y))  # as runs finish on a cluster
    table = tmp_path / "outputs.csv"
    table.write_text("row,y\n" + "".join(f"{r},{float(y[r])!r}\n" for r in order))
    direct = sobol(f, p, 64, seed=9, progress=False)
    _equal(direct, analyze(path, table))
    shuffled = xr.DataArray(y[order], dims="row", coords={"row": order})
    _equal(direct, analyze(back, shuffled))
    assert analyze(back, shuffled).attrs["design_sha256"] == design.attrs["design_sha256"]


@pytest.fixture(scope="module")
def made():
    p = ishigami_problem()
    design = sobol_sample(p, 16, seed=1)
    return p, design, ishigami(_design_inputs(design))


@pytest.mark.parametrize("change, message", [
    (lambda d, y: (d, y[:-1]), "an array must have the design's 80 rows"),
    (lambda d, y: (d, xr.DataArray(y[:-2], dims="row", coords={"row": np.arange(78)})), r"2 missing \(first \[78, 79\]"),
    (lambda d, y: (d, xr.DataArray(np.r_[y, 1.0], dims="row", coords={"row": np.arange(81)})),
     r"1 not in the design \(first \[80\]"),
    (lambda d, y: (d, xr.DataArray(y, dims="row", coords={"row": np.r_[np.arange(79), 3]})), r"rows \[3\] more than"),
    (lambda d, y: (d, np.where(np.arange(80) == 7, np.nan, y)), r"NaN or infinite outputs in 1 rows \(first \[7\]"),
    (lambda d, y: (d.assign(x1=d["x1"].round(3)), y), "SHA-256 does not match"),
    (lambda d, y: (d.assign_attrs(settings=json.dumps({"n": 16, "second_order": True, "ci": "bootstrap",
                                                        "replicates": 8})), y), "other than the design's"),
    (lambda d, y: (d.assign_attrs(seed=2), y), "other than the design's"),
    (lambda d, y: (d.isel(row=slice(None, None, -1)), y), "in order"),
])
def test_mismatches_are_refused_with_what_differs(made, change, message):
    _, design, y = made
    d, yy = change(design.copy(), y)
    with pytest.raises(InputError, match=message):
        analyze(d, yy)


def test_other_mismatches(made):
    p, design, y = made
    with pytest.raises(InputError, match=r"differs from the design's in \['x2'\]"):
        sobol_analyze(Problem({**p.dists, "x2": Normal(0, 1)}), design, y)
    with pytest.raises(InputError, match="for 'sobol', not 'pce'"):
        pce_analyze(p, design, y)
    with pytest.raises(InputError, match=r"\['seed'\] are fixed by the design"):
        analyze(design, y, seed=3)
    with pytest.raises(InputError, match="sobol designs take n, second_order, ci, replicates; not order"):
        sample("sobol", p, order=3)


def test_shipped_model_outputs_from_a_file_match_the_callable(tmp_path):
    """The ModelFunction evaluated outside (one batch) vs inside (chunks): to float32 round-off."""
    from uqsurrogate.model_function import ModelFunction
    from uqsurrogate.study import default_model_path

    f = ModelFunction.from_artifact(default_model_path()).restrict(output="integrated_charge", bins=[10, 40, 70])
    p = Problem({"h": 4.5, "c": 0.6, "d_plus": Normal(0.4, 0.01), "d_minus": Normal(0.45, 0.015), "sigma": -0.015})
    direct = sobol(f, p, 128, seed=3, progress=False)
    design = sobol_sample(p, 128, seed=3)
    y = f(_design_inputs(design))
    res = sobol_analyze(p, design, xr.DataArray(y, dims=("row", "bin"), coords={"bin": [10, 40, 70]},
                                                 attrs=f.output_attrs))
    for k in ("S1", "ST", "mean"):
        np.testing.assert_allclose(res[k].values, direct[k].values, rtol=1e-5, atol=1e-6, err_msg=k)
    assert res["mean"].attrs["units"] == "C/m2"


def test_cli_sample_then_analyze(tmp_path, capsys):
    (tmp_path / "p.json").write_text(json.dumps({"names": ["x1", "x2", "x3"], "bounds": [[-np.pi, np.pi]] * 3}))
    design = tmp_path / "design.csv"
    assert main(["sample", "--method", "sobol", "--problem", str(tmp_path / "p.json"), "--samples", "128",
                 "--seed", "4", "--out", str(design)]) == 0
    d = load_design(design)
    y = ishigami(_design_inputs(d))
    (tmp_path / "y.csv").write_text("row y\n" + "".join(f"{r} {float(y[r])!r}\n" for r in range(len(y))[::-1]))
    assert main(["analyze", str(design), str(tmp_path / "y.csv"), "--out", str(tmp_path / "s.nc")]) == 0
    res = xr.load_dataset(tmp_path / "s.nc")
    _equal(res[["S1", "ST"]], sobol(ishigami, ishigami_problem(), 128, seed=4, progress=False)[["S1", "ST"]])
    assert load_outputs(tmp_path / "y.csv").sizes == {"row": len(y)}
    # the summary gives each interval as an interval, from the file, and says what it is
    printed = capsys.readouterr().out
    assert "±" not in printed and "* sampling: the 95 % interval of the estimator" in printed
    for k, name in enumerate(res["input"].values):
        s1, conf = float(res["S1"].values[k]), float(res["S1_conf"].values[k])
        assert f"| {name} | {s1:.3f} | {s1 - conf:.3f} to {s1 + conf:.3f} | {float(res['ST'].values[k]):.3f} |" \
            in printed
    (tmp_path / "short.csv").write_text("row y\n0 1.0\n")
    assert main(["analyze", str(design), str(tmp_path / "short.csv"), "--out", str(tmp_path / "t.nc")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "missing" in err and not (tmp_path / "t.nc").exists()
