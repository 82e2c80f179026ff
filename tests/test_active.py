"""Active learning: the objective and its gradient, the engines, the filters, the batch rules, the loop."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys

import numpy as np
import pytest

from uqsurrogate.active import (
    Acquisition,
    ActiveRun,
    ActiveSettings,
    CallableOracle,
    InputBox,
    SimulatorOracle,
    filter_candidates,
    kde_prior,
    problem_prior,
    propose,
    run_active,
    select_batch,
)
from uqsurrogate.active.batch import lcmd, max_det, max_distance, posterior_features
from uqsurrogate.data import make_dataset
from uqsurrogate.errors import InputError
from uqsurrogate.model_function import ModelFunction
from uqsurrogate.problem import Problem
from uqsurrogate.simulators import ElectrolyteSimulator, random_design
from uqsurrogate.surrogate import TrainingConfig
from uqsurrogate.surrogate.ensemble import set_calibration, train_ensemble

N_BINS = 16
CFG = TrainingConfig(loss="mse", epochs=30, hidden=(32, 32), dropout=0.0, learning_rate=3e-3, seed=0, batch_size=8,
                     schedule="cosine")


@pytest.fixture(scope="module")
def sim():
    return ElectrolyteSimulator(n_bins=N_BINS)


@pytest.fixture(scope="module")
def data(sim):
    return sim.run(random_design(48, seed=1), seed=1)


@pytest.fixture(scope="module")
def ensemble(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("active") / "ens"
    return train_ensemble(CFG, data, out, members=3, progress=False)


@pytest.fixture(scope="module")
def f(ensemble):
    return ModelFunction.from_artifact(ensemble)


def _finite_difference(acq, u, eps=1e-4):
    g = np.zeros_like(u)
    for i in np.flatnonzero(acq.box.free):
        d = np.zeros(u.shape[1])
        d[i] = eps
        g[:, i] = (acq.objective(u + d) - acq.objective(u - d)) / (2 * eps)
    return g


@pytest.mark.parametrize("prior", ["uniform", "kde", "problem"])
def test_the_objective_gradient_matches_finite_differences(f, data, prior):
    from uqsurrogate.data import input_matrix

    box = InputBox.of_model(f)
    q = {"uniform": None, "kde": kde_prior(input_matrix(data), box),
         "problem": problem_prior(Problem({"h": "uniform(4, 5)", "c": "normal(1.0, 0.4)", "d_plus": "uniform(0.2, 0.63)",
                                           "d_minus": "triangular(0.2, 0.4, 0.63)", "sigma": "uniform(-0.02, -0.01)"}),
                                  f.input_names)}
    acq = Acquisition(f, box, prior=q[prior], kT=0.7)
    u = box.uniform(6, np.random.default_rng(3)) * 0.9 + 0.05  # away from the box's faces
    j, g = acq.value_and_grad(u)
    np.testing.assert_allclose(j, acq.objective(u), rtol=1e-6, atol=1e-6)
    fd = _finite_difference(acq, u)
    # the network runs in float32: differences of J over 2e-4 carry ~1e-7 / 2e-4 relative noise
    np.testing.assert_allclose(g, fd, rtol=2e-2, atol=2e-2 * np.abs(fd).max())


def test_the_gradient_goes_through_a_stored_isotonic_calibration(ensemble, f, tmp_path):
    import shutil

    from uqsurrogate.uncertainty.calibration import Calibration

    copy = tmp_path / "cal"
    shutil.copytree(ensemble, copy)
    _, std = f.mean_std(f.train_min + (f.train_max - f.train_min) * np.random.default_rng(0).random((64, 5)))
    x = np.quantile(std[std > 0], np.linspace(0, 1, 12))
    cal = Calibration("isotonic", x=x.tolist(), y=(1.5 * x + 0.3 * x**1.2).tolist(), n=64)
    set_calibration(copy, {"density": {"calibration": cal.to_dict()}})
    acq = Acquisition(ModelFunction.from_artifact(copy))
    assert acq.calibrated
    u = acq.box.uniform(5, np.random.default_rng(1)) * 0.9 + 0.05
    raw = Acquisition(f)
    # U is the mean of the calibrated variances: the map's knots joined by straight lines, proportional beyond
    X = acq.box.to_physical(u)
    _, s = f.mean_std(X)
    s = s.reshape(len(X), -1)
    c = np.where(s < x[0], cal.y[0] / x[0] * s, np.where(s > x[-1], cal.y[-1] / x[-1] * s, np.interp(s, x, cal.y)))
    np.testing.assert_allclose(acq.uncertainty(X), np.mean(c**2, axis=1), rtol=1e-5)
    assert not np.allclose(acq.uncertainty(X), raw.uncertainty(X))
    _, g = acq.value_and_grad(u)
    fd = _finite_difference(acq, u)
    np.testing.assert_allclose(g, fd, rtol=2e-2, atol=2e-2 * np.abs(fd).max())


def test_as_kt_grows_the_objective_tends_to_log_u(f, data):
    from uqsurrogate.data import input_matrix

    box = InputBox.of_model(f)
    q = kde_prior(input_matrix(data), box)
    u = box.uniform(200, np.random.default_rng(2))
    log_u = np.log(Acquisition(f, box).uncertainty(box.to_physical(u)))
    gaps = []
    for kT in (1.0, 10.0, 100.0, 1e4):
        j = Acquisition(f, box, prior=q, kT=kT).objective(u)
        gaps.append(np.max(np.abs(j - log_u)))
    log_q = q.log_density(box.to_physical(u))
    np.testing.assert_allclose(gaps, np.max(np.abs(log_q)) / np.array([1.0, 10.0, 100.0, 1e4]), rtol=1e-6)
    assert gaps[-1] < 1e-3
    j = Acquisition(f, box, prior=q, kT=1e4).objective(u)
    assert np.argmax(j) == np.argmax(log_u)
    assert np.argmax(Acquisition(f, box, prior=q, kT=0.01).objective(u)) != np.argmax(log_u)


@pytest.mark.parametrize("engine", ["adversarial", "langevin", "random", "sobol", "pool"])
def test_every_proposal_stays_in_the_box_and_fixed_inputs_stay_fixed(f, engine):
    box = InputBox.from_bounds({"h": (4.2, 4.8), "c": (0.3, 1.9), "d_plus": (0.25, 0.6), "d_minus": (0.25, 0.6),
                                "sigma": (-0.02, -0.01)}, fixed={"c": 0.3})
    acq = Acquisition(f, box)
    options = {"adversarial": {"steps": 60, "learning_rate": 0.2}, "langevin": {"steps": 60, "step_size": 1e-2}}
    u = propose(engine, acq, 32, rng=np.random.default_rng(0), **options.get(engine, {}))
    X = box.to_physical(u)
    assert u.shape == (32, 5)
    assert np.all(u >= 0) and np.all(u <= 1)
    assert np.all(X >= box.low) and np.all(X <= box.high)
    assert np.all(X[:, 1] == 0.3)
    if engine in ("adversarial", "langevin"):  # a large step pushes many points onto the faces: they stay there
        assert np.any((u[:, box.free] == 0) | (u[:, box.free] == 1))


@pytest.mark.slow  # about a minute: it trains an ensemble with a hole in its design
def test_attacked_points_are_more_uncertain_than_random_ones_in_a_design_hole(tmp_path):
    """A toy with a hole in its training design: the attack finds more than twice random's median U."""
    rng = np.random.default_rng(0)
    n_bins = 8
    X = rng.uniform(size=(400, 5))
    hole = np.all(np.abs(X[:, :3] - 0.5) < 0.25, axis=1)
    X = X[~hole][:160]
    lo, hi = np.array([4.0, 0.1, 0.2, 0.2, -0.02]), np.array([5.0, 2.0, 0.63, 0.63, -0.01])
    P = lo + X * (hi - lo)
    zc = (np.arange(n_bins) + 0.5) / n_bins - 0.5
    shape = np.sin(3 * X[:, :1] + 2 * X[:, 1:2] * zc) + 2 * X[:, 2:3] + 2.0
    true = np.stack([shape, shape * (1 + 0.2 * X[:, 3:4])], axis=1)
    ds = make_dataset(dict(zip(["h", "c", "d_plus", "d_minus", "sigma"], P.T)), P[:, :1] * zc[None, :], true,
                      0.01 * true, density_true=true, attrs={"title": "toy with a hole"})
    cfg = TrainingConfig(loss="mse", epochs=60, hidden=(32, 32), dropout=0.0, learning_rate=5e-3, seed=0,
                         batch_size=16, schedule="cosine")
    acq = Acquisition(ModelFunction.from_artifact(train_ensemble(cfg, ds, tmp_path / "e", members=4, progress=False)))
    attacked = propose("adversarial", acq, 128, rng=np.random.default_rng(1))
    uniform = acq.box.uniform(128, np.random.default_rng(2))
    ratio = np.median(acq.uncertainty(acq.box.to_physical(attacked))) / np.median(
        acq.uncertainty(acq.box.to_physical(uniform)))
    assert ratio >= 2.0, ratio


def test_a_staircase_isotonic_map_still_gives_the_ascent_a_gradient(ensemble, f, tmp_path):
    """An isotonic map is flat on blocks: ascending it as it is stalls (the probe: 52 % of points had a zero
    gradient with the shipped map).  Its blocks become knots at their middles: every point has a gradient."""
    import shutil

    from uqsurrogate.active.objective import smooth_isotonic
    from uqsurrogate.uncertainty.calibration import Calibration

    copy = tmp_path / "stairs"
    shutil.copytree(ensemble, copy)
    X0 = f.train_min + (f.train_max - f.train_min) * np.random.default_rng(5).random((64, 5))
    _, std = f.mean_std(X0)
    x = np.sort(std[std > 0])[:: max(1, std.size // 40)]
    y = np.repeat(np.linspace(1, 4, len(x) // 4 + 1), 4)[: len(x)] * np.median(x)  # four equal values per step
    set_calibration(copy, {"density": {"calibration": Calibration("isotonic", x=x.tolist(), y=y.tolist()).to_dict()}})
    acq = Acquisition(ModelFunction.from_artifact(copy))
    _, g = acq.value_and_grad(acq.box.uniform(64, np.random.default_rng(6)) * 0.9 + 0.05)
    assert np.mean(np.all(g == 0, axis=1)) == 0
    xp, fp = smooth_isotonic(x, y)
    assert np.all(np.diff(xp) > 0) and np.all(np.diff(fp) > 0)
    assert len(xp) == len(np.unique(y))


def test_the_problem_prior_reads_the_model_s_columns_by_name():
    names = ["h", "c", "d_plus", "d_minus", "sigma"]
    spec = {"c": "uniform(0.2, 1.5)", "h": "uniform(4, 5)", "d_plus": 0.4, "d_minus": 0.4, "sigma": -0.015}
    with pytest.raises(InputError, match="in that order"):
        problem_prior(Problem(spec), names)
    q = problem_prior(Problem({k: spec[k] for k in names}), names)
    X = np.array([[4.5, 1.0, 0.4, 0.4, -0.015], [4.5, 1.9, 0.4, 0.4, -0.015]])  # c = 1.9: outside U(0.2, 1.5)
    lq = q.log_density(X)
    assert lq[0] > lq[1] + 100


def test_the_prior_gradient_is_finite_at_the_faces_of_the_box(f):
    """A Problem uniform over exactly the box is no prior inside it: its gradient is 0 at the faces too."""
    box = InputBox.of_model(f)
    spec = {n: f"uniform({float(lo)!r}, {float(hi)!r})" for n, lo, hi in zip(f.input_names, box.low, box.high)}
    acq = Acquisition(f, box, prior=problem_prior(Problem(spec), f.input_names))
    u = np.array([[0.0, 1.0, 0.5, 0.0, 1.0], [1.0, 0.0, 0.2, 1.0, 0.0]])
    _, _, _, g_p = acq.parts(u)
    np.testing.assert_allclose(g_p, 0.0, atol=1e-6)


# ---------------------------------------------------------------------------- batch rules
def _brute_greedy_logdet(K, B):
    picked = []
    for _ in range(B):
        best, arg = -np.inf, None
        for i in range(len(K)):
            if i in picked:
                continue
            sign, logdet = np.linalg.slogdet(K[np.ix_(picked + [i], picked + [i])])
            if sign > 0 and logdet > best:
                best, arg = logdet, i
        picked.append(arg)
    return picked


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_greedy_max_det_equals_brute_force_greedy_log_determinant(seed):
    rng = np.random.default_rng(seed)
    phi, phi_t = rng.standard_normal((30, 6)), rng.standard_normal((10, 6))
    assert max_det(phi, 5).tolist() == _brute_greedy_logdet(phi @ phi.T, 5)
    # conditioned on training points: the same as brute force on the posterior kernel, written independently
    noise = 0.3
    scale = np.sqrt(np.mean(np.sum(phi_t**2, axis=1)))
    a, t = phi / scale, phi_t / scale
    post = a @ np.linalg.inv(np.eye(6) + t.T @ t / noise) @ a.T
    assert select_batch("max_det", 5, features=phi, train_features=phi_t, noise=noise).tolist() == \
        _brute_greedy_logdet(post, 5)
    np.testing.assert_allclose(posterior_features(phi, phi_t, noise) @ posterior_features(phi, phi_t, noise).T, post,
                               atol=1e-10)


def test_max_distance_picks_the_known_points_on_a_line():
    grid = np.linspace(0, 1, 9)[:, None]  # 0, 0.125, ..., 1; training points at 0 and 1
    assert max_distance(grid, 3, train_features=np.array([[0.0], [1.0]])).tolist() == [4, 2, 6]
    assert max_distance(grid, 2, train_features=np.array([[0.0]])).tolist() == [8, 4]


def _lcmd_by_definition(phi, B, train):
    """LCMD recomputed from scratch at every step (Holzmüller et al. 2023)."""
    centres = [*train]
    picked = []
    for _ in range(B):
        d2 = ((phi[:, None, :] - np.array(centres)[None]) ** 2).sum(-1)
        nearest, dist = d2.argmin(axis=1), d2.min(axis=1)
        sizes = np.array([dist[nearest == c].sum() for c in range(len(centres))])
        members = [i for i in range(len(phi)) if sizes[nearest[i]] == sizes.max() and i not in picked]
        j = max(members, key=lambda i: dist[i])
        picked.append(j)
        centres.append(phi[j])
    return picked


@pytest.mark.parametrize("seed", [0, 1])
def test_lcmd_equals_its_definition_recomputed_at_every_step(seed):
    rng = np.random.default_rng(seed)
    phi, train = rng.standard_normal((40, 3)), rng.standard_normal((6, 3))
    assert lcmd(phi, 6, train).tolist() == _lcmd_by_definition(phi, 6, list(train))


@pytest.mark.parametrize("rule", ["random", "top", "max_distance", "max_det", "lcmd"])
def test_batches_hold_distinct_points_even_among_repeated_candidates(rule):
    rng = np.random.default_rng(0)
    phi = np.repeat(rng.standard_normal((4, 3)), 5, axis=0)  # 20 candidates, 4 distinct
    idx = select_batch(rule, 10, features=phi, train_features=rng.standard_normal((3, 3)),
                       scores=np.repeat([1.0, 2.0, 3.0, 4.0], 5), rng=rng)
    assert len(set(idx.tolist())) == 10
    with pytest.raises(InputError, match="B = 21"):
        select_batch(rule, 21, features=phi, scores=np.ones(20), rng=rng)


def test_the_filters_keep_uncertain_far_distinct_points_best_first():
    u_train = np.array([[0.5, 0.5]])
    u = np.array([[0.5, 0.5005], [0.1, 0.1], [0.1, 0.1003], [0.9, 0.9], [0.3, 0.7]])
    scores = np.array([10.0, 5.0, 6.0, 1.0, 3.0])
    # row 0 is within 1e-3 of the data; row 1 within 1e-3 of row 2 (scored higher); row 3 below the 50th
    # percentile of the training scores
    kept = filter_candidates(u, scores, u_train, train_scores=np.array([1.5, 2.0, 2.5]), percentile=50,
                             min_distance=1e-3)
    assert kept.tolist() == [2, 4]


# ---------------------------------------------------------------------------- the loop
def test_settings_refuse_bad_values_naming_them():
    with pytest.raises(InputError, match="batch"):
        ActiveSettings(batch=0)
    with pytest.raises(InputError, match="engine"):
        ActiveSettings(engine="bayes")
    with pytest.raises(InputError, match="rule 'random'"):
        ActiveSettings(engine="sobol", rule="max_det")


@pytest.fixture(scope="module")
def uninterrupted(ensemble, data, tmp_path_factory):
    """One round with the simulator (seed 3: round 1 simulates with seed 4), a calibration set and a test set."""
    out = tmp_path_factory.mktemp("loop") / "run"
    settings = ActiveSettings(batch=4, epochs=5, steps=30, candidates=24, seed=2)
    test = ElectrolyteSimulator(n_bins=N_BINS).run(random_design(20, seed=9), seed=9)
    return run_active(ensemble, data, out, rounds=1, oracle=SimulatorOracle(seed=3, n_bins=N_BINS), settings=settings,
                      calibration=20, test=test, progress=False)


def test_a_round_records_points_scores_engine_oracle_and_metrics(uninterrupted, data):
    run = uninterrupted
    record = json.loads((run.round_dir(1) / "round.json").read_text())
    assert record["n_samples"] == data.sizes["sample"] + 4
    assert len(record["batch"]["X"]) == 4 and len(record["batch"]["scores"]["U"]) == 4
    assert record["batch"]["engine"] == "adversarial" and record["batch"]["rule"] == "max_det"
    assert record["oracle"]["kind"] == "simulator" and record["oracle"]["seed"] == 3
    assert record["metrics"]["rmse"] > 0 and record["metrics"]["reference"] == "density_true"
    assert record["calibration"]["method"] in ("none", "scale", "isotonic")
    assert [r["round"] for r in run.doc["rounds"]] == [0, 1]
    assert record["batch"]["objective"]["calibrated"]
    X = np.asarray(record["batch"]["X"])
    assert len(np.unique(X, axis=0)) == 4
    np.testing.assert_array_equal(np.loadtxt(run.round_dir(1) / "batch.txt", skiprows=1), X)


def test_propose_then_ingest_equals_run_with_the_same_oracle_and_seed(uninterrupted, ensemble, data, tmp_path):
    """The two-phase path: the batch written as a design, simulated by the command line, ingested."""
    from uqsurrogate.data import input_matrix
    from uqsurrogate.data.io import load_dataset

    whole = uninterrupted
    run = ActiveRun.create(tmp_path / "run", ensemble, data, whole.settings, oracle=None,
                           calibration=whole.path / "calibration.nc", test=whole.path / "test.nc")
    batch = run.propose()
    assert (run.round_dir(1) / "jobs" / "job-0003" / "in.params").is_file()
    cmd = [sys.executable, "-m", "uqsurrogate.cli", "simulate", "--design", str(run.round_dir(1) / "batch.txt"),
           "--seed", str(3 + batch["round"]), "--bins", str(N_BINS), "--out", str(tmp_path / "results.nc"), "--quiet"]
    assert subprocess.run(cmd, check=False, capture_output=True).returncode == 0
    run.ingest(tmp_path / "results.nc")
    a, b = whole.data(1), run.data(1)
    np.testing.assert_array_equal(input_matrix(a), input_matrix(b))
    for v in ("density", "density_sem", "density_true"):
        np.testing.assert_array_equal(a[v].values, b[v].values)
    _same_ensemble(whole.model_path(1), run.model_path(1))
    assert load_dataset(run.round_dir(1) / "new.nc").sizes["sample"] == 4


def _same_ensemble(a, b):
    from uqsurrogate.surrogate.ensemble import load_ensemble

    for ma, mb in zip(load_ensemble(a), load_ensemble(b)):
        assert all(np.array_equal(x, y) for x, y in zip(ma.model.get_weights(), mb.model.get_weights()))


def test_ingest_refuses_results_that_miss_a_batch_row(ensemble, data, tmp_path):
    settings = ActiveSettings(engine="random", rule="random", batch=3, epochs=1, seed=5)
    run = ActiveRun.create(tmp_path / "run", ensemble, data, settings)
    batch = run.propose()
    X = np.asarray(batch["X"])
    partial = ElectrolyteSimulator(n_bins=N_BINS).run({n: X[:2, i] for i, n in enumerate(batch["inputs"])}, seed=0)
    with pytest.raises(InputError, match="batch row 2"):
        run.ingest(partial)
    assert run.rounds_done == 0


def test_a_callable_oracle_runs_the_loop_and_a_rerun_resumes_nothing(ensemble, data, tmp_path, sim):
    calls = []

    def oracle(X):
        calls.append(len(X))
        return sim.run({n: X[:, i] for i, n in enumerate(["h", "c", "d_plus", "d_minus", "sigma"])}, seed=11)

    settings = ActiveSettings(engine="pool", rule="top", batch=2, epochs=1, candidates=64, seed=1)
    run_active(ensemble, data, tmp_path / "run", rounds=2, oracle=CallableOracle(oracle, "toy"), settings=settings,
               progress=False)
    assert calls == [2, 2]
    run = run_active(ensemble, data, tmp_path / "run", rounds=2, oracle=CallableOracle(oracle, "toy"),
                     settings=settings, progress=False)
    assert calls == [2, 2] and run.rounds_done == 2
    with pytest.raises(InputError, match="other settings"):
        run_active(ensemble, data, tmp_path / "run", rounds=3, oracle=CallableOracle(oracle), progress=False,
                   settings=ActiveSettings(engine="pool", rule="top", batch=3))


def test_pool_top_picks_the_highest_uncertainty_of_the_pool(f):
    acq = Acquisition(f)
    rng = np.random.default_rng(4)
    u = propose("pool", acq, 500, rng=rng)
    U = acq.uncertainty(acq.box.to_physical(u))
    idx = select_batch("top", 5, scores=U)
    assert set(idx.tolist()) == set(np.argsort(U)[-5:].tolist())


def test_sobol_rounds_continue_one_sequence(f):
    from uqsurrogate.active.proposals import sobol_points

    box = InputBox.of_model(f)
    whole = sobol_points(box, 16, seed=3)
    parts = np.vstack([sobol_points(box, 4, seed=3, skip=4 * k) for k in range(4)])
    np.testing.assert_array_equal(whole, parts)


def test_the_box_refuses_bad_bounds_naming_them():
    with pytest.raises(InputError, match="fixed c = 3"):
        InputBox.from_bounds({"h": (4, 5), "c": (0.1, 2)}, fixed={"c": 3})
    with pytest.raises(InputError, match="input h"):
        InputBox.from_bounds({"h": (5, 4)})
    assert list(itertools.chain(InputBox.from_bounds({"h": (4, 5)}).names)) == ["h"]


def test_the_command_line_runs_a_round_and_refuses_bad_values(ensemble, data, tmp_path, capsys):
    from uqsurrogate.cli import main
    from uqsurrogate.data.io import save_dataset

    save_dataset(data, tmp_path / "d.nc")
    argv = ["active", "run", str(ensemble), str(tmp_path / "d.nc"), "--out", str(tmp_path / "run"), "--rounds", "1",
            "--batch", "3", "--engine", "sobol", "--epochs", "2", "--quiet"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "round 1: 51 samples" in out
    assert main([*argv[:-1], "--batch", "0"]) == 2
    assert "--batch: 0: must be >= 1" in capsys.readouterr().err
    assert main(["active", "propose", str(ensemble), str(tmp_path / "d.nc"), "--out", str(tmp_path / "md"),
                 "--calibration", "12"]) == 2
    assert "needs --oracle simulator" in capsys.readouterr().err


def test_the_loop_refuses_data_the_ensemble_was_not_trained_on_before_writing(ensemble, data, tmp_path):
    other = data.isel(sample=slice(0, 40))
    with pytest.raises(InputError, match="not the training data"):
        ActiveRun.create(tmp_path / "run", ensemble, other, ActiveSettings(engine="random", rule="random", batch=2))
    assert not (tmp_path / "run").exists()
    with pytest.raises(InputError, match="is the ensemble"):
        ActiveRun.create(ensemble / "run", ensemble, data, ActiveSettings(engine="random", rule="random", batch=2))


def test_settings_are_checked_before_anything_is_made_and_name_the_field():
    for bad, field in (({"learning_rate": -1.0}, "learning_rate"), ({"step_size": 0.0}, "step_size"),
                       ({"min_distance": float("nan")}, "min_distance"), ({"noise": 0.0}, "noise"),
                       ({"sketch": 0}, "sketch"), ({"train_learning_rate": -1.0}, "train_learning_rate"),
                       ({"box": {"low": [0]}}, "box"), ({"outputs": {"colour": 1}}, "outputs"),
                       ({"engine": "sobol", "rule": "random", "candidates": 8}, "candidates"),
                       ({"batch": 300}, "candidates")):
        with pytest.raises(InputError, match=field):
            ActiveSettings(**bad)
    s = ActiveSettings(batch=np.int64(3), outputs={"species": ("cation",)})
    assert type(s.batch) is int and s.outputs == {"species": ["cation"]}
    assert ActiveSettings(**json.loads(json.dumps(s.to_dict()))) == s


def test_ingest_is_checked_before_it_writes_and_a_round_takes_one_set_of_results(ensemble, data, tmp_path, sim):
    run = ActiveRun.create(tmp_path / "run", ensemble, data, ActiveSettings(engine="random", rule="random", batch=2,
                                                                           epochs=1, seed=4))
    X = np.asarray(run.propose()["X"])
    design = {n: X[:, i] for i, n in enumerate(["h", "c", "d_plus", "d_minus", "sigma"])}
    with pytest.raises(InputError, match="bins"):
        run.ingest(ElectrolyteSimulator(n_bins=12).run(design, seed=0))
    assert not (run.round_dir(1) / "new.nc").exists()  # nothing kept from a refused ingest
    first, second = sim.run(design, seed=0), sim.run(design, seed=1)
    record = run.ingest(first)
    assert record["oracle"]["kind"] == "external" and record["units"]["metrics.rmse*"] == "mol/L"
    run2 = ActiveRun(tmp_path / "run")
    assert run2.rounds_done == 1
    # the round is done: ingest goes to round 2, which has no batch yet
    with pytest.raises(InputError, match="round 2 has no proposed batch"):
        run2.ingest(second)


def test_a_resumed_run_must_start_from_the_same_ensemble_data_and_held_out_sets(ensemble, data, tmp_path, sim):
    settings = ActiveSettings(engine="random", rule="random", batch=2, epochs=1, seed=6)
    oracle = SimulatorOracle(seed=1, n_bins=N_BINS)
    run_active(ensemble, data, tmp_path / "run", rounds=1, oracle=oracle, settings=settings, calibration=20,
               progress=False)
    with pytest.raises(InputError, match="calibration set of 20 points"):
        run_active(ensemble, data, tmp_path / "run", rounds=2, oracle=oracle, settings=settings, calibration=30,
                   progress=False)
    test = sim.run(random_design(8, seed=3), seed=3)
    with pytest.raises(InputError, match="another test set"):
        run_active(ensemble, data, tmp_path / "run", rounds=2, oracle=oracle, settings=settings, calibration=20,
                   test=test, progress=False)
    with pytest.raises(InputError, match="oracle"):
        run_active(ensemble, data, tmp_path / "run", rounds=2, oracle=SimulatorOracle(seed=9, n_bins=N_BINS),
                   settings=settings, calibration=20, progress=False)
    with pytest.raises(InputError, match="n_bins=16"):
        run_active(ensemble, data, tmp_path / "other", rounds=1, oracle=SimulatorOracle(seed=1), settings=settings,
                   progress=False)
    run = run_active(ensemble, data, tmp_path / "run", rounds=2, oracle=oracle, settings=settings, calibration=20,
                     progress=False)
    rec = json.loads((run.round_dir(2) / "round.json").read_text())
    assert rec["oracle"]["round_seed"] == 3 and rec["oracle"]["kind"] == "simulator"
    # a lost line of active.json (killed between round.json and active.json) comes back on opening
    doc = json.loads((run.path / "active.json").read_text())
    doc["rounds"] = doc["rounds"][:2]
    (run.path / "active.json").write_text(json.dumps(doc))
    assert [r["round"] for r in ActiveRun(run.path).doc["rounds"]] == [0, 1, 2]
