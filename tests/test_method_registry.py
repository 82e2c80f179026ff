"""A sensitivity method added from outside the package: one spec, one ``register`` line, nothing else edited.

The toy method below (the correlation ratio, a binned first-order index) is defined here, in
the test, and registered by a fixture; the Python API, ``sample``/``analyze`` and the command
line then know it, and the fixture's teardown removes it again.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from uqsurrogate.cli import main
from uqsurrogate.errors import InputError
from uqsurrogate.evaluation import Collect, evaluate
from uqsurrogate.problem import Problem
from uqsurrogate.results import base_attrs, dataset, index_attrs, output_labels
from uqsurrogate.sensitivity import METHODS, MethodSpec, Option, analyze, get, register, run, sample, unregister
from uqsurrogate.study import default_model_path
from uqsurrogate.testing import ishigami, ishigami_indices, ishigami_problem


def correlation_ratio(f, problem, n=1024, bins=16, *, seed=None, resamples=0, conf_level=0.95, chunk_rows=None,
                      map=None, progress=None):
    """S1_i = Var(E[Y | bin of X_i]) / Var(Y), X_i cut into ``bins`` quantile bins, from n random draws."""
    x = problem.sample(n, np.random.default_rng(seed))  # (n, varied)
    collected, = evaluate(f, problem.full(x), [Collect()], chunk_size=chunk_rows or 8192, map=map,
                          progress=progress, desc="toy")
    y = np.asarray(collected.values, dtype=np.float64)
    shape = y.shape[1:]
    y = y.reshape(n, -1)
    s1 = []
    for i in range(x.shape[1]):
        cut = np.searchsorted(np.quantile(x[:, i], np.linspace(0, 1, bins + 1)[1:-1]), x[:, i])
        counts = np.bincount(cut, minlength=bins)[:, None]
        sums = np.stack([np.bincount(cut, weights=y[:, k], minlength=bins) for k in range(y.shape[1])], axis=1)
        s1.append((sums**2 / counts).sum(axis=0) / n - y.mean(axis=0) ** 2)  # Var of the bin means, ddof 0
    dims, coords, yattrs = output_labels(f, problem, shape)
    variables = {
        "S1": (["input", *dims], (np.stack(s1) / y.var(axis=0)).reshape(-1, *shape), index_attrs("S1")),
        "variance": (dims, y.var(axis=0).reshape(shape), {"units": f"({yattrs.get('units', '1')})2"}),
    }
    return dataset(variables, coords, problem, base_attrs("toy", problem, seed, n=n, bins=bins, model_evaluations=n))


TOY = MethodSpec(
    name="toy", function=correlation_ratio, summary="the correlation ratio over quantile bins (a test's toy)",
    samples="n", samples_help="random draws", design_settings={"n": 1024},
    options=(Option("--quantile-bins", "bins", "analysis", "quantile bins per input (default 16)", default=16,
                    type=int, range=(int, 2, None)),),
)
VARY = ["--vary", "d_plus=normal(0.4,0.01)", "--vary", "d_minus=normal(0.45,0.015)", "--fix", "h=4.5", "--fix",
        "c=0.3", "--fix", "sigma=-0.015"]


@pytest.fixture
def toy():
    register(TOY)
    yield TOY
    unregister("toy")
    assert "toy" not in METHODS


def test_the_toy_estimates_ishigamis_first_order_indices(toy):
    """Against the closed form.  Over 40 seeds at n = 2**14 and 32 bins the estimates' sd was at most 0.006 and
    their mean within 0.004 of the exact values (binning loses a little of x2's fast-varying effect, the finite
    bins add about (bins - 1) / n); 0.03 is four sd plus that bias.  A toy that swapped two inputs, forgot to
    weight the bins or divided by the wrong variance would miss by 0.1 or more."""
    result = run("toy", ishigami, ishigami_problem(), n=2**14, bins=32, seed=0)
    assert result["S1"].dims == ("input",) and list(result["input"].values) == ["x1", "x2", "x3"]
    np.testing.assert_allclose(result["S1"].values, ishigami_indices()[0], atol=0.03)
    two = get("toy").function(lambda X: np.stack([ishigami(X), X[:, 0]], axis=1), ishigami_problem(), n=512, seed=1)
    assert two["S1"].dims == ("input", "output") and two["S1"].shape == (3, 2)


def test_sample_and_analyze_equal_the_direct_run(toy):
    p = ishigami_problem()
    design = sample("toy", p, seed=5, n=600)
    X = np.stack([design[n].values for n in p.names], axis=1)
    Y = xr.DataArray(ishigami(X)[::-1].copy(), dims="row", coords={"row": design["row"].values[::-1]})  # any order
    got = analyze(design, Y, bins=8)
    want = run("toy", ishigami, p, n=600, bins=8, seed=5)
    np.testing.assert_array_equal(got["S1"].values, want["S1"].values)
    assert got.attrs["design_sha256"] == design.attrs["design_sha256"]
    with pytest.raises(InputError, match="toy designs take n; not bins"):
        sample("toy", p, seed=5, bins=8)


def test_a_method_without_the_run_options_is_refused():
    with pytest.raises(InputError, match="seed"):
        register(MethodSpec(name="bad", function=lambda f, problem, n=8: None, summary="", samples="n",
                            samples_help="", design_settings={"n": 8}))
    assert "bad" not in METHODS


def test_the_command_line_runs_the_toy_on_the_shipped_model(toy, tmp_path, capsys):
    from uqsurrogate.model_function import ModelFunction

    out = tmp_path / "toy.nc"
    assert main(["sensitivity", str(default_model_path()), "--method", "toy", *VARY, "--output", "integrated_charge",
                 "--samples", "256", "--quantile-bins", "4", "--seed", "3", "--quiet", "--out", str(out)]) == 0
    assert "toy, 256 model evaluations" in capsys.readouterr().out
    got = xr.load_dataset(out)
    f = ModelFunction.from_artifact(default_model_path()).restrict(output="integrated_charge")
    problem = Problem.from_json(got.attrs["problem"])
    want = run("toy", f, problem, n=256, bins=4, seed=3, progress=False)
    np.testing.assert_array_equal(got["S1"].values, want["S1"].values)
    assert main(["sensitivity", str(default_model_path()), "--method", "sobol", *VARY, "--quantile-bins", "4",
                 "--out", str(tmp_path / "no.nc")]) == 2
    assert "--quantile-bins is for toy; --method sobol does not take it" in capsys.readouterr().err
    assert main(["sensitivity", "--help"]) == 0
    assert "toy: quantile bins per input" in capsys.readouterr().out


def test_sample_and_analyze_on_the_command_line(toy, tmp_path, capsys):
    design, outputs = tmp_path / "design.csv", tmp_path / "outputs.csv"
    assert main(["sample", "--method", "toy", "--vary", "x=uniform(0,1)", "--vary", "y=normal(0,1)", "--samples",
                 "300", "--seed", "2", "--out", str(design)]) == 0
    from uqsurrogate.sensitivity import load_design

    d = load_design(design)
    y = d["x"].values + d["y"].values ** 2
    outputs.write_text("row,y\n" + "".join(f"{r},{float(v)!r}\n" for r, v in zip(d["row"].values, y)))
    assert main(["analyze", str(design), str(outputs), "--quantile-bins", "5", "--out", str(tmp_path / "a.nc")]) == 0
    got = xr.load_dataset(tmp_path / "a.nc")
    want = run("toy", lambda X: X[:, 0] + X[:, 1] ** 2, Problem.from_json(d.attrs["problem"]), n=300, bins=5,
               seed=2)
    np.testing.assert_array_equal(got["S1"].values, want["S1"].values)
    assert main(["analyze", str(design), str(outputs), "--order", "3", "--out", str(tmp_path / "b.nc")]) == 2
    assert f"--order is for pce; {design} is a toy design" in capsys.readouterr().err
