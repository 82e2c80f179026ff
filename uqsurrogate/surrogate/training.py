"""Training the surrogate on a training dataset, with checkpoints and resumption.

:class:`SurrogateTrainer` follows scikit-learn: ``__init__`` stores the configuration,
:meth:`~SurrogateTrainer.fit` trains and returns ``self``, and the fitted state ends in
``_``.  Four presets name whole configurations:

``paper``
    The paper's settings: Adam at a constant 2e-4, batch 32, outputs in mol/L.
``tuned``
    Adam from 2e-3 with a cosine decay to zero over the epoch budget, batch 32, no
    dropout.  Chosen by a 150-epoch trial on the paper grid (MSE loss, seed 0, test RMSE
    against the truth): dropout 0.2 gave 0.016 M, no dropout 0.0083 M, no dropout with
    outputs in mol/L rather than scaled by their maxima 0.0060 M, a 512/1024 network 0.0094 M.
``tuned-c``
    ``tuned`` trained on n(z)/c (``output_scale="concentration"``).  On the paper grid
    (400 epochs, 3 seeds) its test MSE against the truth is 11-28 % lower and its
    average per-bin RMSE about the same (docs/benchmarks.md).
``aligned``
    ``tuned-c`` on the contact-aligned representation (:mod:`.aligned`), SiLU hidden
    layers and a linear output (knot values may be of any sign); docs/benchmarks.md
    compares it with the per-bin presets (``benchmarks/bench_accuracy.py``).

Randomness: the split comes from ``numpy.random.default_rng(seed)``; the initial weights
from the layers' seeds; and every epoch starts from random states that depend only on
(seed, epoch): the shuffling is ``numpy.random.default_rng([seed, 2, epoch])``'s
permutation, and every Keras seed generator (the dropout masks, the soft labels) is reset
to a state drawn from ``SeedSequence([seed, 3, epoch, k])``.  So a run resumed from a
checkpoint (the weights and the optimizer's state, saved as one folder swapped in with a
single rename) continues bit for bit as the uninterrupted run would.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import math
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr
from tqdm.auto import tqdm

from .._atomic import atomic_directory, output_lock
from .._random import as_generator, keyed_generator, keyed_states
from .._validation import check_choice, check_float, check_int
from ..data.schema import INPUTS, SPECIES, input_names, validate
from ..errors import InputError
from .artifact import Surrogate, save_artifact
from .losses import LOSSES, make_loss, mse_hard
from .._keras import import_keras
from .network import ACTIVATIONS, OUTPUT_ACTIVATIONS, build_network
# REPRESENTATIONS, the output representations' names (every bin, the contact-aligned profile of :mod:`.aligned`,
# their sum ``hybrid``, and any registered since): a live view of :data:`.representations.REGISTRY`
from .representations import REPRESENTATIONS, get_representation
from .scaling import minmax_scale
from .zgrid import detect_z_convention

__all__ = ["HEADS", "OPTIMIZERS", "OUTPUT_SCALES", "PRESETS", "REPRESENTATIONS", "SCHEDULES", "SurrogateTrainer",
           "TrainingConfig", "data_digest",
           "split_indices"]

#: Learning-rate schedules.
SCHEDULES = ("constant", "cosine")
#: Optimizers.
OPTIMIZERS = ("adam", "adamw")
#: Output heads of the aligned representation.
HEADS = ("dense", "coordinate")
#: Output scalings: none (mol/L), max (by each output's training maximum), concentration (n/c).
OUTPUT_SCALES = ("none", "max", "concentration")

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingConfig:
    """Every setting of a training run (recorded in the artifact).

    Parameters
    ----------
    loss : {"mse", "soft-label", "chi2"}
    epochs : int
        Epoch budget.
    batch_size : int
    learning_rate : float
        Initial Adam learning rate.
    schedule : {"constant", "cosine"}
        Cosine decays the learning rate to 0 over the epoch budget.
    hidden : tuple of int
    dropout : float
    output_scale : {"none", "max", "concentration"}
        Train on densities in mol/L; on each output divided by its largest training value; or
        on each profile divided by its system's concentration c, n(z)/c, which is about 1 in
        the bulk at every c (the network's output is multiplied by c again; needs input c > 0).
    patience : int or None
        Early stopping: stop after this many epochs without a better validation MSE, and
        restore the best weights (which are restored at the end in any case).
    test_fraction : float
    seed : int
        Seeds the network, the dropout, the shuffling, the soft labels, and (unless
        ``split_seed`` is given) the split.
    split_seed : int, optional
        Seed of the train/test split alone, to compare several network seeds on one split.
    checkpoint_every : int
        Epochs between checkpoints.
    bootstrap : bool
        Train on a bootstrap resample of the training rows (drawn with replacement from
        ``seed``); the test split is unchanged.  For the members of an ensemble.
    representation : {"bins", "aligned", "hybrid"} or another registered one
        What the last dense layer predicts (:mod:`.representations`): every bin (any
        output, any model), or the contact-aligned profile g(s) of each species, averaged
        over each sample's bins by an exact linear map (:mod:`.aligned`; needs inputs h,
        d_plus, d_minus and an even number of bins mirrored about the midplane);
        ``"hybrid"`` is their sum (per-bin values plus the bins of the aligned profile, one
        dense layer giving both).
    activation : {"relu", "silu", "gelu", "tanh"}
        Of the hidden layers.
    output_activation : {"softplus", "linear"}
    optimizer : {"adam", "adamw"}
    weight_decay : float
        AdamW's decoupled weight decay (0 for Adam).
    final_learning_rate : float
        Where the cosine schedule ends (0: decays to zero).
    head : {"dense", "coordinate"}
        One of the representation's heads.  With ``representation="aligned"``: the knot
        values from a dense layer, or from a coordinate network of s (DeepONet style,
        :class:`~.aligned.TrunkBasis`).
    """

    loss: str = "soft-label"
    epochs: int = 1500
    batch_size: int = 32
    learning_rate: float = 2e-4
    schedule: str = "constant"
    hidden: tuple[int, ...] = (256, 512)
    dropout: float = 0.2
    output_scale: str = "none"
    patience: int | None = None
    test_fraction: float = 0.2
    seed: int = 0
    split_seed: int | None = None
    checkpoint_every: int = 25
    bootstrap: bool = False
    representation: str = "bins"
    activation: str = "relu"
    output_activation: str = "softplus"
    optimizer: str = "adam"
    weight_decay: float = 0.0
    final_learning_rate: float = 0.0
    head: str = "dense"

    def __post_init__(self) -> None:
        check_choice(self.loss, "loss", LOSSES)
        check_choice(self.schedule, "schedule", SCHEDULES)
        check_choice(self.output_scale, "output_scale", OUTPUT_SCALES)
        check_choice(self.representation, "representation", REPRESENTATIONS)
        check_choice(self.activation, "activation", ACTIVATIONS)
        check_choice(self.output_activation, "output_activation", OUTPUT_ACTIVATIONS)
        check_choice(self.optimizer, "optimizer", OPTIMIZERS)
        check_choice(self.head, "head", HEADS)
        rep = get_representation(self.representation)
        if self.head not in rep.heads:
            takes = [r for r in REPRESENTATIONS if self.head in get_representation(r).heads]
            raise InputError(f"head = {self.head!r} is not one of representation {rep.name!r}'s heads; it needs "
                             f"representation = {' or '.join(map(repr, takes))}")
        check_float(self.weight_decay, "weight_decay", 0, None)
        if not rep.per_bin and self.output_scale == "max":
            raise InputError(f"output_scale = 'max' scales each bin; with representation = {self.representation!r} "
                             "use 'none' or 'concentration'")
        for name in ("epochs", "batch_size", "checkpoint_every"):
            check_int(getattr(self, name), name, min_value=1)
        check_float(self.learning_rate, "learning_rate", 0, None, closed="neither")
        check_float(self.final_learning_rate, "final_learning_rate", 0, self.learning_rate)
        check_float(self.test_fraction, "test_fraction", 0, 1, closed="neither")
        if self.patience is not None:
            check_int(self.patience, "patience", min_value=1)
        check_int(self.seed, "seed", min_value=0)

    def as_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["hidden"] = list(self.hidden)
        return d


_TUNED = {"learning_rate": 2e-3, "schedule": "cosine", "batch_size": 32, "output_scale": "none", "dropout": 0.0}
PRESETS = {
    "paper": {"learning_rate": 2e-4, "schedule": "constant", "batch_size": 32, "output_scale": "none"},
    "tuned": _TUNED,
    "tuned-c": {**_TUNED, "output_scale": "concentration"},
    "aligned": {**_TUNED, "output_scale": "concentration", "representation": "aligned", "activation": "silu",
                "output_activation": "linear"},
}


def data_digest(ds: xr.Dataset) -> str:
    """SHA-256 of a training dataset's inputs, densities and errors (float64 bytes)."""
    h = hashlib.sha256()
    for name in [*input_names(ds), "z", "density", "density_sem"]:
        h.update(name.encode())
        h.update(np.ascontiguousarray(np.asarray(ds[name].values, dtype=np.float64)).tobytes())
    return h.hexdigest()


def _network(cfg: TrainingConfig, prep: _Prepared):
    return build_network(len(prep.names), prep.Y.shape[1], cfg.hidden, cfg.dropout, cfg.seed,
                         activation=cfg.activation, output_activation=cfg.output_activation, head=cfg.head,
                         representation=prep.representation, settings=prep.settings)


def split_indices(n: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded random split of ``n`` samples into (train, test) index arrays, both sorted."""
    if n < 2:
        raise InputError(f"the dataset has {n} sample(s); a train/test split needs at least 2")
    perm = as_generator(seed).permutation(n)
    n_test = min(n - 1, max(1, int(round(test_fraction * n))))
    return np.sort(perm[n_test:]), np.sort(perm[:n_test])


def _seed_generators(model, loss) -> list:
    """Every Keras seed generator that training draws from: the layers' (dropout) and the loss's (soft labels)."""
    gens = [g for layer in model._flatten_layers() for g in vars(layer).values()
            if type(g).__name__ == "SeedGenerator"]
    if getattr(loss, "seed_generator", None) is not None:
        gens.append(loss.seed_generator)
    return gens


class _Progress:
    """A tqdm bar over epochs, quiet off a terminal (``progress=None``)."""

    def __init__(self, total: int, initial: int, progress: bool | None):
        self.bar = tqdm(total=total, initial=initial, unit="epoch", desc="train",
                        disable=None if progress is None else not progress, dynamic_ncols=True)

    def update(self, logs: dict) -> None:
        self.bar.set_postfix(loss=f"{logs.get('loss', float('nan')):.3g}",
                             val_mse=f"{logs.get('val_mse_hard', float('nan')):.3g}", refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


@dataclass
class _Prepared:
    """A training dataset as arrays for the network: scaled inputs, packed scaled labels, the split.

    ``xs`` (n, n_inputs) float32; ``packed`` (n, 2 P) float32, the densities then their errors,
    both divided by the output scale; ``train``/``test`` sorted row indices.
    """

    names: list[str]
    n_bins: int
    Y: np.ndarray
    train: np.ndarray
    test: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    out_scale: np.ndarray
    by_input: str | None
    floor: float
    representation: str
    settings: dict | None
    xs: np.ndarray
    packed: np.ndarray
    digest: str
    split_seed: int


def _arrays(ds: xr.Dataset) -> tuple[list[str], int, np.ndarray, np.ndarray, np.ndarray]:
    """(names, n_bins, X (n, d), Y (n, P), E (n, P)) of a training dataset, checked."""
    validate(ds)
    names = input_names(ds)
    n, _, n_bins = ds["density"].shape
    X = np.stack([np.asarray(ds[k].values, dtype=float) for k in names], axis=1)
    Y = np.asarray(ds["density"].values, dtype=float).reshape(n, -1)
    E = np.asarray(ds["density_sem"].values, dtype=float).reshape(n, -1)
    return names, int(n_bins), X, Y, E


def _per_sample_scale(by_input: str | None, names: list[str], X: np.ndarray) -> np.ndarray:
    """(n, 1): the input each profile is divided by (``output_scale="concentration"``), else ones."""
    if by_input is None:
        return np.ones((len(X), 1))
    if by_input not in names:
        raise InputError(f"output_scale = 'concentration' needs an input {by_input}; the dataset's inputs are {names}")
    per_sample = X[:, [names.index(by_input)]]
    if not np.all(per_sample > 0):
        raise InputError(f"output_scale = 'concentration' needs {by_input} > 0; min {by_input} = {per_sample.min():g}")
    return per_sample


def _prepare(ds: xr.Dataset, cfg: TrainingConfig) -> _Prepared:
    """Split, scale and pack a training dataset for a new network (step 1 of :meth:`SurrogateTrainer.fit`)."""
    names, n_bins, X, Y, E = _arrays(ds)
    split_seed = cfg.seed if cfg.split_seed is None else cfg.split_seed
    train, test = split_indices(len(X), cfg.test_fraction, split_seed)
    if cfg.bootstrap:
        train = np.sort(keyed_generator([cfg.seed, 1]).choice(train, size=train.size, replace=True))
    lo, hi = X[train].min(axis=0), X[train].max(axis=0)
    if cfg.output_scale == "max":
        out_scale = Y[train].max(axis=0)
        out_scale = np.where(out_scale > 0, out_scale, 1.0)
    else:
        out_scale = np.ones(Y.shape[1])
    by_input = "c" if cfg.output_scale == "concentration" else None
    out_scale_all = out_scale * _per_sample_scale(by_input, names, X)  # (n, P)
    floor = 0.0
    if cfg.loss == "chi2":
        nonzero = (E[train] / out_scale_all[train])[E[train] > 0]
        floor = 0.1 * float(np.median(nonzero)) if nonzero.size else 1.0
    settings = get_representation(cfg.representation).fit(names, lo, hi, n_bins)
    return _pack(names, n_bins, X, Y, E, train, test, lo, hi, out_scale, by_input, floor,
                 (cfg.representation, settings), data_digest(ds), split_seed)


def _pack(names, n_bins, X, Y, E, train, test, lo, hi, out_scale, by_input, floor, representation, digest,
          split_seed) -> _Prepared:
    """``representation``: (name, settings)."""
    out_scale_all = out_scale * _per_sample_scale(by_input, names, X)
    xs = minmax_scale(X, lo, hi).astype("float32")
    packed = np.concatenate([Y / out_scale_all, E / out_scale_all], axis=1).astype("float32")
    return _Prepared(names, n_bins, Y, train, test, lo, hi, out_scale, by_input, floor, *representation, xs, packed,
                     digest, split_seed)


def _compiled(cfg: TrainingConfig, prep: _Prepared, epochs: int, learning_rate: float, jit_compile, steps_per_execution):
    """A new network for ``prep`` and its loss, compiled with the configured optimizer and schedule (step 2)."""
    keras = import_keras()
    steps = math.ceil(len(prep.train) / cfg.batch_size)
    lr = learning_rate
    if cfg.schedule == "cosine":
        lr = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=steps * epochs,
                                                    alpha=min(1.0, cfg.final_learning_rate / learning_rate))
    model = _network(cfg, prep)
    loss = make_loss(cfg.loss, seed=cfg.seed, error_floor=prep.floor)
    if cfg.optimizer == "adamw":
        optimizer = keras.optimizers.AdamW(learning_rate=lr, weight_decay=cfg.weight_decay)
    else:
        optimizer = keras.optimizers.Adam(learning_rate=lr)
    model.compile(optimizer=optimizer, loss=loss, metrics=[mse_hard], jit_compile=jit_compile,
                  steps_per_execution=steps_per_execution)
    return model, loss


@dataclass
class _Run:
    """The state of a training run that a checkpoint keeps: epochs done, the best so far, the history."""

    epoch: int = 0
    best: float = math.inf
    best_epoch: int = 0
    wait: int = 0
    history: dict = field(default_factory=lambda: {"loss": [], "mse_hard": [], "val_loss": [], "val_mse_hard": []})
    best_weights: list | None = None

    def state(self, state_id: str) -> dict:
        return {"id": state_id, "epoch": self.epoch, "best": self.best, "best_epoch": self.best_epoch,
                "wait": self.wait, "history": self.history}


def _train_epochs(model, loss, prep: _Prepared, cfg: TrainingConfig, run: _Run, *, epochs: int, key: list[int],
                  ckpt: Path | None, state_id: str, progress: bool | None) -> list[float]:
    """Train ``model`` from ``run.epoch`` to ``epochs`` (step 3); returns each epoch's wall time.

    Every random state of epoch ``e`` comes from ``key`` and ``e`` alone: the shuffling from
    ``keyed_generator([*key, 2, e])``, every Keras seed generator from ``keyed_states([*key, 3, e])``.
    ``run`` is updated in place; the best weights are set on ``model`` at the end.
    """
    keras = import_keras()
    epoch_seconds: list[float] = []
    save = SurrogateTrainer._checkpoint

    class _Track(keras.callbacks.Callback):
        """Best weights, early stopping, checkpoints and progress, with serialisable state."""

        def on_epoch_begin(self, epoch, logs=None):
            self._t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            epoch_seconds.append(time.perf_counter() - self._t0)
            logs = {k: float(v) for k, v in (logs or {}).items()}
            for k in run.history:
                run.history[k].append(logs[k])
            bar.update(logs)
            run.epoch = epoch + 1
            if logs["val_mse_hard"] < run.best:
                run.best, run.best_epoch, run.wait = logs["val_mse_hard"], run.epoch, 0
                run.best_weights = self.model.get_weights()
            else:
                run.wait += 1
            stop = cfg.patience is not None and run.wait >= cfg.patience
            if ckpt is not None and (run.epoch % cfg.checkpoint_every == 0 or stop or run.epoch == epochs):
                save(ckpt, self.model, run.best_weights, run.state(state_id))
            if stop:
                logger.info("early stop at epoch %d; best validation MSE %.3g at epoch %d", run.epoch, run.best,
                            run.best_epoch)
                self.model.stop_training = True

    bar = _Progress(epochs, run.epoch, progress)
    generators = _seed_generators(model, loss)
    track = _Track()
    xs, packed, train, test = prep.xs, prep.packed, prep.train, prep.test
    try:
        for epoch in range(run.epoch, epochs):
            # every random state from (key, epoch) alone: a resumed run equals the uninterrupted one
            order = train[keyed_generator([*key, 2, epoch]).permutation(len(train))]
            states = keyed_states([*key, 3, epoch], 2 * len(generators))
            for k, gen in enumerate(generators):
                gen.state.assign(np.array([states[2 * k] >> 1, 0]).astype(gen.state.dtype))
            model.fit(xs[order], packed[order], validation_data=(xs[test], packed[test]), batch_size=cfg.batch_size,
                      epochs=epoch + 1, initial_epoch=epoch, shuffle=False, verbose=0, callbacks=[track])
            if model.stop_training:
                break
    finally:
        bar.close()
    if run.best_weights is not None:
        model.set_weights(run.best_weights)
    return epoch_seconds


def _resume(ckpt: Path | None, state_id: str, model, loss, cfg: TrainingConfig, prep: _Prepared):
    """The model and run state of a checkpoint in ``ckpt`` (or the fresh ones): a rerun continues where it stopped."""
    run = _Run()
    if ckpt is None or not (ckpt / "state.json").is_file():
        return model, run
    keras = import_keras()
    state = json.loads((ckpt / "state.json").read_text())
    if state.get("id") != state_id:
        raise InputError(f"{ckpt} holds a checkpoint of another configuration or dataset; delete it to start over")
    model = keras.saving.load_model(ckpt / "last.keras", custom_objects={loss.__name__: loss, "mse_hard": mse_hard})
    run = _Run(epoch=state["epoch"], best=state["best"], best_epoch=state["best_epoch"], wait=state["wait"],
               history=state["history"])
    logger.info("resuming training from epoch %d (%s)", run.epoch, ckpt)
    if (ckpt / "best.weights.h5").is_file() and run.epoch:
        model_best = _network(cfg, prep)
        model_best.load_weights(ckpt / "best.weights.h5")
        run.best_weights = model_best.get_weights()
    return model, run


def _metadata(ds: xr.Dataset, cfg: TrainingConfig, prep: _Prepared, run: _Run, keras_version: str) -> dict:
    """What the artifact records of a run (step 4)."""
    specs = dict(INPUTS)
    record = get_representation(prep.representation).metadata(prep.settings)
    return {
        "inputs": [
            {"name": k, "units": ds[k].attrs.get("units", specs.get(k).units if k in specs else ""),
             "long_name": ds[k].attrs.get("long_name", ""), "train_min": float(a), "train_max": float(b)}
            for k, a, b in zip(prep.names, prep.lo, prep.hi)
        ],
        "scaling": {"kind": "minmax", "min": prep.lo.tolist(), "max": prep.hi.tolist()},
        "outputs": {
            "species": list(SPECIES),
            "n_bins": int(prep.n_bins),
            "layout": "species-major: output k*n_bins + b is species k, bin b",
            "units": "mol/L",
            "scale": prep.out_scale.tolist(),
            "scale_by_input": prep.by_input,
            "always_zero": np.flatnonzero(np.all(prep.Y[prep.train] == 0, axis=0)).tolist(),
            **detect_z_convention(ds["z"].values, ds["h"].values if "h" in ds else None),
            **({} if record is None else {"representation": record}),
        },
        "training": {
            **cfg.as_dict(),
            "chi2_error_floor": prep.floor,
            "epochs_run": len(run.history["loss"]),
            "best_epoch": run.best_epoch,
            "best_val_mse_scaled": run.best,
            "history": run.history,
            "split": {"seed": prep.split_seed, "test_fraction": cfg.test_fraction, "test_index": prep.test.tolist()},
            "data_sha256": prep.digest,
            "n_samples": int(len(prep.xs)),
            "data_title": ds.attrs.get("title", ""),
            "keras_version": keras_version,
        },
    }


@dataclass
class SurrogateTrainer:
    """Train the soft-label surrogate (scikit-learn style).

    :meth:`fit` runs four steps, each a function of its own: prepare the data (split, scale,
    pack), build and compile the network, train it epoch by epoch (checkpoints, best weights,
    early stopping), and write the metadata.  :func:`continue_training` reuses the last three
    to warm-start a trained model on appended data.

    Parameters
    ----------
    config : TrainingConfig
    checkpoint_dir : path-like, optional
        Where to keep checkpoints.  A later ``fit`` with the same configuration and data
        resumes from the last one.  A ``fit`` holds ``CHECKPOINT_DIR.lock`` while it trains:
        a second one to the same folder is refused (:class:`~uqsurrogate.errors.LockedError`).
    progress : bool, optional
        Progress bar; by default only on a terminal.
    jit_compile : bool, default False
        Keras' XLA switch (on these 2 CPU cores XLA compiles for ~20 s and runs no faster).
    steps_per_execution : int, default 32
        Training steps per compiled call; 32 halves the epoch time of this small network
        against 1 (0.57 s against 1.2 s on the paper grid, measured).

    Attributes
    ----------
    model_ : keras.Model
        The trained network (best validation weights).
    history_ : dict of str to list of float
        ``loss``, ``mse_hard``, ``val_loss``, ``val_mse_hard`` per epoch.
    epoch_seconds_ : list of float
        Wall time of each epoch this ``fit`` ran (not recorded in the artifact).
    best_epoch_ : int
    train_index_, test_index_ : numpy.ndarray
    metadata_ : dict
        What the artifact records.
    """

    config: TrainingConfig = field(default_factory=TrainingConfig)
    checkpoint_dir: str | os.PathLike | None = None
    progress: bool | None = None
    jit_compile: bool | str = False
    steps_per_execution: int = 32

    def fit(self, ds: xr.Dataset) -> SurrogateTrainer:
        """Train on ``ds`` (a training dataset); returns ``self``."""
        keras = import_keras()
        cfg = self.config
        prep = _prepare(ds, cfg)
        state_id = hashlib.sha256(json.dumps([cfg.as_dict(), prep.digest]).encode()).hexdigest()[:16]
        ckpt = Path(self.checkpoint_dir) if self.checkpoint_dir is not None else None
        keras.utils.set_random_seed(cfg.seed)
        model, loss = _compiled(cfg, prep, cfg.epochs, cfg.learning_rate, self.jit_compile, self.steps_per_execution)
        # one writer per checkpoint folder: a second fit to it is refused at once, not at its end
        with contextlib.nullcontext() if ckpt is None else output_lock(ckpt, "train", parents=True):
            model, run = _resume(ckpt, state_id, model, loss, cfg, prep)
            self.epoch_seconds_ = _train_epochs(model, loss, prep, cfg, run, epochs=cfg.epochs, key=[cfg.seed],
                                                ckpt=ckpt, state_id=state_id, progress=self.progress)
        self._fitted(model, prep, run, _metadata(ds, cfg, prep, run, keras.__version__))
        return self

    def _fitted(self, model, prep: _Prepared, run: _Run, metadata: dict) -> None:
        self.model_ = model
        self.history_ = run.history
        self.best_epoch_ = run.best_epoch
        self.train_index_, self.test_index_ = prep.train, prep.test
        self.metadata_ = metadata

    @staticmethod
    def _checkpoint(ckpt: Path, model, best_weights, state: dict) -> None:
        """Write last.keras, best.weights.h5 and state.json into a fresh folder and swap it in at once.

        A ``kill -9`` at any moment leaves the previous checkpoint or the new one, whole: never a
        state.json of one epoch beside the weights of another.
        """
        with atomic_directory(ckpt) as tmp:
            model.save(tmp / "last.keras")
            if best_weights is not None:
                current = model.get_weights()
                model.set_weights(best_weights)
                try:
                    model.save_weights(tmp / "best.weights.h5")
                finally:
                    model.set_weights(current)
            (tmp / "state.json").write_text(json.dumps(state))

    def save(self, path: str | os.PathLike, overwrite: bool = False) -> Path:
        """Write the fitted model as an artifact directory (see :mod:`.artifact`)."""
        if not hasattr(self, "model_"):
            raise RuntimeError("fit the trainer before saving")
        return save_artifact(self.model_, self.metadata_, path, overwrite=overwrite)

    def surrogate(self) -> Surrogate:
        """The fitted model wrapped for prediction."""
        from .._version import __version__

        return Surrogate(model=self.model_, metadata={**self.metadata_, "uqsurrogate_version": __version__})

    @staticmethod
    def clear_checkpoint(checkpoint_dir: str | os.PathLike) -> None:
        """Remove a checkpoint directory (after a successful save)."""
        shutil.rmtree(checkpoint_dir, ignore_errors=True)
