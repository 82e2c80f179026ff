"""Forward propagation against closed forms, NumPy on the same draws, and order-statistic coverage."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from uqsurrogate.cli import main
from uqsurrogate.errors import InputError
from uqsurrogate.evaluation import sampled_rows
from uqsurrogate.problem import Normal, Problem, Uniform
from uqsurrogate.uncertainty import propagate
from uqsurrogate.uncertainty.propagation import quantile_interval

A = np.array([[1.0, -2.0], [0.5, 0.0], [3.0, 1.0]])
B = np.array([0.1, -1.0, 2.0])
P = Problem({"x": Normal(1.0, 0.3), "fixed": 7.0, "y": Normal(-2.0, 1.5)})


def linear(X):
    return X[:, [0, 2]] @ A.T + B


def test_linear_normal_matches_the_closed_form():
    n = 40000
    # 3 means and 9 quantile intervals checked at once: level 0.995 each keeps the family's >= 0.95 (Bonferroni)
    ds = propagate(linear, P, n, seed=3, conf_level=0.995, progress=False)
    mu, sd = np.array([1.0, -2.0]), np.array([0.3, 1.5])
    mean_exact = A @ mu + B
    std_exact = np.sqrt((A**2) @ sd**2)
    # within the method's own Monte Carlo interval
    assert np.all(np.abs(ds["mean"].values - mean_exact) <= ds["mean_conf"].values)
    np.testing.assert_allclose(ds["mean_conf"].values, stats.norm.ppf(0.9975) * std_exact / np.sqrt(n), rtol=0.02)
    # the sd of a normal sample's sd is sd / sqrt(2 n): 4 of those
    assert np.all(np.abs(ds["std"].values - std_exact) <= 4 * std_exact / np.sqrt(2 * n))
    # quantiles of a normal output: mean + sd z_q, within their order-statistic intervals
    exact_q = mean_exact[None, :] + std_exact[None, :] * stats.norm.ppf(ds["quantile"].values)[:, None]
    assert np.all((ds["quantile_lower"].values <= exact_q) & (exact_q <= ds["quantile_upper"].values))


def test_equals_numpy_on_the_same_draws_whatever_the_chunking():
    n = 5000
    y = linear(sampled_rows(P, 11)(0, n))
    q = [0.01, 0.25, 0.5, 0.9]
    a = propagate(linear, P, n, quantiles=q, seed=11, chunk_size=8192, progress=False)
    b = propagate(linear, P, n, quantiles=q, seed=11, chunk_size=333, progress=False)
    np.testing.assert_array_equal(a["quantile_value"].values, np.quantile(y, q, axis=0))
    np.testing.assert_array_equal(b["quantile_value"].values, np.quantile(y, q, axis=0))
    np.testing.assert_allclose(a["mean"].values, y.mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(b["std"].values, y.std(axis=0, ddof=1), rtol=1e-12)
    lo, hi = quantile_interval(n, 0.9, 0.95)
    np.testing.assert_array_equal(a["quantile_upper"].sel(quantile=0.9).values, np.sort(y, axis=0)[hi])
    np.testing.assert_array_equal(a["quantile_lower"].sel(quantile=0.9).values, np.sort(y, axis=0)[lo])


def test_quantile_intervals_cover_at_their_level():
    """Over 400 seeds, the 90 % quantile of U(0, 1) (exactly 0.9) is inside its 0.9 interval ~90 % of the time."""
    p = Problem({"u": Uniform(0, 1)})
    hits = 0
    for seed in range(400):
        ds = propagate(lambda x: x, p, 200, quantiles=[0.9], conf_level=0.9, seed=seed, progress=False)
        hits += float(ds["quantile_lower"][0, 0]) <= 0.9 <= float(ds["quantile_upper"][0, 0])
    # binomial(400, >= 0.9) sd 0.015: the guarantee is >= 0.9 up to discreteness
    assert hits / 400 >= 0.87


def test_mean_only_streams_and_memory_is_checked():
    ds = propagate(linear, P, 1000, quantiles=(), progress=False)
    assert "quantile_value" not in ds and "quantile" not in ds.coords
    with pytest.raises(InputError, match=r"need .* GiB .* pass n <= 1398101"):
        propagate(linear, P, 10**8, max_memory=2**25, progress=False)
    with pytest.raises(InputError, match=r"quantiles = \[0.5, 1.0\]"):
        propagate(linear, P, 10, quantiles=[0.5, 1.0])
    with pytest.raises(InputError, match="n = 1"):
        propagate(linear, P, 1)


def test_on_the_shipped_model_labelled_and_plotted(tmp_path):
    pytest.importorskip("matplotlib")
    import xarray as xr

    from uqsurrogate.study import default_model_path

    out = tmp_path / "bands.nc"
    argv = ["propagate", str(default_model_path()), "--vary", "d_plus=normal(0.4,0.01)", "--vary",
            "d_minus=normal(0.45,0.015)", "--fix", "h=4.5", "--fix", "c=0.3", "--fix", "sigma=-0.015", "--output",
            "charge_density", "--n", "2000", "--quiet", "--out", str(out)]
    assert main(argv) == 0
    with xr.open_dataset(out) as ds:
        assert ds["mean"].dims == ("bin",) and ds["mean"].attrs["units"] == "C/m3"
        assert ds["z"].attrs["units"] == "nm" and ds["quantile_value"].dims == ("quantile", "bin")
        assert ds.attrs["method"] == "propagate" and Problem.from_json(ds.attrs["problem"]).varied == ["d_plus",
                                                                                                      "d_minus"]
        # rho integrates to -2 sigma over the slit (electroneutrality), here for the mean profile
        width = 4.5e-9 / ds.sizes["bin"]
        assert float(ds["mean"].sum()) * width == pytest.approx(2 * 0.015, rel=0.05)
    assert main(["plot", str(out), "--out", str(tmp_path / "fig")]) == 0
    assert (tmp_path / "fig" / "bands_bands.png").stat().st_size > 0
