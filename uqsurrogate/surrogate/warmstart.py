"""Warm starts: continue a trained surrogate on appended data.

Active learning adds a few simulations at a time; training a network anew each round
wastes the rounds before.  :func:`continue_training` starts from a trained model's
weights and trains it on its own training data with the new samples appended
(:func:`uqsurrogate.data.append_samples`), with the model's configuration, loss and
output scaling.

* **Which rows are new.** The model's metadata holds the digest of its training data;
  the first samples of ``data`` must be exactly those (checked), the rest are new.
* **The split.** The old test rows stay test rows; the new rows are split with the same
  test fraction, by a seed that depends on the model's split seed and the old size.
  The best validation weights are kept, counting the starting weights as epoch 0, so a
  continuation never ends worse on its validation rows than it began.
* **Scaling.** By default the input scaling is kept: new inputs outside the old training
  ranges are scaled past [0, 1], which the network takes as it is.  ``refit_scaling=True``
  takes the ranges of the new training rows and folds the change into the first layer's
  weights, so that the network starts from the same function (not for a representation
  whose layers hold the scaling of some inputs, such as ``aligned``).
* **Learning rate.** A new schedule over the continuation's epochs, from
  ``learning_rate`` (default a tenth of the configuration's initial rate, a warm restart).
* **Randomness.** The shuffling and the soft labels of epoch ``e`` come from
  ``[seed, 5, n_samples, e]``: a continuation depends only on the model, the data and
  ``epochs``.
* **History.** The metadata's ``training.continued`` lists every continuation: epochs,
  learning rate, rows before and after, the data digests, whether the scaling was kept.
"""

from __future__ import annotations

import copy
import dataclasses
import logging

import numpy as np
import xarray as xr

from .._keras import import_keras
from .._random import keyed_generator
from .._validation import check_float, check_int
from .._version import __version__
from ..errors import InputError
from .artifact import Surrogate
from .representations import REGISTRY, representation_of
from .scaling import rescale_first_layer
from .training import (
    TrainingConfig,
    _arrays,
    _compiled,
    _pack,
    _Prepared,
    _Run,
    _train_epochs,
    data_digest,
)
from .zgrid import detect_z_convention

__all__ = ["continue_training", "training_config"]

logger = logging.getLogger(__name__)

#: Metadata fields that describe a written artifact, not a trained network.
_ARTIFACT_FIELDS = ("format", "format_version", "files", "metadata_sha256", "uqsurrogate_version")


def training_config(metadata: dict) -> TrainingConfig:
    """The :class:`TrainingConfig` a model was trained with, from its metadata.

    Parameters
    ----------
    metadata : dict
        A model's ``metadata.json``.

    Returns
    -------
    TrainingConfig
    """
    training = metadata.get("training", {})
    fields = {f.name for f in dataclasses.fields(TrainingConfig)}
    given = {k: v for k, v in training.items() if k in fields}
    if "hidden" in given:
        given["hidden"] = tuple(given["hidden"])
    return TrainingConfig(**given)


def _old_size(ds: xr.Dataset, training: dict) -> int:
    """How many leading samples of ``ds`` are the model's own training data (their digest is checked)."""
    n = ds.sizes["sample"]
    want = training.get("data_sha256")
    if not want:
        raise InputError("the model records no digest of its training data; it cannot be continued on appended data")
    if "n_samples" in training:
        candidates = [int(training["n_samples"])]
    else:  # older artifacts: the size that the test split's length allows
        n_test, frac = len(training["split"]["test_index"]), float(training["split"]["test_fraction"])
        candidates = [k for k in range(max(n_test + 1, int((n_test - 1) / frac)), int((n_test + 1) / frac) + 2)
                      if min(k - 1, max(1, int(round(frac * k)))) == n_test]
    for k in candidates:
        if k <= n and data_digest(ds.isel(sample=slice(0, k))) == want:
            return k
    raise InputError(f"the first samples of the data are not the model's training data (digest {want[:12]}...): "
                     "append the new samples to the data the model was trained on (uqsurrogate.data.append_samples)")


def _split(n_old: int, n: int, old_test: list, test_fraction: float, split_seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, test): the old test rows stay test rows; the new rows are split with the same fraction."""
    n_new = n - n_old
    perm = n_old + keyed_generator([split_seed, 7, n_old]).permutation(n_new)
    n_test_new = int(round(test_fraction * n_new))
    test = np.sort(np.concatenate([np.asarray(old_test, dtype=int), perm[:n_test_new]]))
    train = np.setdiff1d(np.arange(n), test)
    return train, test


def _prepare_continued(ds: xr.Dataset, meta: dict, cfg: TrainingConfig, refit: bool) -> tuple[_Prepared, int]:
    names, n_bins, X, Y, E = _arrays(ds)
    model_names = [i["name"] for i in meta["inputs"]]
    if names != model_names or n_bins != int(meta["outputs"]["n_bins"]):
        raise InputError(f"the data have inputs {names} and {n_bins} bins; the model takes {model_names} and "
                         f"gives {meta['outputs']['n_bins']} bins")
    conv = detect_z_convention(ds["z"].values, ds["h"].values if "h" in ds else None)
    if conv["z_convention"] != meta["outputs"]["z_convention"]:
        raise InputError(f"the data's z grid follows {conv['z_convention']!r}; the model's "
                         f"{meta['outputs']['z_convention']!r}")
    training = meta["training"]
    n_old = _old_size(ds, training)
    split_seed = training["split"]["seed"]
    train, test = _split(n_old, len(X), training["split"]["test_index"], cfg.test_fraction, split_seed)
    if cfg.bootstrap:
        train = np.sort(keyed_generator([cfg.seed, 1, len(X)]).choice(train, size=train.size, replace=True))
    lo, hi = (np.asarray(meta["scaling"][k], dtype=float) for k in ("min", "max"))
    rep = representation_of(meta["outputs"])
    if refit and rep.fixed_scaling:
        can = " or ".join(repr(name) for name, r in REGISTRY.items() if not r.fixed_scaling)
        raise InputError(f"refit_scaling works on representation {can}; {rep.fixed_scaling}: keep the scaling "
                         "(refit_scaling=False)")
    settings = rep.fit(names, lo, hi, n_bins, meta["outputs"].get("representation"))
    if refit:
        lo, hi = X[train].min(axis=0), X[train].max(axis=0)
    out_scale = np.asarray(meta["outputs"]["scale"], dtype=float)
    floor = float(training.get("chi2_error_floor", 0.0))
    prep = _pack(names, n_bins, X, Y, E, train, test, lo, hi, out_scale, meta["outputs"].get("scale_by_input"), floor,
                 (rep.name, settings), data_digest(ds), split_seed)
    return prep, n_old


def continue_training(model: Surrogate, data: xr.Dataset, epochs: int, *, learning_rate: float | None = None,
                      refit_scaling: bool = False, progress: bool | None = None,
                      steps_per_execution: int = 32) -> Surrogate:
    """Warm-start a trained surrogate on its training data with new samples appended.

    Parameters
    ----------
    model : Surrogate
        A trained model (:func:`~uqsurrogate.surrogate.load_artifact`, or
        :meth:`SurrogateTrainer.surrogate`).
    data : xarray.Dataset
        The model's own training data followed by the new samples
        (:func:`uqsurrogate.data.append_samples`); checked against the model's data digest.
    epochs : int
        >= 0.  With 0 the weights are unchanged and the continuation is only recorded.
    learning_rate : float, optional
        Initial rate of the continuation's schedule (the model's schedule kind over
        ``epochs``); default a tenth of the model's initial rate.
    refit_scaling : bool, default False
        Take the input ranges of the new training rows (the first layer absorbs the change).
    progress : bool, optional
        Progress bar over epochs; by default only on a terminal.
    steps_per_execution : int, default 32

    Returns
    -------
    Surrogate
        The continued network and its metadata (``training.continued`` gains an entry;
        ``training.data_sha256``, ``n_samples`` and the split describe ``data``); write it
        with :func:`~uqsurrogate.surrogate.save_artifact`.
    """
    keras = import_keras()
    epochs = check_int(epochs, "epochs", min_value=0)
    if not isinstance(refit_scaling, bool):
        raise InputError(f"refit_scaling = {refit_scaling!r}; allowed: True or False")
    meta = {k: copy.deepcopy(v) for k, v in model.metadata.items() if k not in _ARTIFACT_FIELDS}
    cfg = training_config(meta)
    lr = cfg.learning_rate / 10 if learning_rate is None else check_float(learning_rate, "learning_rate", 0, None,
                                                                         closed="neither")
    prep, n_old = _prepare_continued(data, meta, cfg, refit_scaling)
    keras.utils.set_random_seed(cfg.seed)
    cont_cfg = dataclasses.replace(cfg, final_learning_rate=min(cfg.final_learning_rate, lr))
    net, loss = _compiled(cont_cfg, prep, max(epochs, 1), lr, False, steps_per_execution)
    weights = [np.asarray(w) for w in model.model.get_weights()]
    if refit_scaling:
        old = (np.asarray(meta["scaling"]["min"], dtype=float), np.asarray(meta["scaling"]["max"], dtype=float))
        weights[0], weights[1] = rescale_first_layer(weights[0], weights[1], old, (prep.lo, prep.hi))
    net.set_weights(weights)
    run = _Run()
    if epochs:
        start = net.evaluate(prep.xs[prep.test], prep.packed[prep.test], verbose=0, return_dict=True)
        run.best, run.best_weights = float(start["mse_hard"]), net.get_weights()
        key = [cfg.seed, 5, len(prep.xs)]
        _train_epochs(net, loss, prep, cont_cfg, run, epochs=epochs, key=key, ckpt=None, state_id="",
                      progress=progress)
    training = dict(meta["training"])
    record = {
        "epochs": epochs, "epochs_run": len(run.history["loss"]), "best_epoch": run.best_epoch,
        "best_val_mse_scaled": run.best if epochs else None, "learning_rate": lr, "schedule": cfg.schedule,
        "scaling": "refit" if refit_scaling else "kept", "n_samples_before": n_old, "n_samples": len(prep.xs),
        "data_sha256_before": training["data_sha256"], "data_sha256": prep.digest, "history": run.history,
        "keras_version": keras.__version__, "uqsurrogate_version": __version__,
    }
    training.update({"continued": [*training.get("continued", []), record], "data_sha256": prep.digest,
                     "n_samples": len(prep.xs), "data_title": data.attrs.get("title", ""),
                     "split": {**training["split"], "test_index": prep.test.tolist()}})
    meta["training"] = training
    meta["scaling"] = {"kind": "minmax", "min": prep.lo.tolist(), "max": prep.hi.tolist()}
    for spec, a, b in zip(meta["inputs"], prep.lo, prep.hi):
        spec.update(train_min=float(a), train_max=float(b))
    logger.info("continued %d epochs on %d + %d samples; best validation MSE %.3g at epoch %d", epochs, n_old,
                len(prep.xs) - n_old, run.best, run.best_epoch)
    return Surrogate(model=net, metadata=meta)
