"""Calibration, conformal intervals and single-network uncertainties, against known truths."""

from __future__ import annotations

import numpy as np
import pytest

from uqsurrogate.uncertainty import (
    Calibration,
    SplitConformal,
    calibrate,
    check_disjoint,
    conformal_quantile,
    coverage,
    miscalibration_area,
    reliability,
)


def synthetic(n, bins=50, seed=0, scale=2.0):
    """Heteroscedastic Student-t errors (5 dof) whose predicted std is off by a factor ``scale``."""
    rng = np.random.default_rng(seed)
    mean = rng.normal(size=(n, bins))
    true_sd = np.exp(rng.normal(-1, 0.5, size=(n, bins)))
    y = mean + true_sd * rng.standard_t(5, size=(n, bins)) / np.sqrt(5 / 3)
    return y, mean, scale * true_sd


def test_conformal_guarantee_per_bin_and_for_the_band():
    """40 calibration samples x 50 bins (2,000 values), 200 test samples (10,000 values), alpha = 0.1.

    Per bin the expected coverage is ⌈41 x 0.9⌉ / 41 = 0.902; averaged over 50 independent bins
    its spread is about 0.006, so 0.88-0.92 holds a correct implementation with room.
    """
    y, mean, std = synthetic(240, seed=1)
    cal, test = slice(0, 40), slice(40, 240)
    conf = SplitConformal(alpha=0.1).fit(y[cal], mean[cal], std[cal])
    low, high = conf.intervals(mean[test], std[test])
    assert 0.88 <= coverage(y[test], low, high) <= 0.92
    # the band: the mean over 20 random splits of whole-profile coverage, expected in [0.9, 0.924]
    rates = []
    for seed in range(20):
        y, mean, std = synthetic(240, seed=100 + seed)
        c = SplitConformal(alpha=0.1).fit(y[:40], mean[:40], std[:40])
        lo, hi = c.band(mean[40:], std[40:])
        rates.append(np.mean(np.all((lo <= y[40:]) & (y[40:] <= hi), axis=1)))
    assert 0.88 <= np.mean(rates) <= 0.94


def test_conformal_quantile_is_the_exact_order_statistic_and_refuses_too_few():
    scores = np.random.default_rng(0).permutation(np.arange(1.0, 101.0))
    assert conformal_quantile(scores, 0.1) == 91.0  # ceil(101 x 0.9) = 91
    assert conformal_quantile(scores, 0.05) == 96.0
    with pytest.raises(ValueError, match="8 calibration samples are too few for alpha = 0.1: it needs at least 9"):
        conformal_quantile(np.ones(8), 0.1)
    assert conformal_quantile(np.ones(9), 0.1) == 1.0
    for alpha in (0.0, 1.0, -0.2, 1.5):
        with pytest.raises(ValueError, match=rf"alpha = {alpha}; it must be a number in \(0, 1\)"):
            SplitConformal(alpha=alpha).fit(*synthetic(20, bins=3))


def test_zero_bins_carry_no_interval():
    y, mean, std = synthetic(50, bins=4)
    std[:, 0] = 0.0  # a wall bin: identically zero, no uncertainty
    conf = SplitConformal().fit(y, mean, std)
    assert np.isnan(conf.q_[0]) and np.all(np.isfinite(conf.q_[1:]))
    low, high = conf.band(mean, std)
    assert np.all(np.isnan(low[:, 0])) and np.all(np.isfinite(low[:, 1:]))


def test_calibration_recovers_the_scale_and_helps():
    y, mean, std = synthetic(400, seed=3, scale=2.0)
    before = miscalibration_area(y, mean, std)
    for method in ("scale", "isotonic"):
        cal = calibrate(y[:200], mean[:200], std[:200], method=method)
        after = miscalibration_area(y[200:], mean[200:], cal(std[200:]))
        assert after < before / 3, (method, before, after)
        back = Calibration.from_dict(cal.to_dict())
        np.testing.assert_allclose(back(std[200:]), cal(std[200:]))
    s = calibrate(y, mean, std).scale
    assert 0.45 < s < 0.55  # the std was twice too wide
    levels, observed = reliability(y, mean, std)
    assert np.all(observed >= levels - 0.01)  # too wide: over-covers at every level


def test_calibration_and_disjointness_errors():
    y, mean, std = synthetic(10, bins=3)
    with pytest.raises(ValueError, match="method = 'beta'; allowed: scale, isotonic"):
        calibrate(y, mean, std, method="beta")
    with pytest.raises(ValueError, match="must be equal"):
        calibrate(y, mean[:5], std)
    with pytest.raises(ValueError, match="no output with std > 0"):
        calibrate(y, mean, np.zeros_like(std))
    with pytest.raises(ValueError, match="not a calibration"):
        Calibration.from_dict({"kind": "scale", "scale": "x"})
    X = np.arange(12.0).reshape(6, 2)
    check_disjoint(X[:3], X[3:])
    with pytest.raises(ValueError, match="2 of 3 calibration input rows are also training rows"):
        check_disjoint(X[:3], X[1:])


@pytest.fixture(scope="module")
def data():
    from uqsurrogate.simulators import ElectrolyteSimulator, sobol_design

    return ElectrolyteSimulator(n_bins=16).run(sobol_design(64, seed=2), seed=2)


def test_single_network_uncertainties(data, tmp_path):
    from uqsurrogate.model_function import ModelFunction
    from uqsurrogate.surrogate import SurrogateTrainer, TrainingConfig
    from uqsurrogate.uncertainty.single import FeaturePosterior, mc_dropout

    X = np.stack([data[k].values for k in ("h", "c", "d_plus", "d_minus", "sigma")], axis=1)
    cfg = dict(loss="mse", epochs=3, hidden=(16, 16), learning_rate=3e-3, batch_size=8)
    plain = SurrogateTrainer(TrainingConfig(dropout=0.0, **cfg), progress=False).fit(data).save(tmp_path / "plain")
    noisy = SurrogateTrainer(TrainingConfig(dropout=0.2, **cfg), progress=False).fit(data).save(tmp_path / "drop")
    mean, std = mc_dropout(noisy, X[:10], passes=8)
    assert mean.shape == std.shape == (10, 2, 16) and np.all(std[:, :, 4:12] > 0)
    with pytest.raises(ValueError, match="needs a network with dropout"):
        mc_dropout(plain, X[:2])
    f = ModelFunction.from_artifact(plain, extrapolation="clip")
    post = FeaturePosterior(f).fit(X, data["density"].values)
    inside = post.std(X[:10])
    far = post.std(np.tile([[5.0, 2.0, 0.63, 0.63, 0.0]], (3, 1)))  # a corner with extreme features
    assert inside.shape == (10, 2, 16) and np.all(np.isfinite(inside))
    # the posterior spread of a training input is at most that of the feature space's far edge
    assert np.median(inside[:, 0, 8]) <= np.max(far[:, 0, 8]) * 1.0001


def test_index_table_rows_flags_and_where_the_rest_is():
    """The summary table: one row per output and input from the Dataset's own numbers, NaN as '–', the flag
    once per output; past max_outputs only the counts."""
    import xarray as xr

    from uqsurrogate.uncertainty.trust import index_table

    rng = np.random.default_rng(0)
    s1 = rng.uniform(0, 1, (2, 3))
    s1[1, 2] = np.nan  # an output that never varies
    ds = xr.Dataset({"S1": (("input", "bin"), s1), "S1_conf": (("input", "bin"), np.full((2, 3), 0.01)),
                     "resolved": ("bin", np.array([1, 0, 1], np.int8)),
                     "resolution_ratio": ("bin", np.array([4.0, 1.5, 9.0]))},
                    coords={"input": ["a", "b"], "bin": [3, 4, 5], "z": ("bin", [-2.0, -1.5, -1.0], {"units": "nm"})},
                    attrs={"conf_level": 0.9, "ci": "bootstrap"})
    table = index_table(ds)
    assert f"| z = -1.5 nm | a | {s1[0, 1]:.3f} | {s1[0, 1] - 0.01:.3f} to {s1[0, 1] + 0.01:.3f} | **no** (1.5x) |" \
        in table
    assert "|  | b | – | – to – |  |" in table and "sampling 90 %" in table
    assert table.count("yes (") == 2 and "* resolved (r x)" in table and "* members" not in table
    big = xr.concat([ds] * 5, dim="bin")
    assert index_table(big) == f"15 outputs; {5 * 1} of them unresolved (trust no index there)"
