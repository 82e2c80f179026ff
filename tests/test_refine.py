"""Goal-oriented refinement (``study --refine``): the direct route, its cost estimates, resumption."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr
from conftest import paper_study_dir
from scipy.stats import qmc

from uqsurrogate.active.cost import (
    cost_for_precision,
    cost_to_resolve,
    rho_standard_error,
    unit_variance,
)
from uqsurrogate.active.direct import direct_indices
from uqsurrogate.active.oracles import SimulatorOracle
from uqsurrogate.cli import main
from uqsurrogate.errors import InputError
from uqsurrogate.problem import Normal, Problem
from uqsurrogate.refine import RefineSettings, refine_study, unresolved_cells
from uqsurrogate.sensitivity.pce import expansion_basis
from uqsurrogate.simulators import ElectrolyteSimulator

PLANE = Problem({"a": Normal(0, 1), "b": Normal(0, 1)})
# y = 1 + 0.3 a + 0.2 He2(b) + 0.1 a b (orthonormal Hermite terms): V = 0.09 + 0.04 + 0.01, S_a = 0.09 / 0.14
S_A, SD = 0.09 / 0.14, np.sqrt(0.14)


def plane(x):
    return 1 + 0.3 * x[:, 0] + 0.2 * (x[:, 1] ** 2 - 1) / np.sqrt(2) + 0.1 * x[:, 0] * x[:, 1]


def sobol_inputs(n, rng):
    return PLANE.ppf(np.clip(qmc.Sobol(2, seed=rng).random(n), 1e-12, 1 - 1e-12))


def test_direct_indices_against_the_closed_form_with_coverage():
    """Heteroscedastic runs of a known response: the debiased index is unbiased and its interval covers."""
    rng = np.random.default_rng(1)
    est, cover = [], []
    for rep in range(150):
        x = rng.standard_normal((24, 2))
        se = 0.02 * rng.uniform(0.5, 2, (24, 1))
        y = plane(x)[:, None] + se * rng.standard_normal((24, 1))
        r, _ = direct_indices(x, y, se, PLANE, seed=rep, resamples=200)
        assert int(r["resolved"][0]) == 1
        est.append(float(r["S1"][0, 0]))
        cover.append(float(r["S1_low"][0, 0]) <= S_A <= float(r["S1_high"][0, 0]))
    assert abs(np.mean(est) - S_A) < 3 * np.std(est) / np.sqrt(len(est)) + 1e-3
    assert 0.88 <= np.mean(cover) <= 0.99  # 95 % nominal, 150 repeats: +-0.035 binomial


def test_noisy_runs_are_flagged_unresolved():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((24, 2))
    se = np.full((24, 1), 1.0)  # noise ~ 2.7 x the response's spread
    y = plane(x)[:, None] + se * rng.standard_normal((24, 1))
    r, _ = direct_indices(x, y, se, PLANE, seed=0)
    assert int(r["resolved"][0]) == 0 and float(r["resolution_ratio"][0]) < 3


def test_direct_indices_refuses_too_few_runs():
    with pytest.raises(InputError, match="more runs than terms"):
        direct_indices(np.zeros((6, 2)), np.zeros((6, 1)), np.ones((6, 1)), PLANE)


def test_cost_estimate_from_a_pilot_against_runs_at_that_cost():
    """Known noise and variation: a pilot estimates u and the cost; spending it resolves, as estimated.

    The pilot's estimates are noisy (16 runs, 10-block errors), so the achieved ratio scatters
    around the threshold; its median over repeats must be near 3, and a cost estimate off by
    a factor of 2 either way would move it outside the band (by sqrt 2).
    """
    u_true = 0.3**2  # noise variance of one default run
    achieved = []
    for rep in range(40):
        rng = np.random.default_rng([7, rep])
        x = sobol_inputs(16, rng)
        # a 10-block error estimate: se_hat^2 ~ u chi2(9)/9
        se_hat = np.sqrt(u_true * rng.chisquare(9, (16, 1)) / 9)
        y = plane(x)[:, None] + np.sqrt(u_true) * rng.standard_normal((16, 1))
        res, precision = direct_indices(x, y, se_hat, PLANE, seed=rep, resamples=2)
        u_hat = unit_variance(se_hat, np.ones(16))
        nxt = sobol_inputs(16, rng)
        design = expansion_basis(PLANE, 2, nxt)
        cost = cost_to_resolve(res["output_sd"].values, u_hat, 6, precision=precision, design=design)[0]
        if not np.isfinite(cost):  # the pilot saw no variation at all: no estimate
            achieved.append(np.nan)
            continue
        # the true error after spending it: pilot at length 1, next 16 runs at cost/16 each
        psi = expansion_basis(PLANE, 2, np.vstack([x, nxt]))
        w = np.concatenate([np.full(16, 1 / u_true), np.full(16, cost / 16 / u_true)])
        error = np.sqrt(np.trace(np.linalg.inv(psi.T @ (psi * w[:, None]))))
        achieved.append(SD / error)
    achieved = np.asarray(achieved)
    assert np.isfinite(achieved).mean() >= 0.8
    assert 3 / 1.3 < np.nanmedian(achieved) < 3 * 1.3


def test_precision_cost_against_the_spread_of_the_index_at_that_cost():
    """cost_for_precision's 95 % half-width is the index's actual scatter over repeats at that cost."""
    rng = np.random.default_rng(3)
    x = sobol_inputs(32, rng)
    psi = expansion_basis(PLANE, 2, x)
    coef_true = np.zeros((6, 1))
    alphas = np.array([[0, 0], [0, 1], [1, 0], [0, 2], [1, 1], [2, 0]])
    for k, a in enumerate(alphas):  # the plane's coefficients on the graded basis
        coef_true[k, 0] = {(0, 0): 1, (1, 0): 0.3, (0, 2): 0.2, (1, 1): 0.1}.get(tuple(a), 0)
    u = 1.0
    cost = cost_for_precision(coef_true, alphas, np.zeros((1, 6, 6)) + 1e-12 * np.eye(6), np.array([u]),
                              tolerance=0.05, design=psi)[0]
    se = np.full((32, 1), np.sqrt(u / (cost / 32)))
    est = []
    for rep in range(200):
        y = plane(x)[:, None] + se * np.random.default_rng([4, rep]).standard_normal((32, 1))
        r, _ = direct_indices(x, y, se, PLANE, seed=rep, resamples=2)
        est.append(float(r["S1"][0, 0]))
    half = 1.96 * np.std(est)
    assert 0.05 / 1.3 < half < 0.05 * 1.3


def test_cost_is_zero_when_resolved_and_infinite_when_constant():
    assert cost_to_resolve(np.array([1.0]), np.array([1e-6]), 6, precision=1e9 * np.eye(6)[None])[0] == 0
    assert cost_to_resolve(np.array([0.0]), np.array([1.0]), 6)[0] == np.inf
    # from nothing, in expectation: K = threshold^2 T u / sd^2
    assert cost_to_resolve(np.array([0.5]), np.array([0.2]), 6)[0] == pytest.approx(9 * 6 * 0.2 / 0.25, rel=1e-6)


def test_rho_standard_error_is_the_noise_of_the_labels():
    """The Eq.-4 error over sqrt(S - 1), cation and anion in quadrature, is the real scatter of ρ."""
    sim = ElectrolyteSimulator()
    design = {"h": np.full(60, 4.5), "c": np.full(60, 1.0), "d_plus": np.full(60, 0.4),
              "d_minus": np.full(60, 0.6), "sigma": np.full(60, -0.015)}
    ds = sim.run(design, seed=5)
    from uqsurrogate.observables import charge_density

    bins = [60, 80, 100]
    rho = charge_density(ds["density"].values)[:, bins]
    actual = rho.std(axis=0, ddof=1)
    stated = np.sqrt(np.mean(rho_standard_error(ds, bins) ** 2, axis=0))
    np.testing.assert_allclose(stated, actual, rtol=0.35)  # 60 runs: the sample sd is good to ~10 %


def test_unresolved_cells_read_from_the_result(tmp_path):
    out = paper_study_dir(tmp_path, [[1, 0], [1, 1]])
    assert unresolved_cells(xr.load_dataset(out / "paper_sensitivity.nc")) == [(0.3, -1.55)]


def test_a_resolved_cell_is_left_alone(tmp_path):
    out = paper_study_dir(tmp_path, [[1, 0], [1, 1]])
    before = xr.load_dataset(out / "paper_sensitivity.nc")
    result = refine_study(out, RefineSettings(budget=40, max_rounds=2))
    rec, refined = result["record"], result["refined"]
    assert rec.sizes["cell"] == 1 and float(rec["c"][0]) == 0.3 and float(rec["z"][0]) == -1.55
    assert not list((out / "refine").glob("*c1.9*"))  # no run for a concentration with nothing to resolve
    for c, z in [(0.3, -1.85), (1.9, -1.85), (1.9, -1.55)]:
        for name in before.data_vars:
            xr.testing.assert_identical(refined[name].sel(c=c, z=z), before[name].sel(c=c, z=z))
        assert int(refined["refined_z"].sel(c=c, z=z)) == 0
    assert 0 < result["spent"] <= 40


class Killed(Exception):
    pass


class DyingOracle(SimulatorOracle):
    """The simulator oracle, killed at its ``die_at``-th call (the round's second concentration)."""

    def __init__(self, die_at, **kwargs):
        super().__init__(**kwargs)
        self.calls, self.die_at = 0, die_at

    def __call__(self, X, round, names, length=1.0):
        self.calls += 1
        if self.calls == self.die_at:
            raise Killed
        return super().__call__(X, round, names, length)


def test_a_refinement_killed_mid_round_resumes_to_the_same_result(tmp_path):
    settings = RefineSettings(budget=3000, max_rounds=2, tolerance=0.05)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    whole = refine_study(paper_study_dir(tmp_path / "a", [[1, 0], [1, 0]]), settings)
    assert whole["record"].sizes["round"] == 3, "the case must have two rounds to kill one mid-way"
    plan = json.loads((tmp_path / "a" / "study" / "refine" / "round-002.json").read_text())["plan"]
    assert len(plan) == 2, "round 2 must run both concentrations for the kill to fall between them"
    out = paper_study_dir(tmp_path / "b", [[1, 0], [1, 0]])
    with pytest.raises(Killed):
        refine_study(out, settings, oracle=DyingOracle(die_at=4))  # round 2, second concentration
    assert (out / "refine" / "round-002.json").is_file() and not (out / "refinement.nc").exists()
    again = refine_study(out, settings)
    xr.testing.assert_identical(again["record"], whole["record"])
    xr.testing.assert_identical(again["refined"], whole["refined"])


def test_resume_refuses_other_settings(tmp_path):
    out = paper_study_dir(tmp_path, [[1, 0], [1, 1]])
    refine_study(out, RefineSettings(budget=40, max_rounds=1))
    with pytest.raises(InputError, match="other settings"):
        refine_study(out, RefineSettings(budget=40, max_rounds=1, tolerance=0.1))
    refine_study(out, RefineSettings(budget=80, max_rounds=1))  # only the budget may grow


@pytest.mark.parametrize("kwargs, word", [({"budget": 0}, "budget"), ({"budget": 10, "tolerance": 1.5}, "tolerance"),
                                          ({"budget": 10, "runs_per_round": 4}, "runs_per_round"),
                                          ({"budget": 10, "margin": 0.5}, "margin")])
def test_settings_are_checked(kwargs, word):
    with pytest.raises(InputError, match=word):
        RefineSettings(**kwargs)


def test_study_refine_command(tmp_path, capsys):
    out = paper_study_dir(tmp_path, [[1, 0], [1, 1]])
    assert main(["study", "--out", str(out), "--refine", "40", "--max-rounds", "1", "--no-figures"]) == 0
    text = capsys.readouterr().out
    assert "round 1:" in text and "spent" in text and "c = 0.3 M, z = -1.55 nm" in text
    assert (out / "refinement.nc").is_file() and (out / "paper_sensitivity_refined_table.md").is_file()


@pytest.mark.parametrize("argv, word", [(["--refine", "-1"], "budget"), (["--tolerance", "0.1"], "--refine"),
                                        (["--refine", "10", "--quick"], "--force")])
def test_study_refine_bad_input(tmp_path, capsys, argv, word):
    out = paper_study_dir(tmp_path, [[1, 0], [1, 1]])
    before = sorted(p.name for p in out.rglob("*"))
    assert main(["study", "--out", str(out), *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and word in err[0] and "Traceback" not in err[0]
    assert sorted(p.name for p in out.rglob("*")) == before


def test_centre_weights_are_exact_for_cubics_and_cut_the_noise():
    from uqsurrogate.active.smoothing import centre_weights, smooth_bin

    z = np.linspace(-1, 1, 41)
    cubic = 0.3 - 1.2 * z + 0.7 * z**2 + 2.5 * z**3
    for k in (1, 2, 5, 8):
        value, _ = smooth_bin(cubic[None, :], np.ones((1, 41)), 20, k)
        assert value[0] == pytest.approx(cubic[20], abs=1e-12)
    assert np.sum(centre_weights(5) ** 2) == pytest.approx(89 / 429)  # 3 (3k^2 + 3k - 1) / ((2k-1)(2k+1)(2k+3))
    rng = np.random.default_rng(0)
    noise = rng.standard_normal((20000, 41))
    value, se = smooth_bin(noise, np.ones((20000, 41)), 20, 5)
    assert np.std(value) == pytest.approx(se[0], rel=0.03)
    with pytest.raises(InputError, match="leaves the profile"):
        smooth_bin(noise, noise, 3, 5)


def test_the_chosen_windows_keep_the_simulators_own_indices():
    """On exact simulator profiles, each unresolved cell's window (chosen on the shipped ensemble) moves its
    indices by under a point, and the contact cell (-1.85 nm, 0.3 M) is not given the window that would not."""
    from uqsurrogate.active.smoothing import choose_window, smooth_bin
    from uqsurrogate.model_function import ModelFunction
    from uqsurrogate.observables import charge_density
    from uqsurrogate.study import _paper_problem, default_model_path

    f = ModelFunction.from_artifact(default_model_path())
    sim = ElectrolyteSimulator()
    for c, cells in ((0.3, {44: None, 78: None, 139: None}), (1.9, {78: None})):
        problem = _paper_problem(c)
        xv = problem.ppf(np.clip(qmc.Sobol(2, seed=np.random.default_rng(1)).random_base2(6), 1e-12, 1 - 1e-12))
        rho = np.stack([charge_density(sim.exact(*row)[1]) for row in problem.full(xv)])
        for b in cells:
            k = choose_window(f, problem, b)
            assert k > 0
            s = []
            for w in (0, k):
                y, _ = smooth_bin(rho, np.ones_like(rho), b, w)
                r, _ = direct_indices(xv, y[:, None], np.full((64, 1), 1e-3 * np.std(y)), problem, resamples=2)
                s.append(r["S1"].values[:, 0])
            assert np.max(np.abs(s[1] - s[0])) < 0.01, (c, b, k, s)
            if (c, b) == (0.3, 44):
                assert k <= 5  # +-8 bins would move S+ there by 14 points: the contact layer
