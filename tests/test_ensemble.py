"""Deep ensembles: training, the artifact, and the ensemble as one model function."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from uqsurrogate.cli import main
from uqsurrogate.model_function import ModelFunction
from uqsurrogate.simulators import ElectrolyteSimulator, sobol_design
from uqsurrogate.surrogate import SurrogateTrainer, TrainingConfig
from uqsurrogate.surrogate.artifact import ArtifactError
from uqsurrogate.surrogate.ensemble import load_ensemble, read_ensemble, save_ensemble, train_ensemble


@pytest.fixture(scope="module")
def data():
    return ElectrolyteSimulator(n_bins=16).run(sobol_design(32, seed=5), seed=5)


def config(**kw) -> TrainingConfig:
    base = dict(loss="mse", epochs=4, hidden=(16, 16), dropout=0.0, learning_rate=3e-3, batch_size=8, seed=3)
    base.update(kw)
    return TrainingConfig(**base)


@pytest.fixture(scope="module")
def ensemble(data, tmp_path_factory):
    return train_ensemble(config(), data, tmp_path_factory.mktemp("ens") / "ensemble", members=3, progress=False)


def inputs(ds):
    return np.stack([ds[k].values for k in ("h", "c", "d_plus", "d_minus", "sigma")], axis=1)


def test_members_are_the_single_models_of_their_seeds(ensemble, data):
    """Member k is exactly what one training with seed 3 + k (split seed 3) gives."""
    doc = read_ensemble(ensemble)
    assert doc["members"] == ["member-00", "member-01", "member-02"] and doc["training"]["seeds"] == [3, 4, 5]
    members = load_ensemble(ensemble)
    alone = SurrogateTrainer(config(seed=4, split_seed=3), progress=False).fit(data)
    for a, b in zip(members[1].model.get_weights(), alone.model_.get_weights()):
        np.testing.assert_array_equal(a, b)
    splits = {tuple(m.metadata["training"]["split"]["test_index"]) for m in members}
    assert len(splits) == 1  # one common held-out split


def test_ensemble_model_function_mean_members_and_spread(ensemble, data):
    X = inputs(data)[:20]
    f = ModelFunction.from_artifact(ensemble, dtype=np.float64, extrapolation="clip")
    singles = [ModelFunction.from_artifact(ensemble / m, dtype=np.float64, extrapolation="clip")(X) for m in read_ensemble(ensemble)["members"]]
    assert f.n_members == 3 and f(X).shape == (20, 2, 16)
    # float32 networks: the batched members round like the single ones to float32 precision
    np.testing.assert_allclose(f(X), np.mean(singles, axis=0), rtol=1e-5, atol=1e-6)
    every = f.with_options(ensemble="members")
    assert every.output_shape == (3, 2, 16) and every.output_dims == ["member", "species", "bin"]
    np.testing.assert_allclose(every(X), np.stack(singles, axis=1), rtol=1e-5, atol=1e-6)
    mean, std = f.mean_std(X)
    np.testing.assert_allclose(std, np.std(singles, axis=0, ddof=1), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(mean, np.mean(singles, axis=0), rtol=1e-5, atol=1e-6)
    # observables per member: linear, so the member mean of rho is rho of the member mean
    rho = every.restrict(output="charge_density")(X)
    assert rho.shape == (20, 3, 16)
    # float32 densities (eps 1.2e-7 of ~1 mol/L) times 9.65e7 C/m3 per mol/L: a few tens of C/m3
    np.testing.assert_allclose(rho.mean(axis=1), f.restrict(output="charge_density")(X), rtol=1e-6, atol=50)
    s = every.restrict(output="integrated_charge", bins=[3, 7])(X)
    # S sums rho over the bins up to z: float32 densities (a few ulps apart between the batched members and a
    # single network) give a few x eps x n x F x bin width in C/m2, measured here from the data
    dens = every(X)
    width = X[:, 0].max() * 1e-9 / f.n_bins
    atol = 2 * np.finfo(np.float32).eps * float(np.abs(dens).max()) * 9.6485e7 * width * 8  # 2 ulps, 8 bins
    for k in range(3):
        one = ModelFunction.from_artifact(ensemble / f"member-0{k}", dtype=np.float64, extrapolation="clip")
        np.testing.assert_allclose(s[:, k], one.restrict(output="integrated_charge", bins=[3, 7])(X), rtol=1e-5,
                                   atol=atol)


def test_sobol_on_every_member_has_a_member_dim(ensemble):
    from uqsurrogate.problem import Normal, Problem
    from uqsurrogate.sensitivity import sobol

    f = ModelFunction.from_artifact(ensemble, extrapolation="clip").with_options(ensemble="members")
    p = Problem({"h": 4.5, "c": 1.0, "d_plus": Normal(0.4, 0.02), "d_minus": Normal(0.45, 0.02), "sigma": -0.015})
    r = sobol(f.restrict(output="charge_density", bins=[2, 5]), p, 64, seed=0, progress=False)
    assert r["S1"].dims == ("input", "member", "bin") and r.sizes["member"] == 3
    one = ModelFunction.from_artifact(ensemble / "member-01", extrapolation="clip")
    alone = sobol(one.restrict(output="charge_density", bins=[2, 5]), p, 64, seed=0, progress=False)
    np.testing.assert_allclose(r["S1"].sel(member=1).values, alone["S1"].values, rtol=1e-3, atol=1e-3)


def test_bootstrap_members_train_on_resampled_rows(data, tmp_path):
    a = SurrogateTrainer(config(bootstrap=True, epochs=1), progress=False).fit(data)
    b = SurrogateTrainer(config(epochs=1), progress=False).fit(data)
    assert len(a.train_index_) == len(b.train_index_) and len(set(a.train_index_)) < len(set(b.train_index_))
    np.testing.assert_array_equal(a.test_index_, b.test_index_)


def test_ensemble_errors(ensemble, data, tmp_path):
    with pytest.raises(ValueError, match="members = 1; it must be an integer >= 2"):
        train_ensemble(config(), data, tmp_path / "e", members=1)
    with pytest.raises(ValueError, match="an ensemble needs at least 2"):
        save_ensemble([ensemble / "member-00"], tmp_path / "e")
    other = ElectrolyteSimulator(n_bins=12).run(sobol_design(16, seed=1), seed=1)
    odd = SurrogateTrainer(config(epochs=1), progress=False).fit(other).save(tmp_path / "odd")
    with pytest.raises(ArtifactError, match="member 1 has other n_bins than member 0"):
        save_ensemble([ensemble / "member-00", odd], tmp_path / "e")
    broken = tmp_path / "broken"
    shutil.copytree(ensemble, broken)
    meta = json.loads((broken / "member-01" / "metadata.json").read_text())
    meta["outputs"]["scale"] = [1000.0]
    (broken / "member-01" / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match="does not match the hash in ensemble.json"):
        ModelFunction.from_artifact(broken)
    f = ModelFunction.from_artifact(ensemble / "member-00")
    with pytest.raises(ValueError, match="needs an ensemble"):
        f.with_options(ensemble="members")
    with pytest.raises(ValueError, match="needs an ensemble"):
        f.mean_std(inputs(data)[:2])


def test_train_members_cli(data, tmp_path, capsys):
    from uqsurrogate.data.io import save_dataset

    path = save_dataset(data, tmp_path / "d.nc")
    assert main(["train", str(path), "--out", str(tmp_path / "ens"), "--members", "2", "--bootstrap", "--epochs", "2",
                 "--hidden", "8", "8", "--quiet"]) == 0
    assert "an ensemble of 2 soft-label-loss members, seeds 0 to 1, each on a bootstrap resample" in capsys.readouterr().out
    assert ModelFunction.from_artifact(tmp_path / "ens").n_members == 2
    assert not (tmp_path / "ens.members").exists()
    assert main(["train", str(path), "--out", str(tmp_path / "x"), "--members", "1"]) == 2
    assert "argument --members: 1: must be >= 2" in capsys.readouterr().err


def test_calibrate_resolution_and_member_summary(ensemble, data, tmp_path, capsys):
    """calibrate stores a calibration; the resolution check and the member summary follow their definitions."""
    from uqsurrogate.data.io import save_dataset
    from uqsurrogate.problem import Normal, Problem
    from uqsurrogate.sensitivity import nested
    from uqsurrogate.uncertainty.trust import member_summary, resolution
    from uqsurrogate.uncertainty.calibration import Calibration

    ens = tmp_path / "ens"
    shutil.copytree(ensemble, ens)
    held_out = ElectrolyteSimulator(n_bins=16).run(sobol_design(32, seed=11), seed=11)
    cal = save_dataset(held_out, tmp_path / "cal.nc")
    train = save_dataset(data, tmp_path / "train.nc")
    assert main(["calibrate", str(ens), str(train), "--training-data", str(train)]) == 2
    assert "calibration input rows are also training rows" in capsys.readouterr().err
    assert main(["calibrate", str(ens), str(cal), "--training-data", str(train), "--figure",
                 str(tmp_path / "rel.png")]) == 0
    out = capsys.readouterr().out
    assert "miscalibration area" in out and "charge_density" in out and (tmp_path / "rel.png").is_file()
    f = ModelFunction.from_artifact(ens, extrapolation="clip")
    assert set(f.calibration) >= {"density", "charge_density", "integrated_charge", "reference"}
    rho = f.restrict(output="charge_density", bins=[2, 5, 8])
    X = inputs(held_out)[:10]
    mean, err = rho.calibrated_std(X)
    _, std = rho.mean_std(X)
    np.testing.assert_allclose(err, Calibration.from_dict(f.calibration["charge_density"]["calibration"])(std))
    p = Problem({"h": 4.5, "c": 1.0, "d_plus": Normal(0.4, 0.02), "d_minus": Normal(0.45, 0.02), "sigma": -0.015})
    r = nested(rho.with_options(ensemble="members"), p, 12, 12, seed=0, resamples=20, progress=False)
    s = member_summary(r)
    every = r["S1_corrected"]
    np.testing.assert_allclose(s["S1_corrected"], every.mean("member"))
    np.testing.assert_allclose(s["S1_corrected_member_max"], every.max("member"))
    assert np.all(s["S1_corrected_total_low"] <= r["S1_corrected_low"].min("member") + 1e-12)
    checked = resolution(rho, p, s, n=64, seed=1, threshold=3.0)
    sd = np.sqrt(r["variance"].mean("member").values)
    _, std64 = rho.calibrated_std(p.full(p.sample(64, np.random.default_rng(1))))
    np.testing.assert_allclose(checked["surrogate_error"].values, np.sqrt(np.mean(std64**2, axis=0)))
    np.testing.assert_allclose(checked["resolution_ratio"].values, sd / checked["surrogate_error"].values)
    np.testing.assert_array_equal(checked["resolved"].values, (sd / checked["surrogate_error"].values >= 3))
    with pytest.raises(ValueError, match="needs a result with a member dim"):
        member_summary(nested(rho, p, 6, 6, seed=0, resamples=0, progress=False))
    with pytest.raises(ValueError, match="no calibration"):
        ModelFunction.from_artifact(ensemble, extrapolation="clip").calibrated_std(X)
    # the command line: every member, the member spread beside the sampling intervals, the resolution check
    import xarray as xr

    out = tmp_path / "sens.nc"
    assert main(["sensitivity", str(ens), "--method", "nested", "--members", "--vary", "d_plus=normal(0.4,0.02)",
                 "--vary", "d_minus=normal(0.45,0.02)", "--fix", "h=4.5", "--fix", "c=1.0", "--fix", "sigma=-0.015",
                 "--output", "charge_density", "--bins", "2", "5", "--samples", "10", "--resamples", "20",
                 "--extrapolation", "clip", "--quiet", "--out", str(out)]) == 0
    res = xr.load_dataset(out)
    for name in ("S1_corrected_members", "S1_corrected_member_min", "S1_corrected_total_low", "resolved"):
        assert name in res, name
    assert res["S1_corrected_members"].sizes["member"] == 3
    # the summary: per output, the member range and the resolution flag from the file, and their legend
    printed = capsys.readouterr().out
    for j in range(2):
        ratio = float(res["resolution_ratio"].values[j])
        flag = f"yes ({ratio:.1f}x)" if ratio >= 3 else f"**no** ({ratio:.1f}x)"
        lo, hi = (float(res[v].sel(input="d_plus").values[j]) for v in ("S1_corrected_member_min",
                                                                          "S1_corrected_member_max"))
        assert f"| {lo:.3f} to {hi:.3f} | {flag} |" in printed
    assert "members: the smallest to the largest index over the ensemble's members" in printed
    assert "resolved (r x)" in printed
