"""Surrogate training, losses, the artifact, and the metrics."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from uqsurrogate.cli import main
from uqsurrogate.data import input_names
from uqsurrogate.model_function import ModelFunction
from uqsurrogate.simulators import ElectrolyteSimulator, sobol_design
from uqsurrogate.surrogate import (
    ArtifactError,
    SurrogateTrainer,
    TrainingConfig,
    load_artifact,
    split_indices,
    surrogate_metrics,
)
from uqsurrogate.surrogate import training as training_module
from uqsurrogate.surrogate.artifact import FORMAT_VERSION
from uqsurrogate.surrogate.losses import make_loss


@pytest.fixture(scope="module")
def small_data():
    """64 simulator runs on 16 bins: real profiles, with zero-error bins at the walls."""
    return ElectrolyteSimulator(n_bins=16).run(sobol_design(64, seed=3), seed=3)


def quick(**kw) -> TrainingConfig:
    base = dict(loss="mse", epochs=8, hidden=(32, 32), dropout=0.0, learning_rate=3e-3, seed=1, batch_size=8,
                output_scale="max")
    base.update(kw)
    return TrainingConfig(**base)


def inputs_of(ds):
    return np.stack([ds[k].values for k in input_names(ds)], axis=1)


def test_training_reduces_the_loss(small_data):
    trainer = SurrogateTrainer(quick(epochs=25), progress=False).fit(small_data)
    hist = trainer.history_
    assert len(hist["loss"]) == 25
    assert hist["loss"][-1] < 0.5 * hist["loss"][0]
    assert min(hist["val_mse_hard"]) < 0.5 * hist["val_mse_hard"][0]
    assert trainer.best_epoch_ == 1 + int(np.argmin(hist["val_mse_hard"]))


def test_best_weights_are_restored(small_data):
    trainer = SurrogateTrainer(quick(epochs=12, learning_rate=3e-2), progress=False).fit(small_data)
    test = small_data.isel(sample=trainer.test_index_)
    pred = trainer.surrogate().predict(inputs_of(test))
    scale = np.asarray(trainer.metadata_["outputs"]["scale"])
    scaled_mse = np.mean(((pred.reshape(len(test.sample), -1) - test["density"].values.reshape(
        len(test.sample), -1)) / scale) ** 2)
    assert scaled_mse == pytest.approx(min(trainer.history_["val_mse_hard"]), rel=1e-4)


def test_concentration_scaling_trains_on_n_over_c(small_data, tmp_path):
    trainer = SurrogateTrainer(quick(epochs=12, output_scale="concentration"), progress=False).fit(small_data)
    assert trainer.metadata_["outputs"]["scale_by_input"] == "c"
    test = small_data.isel(sample=trainer.test_index_)
    X = inputs_of(test)
    c = test["c"].values[:, None]
    # the validation MSE Keras recorded is the MSE of n/c: computed here from the raw network
    raw = np.asarray(trainer.model_(trainer.surrogate().scale_inputs(X).astype("float32")), dtype=float)
    target = test["density"].values.reshape(len(X), -1) / c
    assert np.mean((raw - target) ** 2) == pytest.approx(min(trainer.history_["val_mse_hard"]), rel=1e-4)
    # predictions are the raw output times c, in mol/L, through the artifact and the model function
    pred = trainer.surrogate().predict(X)
    np.testing.assert_allclose(pred.reshape(len(X), -1), raw * c, rtol=1e-6)
    path = trainer.save(tmp_path / "model")
    from uqsurrogate.model_function import ModelFunction

    f = ModelFunction.from_artifact(path, dtype=np.float64)
    inside = inputs_of(small_data.isel(sample=trainer.train_index_))  # within the training ranges
    np.testing.assert_allclose(f(inside), trainer.surrogate().predict(inside), rtol=2e-5, atol=1e-6)
    with pytest.raises(ValueError, match="needs c > 0"):
        SurrogateTrainer(quick(output_scale="concentration"), progress=False).fit(
            small_data.assign(c=small_data["c"] * 0))


def _as_old_version(path, dest, version):
    """A copy written as format `version` was: 1-2 hold the bare network (scaled to scaled), 4 adds the
    metadata digest, 5 the optional `outputs.representation` (absent here, as in a per-bin model) and the
    training settings of the representations; a writer of `version` wrote none of the later fields."""
    from uqsurrogate.surrogate.artifact import (
        INTRODUCED_IN,
        metadata_digest,
        sha256_file,
    )

    old = _copy(path, dest)
    if version <= 2:  # the bare network; versions 3-4 hold the self-contained model as 5 does
        load_artifact(path).model.save(old / "model.keras")
    meta = json.loads((old / "metadata.json").read_text())
    meta["format_version"] = version
    for field, introduced in INTRODUCED_IN.items():  # version 1 had no scale_by_input, 3 no digest, ...
        if introduced > version:
            parent = meta
            for key in field[:-1]:
                parent = parent.get(key, {})
            parent.pop(field[-1], None)
    meta["files"]["model.keras"] = sha256_file(old / "model.keras")
    meta.pop("metadata_sha256", None)
    if version == 4:
        meta["metadata_sha256"] = metadata_digest(meta)
    (old / "metadata.json").write_text(json.dumps(meta))
    return old


@pytest.mark.parametrize("version", [1, 2, 3, 4])
def test_older_artifacts_are_still_read(saved_model, small_data, tmp_path, version):
    _, path = saved_model
    import contextlib

    from uqsurrogate.warnings import IntegrityWarning

    old = _as_old_version(path, tmp_path / f"v{version}", version)
    X = inputs_of(small_data)

    def undigested():  # formats before 4 load, saying that their metadata cannot be checked
        return pytest.warns(IntegrityWarning, match="predates") if version < 4 else contextlib.nullcontext()

    with undigested():
        assert (load_artifact(old).keras_model is None) == (version <= 2)
    with undigested():
        np.testing.assert_array_equal(load_artifact(old).predict(X), load_artifact(path).predict(X))
    f = ModelFunction.from_artifact(path)
    X = np.clip(X, f.train_min, f.train_max)  # the model function refuses the test rows outside the training range
    with undigested():
        np.testing.assert_array_equal(ModelFunction.from_artifact(old)(X), f(X))


@pytest.mark.parametrize("preset", ["tuned", "tuned-c"])
def test_model_keras_alone_gives_densities_from_raw_inputs(small_data, tmp_path, preset):
    """keras.saving.load_model(model.keras).predict(raw) equals the ModelFunction, whatever the output scaling."""
    import keras

    from uqsurrogate.surrogate import PRESETS

    trainer = SurrogateTrainer(quick(**{k: v for k, v in PRESETS[preset].items() if k != "hidden"}),
                               progress=False).fit(small_data)
    trainer.save(tmp_path / "m")
    f = ModelFunction.from_artifact(tmp_path / "m")
    X = np.clip(inputs_of(small_data), f.train_min, f.train_max)  # inside the training range, as f requires
    alone = keras.saving.load_model(tmp_path / "m" / "model.keras").predict(X, verbose=0)
    expected = f(X)
    assert alone.shape == expected.shape
    np.testing.assert_allclose(alone, expected, rtol=1e-6, atol=1e-6)
    meta = json.loads((tmp_path / "m" / "metadata.json").read_text())
    assert meta["outputs"].get("scale_by_input") == ("c" if preset == "tuned-c" else None)


def test_embedded_scaling_must_match_the_metadata(saved_model, tmp_path):
    from uqsurrogate.surrogate.artifact import metadata_digest

    path = _copy(saved_model[1], tmp_path / "m")
    meta = json.loads((path / "metadata.json").read_text())
    meta["scaling"]["max"][0] += 1.0  # consistently edited, digest recomputed: only the embedded layer differs
    meta["inputs"][0]["train_max"] += 1.0
    meta["metadata_sha256"] = metadata_digest(meta)
    (path / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match="input scaling inside model.keras differs"):
        load_artifact(path)


def test_same_seed_same_weights(small_data):
    a = SurrogateTrainer(quick(loss="soft-label"), progress=False).fit(small_data).model_.get_weights()
    b = SurrogateTrainer(quick(loss="soft-label"), progress=False).fit(small_data).model_.get_weights()
    c = SurrogateTrainer(quick(loss="soft-label", seed=2), progress=False).fit(small_data).model_.get_weights()
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))


def test_split_is_seeded_and_disjoint():
    tr, te = split_indices(100, 0.2, 7)
    assert len(te) == 20 and len(tr) == 80 and not set(tr) & set(te)
    np.testing.assert_array_equal(split_indices(100, 0.2, 7)[1], te)
    assert not np.array_equal(split_indices(100, 0.2, 8)[1], te)


def _loss_value(name, y, eps, pred, **kw):
    fn = make_loss(name, **kw)
    return np.asarray(fn(np.concatenate([y, eps], axis=1).astype("float32"), pred.astype("float32")))


def test_soft_label_loss_keeps_hard_labels_where_eps_is_zero():
    rng = np.random.default_rng(0)
    y, pred = rng.uniform(size=(64, 10)), rng.uniform(size=(64, 10))
    np.testing.assert_allclose(_loss_value("soft-label", y, 0 * y, pred), np.mean((y - pred) ** 2, axis=1),
                               rtol=1e-6)


def test_soft_label_loss_draws_fresh_labels_with_the_right_spread():
    rng = np.random.default_rng(1)
    y, pred = rng.uniform(size=(256, 50)), rng.uniform(size=(256, 50))
    eps = np.full_like(y, 0.1)
    eps[:, :10] = 0.0
    fn = make_loss("soft-label", seed=5)
    packed = np.concatenate([y, eps], axis=1).astype("float32")
    draws = np.array([np.asarray(fn(packed, pred.astype("float32"))).mean() for _ in range(40)])
    assert np.unique(draws).size == 40  # new labels on every call
    # E[(Y - p)^2] = (y - p)^2 + eps^2; the mean over 40 x 12,800 outputs is within a few 1e-4
    expected = np.mean((y - pred) ** 2 + eps**2)
    assert draws.mean() == pytest.approx(expected, abs=5e-4)


def test_chi2_loss_is_inverse_variance_weighting():
    rng = np.random.default_rng(2)
    y, pred, eps = rng.uniform(size=(8, 6)), rng.uniform(size=(8, 6)), rng.uniform(0, 0.1, size=(8, 6))
    eps[0, 0] = 0
    w = 1 / (eps**2 + 0.01**2)
    expected = np.mean(w * (y - pred) ** 2, axis=1) / w.mean()
    np.testing.assert_allclose(_loss_value("chi2", y, eps, pred, error_floor=0.01), expected, rtol=1e-5)
    with pytest.raises(ValueError, match="chi2 needs a floor > 0"):
        make_loss("chi2")


def test_bad_config():
    for kw, match in [({"loss": "hinge"}, "loss = 'hinge'"), ({"epochs": 0}, "epochs = 0"),
                      ({"learning_rate": -1}, "learning_rate = -1"), ({"test_fraction": 1.0}, "test_fraction = 1.0"),
                      ({"schedule": "step"}, "schedule = 'step'")]:
        with pytest.raises(ValueError, match=match):
            TrainingConfig(**kw)


@pytest.fixture(scope="module")
def saved_model(small_data, tmp_path_factory):
    trainer = SurrogateTrainer(quick(loss="chi2"), progress=False).fit(small_data)
    path = trainer.save(tmp_path_factory.mktemp("m") / "model")
    return trainer, path


def test_reloaded_artifact_predicts_exactly(saved_model, small_data):
    trainer, path = saved_model
    X = inputs_of(small_data)
    np.testing.assert_array_equal(load_artifact(path).predict(X), trainer.surrogate().predict(X))
    meta = json.loads((path / "metadata.json").read_text())
    assert [i["name"] for i in meta["inputs"]] == ["h", "c", "d_plus", "d_minus", "sigma"]
    assert meta["inputs"][0]["units"] == "nm" and meta["outputs"]["units"] == "mol/L"
    assert meta["outputs"]["z_convention"] == "uniform-slit"
    assert meta["training"]["loss"] == "chi2" and meta["training"]["seed"] == 1
    assert len(meta["training"]["data_sha256"]) == 64 and meta["format_version"] == FORMAT_VERSION
    assert not list(path.glob("*.pkl")) and sorted(p.name for p in path.iterdir()) == ["metadata.json",
                                                                                       "model.keras"]
    np.testing.assert_allclose(load_artifact(path).z(inputs_of(small_data)), small_data["z"].values, atol=1e-12)


def _copy(src, dst):
    import shutil

    shutil.copytree(src, dst)
    return dst


def test_corrupted_weights_are_refused(saved_model, tmp_path):
    path = _copy(saved_model[1], tmp_path / "m")
    raw = bytearray((path / "model.keras").read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (path / "model.keras").write_bytes(bytes(raw))
    with pytest.raises(ArtifactError, match="does not match the recorded"):
        load_artifact(path)


def test_other_format_version_is_refused(saved_model, tmp_path):
    path = _copy(saved_model[1], tmp_path / "m")
    meta = json.loads((path / "metadata.json").read_text())
    meta["format_version"] = 99
    (path / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match="format version 99; this uqsurrogate .* reads versions 1, 2"):
        load_artifact(path)


def test_broken_or_missing_metadata(saved_model, tmp_path):
    path = _copy(saved_model[1], tmp_path / "m")
    (path / "metadata.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="not valid JSON"):
        load_artifact(path)
    (path / "metadata.json").unlink()
    with pytest.raises(ArtifactError, match="metadata.json is missing"):
        load_artifact(path)
    with pytest.raises(ArtifactError, match="no such model directory"):
        load_artifact(tmp_path / "nothing")


def test_mismatched_metadata_is_refused(saved_model, tmp_path):
    path = _copy(saved_model[1], tmp_path / "m")
    meta = json.loads((path / "metadata.json").read_text())
    meta["outputs"]["n_bins"] = 17
    (path / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match="metadata_sha256"):  # an edit is caught by the digest first
        load_artifact(path)
    from uqsurrogate.surrogate.artifact import metadata_digest

    meta["metadata_sha256"] = metadata_digest(meta)  # and, digest forged, by the consistency checks behind it
    (path / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match=r"outputs.scale has 32 values, but outputs.species \(2\) x "
                                            r"outputs.n_bins \(17\) make 34 outputs"):
        load_artifact(path)
    meta["outputs"]["scale"] = 1.0
    meta["metadata_sha256"] = metadata_digest(meta)
    (path / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match="2 x 17 outputs"):  # and by the network's shape
        load_artifact(path)


def test_resume_from_checkpoint(small_data, tmp_path, monkeypatch):
    cfg = quick(epochs=6, checkpoint_every=2)
    ckpt = tmp_path / "ckpt"
    real = training_module._Progress.update
    seen = []

    def interrupt(self, logs):
        seen.append(1)
        if len(seen) == 3:
            raise KeyboardInterrupt
        real(self, logs)

    monkeypatch.setattr(training_module._Progress, "update", interrupt)
    with pytest.raises(KeyboardInterrupt):
        SurrogateTrainer(cfg, checkpoint_dir=ckpt, progress=False).fit(small_data)
    assert json.loads((ckpt / "state.json").read_text())["epoch"] == 2
    monkeypatch.setattr(training_module._Progress, "update", real)
    resumed = SurrogateTrainer(cfg, checkpoint_dir=ckpt, progress=False).fit(small_data)
    assert len(resumed.history_["loss"]) == 6
    assert json.loads((ckpt / "state.json").read_text())["epoch"] == 6
    with pytest.raises(ValueError, match="another configuration or dataset"):
        SurrogateTrainer(quick(epochs=7, checkpoint_every=2), checkpoint_dir=ckpt, progress=False).fit(small_data)


def test_metrics_equal_direct_numpy():
    rng = np.random.default_rng(4)
    n, b = 5, 8
    h = np.full(n, 2.0)
    z = np.broadcast_to(-1 + (np.arange(b) + 0.5) * 2 / b, (n, b))
    y = rng.uniform(0.5, 1.5, (n, 2, b))
    true = y + rng.normal(0, 0.01, y.shape)
    eps = np.full(y.shape, 0.05)
    eps[:, :, 0] = 0
    pred = y + rng.normal(0, 0.05, y.shape)
    from uqsurrogate.data import make_dataset

    ds = make_dataset({"h": h}, z, y, eps, density_true=true)
    m = surrogate_metrics(pred, ds, interface=0.25, bulk=0.25)
    for ref, target in (("labels", y), ("truth", true)):
        mm = m.sel(reference=ref)
        assert float(mm["mse"]) == pytest.approx(sum(((target - pred) ** 2).ravel()) / (n * 2 * b))
        for s in range(2):
            for k in range(b):
                assert float(mm["rmse_bin"][s, k]) == pytest.approx(np.sqrt(np.mean((target[:, s, k] - pred[:, s, k]) ** 2)))
            assert float(mm["rmse_mean"][s]) == pytest.approx(np.mean(np.sqrt(np.mean((target[:, s] - pred[:, s]) ** 2, axis=0))))
        for j in range(n):
            hits = sum(abs(target[j, s, k] - pred[j, s, k]) < eps[j, s, k] for s in range(2) for k in range(b))
            assert float(mm["success_rate"][j]) == pytest.approx(hits / (2 * b))
            measured = [(s, k) for s in range(2) for k in range(b) if eps[j, s, k] > 0]
            hits_measured = sum(abs(target[j, s, k] - pred[j, s, k]) < eps[j, s, k] for s, k in measured)
            assert float(mm["success_rate_measured"][j]) == pytest.approx(hits_measured / len(measured))
            assert float(mm["rmse_sample"][j, 1]) == pytest.approx(np.sqrt(np.mean((target[j, 1] - pred[j, 1]) ** 2)))
        # bins 0 and 7 are within 0.25 nm of a wall (centres 0.125 nm away); bins 3, 4 within 0.25 nm of z = 0
        assert float(mm["mse_interface"]) == pytest.approx(np.mean((target - pred)[:, :, [0, 7]] ** 2))
        assert float(mm["mse_bulk"]) == pytest.approx(np.mean((target - pred)[:, :, [3, 4]] ** 2))
    assert m["rmse_bin"].attrs["units"] == "mol/L"


def test_train_and_evaluate_cli(small_data, tmp_path, capsys):
    data = tmp_path / "d.nc"
    from uqsurrogate.data import save_dataset

    save_dataset(small_data, data)
    model = tmp_path / "model"
    assert main(["train", str(data), "--out", str(model), "--loss", "soft-label", "--epochs", "3", "--seed", "0",
                 "--hidden", "16", "16", "--quiet"]) == 0
    assert (model / "model.keras").is_file() and not (tmp_path / "model.checkpoint").exists()
    assert main(["evaluate", str(model), str(data), "--out", str(tmp_path / "m.nc")]) == 0
    out = capsys.readouterr().out
    assert "truth" in out and "success rate" in out and "test split" in out
    metrics = xr.load_dataset(tmp_path / "m.nc")
    assert list(metrics["reference"].values) == ["labels", "truth"]
    assert metrics.attrs["split"] == "test" and metrics.sizes["sample"] == round(0.2 * small_data.sizes["sample"])
    assert main(["train", str(data), "--out", str(model), "--epochs", "2"]) == 2
    assert "pass --force" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "nomodel"), str(data), "--out", str(tmp_path / "x.nc")]) == 2
    assert "no such model directory" in capsys.readouterr().err


def test_f6_resumed_training_equals_the_uninterrupted_run(small_data, tmp_path, monkeypatch):
    """Issue 16, failure 6: interrupted at epoch 5 of 8 and resumed, with dropout and soft labels (every random
    source), the weights equal the uninterrupted run's to the bit."""
    cfg = quick(loss="soft-label", epochs=8, checkpoint_every=1, dropout=0.2, seed=3)
    whole = SurrogateTrainer(cfg, progress=False).fit(small_data).model_.get_weights()
    real = training_module._Progress.update
    seen = []

    def interrupt(self, logs):
        seen.append(1)
        if len(seen) == 6:
            raise KeyboardInterrupt
        real(self, logs)

    monkeypatch.setattr(training_module._Progress, "update", interrupt)
    with pytest.raises(KeyboardInterrupt):
        SurrogateTrainer(cfg, checkpoint_dir=tmp_path / "ckpt", progress=False).fit(small_data)
    assert json.loads((tmp_path / "ckpt" / "state.json").read_text())["epoch"] == 5
    monkeypatch.setattr(training_module._Progress, "update", real)
    resumed = SurrogateTrainer(cfg, checkpoint_dir=tmp_path / "ckpt", progress=False).fit(small_data)
    assert all(np.array_equal(a, b) for a, b in zip(whole, resumed.model_.get_weights()))
    other = SurrogateTrainer(quick(loss="soft-label", epochs=8, dropout=0.2, seed=4), progress=False).fit(small_data)
    assert not all(np.array_equal(a, b) for a, b in zip(whole, other.model_.get_weights()))


def test_f7_checkpoint_is_one_folder_swapped_at_once(small_data, tmp_path, monkeypatch):
    """Issue 16, failure 7: every checkpoint is written into a fresh folder and swapped in whole: a crash
    between its files can never pair one epoch's state with another's weights."""
    from uqsurrogate import _atomic

    swaps = []
    real = _atomic._exchange

    def spy(a, b):
        files = sorted(p.name for p in a.iterdir())
        swaps.append((b.name, files, json.loads((a / "state.json").read_text())["epoch"]))
        return real(a, b)

    monkeypatch.setattr(_atomic, "_exchange", spy)
    SurrogateTrainer(quick(epochs=3, checkpoint_every=1), checkpoint_dir=tmp_path / "ckpt",
                     progress=False).fit(small_data)
    # the first checkpoint is a plain rename (nothing to swap with); the next ones one exchange each
    assert [(name, epoch) for name, _, epoch in swaps] == [("ckpt", 2), ("ckpt", 3)]
    assert all(files == ["best.weights.h5", "last.keras", "state.json"] for _, files, _ in swaps)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]
