"""Appending samples to training data, and warm-starting a trained model on them."""

from __future__ import annotations

import numpy as np
import pytest

from uqsurrogate.data import append_samples, input_matrix
from uqsurrogate.errors import InputError
from uqsurrogate.model_function import ModelFunction
from uqsurrogate.simulators import ElectrolyteSimulator, sobol_design
from uqsurrogate.surrogate import SurrogateTrainer, TrainingConfig, load_artifact, save_artifact
from uqsurrogate.surrogate.ensemble import continue_model, read_ensemble, train_ensemble
from uqsurrogate.surrogate.scaling import minmax_scale, rescale_first_layer
from uqsurrogate.surrogate.warmstart import continue_training

from conftest import synthetic


def _design(n, seed, c_range):
    d = sobol_design(n, seed=seed)
    lo, hi = c_range
    d["c"] = lo + (hi - lo) * (d["c"] - d["c"].min()) / (d["c"].max() - d["c"].min())
    return d


@pytest.fixture(scope="module")
def regions():
    """64 simulator runs at low c (the old data) and 32 at high c (the new samples), 16 bins."""
    sim = ElectrolyteSimulator(n_bins=16)
    return sim.run(_design(64, 1, (0.2, 0.8)), seed=1), sim.run(_design(32, 2, (1.5, 2.0)), seed=2)


@pytest.fixture(scope="module")
def trained(regions):
    cfg = TrainingConfig(loss="mse", epochs=40, hidden=(32, 32), dropout=0.0, learning_rate=3e-3, seed=4,
                         batch_size=8, schedule="cosine")
    return SurrogateTrainer(cfg, progress=False).fit(regions[0]).surrogate()


def _rmse(model, ds):
    f = ModelFunction.from_artifact(model, extrapolation="warn")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pred = f(input_matrix(ds))
    return float(np.sqrt(np.mean((pred - ds["density_true"].values) ** 2)))


def test_append_keeps_the_old_samples_first_and_checks_the_contract():
    old, new = synthetic(n=5, seed=0), synthetic(n=3, seed=1)
    both = append_samples(old, new)
    assert both.sizes["sample"] == 8
    np.testing.assert_array_equal(input_matrix(both)[:5], input_matrix(old))
    np.testing.assert_array_equal(both["density"].values[5:], new["density"].values)
    assert "append_samples: 5 + 3 samples" in both.attrs["history"]


def test_an_appended_duplicate_input_is_refused_naming_the_row():
    old, new = synthetic(n=5, seed=0), synthetic(n=3, seed=1)
    for k in ("h", "c", "d_plus", "d_minus", "sigma"):
        new[k].values[2] = old[k].values[4]
    with pytest.raises(InputError, match=r"new sample 2 \(h=.*\) repeats the inputs of dataset sample 4"):
        append_samples(old, new)
    twice = synthetic(n=3, seed=1)
    for k in ("h", "c", "d_plus", "d_minus", "sigma"):
        twice[k].values[2] = twice[k].values[0]
    with pytest.raises(InputError, match=r"new sample 2 .* repeats the inputs of new sample 0"):
        append_samples(old, twice)


def test_append_refuses_another_system():
    old, new = synthetic(n=4, seed=0), synthetic(n=3, seed=1, n_bins=10)
    with pytest.raises(InputError, match="10 bins; the dataset has 20"):
        append_samples(old, new)
    other = synthetic(n=3, seed=1)
    other["h"].attrs["units"] = "angstrom"
    with pytest.raises(InputError):
        append_samples(old, other)


def test_rescaled_first_layer_computes_the_same_function():
    rng = np.random.default_rng(0)
    W, b = rng.normal(size=(3, 4)), rng.normal(size=4)
    old, new = (np.zeros(3), np.array([1.0, 2.0, 3.0])), (np.array([-1.0, 0.5, 0.0]), np.array([2.0, 2.5, 5.0]))
    W2, b2 = rescale_first_layer(W, b, old, new)
    X = rng.uniform(-1, 5, size=(50, 3))
    np.testing.assert_allclose(minmax_scale(X, *new) @ W2 + b2, minmax_scale(X, *old) @ W + b, rtol=1e-12,
                               atol=1e-12)


def test_continuing_with_zero_epochs_changes_no_weight(trained, regions):
    data = append_samples(*regions)
    cont = continue_training(trained, data, 0)
    for a, b in zip(trained.model.get_weights(), cont.model.get_weights()):
        np.testing.assert_array_equal(a, b)
    record = cont.metadata["training"]["continued"][-1]
    assert (record["epochs"], record["n_samples_before"], record["n_samples"]) == (0, 64, 96)
    assert record["scaling"] == "kept"
    assert cont.metadata["training"]["data_sha256"] != trained.metadata["training"]["data_sha256"]
    # the old test rows stay test rows; the new rows are split with the same fraction
    test = cont.metadata["training"]["split"]["test_index"]
    assert set(trained.metadata["training"]["split"]["test_index"]) <= set(test)
    assert sum(i >= 64 for i in test) == round(0.2 * 32)


def test_continuing_on_appended_data_lowers_the_error_there(trained, regions, tmp_path):
    old, new = regions
    data = append_samples(old, new)
    before = _rmse(trained, new)
    cont = continue_training(trained, data, 40, learning_rate=3e-3)
    after = _rmse(cont, new)
    # measured over network seeds 4, 5, 6: 0.64-0.73 -> 0.09-0.13 mol/L RMSE on the new (high-c) samples
    assert after < 0.5 * before, (before, after)
    # the artifact round trip keeps the continued network and its history
    path = save_artifact(cont.model, cont.metadata, tmp_path / "continued")
    again = load_artifact(path)
    assert again.metadata["training"]["continued"][0]["epochs"] == 40
    assert _rmse(again, new) == pytest.approx(after, rel=1e-6)
    # and continuing once more needs the data as a prefix again
    with pytest.raises(InputError, match="not the model's training data"):
        continue_training(again, append_samples(new, old), 1)


def test_refit_scaling_starts_from_the_same_function(trained, regions):
    data = append_samples(*regions)
    cont = continue_training(trained, data, 0, refit_scaling=True)
    assert cont.metadata["scaling"]["max"][1] > trained.metadata["scaling"]["max"][1]  # c now reaches 2 M
    X = input_matrix(data)
    np.testing.assert_allclose(cont.predict(X), trained.predict(X), rtol=1e-4, atol=1e-4)


def test_a_continuation_is_reproducible(trained, regions):
    data = append_samples(*regions)
    a = continue_training(trained, data, 3)
    b = continue_training(trained, data, 3)
    for x, y in zip(a.model.get_weights(), b.model.get_weights()):
        np.testing.assert_array_equal(x, y)


def test_an_ensemble_continues_member_by_member(regions, tmp_path):
    old, new = regions
    cfg = TrainingConfig(loss="mse", epochs=3, hidden=(16,), dropout=0.0, seed=0, batch_size=16)
    ens = train_ensemble(cfg, old, tmp_path / "ens", members=2, progress=False)
    out = continue_model(ens, append_samples(old, new), tmp_path / "ens2", 2)
    doc = read_ensemble(out)
    assert doc["calibration"] is None
    assert [m["training"]["continued"][0]["n_samples"] for m in doc["member_metadata"]] == [96, 96]
    f = ModelFunction.from_artifact(out, extrapolation="warn")
    assert f.n_members == 2
    # a rerun on other data does not reuse members continued on these
    import shutil

    stale = tmp_path / "ens3.members"
    stale.mkdir()
    shutil.copytree(out / "member-00", stale / "member-00")
    with pytest.raises(InputError, match="members continued on other data"):
        continue_model(ens, append_samples(old, new.isel(sample=slice(0, 16))), tmp_path / "ens3", 2)
