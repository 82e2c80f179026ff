"""Sensitivity methods against closed forms, SALib itself, and each other."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from SALib.analyze import sobol as salib_analyze
from SALib.sample import sobol as salib_sample

from uqsurrogate.data.io import save_results
from uqsurrogate.problem import (
    Fixed,
    Normal,
    Problem,
    TruncNormal,
    Uniform,
    parse_distribution,
)
from uqsurrogate.sensitivity import nested, pce, sobol
from uqsurrogate.testing import (
    ishigami,
    ishigami_indices,
    ishigami_problem,
    sobol_g,
    sobol_g_indices,
    sobol_g_problem,
)

ISHIGAMI = ishigami_problem()
ISH_S1, ISH_ST, ISH_MEAN, _ = ishigami_indices()


def ishigami_outputs(X):  # several outputs with the same indices (affine maps) and one with others
    y = ishigami(X)
    return np.stack([y, 2 * y + 3, y**2], axis=1)


G_PROBLEM = sobol_g_problem()


def g_outputs(X):
    return sobol_g(X)[:, None]


# ------------------------------------------------------------------ Problem


def test_problem_conversions():
    p = Problem({"h": 4.5, "c": "0.3", "d_plus": Normal(0.4, 0.01), "d_minus": "normal(0.6, 0.015)",
                 "sigma": TruncNormal(-0.015, 0.002, -0.02, -0.01)})
    assert p.varied == ["d_plus", "d_minus", "sigma"] and p.fixed == {"h": 4.5, "c": 0.3}
    salib = p.to_salib()
    assert salib["dists"] == ["norm", "norm", "truncnorm"] and salib["bounds"][0] == [0.4, 0.01]
    X = p.full(p.sample(5, seed=0))
    assert X.shape == (5, 5) and np.all(X[:, 0] == 4.5)
    u = np.full((1, 3), 0.5)
    np.testing.assert_allclose(p.ppf(u)[0], [0.4, 0.6, -0.015])
    assert p.units["d_plus"] == "nm" and "normal" in p.to_json()
    assert len(p.marginals_chaospy()) == 3


@pytest.mark.parametrize("spec, match", [
    ("normal(0.4)", "normal takes 2 numbers"), ("normal(0.4, -1)", "sd = -1.0; it must be a number > 0"), ("uniform(2, 1)", "low < high"),
    ("beta(1, 2)", "unknown distribution 'beta'"), ("gauss", "expected a number or"),
])
def test_bad_distributions(spec, match):
    with pytest.raises(ValueError, match=match):
        parse_distribution(spec)


def test_problem_errors():
    with pytest.raises(ValueError, match="no input is varied"):
        Problem({"h": 4.5})
    with pytest.raises(TypeError, match="is not a distribution"):
        Problem({"h": [1, 2]})
    with pytest.raises(ValueError, match=r"in that order; missing \['sigma'\]"):
        Problem({"h": Uniform(4, 5)}).check_names(["h", "sigma"])
    assert isinstance(parse_distribution("3"), Fixed)


# ------------------------------------------------------------------ sobol


@pytest.mark.parametrize("second_order", [False, True])
def test_sobol_equals_salib(second_order):
    n, seed = 1024, 5
    ours = sobol(ishigami_outputs, ISHIGAMI, n, second_order=second_order, seed=seed, ci="bootstrap", progress=False)
    X = salib_sample.sample(ISHIGAMI.to_salib(), n, calc_second_order=second_order, scramble=True, seed=seed)
    Y = ishigami_outputs(X)
    for k in range(3):
        ref = salib_analyze.analyze(ISHIGAMI.to_salib(), Y[:, k], calc_second_order=second_order, seed=seed)
        np.testing.assert_allclose(ours["S1"][:, k], ref["S1"], atol=1e-8)
        np.testing.assert_allclose(ours["ST"][:, k], ref["ST"], atol=1e-8)
        # the same seed draws SALib's resamples: the CIs agree too
        np.testing.assert_allclose(ours["S1_conf"][:, k], ref["S1_conf"], atol=1e-8)
        np.testing.assert_allclose(ours["ST_conf"][:, k], ref["ST_conf"], atol=1e-8)
        if second_order:
            upper = np.triu_indices(3, 1)
            np.testing.assert_allclose(ours["S2"].values[:, :, k][upper], ref["S2"][upper], atol=1e-8)
            np.testing.assert_allclose(ours["S2_conf"].values[:, :, k][upper], ref["S2_conf"][upper], atol=1e-8)


def test_sobol_cis_statistically_agree_with_salib_on_other_resamples():
    n = 2048
    ours = sobol(ishigami_outputs, ISHIGAMI, n, seed=1, ci="bootstrap", resamples=400, progress=False)
    X = salib_sample.sample(ISHIGAMI.to_salib(), n, scramble=True, seed=1, calc_second_order=False)
    ref = salib_analyze.analyze(ISHIGAMI.to_salib(), ishigami(X), seed=99, num_resamples=400, calc_second_order=False)
    # bootstrap sd from 400 resamples is known to about 1/sqrt(2 x 399) = 3.5 %; allow 20 %
    np.testing.assert_allclose(ours["S1_conf"][:, 0], ref["S1_conf"], rtol=0.2)
    np.testing.assert_allclose(ours["ST_conf"][:, 0], ref["ST_conf"], rtol=0.2)


@pytest.mark.parametrize("estimator", ["saltelli2010", "janon2014", "martinez2011"])
def test_sobol_ishigami_closed_form(estimator):
    r = sobol(lambda X: ishigami(X)[:, None], ISHIGAMI, 2**14, estimator=estimator, seed=2, progress=False)
    # Tolerance independent of the method's own interval: over 20 scrambles at n = 2^14 the error of
    # every index had a standard deviation <= 6e-4 (all three estimators), so 5e-3 is about 8 of them.
    assert np.all(np.abs(r["S1"].values[:, 0] - ISH_S1) < 5e-3)
    assert np.all(np.abs(r["ST"].values[:, 0] - ISH_ST) < 5e-3)
    # The bootstrap treats the QMC design as random and is wide (0.007-0.022 here), but not blown up.
    assert np.all((r["S1_conf"].values > 1e-3) & (r["S1_conf"].values < 0.05))
    assert np.all((r["ST_conf"].values > 1e-3) & (r["ST_conf"].values < 0.05))


@pytest.mark.parametrize("estimator", ["saltelli2010", "janon2014", "martinez2011"])
def test_sobol_g_closed_form(estimator):
    s1, st = sobol_g_indices()
    r = sobol(g_outputs, G_PROBLEM, 2**14, estimator=estimator, seed=3, progress=False)
    # as for Ishigami: the error's spread over 20 scrambles was <= 6e-4
    assert np.all(np.abs(r["S1"].values[:, 0] - s1) < 5e-3)
    assert np.all(np.abs(r["ST"].values[:, 0] - st) < 5e-3)
    assert np.all(r["S1_conf"].values < 0.05) and np.all(r["ST_conf"].values < 0.05)


def test_rqmc_splits_the_rows_and_jackknifes_the_scrambles():
    """The default interval: n base rows as R scrambles; the estimate and half-width recomputed by hand.

    Each scramble's own Saltelli design is drawn with SALib (the seeds are the run's keyed
    states), the pooled estimate is SALib's Saltelli-2010 formula on all rows together, and
    leaving one scramble out is the same formula on the rest: an independent recomputation.
    """
    from uqsurrogate._random import keyed_states

    n, reps, seed = 256, 16, 4
    r = sobol(lambda X: ishigami(X)[:, None], ISHIGAMI, n, seed=seed, progress=False)
    assert r.attrs["ci"] == "rqmc" and r.attrs["replicates"] == reps and r.attrs["ci_method"].startswith("16 indep")
    assert r.attrs["model_evaluations"] == n * 5  # the rows of one design of n, split: no extra cost
    designs = [salib_sample.sample(ISHIGAMI.to_salib(), n // reps, calc_second_order=False, scramble=True, seed=int(s))
               for s in keyed_states(seed, reps)]
    parts = [ishigami(X).reshape(-1, 5) for X in designs]  # (n / R, A AB1 AB2 AB3 B)

    def s1(groups):
        y = np.concatenate(groups)
        y = y - y.mean()  # SALib centres by every row
        a, b, ab = y[:, 0], y[:, -1], y[:, 1:4]
        v = np.var(np.r_[a, b])
        return (b[:, None] * (ab - a[:, None])).mean(axis=0) / v

    np.testing.assert_allclose(r["S1"].values[:, 0], s1(parts), rtol=1e-9)
    leave = np.array([s1(parts[:k] + parts[k + 1:]) for k in range(reps)])
    se = np.sqrt((reps - 1) / reps * ((leave - leave.mean(axis=0)) ** 2).sum(axis=0))
    t = 2.131449545559323  # t_0.975 with 15 degrees of freedom
    np.testing.assert_allclose(r["S1_conf"].values[:, 0], t * se, rtol=1e-6)


def test_rqmc_replicates_are_checked():
    with pytest.raises(ValueError, match=r"replicates = 3; ci='rqmc' splits the n = 256 base samples .* power of 2"):
        sobol(lambda X: ishigami(X)[:, None], ISHIGAMI, 256, replicates=3, progress=False)
    with pytest.raises(ValueError, match=r"replicates = 256; .* \[2, 128\]"):
        sobol(lambda X: ishigami(X)[:, None], ISHIGAMI, 256, replicates=256, progress=False)


def test_aggregated_indices_are_variance_weighted():
    r = sobol(ishigami_outputs, ISHIGAMI, 1024, seed=6, progress=False)
    v = r["variance"].values
    for name in ("S1", "ST"):
        expected = (r[name].values * v).sum(axis=1) / v.sum()
        np.testing.assert_allclose(r[f"{name}_agg"].values, expected, rtol=1e-10)
    assert np.all(r["S1_agg_conf"].values > 0)


def test_chunking_does_not_change_the_result():
    a = sobol(ishigami_outputs, ISHIGAMI, 512, seed=7, chunk_rows=5 * 7, progress=False)
    b = sobol(ishigami_outputs, ISHIGAMI, 512, seed=7, progress=False)
    for name in ("S1", "ST", "S1_conf", "ST_conf", "mean", "variance"):
        np.testing.assert_allclose(a[name].values, b[name].values, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(b["mean"].values[0], 3.5, atol=0.05)  # E[Ishigami] = a/2


def test_sobol_errors():
    with pytest.raises(ValueError, match="n = 1000 is not a power of 2.*try n = 1024"):
        sobol(ishigami_outputs, ISHIGAMI, 1000)
    with pytest.raises(ValueError, match="estimator = 'homma'"):
        sobol(ishigami_outputs, ISHIGAMI, 64, estimator="homma")
    with pytest.raises(ValueError, match="ci = 'jackknife'"):
        sobol(ishigami_outputs, ISHIGAMI, 64, ci="jackknife")


# ------------------------------------------------------------------ pce


def test_pce_ishigami_and_g():
    r = pce(lambda X: ishigami(X)[:, None], ISHIGAMI, 2048, order=10, seed=0, resamples=0)
    np.testing.assert_allclose(r["S1"].values[:, 0], ISH_S1, atol=2e-3)  # the printed exact values: 4 digits
    np.testing.assert_allclose(r["ST"].values[:, 0], ISH_ST, atol=2e-3)
    assert r["loo_error"].values[0] < 1e-3
    np.testing.assert_allclose(r["mean"].values[0], ISH_MEAN, atol=1e-3)
    s1, st = sobol_g_indices()
    g = pce(g_outputs, G_PROBLEM, 4096, order=6, seed=0, resamples=0)
    # |4u - 2| has a kink: the expansion converges slowly; order 6 gets within a few 1e-2
    np.testing.assert_allclose(g["S1"].values[:, 0], s1, atol=0.04)
    np.testing.assert_allclose(g["ST"].values[:, 0], st, atol=0.04)


def test_pce_normal_inputs_linear_model_exact():
    p = Problem({"a": Normal(1.0, 2.0), "b": Normal(-1.0, 0.5), "c": 3.0})
    r = pce(lambda X: (2 * X[:, 0] + 4 * X[:, 1] + X[:, 2] + X[:, 0] * X[:, 1])[:, None], p, 64, order=2, seed=1)
    # V = 4*4 + 16*0.25 + Var(ab): a b with independent normals: Var = 4*0.25 + 4*1 + 0.25*1 ... computed:
    va, vb = 4.0, 0.25
    ma, mb = 1.0, -1.0
    # y = 2a + 4b + ab = (2 + mb) a' ... first-order parts: (2 + mb) a', (4 + ma) b', interaction a' b'
    v1 = (2 + mb) ** 2 * va
    v2 = (4 + ma) ** 2 * vb
    v12 = va * vb
    total = v1 + v2 + v12
    np.testing.assert_allclose(r["S1"].values[:, 0], [v1 / total, v2 / total], rtol=1e-8)
    np.testing.assert_allclose(r["ST"].values[:, 0], [(v1 + v12) / total, (v2 + v12) / total], rtol=1e-8)
    assert r["loo_error"].values[0] < 1e-20


def test_pce_needs_enough_samples():
    with pytest.raises(ValueError, match="has 286 terms: use n >= 572"):
        pce(lambda X: ishigami(X)[:, None], ISHIGAMI, 100, order=10)


# ------------------------------------------------------------------ nested


def two_input(X):
    a, b = X[:, 0], X[:, 1]
    return np.stack([a + 2 * b + 3 * a * b, 5 * a + 0 * b], axis=1)


# y = a + 2b + 3ab, a, b ~ U(0, 1): E[y|a] = 1 + 2.5a, E[y|b] = 0.5 + 3.5b, interaction 9 Var(a')Var(b')
V_A, V_B, V_AB = 6.25 / 12, 12.25 / 12, 9 / 144
V_TOT = V_A + V_B + V_AB
TWO = Problem({"a": Uniform(0, 1), "b": Uniform(0, 1)})


def test_nested_known_indices_and_interaction():
    r = nested(two_input, TWO, 2000, 2000, seed=0, progress=False)
    # the outer-sample variance of a uniform: relative sd sqrt(0.8/2000) = 2 %; allow 4 sd
    tol = 4 * np.sqrt(0.8 / 2000) * np.array([V_A, V_B]) / V_TOT
    assert np.all(np.abs(r["S1_corrected"].values[:, 0] - [V_A / V_TOT, V_B / V_TOT]) < tol)
    assert abs(r["S_interaction_corrected"].values[0] - V_AB / V_TOT) < tol.sum()
    # second output depends on a only: S_a = 1, S_b = 0 exactly in the paper form up to noise
    assert r["S1"].values[0, 1] == pytest.approx(1.0, abs=1e-9)
    assert abs(r["S1_corrected"].values[1, 1]) < 1e-9


def test_nested_bias_corrections_on_the_crossed_grid():
    """Average many small grids: the one-way ANOVA correction is biased down, the two-way one is not."""
    est = {"S1": [], "S1_corrected": [], "S1_oneway": []}
    for seed in range(200):
        r = nested(two_input, TWO, 6, 6, seed=seed, resamples=0, progress=False)
        for k in est:
            est[k].append(r[k].values[0, 0])
    exact = V_A / V_TOT
    mean = {k: np.mean(v) for k, v in est.items()}
    se = {k: np.std(v, ddof=1) / np.sqrt(len(v)) for k, v in est.items()}
    # with 6 x 6 draws the biases are several standard errors of the 200-grid average
    assert mean["S1_oneway"] < exact - 4 * se["S1_oneway"]
    assert abs(mean["S1_corrected"] - exact) < 4 * se["S1_corrected"] + 0.02


def test_nested_paper_form_is_biased_up_by_the_interaction():
    """E[Var_i(ȳ_i)] = V_a + V_ab/N_b on the crossed grid: the paper form over-counts the interaction.

    y = a + 6 (a - 1/2)(b - 1/2), a, b ~ U(0, 1): V_a = 1/12, V_b = 0, V_ab = 1/4, so S_a = 1/4.
    With N_b = 4 inner draws the paper form's numerator carries V_ab/4 = 3/4 V_a on top: its
    ratio of expected sums of squares is 0.43.
    """
    def f(X):
        return (X[:, 0] + 6 * (X[:, 0] - 0.5) * (X[:, 1] - 0.5))[:, None]

    paper = [nested(f, TWO, 100, 4, seed=seed, resamples=0, progress=False)["S1"].values[0, 0] for seed in range(200)]
    se = np.std(paper, ddof=1) / np.sqrt(len(paper))  # 0.02 measured
    assert np.mean(paper) > 0.25 + 4 * se


def test_nested_streaming_and_surfaces():
    r = nested(two_input, TWO, 50, 40, seed=2, surfaces=[0], chunk_rows=7, progress=False)
    surf = r["response_surface"].values[0]
    a, b = r["a"].values, r["b"].values
    np.testing.assert_allclose(surf, a[:, None] + 2 * b[None, :] + 3 * a[:, None] * b[None, :], rtol=1e-12)
    y = surf.ravel()
    np.testing.assert_allclose(r["mean"].values[0], y.mean(), rtol=1e-12)
    np.testing.assert_allclose(r["variance"].values[0], y.var(), rtol=1e-10)
    np.testing.assert_allclose(r["S1"].values[0, 0], surf.mean(axis=1).var() / y.var(), rtol=1e-10)
    assert np.all(np.diff(a) >= 0)
    with pytest.raises(ValueError, match="exactly two varied inputs"):
        nested(two_input, ISHIGAMI)


# ------------------------------------------------------------------ all three on a smooth function


def test_three_methods_agree_on_a_smooth_function(tmp_path):
    p = Problem({"h": 4.5, "d_plus": Normal(0.4, 0.01), "d_minus": Normal(0.6, 0.015)})

    def smooth(X):
        dp, dm = X[:, 1], X[:, 2]
        return np.stack([np.exp(3 * dp) + np.sin(4 * dm), dp * dm * 10 + dm**2], axis=1)

    s = sobol(smooth, p, 2**13, seed=0, progress=False)
    c = pce(smooth, p, 256, order=4, seed=0)
    n = nested(smooth, p, 1000, 1000, seed=0, progress=False)
    # Tolerances from each method's own noise, not from its reported interval: sobol's QMC
    # error at n = 2^13 is ~1e-3 (20 scrambles of Ishigami: sd <= 6e-4 at 2^14); nested at
    # 1000 x 1000 estimates a variance of 1000 means, relative sd sqrt(2/1000) = 4.5 %, so
    # about 0.02 for an index near 0.5: 0.05 is 2.5 of them.
    assert np.all(np.abs(s["S1"].values - c["S1"].values) < 0.01)
    assert np.all(np.abs(n["S1_corrected"].values - c["S1"].values) < 0.05)
    path = save_results(n, tmp_path / "sens.nc")
    back = xr.load_dataset(path)
    assert list(back["input"].values) == ["d_plus", "d_minus"] and back.attrs["method"] == "nested"
    assert Problem.from_json(back.attrs["problem"]).to_json() == p.to_json()


# ------------------------------------------------------------------ on a ModelFunction, and the command


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    from uqsurrogate.simulators import ElectrolyteSimulator, sobol_design
    from uqsurrogate.surrogate import SurrogateTrainer, TrainingConfig

    ds = ElectrolyteSimulator(n_bins=24).run(sobol_design(32, seed=8), seed=8)
    cfg = TrainingConfig(loss="mse", epochs=4, hidden=(16, 16), dropout=0.0, learning_rate=3e-3, batch_size=8)
    return SurrogateTrainer(cfg, progress=False).fit(ds).save(tmp_path_factory.mktemp("sens") / "model")


def test_results_are_labelled_for_a_model_function(small_model):
    from uqsurrogate.model_function import ModelFunction

    f = ModelFunction.from_artifact(small_model, extrapolation="clip")
    p = Problem({"h": 4.5, "c": 1.0, "d_plus": Normal(0.4, 0.01), "d_minus": Normal(0.5, 0.01), "sigma": -0.015})
    r = sobol(f.restrict(output="charge_density", z=[-2.0, -1.5], h=4.5), p, 256, seed=0, progress=False)
    assert r["S1"].dims == ("input", "bin") and r["z"].attrs["units"] == "nm"
    np.testing.assert_allclose(r["z"].values, f.z_grid(4.5)[r["bin"].values])
    assert r["mean"].attrs["units"] == "C/m3" and r["variance"].attrs["units"] == "(C/m3)2"
    d = sobol(f, p, 64, seed=0, ci="none", progress=False)
    assert d["S1"].dims == ("input", "species", "bin") and list(d["species"].values) == ["cation", "anion"]


def test_sensitivity_cli(small_model, tmp_path, capsys):
    from uqsurrogate.cli import main

    base = ["sensitivity", str(small_model), "--vary", "d_plus=normal(0.4,0.01)", "--vary",
            "d_minus=normal(0.5,0.01)", "--fix", "h=4.5", "--fix", "c=1.0", "--fix", "sigma=-0.015",
            "--extrapolation", "clip", "--quiet"]
    out = tmp_path / "n.nc"
    assert main(base + ["--method", "nested", "--samples", "40", "--output", "charge_density", "--z", "-2.0",
                        "-1.5", "--out", str(out)]) == 0
    r = xr.load_dataset(out)
    assert r.attrs["method"] == "nested" and r["response_surface"].shape == (2, 40, 40)
    # a few outputs: a table per output and input, its numbers those of the file, no mean over outputs
    printed = capsys.readouterr().out
    assert "mean over outputs" not in printed and "sampling 95 %" in printed
    for j, z in enumerate(r["z"].values):
        s1, lo, hi = (float(r[v].sel(input="d_minus").values[j]) for v in ("S1_corrected", "S1_corrected_low",
                                                                              "S1_corrected_high"))
        assert f"| z = {z:.4g} nm | d_plus |" in printed
        assert f"| d_minus | {s1:.3f} | {lo:.3f} to {hi:.3f} |" in printed
    assert main(base + ["--method", "sobol", "--samples", "64", "--out", str(tmp_path / "s.nc")]) == 0
    # every bin of both species: no table, but where it is, and Sobol's variance-weighted aggregate
    printed = capsys.readouterr().out
    n_out = int(np.prod(xr.load_dataset(tmp_path / "s.nc")["S1"].shape[1:]))
    assert f"{n_out} outputs: the indices of each, with their intervals, are in {tmp_path / 's.nc'}" in printed
    assert "S1 aggregated over the outputs (variance-weighted)" in printed
    assert main(base + ["--method", "pce", "--samples", "64", "--order", "3", "--out", str(tmp_path / "p.nc")]) == 0
    assert main(["sensitivity", str(small_model), "--vary", "d_plus=normal(0.4,0.01)", "--out",
                 str(tmp_path / "x.nc")]) == 2
    assert "give --vary or --fix for ['h', 'c', 'd_minus', 'sigma']" in capsys.readouterr().err
    assert main(base + ["--method", "sobol", "--samples", "100", "--out", str(tmp_path / "y.nc")]) == 2
    assert "not a power of 2" in capsys.readouterr().err


def test_three_methods_agree_on_a_trained_surrogate(small_model):
    """The same agreement on a real (small) surrogate: a ModelFunction restricted to a few bins."""
    from uqsurrogate.model_function import ModelFunction

    f = ModelFunction.from_artifact(small_model, extrapolation="clip", dtype=np.float64)
    g = f.restrict(output="density", species="cation", bins=[3, 8, 12])
    p = Problem({"h": 4.5, "c": 1.0, "d_plus": Normal(0.4, 0.02), "d_minus": Normal(0.45, 0.02), "sigma": -0.015})
    s = sobol(g, p, 2**13, seed=1, progress=False)
    c = pce(g, p, 512, order=5, seed=1)
    n = nested(g, p, 1000, 1000, seed=1, progress=False)
    assert np.all(c["loo_error"].values < 0.05)  # the expansion represents the surrogate well
    # as above; the PCE's own error adds up to its LOO error (< 5 % of the variance)
    assert np.all(np.abs(s["S1"].values - c["S1"].values) < 0.03)
    assert np.all(np.abs(n["S1_corrected"].values - c["S1"].values) < 0.06)


# ------------------------------------------------------------------ sampling intervals of nested and pce


def test_nested_bootstrap_replicates_equal_the_resampled_grid():
    """The streamed, weighted sums give exactly the indices of the explicitly resampled grid."""
    from uqsurrogate.sensitivity.nested import _CrossedSums, _two_way

    rng = np.random.default_rng(1)
    n_a, n_b, n_out, n_rep = 7, 5, 3, 4
    y = rng.normal(size=(n_a, n_b, n_out)) + 10
    w = rng.multinomial(n_a, np.full(n_a, 1 / n_a), size=n_rep).astype(float)
    v = rng.multinomial(n_b, np.full(n_b, 1 / n_b), size=n_rep).astype(float)
    sums = _CrossedSums(n_a, n_b, None, w, v)
    flat = y.reshape(n_a * n_b, n_out)
    for start in range(0, n_a * n_b, 2 * n_b):  # chunks of two grid rows
        sums.update(flat[start : start + 2 * n_b], None, start)
    b, n = sums.boot, n_a * n_b
    reps = _two_way(n_a, n_b, b["wt"] / n, b["wt2"] / n_b**2, np.einsum("rj,rjp->rp", v, b["u"] ** 2) / n_a**2,
                    b["wq"])
    for r in range(n_rep):
        grid = y[np.repeat(np.arange(n_a), w[r].astype(int))][:, np.repeat(np.arange(n_b), v[r].astype(int))]
        g = grid - sums.shift
        brute = _two_way(n_a, n_b, g.mean(axis=(0, 1)), (g.mean(axis=1) ** 2).sum(axis=0),
                         (g.mean(axis=0) ** 2).sum(axis=0), (g**2).sum(axis=(0, 1)))
        for k in ("S1", "S1_corrected", "S_interaction_corrected", "variance"):
            got = reps[k][:, r] if reps[k].ndim == 3 else reps[k][r]
            np.testing.assert_allclose(got, brute[k], rtol=1e-10)


@pytest.mark.parametrize("name", ["bilinear", "square", "interaction", "lognormal", "inert", "g2", "ishigami",
                                  "sobol_g"])
def test_panel_indices_are_exact(name):
    """Each panel case's closed-form indices against plain Monte Carlo pick-freeze (Saltelli/Jansen) on 400k
    random draws, written out here: within 0.02 (about 4 standard errors on the heaviest-tailed case)."""
    from uqsurrogate.testing import panel

    case = panel()[name]
    rng = np.random.default_rng(11)
    n = 400_000
    a, b = case.problem.sample(n, rng), case.problem.sample(n, rng)
    fa, fb = case.function(a), case.function(b)
    var = np.var(np.r_[fa, fb])
    for j in range(a.shape[1]):
        mixed = a.copy()
        mixed[:, j] = b[:, j]
        fab = case.function(mixed)
        assert abs(np.mean(fb * (fab - fa)) / var - case.s1[j]) < 0.02, (name, j, "S1")
        assert abs(np.mean((fa - fab) ** 2) / 2 / var - case.st[j]) < 0.02, (name, j, "ST")


@pytest.mark.slow
@pytest.mark.parametrize("method, case, options, names, band", [
    ("sobol", "ishigami", {"n": 1024}, ("S1", "ST"), (0.92, 0.98)),
    ("nested", "bilinear", {"n_outer": 32, "n_inner": 32, "conf_level": 0.9}, ("S1_corrected",), (0.85, 0.95)),
    ("nested", "g2", {"n_outer": 100, "n_inner": 100, "conf_level": 0.9}, ("S1_corrected",), (0.85, 0.95)),
    ("pce", "ishigami", {"n": 512, "order": 8}, ("S1", "ST"), (0.90, 0.98)),
])
def test_intervals_hold_their_level(method, case, options, names, band):
    """The coverage harness, small: 400 seeded repetitions (200 for pce) against closed-form indices.

    The default interval of each method must cover within the band (issue #25's); at 400 runs
    a correct interval's coverage has a binomial standard error of 0.011 (0.015 at 90 %).
    Where the index is 0 exactly (Ishigami's x3, first order) pce's interval, held within
    [0, 1], covers more often than nominal (docs/benchmarks.md): that input is checked to be
    covered at least at the band's low end.  Sobol' half-widths must also be the right size
    (at most 1.3 x the estimate's spread).
    """
    from uqsurrogate.sensitivity import nested, pce, sobol
    from uqsurrogate.testing import coverage, panel

    fn = {"sobol": sobol, "nested": nested, "pce": pce}[method]
    c = panel()[case]
    res = coverage(fn, c, repetitions=200 if method == "pce" else 400,
                   indices=[(n, "s1" if n.startswith("S1") else "st") for n in names], **options)
    for name, r in res.items():
        exact = c.s1 if name.startswith("S1") else c.st
        inner = exact != 0
        cover = r["coverage"]
        assert np.all((cover[inner] >= band[0]) & (cover[inner] <= band[1])), (name, cover, r["coverage_se"])
        assert np.all(cover[~inner] >= band[0]), (name, cover)
        if method == "sobol":
            assert np.all(r["width_ratio"] <= 1.3), (name, r["width_ratio"])


def test_nested_interval_variables_and_errors():
    r = nested(two_input, TWO, 20, 20, seed=0, progress=False)
    for name in ("S1", "S1_corrected"):
        assert np.all(r[f"{name}_low"].values <= r[name].values + 1e-12)
        assert np.all(r[f"{name}_high"].values >= r[name].values - 1e-12)
        np.testing.assert_allclose(r[f"{name}_conf"], (r[f"{name}_high"] - r[f"{name}_low"]) / 2, atol=1e-12)
    assert r.attrs["ci"] == "jackknife" and r.attrs["groups"] == "20 x 20" and "jackknife" in r.attrs["ci_method"]
    boot = nested(two_input, TWO, 20, 20, seed=0, ci="bootstrap", progress=False)
    assert boot.attrs["resamples"] == 200 and "two-way bootstrap" in boot.attrs["ci_method"]
    bare = nested(two_input, TWO, 20, 20, seed=0, resamples=0, progress=False)
    assert "S1_conf" not in bare and bare.attrs["ci"] == "none"
    for other in (r, boot):  # the draws come first
        np.testing.assert_array_equal(bare["S1_corrected"].values, other["S1_corrected"].values)
    with pytest.raises(ValueError, match="resamples = 1; use 0"):
        nested(two_input, TWO, 20, 20, resamples=1)
    with pytest.raises(ValueError, match=r"conf_level = 1.5; it must be a number in \(0, 1\)"):
        nested(two_input, TWO, 20, 20, conf_level=1.5)
    with pytest.raises(ValueError, match=r"ci = 'student'"):
        nested(two_input, TWO, 20, 20, ci="student")
    with pytest.raises(ValueError, match=r"groups = 30"):
        nested(two_input, TWO, 20, 20, groups=30)


def test_nested_jackknife_equals_leaving_out_by_hand():
    """At 12 x 12 draws every draw is its own group: delete each row and each column of the grid,
    recompute the two-way ANOVA index by hand, and add the two jackknife variances (Arvesen)."""
    from scipy.stats import t

    from uqsurrogate.testing import panel

    case = panel()["lognormal"]
    n = 12
    r = nested(case, case.problem, n, n, seed=3, conf_level=0.9, surfaces=[0], progress=False)
    grid = r["response_surface"].values[0]  # (a, b), both sorted; the draws are the result's coordinates

    def s1(y):
        na, nb = y.shape
        rows, cols, grand = y.mean(axis=1), y.mean(axis=0), y.mean()
        ms_ab = ((y - rows[:, None] - cols[None] + grand) ** 2).sum() / ((na - 1) * (nb - 1))
        va, vb = rows.var(ddof=1) - ms_ab / nb, cols.var(ddof=1) - ms_ab / na
        return np.array([va, vb]) / (va + vb + ms_ab)

    np.testing.assert_allclose(r["S1_corrected"].values[:, 0], s1(grid), rtol=1e-9)
    spread = []
    for axis in (0, 1):
        leave = np.array([s1(np.delete(grid, k, axis=axis)) for k in range(n)])
        spread.append((n - 1) / n * ((leave - leave.mean(axis=0)) ** 2).sum(axis=0))
    var = spread[0] + spread[1]
    dof = var**2 / (spread[0] ** 2 / (n - 1) + spread[1] ** 2 / (n - 1))
    np.testing.assert_allclose(r["S1_corrected_conf"].values[:, 0], t.ppf(0.95, dof) * np.sqrt(var), rtol=1e-7)


def test_pce_bootstrap_intervals():
    """Zero width where the expansion is exact; elsewhere about the spread over independent designs."""
    p = Problem({"a": Normal(1.0, 2.0), "b": Normal(-1.0, 0.5)})
    exact = pce(lambda X: (2 * X[:, 0] + 4 * X[:, 1] + X[:, 0] * X[:, 1])[:, None], p, 64, order=2, seed=1,
                ci="bootstrap")
    assert np.all(exact["S1_conf"].values < 1e-10) and np.all(exact["ST_conf"].values < 1e-10)
    f = lambda X: ishigami(X)[:, None]  # noqa: E731
    r = pce(f, ISHIGAMI, 256, order=6, seed=0, conf_level=0.9, ci="bootstrap")
    assert "bootstrap" in r.attrs["ci_method"] and r.attrs["resamples"] == 100
    spread = np.std([pce(f, ISHIGAMI, 256, order=6, seed=s, ci="none")["S1"].values[:2, 0] for s in range(1, 9)],
                    axis=0, ddof=1)
    ratio = r["S1_conf"].values[:2, 0] / 1.645 / spread
    # the bootstrap treats the scrambled Sobol' design as random: wider than the scramble spread
    # (1.4-1.9x over 30 designs), never narrower by much
    assert np.all((ratio > 0.5) & (ratio < 4)), ratio
    assert np.all((r["S1_low"].values[:2, 0] <= ISH_S1[:2]) & (ISH_S1[:2] <= r["S1_high"].values[:2, 0]))


def test_pce_jackknife_equals_refitting_by_hand():
    """The default: R scrambles, the fit without each one redone with NumPy's lstsq on chaospy's own
    orthonormal basis, the bias-corrected index R θ̂ - (R - 1) mean θ_(r), its t interval within [0, 1]."""
    import chaospy
    from scipy.stats import t

    n, order, reps = 256, 4, 8
    r = pce(lambda X: ishigami(X)[:, None], ISHIGAMI, n, order=order, seed=2, replicates=reps)
    assert r.attrs["ci"] == "rqmc" and r.attrs["replicates"] == reps and r.attrs["model_evaluations"] == n
    assert r.attrs["ci_method"].startswith("jackknife over independent scrambles")
    # the design is not stored: the same scrambles again (R scrambled Sobol' sets of n / R, stacked)
    from uqsurrogate._random import as_generator
    from uqsurrogate.sensitivity.pce import _scrambles

    x = ISHIGAMI.ppf(_scrambles(3, n, reps, as_generator(2)))
    y = ishigami(x)
    dist = chaospy.J(*[chaospy.Uniform(-np.pi, np.pi) for _ in range(3)])
    basis = chaospy.generate_expansion(order, dist, normed=True)
    psi = basis(*x.T).T

    def s1(rows):
        c = np.linalg.lstsq(psi[rows], y[rows], rcond=None)[0]
        v = sum(c[k] ** 2 for k in range(1, len(c)))
        out = []
        for i in range(3):
            only = [k for k in range(1, len(c)) if _only(basis, k, i)]
            out.append(sum(c[k] ** 2 for k in only) / v)
        return np.array(out)

    whole = s1(np.arange(n))
    m = n // reps
    leave = np.array([s1(np.r_[0 : k * m, (k + 1) * m : n]) for k in range(reps)])
    est = reps * whole - (reps - 1) * leave.mean(axis=0)
    half = t.ppf(0.975, reps - 1) * np.sqrt((reps - 1) / reps * ((leave - leave.mean(axis=0)) ** 2).sum(axis=0))
    np.testing.assert_allclose(r["S1"].values[:, 0], est, atol=1e-9)
    np.testing.assert_allclose(r["S1_low"].values[:, 0], np.clip(est - half, 0, 1), atol=1e-9)
    np.testing.assert_allclose(r["S1_high"].values[:, 0], np.clip(est + half, 0, 1), atol=1e-9)
    assert r["S1_low"].values[2, 0] == 0.0  # the inert input's interval reaches 0


def _only(basis, k, i):
    """Whether term k of a chaospy expansion has degree only in input i."""
    deg = [int(e) for e in np.asarray(basis[k].exponents).max(axis=0)]
    return deg[i] > 0 and sum(deg) == deg[i]


