"""The active-learning loop, resumable round by round.

Each round r:

1. **propose** — an engine (:mod:`.proposals`) searches the input box for inputs where the
   ensemble of round r - 1 is most uncertain (or draws baseline points); the filters
   (:mod:`.filters`) drop the ones too certain, too close to the data or repeated;
2. **select** — a batch rule (:mod:`.batch`) keeps B diverse points;
3. **oracle** — the simulator, a Python callable (:mod:`.oracles`), or you, for real MD:
   :meth:`ActiveRun.propose` writes the batch as job folders and :meth:`ActiveRun.ingest`
   takes the results;
4. **append** the new samples (:func:`uqsurrogate.data.append_samples`);
5. **warm-start** every member on the appended data
   (:func:`uqsurrogate.surrogate.ensemble.continue_model`);
6. **recalibrate** the spread on the run's calibration set
   (:func:`uqsurrogate.uncertainty.fit.calibrate_ensemble`);
7. **record** the points, their scores, the engine, the oracle's provenance and the
   metrics (``round.json``; with a test set, the RMSE against its truth).

A run directory holds everything::

    RUN/
      active.json        the settings, the oracle and every finished round's record
      data-initial.nc    the starting training data
      calibration.nc     held-out data for the calibration (optional)
      test.nc            held-out data for the metrics (optional)
      round-000/model/   the starting ensemble (a copy)
      round-001/
        batch.json       the chosen inputs and their scores   (after propose)
        batch.txt        the same as a design table, 17 digits, for ``uqsurrogate simulate --design``
        jobs/job-KKKK/   in.params per point (external oracles)
        new.nc           the oracle's results                 (after the oracle)
        model/           the warm-started, recalibrated ensemble
        round.json       the round's record                   (last: the round is done)

Every file is written atomically, and each step is a function of the files before it, so
a run killed at any moment resumes (run the same command again) to the same data and
weights as an uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from .._atomic import atomic_path, locks_output
from .._random import keyed_generator
from .._validation import check_choice, check_float, check_int
from .._version import __version__
from ..errors import InputError
from .batch import RULES, gradient_features, select_batch
from .filters import filter_candidates
from .objective import Acquisition, kde_prior, problem_prior
from .oracles import match_rows, results_dataset, write_jobs
from .proposals import ENGINES, propose
from .space import InputBox

__all__ = ["ActiveRun", "ActiveSettings", "run_active"]

logger = logging.getLogger(__name__)

RUN_FILE = "active.json"
FORMAT = "uqsurrogate-active"
#: Engine defaults of ``candidates``: starts, chains or pool size (random and Sobol' draw B).
DEFAULT_CANDIDATES = {"adversarial": 256, "langevin": 64, "pool": 8192}
PRIORS = ("uniform", "kde")
#: Fewest points of a calibration set: the conformal quantile at alpha = 0.1 needs 9 on each half.
MIN_CALIBRATION = 18


@dataclass(frozen=True)
class ActiveSettings:
    """How a run chooses and learns (recorded in ``active.json``; a resumed run must match).

    Attributes
    ----------
    batch : int, default 20
        Points per round (B).
    engine : {"adversarial", "langevin", "random", "sobol", "pool"}, default "adversarial"
    rule : {"random", "top", "max_distance", "max_det", "lcmd"}, default "max_det"
    candidates : int, optional
        Starts (adversarial, 256), chains (langevin, 64) or pool size (pool, 8192).
    steps : int, default 300
        Of the adversarial ascent or the Langevin chains.
    learning_rate : float, default 1e-2
        Adam's step in the unit box (adversarial).
    step_size, bias : float, default 1e-4 and 3
        Langevin's (:func:`~uqsurrogate.active.proposals.langevin`).
    stop_percentile : float, default 99
        Langevin chains stop where U passes this percentile of U at the training inputs.
    prior : {"uniform", "kde"}, default "uniform"
        q(x): uniform in the box, or a KDE of the training inputs.  ``problem`` overrides it.
    problem : str, optional
        A study's :class:`~uqsurrogate.problem.Problem` as JSON: q is its density and its
        fixed inputs stay fixed.
    kT : float, default 1
    percentile : float, optional
        Keep proposals whose U is at least this percentile of the training inputs' U.
    min_distance : float, default 1e-3
        From the training inputs and between proposals, in the unit box.
    epochs : int, default 50
        Of each warm start.
    train_learning_rate : float, optional
        Of the warm start (default a tenth of the members' initial rate).
    sketch : int, default 512
        Width of the gradient features (None: unsketched).
    noise : float, default 1e-2
        Of ``max_det``'s conditioning on the training points.
    seed : int, default 0
        Seeds every random choice: round r's are keyed by (seed, r).
    box : dict, optional
        :meth:`InputBox.to_dict`; default the starting ensemble's training ranges.
    outputs : dict, optional
        Keyword arguments of :meth:`ModelFunction.restrict` (``species``, ``bins``, ``z``,
        ``h``): U averages over these outputs only (default all).
    refit_scaling : {"auto", "never", "always"}, default "auto"
        Whether a warm start takes the input ranges of the appended data
        (:func:`~uqsurrogate.surrogate.warmstart.continue_training`): ``auto`` does where new
        inputs leave the members' ranges and the representation allows it (``bins``), so
        that the continued model's ranges cover its data.
    """

    batch: int = 20
    engine: str = "adversarial"
    rule: str = "max_det"
    candidates: int | None = None
    steps: int = 300
    learning_rate: float = 1e-2
    step_size: float = 1e-4
    bias: float = 3.0
    stop_percentile: float = 99.0
    prior: str = "uniform"
    problem: str | None = None
    kT: float = 1.0
    percentile: float | None = None
    min_distance: float = 1e-3
    epochs: int = 50
    train_learning_rate: float | None = None
    sketch: int | None = 512
    noise: float = 1e-2
    seed: int = 0
    box: dict | None = None
    outputs: dict | None = None
    refit_scaling: str = "auto"

    def __post_init__(self) -> None:
        def put(name, value):  # normalised (plain int and float, lists not tuples): the JSON round trip is exact
            object.__setattr__(self, name, value)

        put("batch", check_int(self.batch, "batch", min_value=1))
        check_choice(self.engine, "engine", ENGINES)
        check_choice(self.rule, "rule", RULES)
        check_choice(self.prior, "prior", PRIORS)
        check_choice(self.refit_scaling, "refit_scaling", ("auto", "never", "always"))
        if self.engine in ("random", "sobol") and self.rule != "random":
            raise InputError(f"engine {self.engine!r} draws exactly B points; use rule 'random', not {self.rule!r}")
        if self.candidates is not None:
            put("candidates", check_int(self.candidates, "candidates", min_value=1))
            if self.engine in ("random", "sobol") and self.candidates != self.batch:
                raise InputError(f"candidates = {self.candidates}: engine {self.engine!r} draws exactly batch = "
                                 f"{self.batch} points; leave candidates unset")
        if self.n_candidates < self.batch:
            raise InputError(f"candidates = {self.n_candidates} (engine {self.engine!r}) is fewer than batch = "
                             f"{self.batch}; raise candidates")
        for name, low in (("steps", 1), ("epochs", 0), ("seed", 0)):
            put(name, check_int(getattr(self, name), name, min_value=low))
        if self.sketch is not None:
            put("sketch", check_int(self.sketch, "sketch", min_value=1))
        for name in ("learning_rate", "step_size", "kT", "noise"):
            put(name, check_float(getattr(self, name), name, 0, None, closed="neither"))
        put("bias", check_float(self.bias, "bias", 0, None))
        put("min_distance", check_float(self.min_distance, "min_distance", 0, None))
        put("stop_percentile", check_float(self.stop_percentile, "stop_percentile", 0, 100))
        if self.percentile is not None:
            put("percentile", check_float(self.percentile, "percentile", 0, 100))
        if self.train_learning_rate is not None:
            put("train_learning_rate", check_float(self.train_learning_rate, "train_learning_rate", 0, None,
                                                   closed="neither"))
        if self.box is not None:
            try:
                put("box", InputBox.from_dict(self.box).to_dict())
            except (KeyError, TypeError, AttributeError) as err:
                raise InputError(f"box = {self.box!r}: not an InputBox.to_dict() ({type(err).__name__}: {err})") from None
        if self.outputs is not None:
            allowed = {"output", "species", "bins", "z", "h"}
            if not isinstance(self.outputs, dict) or set(self.outputs) - allowed:
                raise InputError(f"outputs = {self.outputs!r}; a dict of ModelFunction.restrict's arguments "
                                 f"({', '.join(sorted(allowed))})")
            put("outputs", json.loads(json.dumps(self.outputs, default=lambda v: np.asarray(v).tolist())))
        if self.problem is not None:
            from ..problem import Problem

            Problem.from_json(self.problem)  # parses, or says why not

    @property
    def n_candidates(self) -> int:
        return self.candidates or DEFAULT_CANDIDATES.get(self.engine, self.batch)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _write_json(path: Path, doc: dict) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(doc, indent=1))


def _dataset_copy(ds: xr.Dataset | str | os.PathLike, path: Path) -> None:
    from ..data.io import load_dataset, save_dataset

    if not isinstance(ds, xr.Dataset):
        ds = load_dataset(ds, lazy=False)
    save_dataset(ds.load(), path)


def _loaded(ds) -> xr.Dataset:
    from ..data.io import load_dataset

    return ds if isinstance(ds, xr.Dataset) else load_dataset(ds, lazy=False)


def _check_training_data(model, data: xr.Dataset) -> None:
    """Every member of ``model`` was trained on exactly ``data`` (its metadata's digest)."""
    from ..surrogate.ensemble import read_ensemble
    from ..surrogate.training import data_digest

    digest = data_digest(data)
    doc = read_ensemble(model)
    for name, meta in zip(doc["members"], doc["member_metadata"]):
        if meta.get("training", {}).get("data_sha256") != digest:
            raise InputError(f"data: not the training data of {Path(model) / name} (its data digest differs): the loop "
                             "appends to the data the ensemble was trained on")


def _check_same_system(data: xr.Dataset, other: xr.Dataset, name: str) -> None:
    from ..data.schema import input_names

    if input_names(other) != input_names(data) or other.sizes["bin"] != data.sizes["bin"]:
        raise InputError(f"{name}: inputs {input_names(other)} and {other.sizes['bin']} bins; the training data has "
                         f"{input_names(data)} and {data.sizes['bin']}")


def _start_digests(model, data, calibration, test) -> dict:
    """What identifies a run's start: the ensemble's file, the data and the held-out sets."""
    import hashlib

    from ..surrogate.training import data_digest

    def digest(ds):
        if ds is None:
            return None
        return data_digest(_loaded(ds))

    return {"ensemble_json_sha256": hashlib.sha256((Path(model) / "ensemble.json").read_bytes()).hexdigest(),
            "data": digest(data), "calibration": digest(calibration), "test": digest(test)}


class ActiveRun:
    """A run directory (see the module docstring): its settings, its rounds, and the next step.

    Open an existing run with ``ActiveRun(path)``; start one with :meth:`create`.
    """

    def __init__(self, path: str | os.PathLike, *, doc: dict | None = None):
        self.path = Path(path)
        file = self.path / RUN_FILE
        if doc is None:
            if not file.is_file():
                raise InputError(f"{self.path} is not an active-learning run (no {RUN_FILE})")
            try:
                doc = json.loads(file.read_text())
            except (json.JSONDecodeError, UnicodeDecodeError) as err:
                raise InputError(f"{file}: not readable JSON ({err})") from None
        self.doc = doc
        if self.doc.get("format") != FORMAT:
            raise InputError(f"{file}: not an active-learning run")
        try:
            self.settings = ActiveSettings(**self.doc["settings"])
        except (KeyError, TypeError) as err:
            raise InputError(f"{file}: its settings are not this version's ({type(err).__name__}: {err})") from None
        self._data: dict[int, xr.Dataset] = {}
        if file.is_file():
            self._sync_rounds()

    def _check_same_start(self, model, data, calibration, test, oracle) -> None:
        """A resumed run must start from the same ensemble, data and held-out sets, and keep its oracle."""
        was, now = self.doc.get("start") or {}, _start_digests(model, data, calibration, test)
        for key, label in (("ensemble_json_sha256", "ensemble"), ("data", "data"), ("calibration", "calibration set"),
                           ("test", "test set")):
            if was.get(key) != now[key]:
                raise InputError(f"{self.path} was started with another {label}: give the run's own ensemble, data, "
                                 "calibration and test sets to resume it, or another run directory")
        if oracle is not None and self.doc.get("oracle") not in (None, oracle):
            raise InputError(f"{self.path} was run with the oracle {self.doc['oracle']}, not {oracle}")

    # ------------------------------------------------------------------ creation
    @classmethod
    def create(cls, path: str | os.PathLike, model: str | os.PathLike, data, settings: ActiveSettings, *,
               oracle: dict | None = None, calibration=None, test=None) -> ActiveRun:
        """Start a run: copy the ensemble and the data in, and record the settings.

        Parameters
        ----------
        path : path-like
            The run directory; it must not hold another run (an existing run with the same
            settings is opened, to resume).
        model : path-like
            A calibrated or uncalibrated ensemble directory, trained on ``data``.
        data : xarray.Dataset or path-like
            The ensemble's training data.
        settings : ActiveSettings
        oracle : dict, optional
            The oracle's provenance (``oracle.describe()``), or None for an external one.
        calibration, test : xarray.Dataset or path-like, optional
            Held-out data: for recalibrating every round, and for the metrics.

        Returns
        -------
        ActiveRun
        """
        from ..surrogate.ensemble import is_ensemble

        path = Path(path)
        if (path / RUN_FILE).is_file():
            run = cls(path)
            differ = {k: (v, getattr(settings, k)) for k, v in run.settings.to_dict().items()
                      if v != getattr(settings, k)}
            if differ:
                said = "; ".join(f"{k} = {b!r} (the run's: {a!r})" for k, (a, b) in differ.items())
                raise InputError(f"{path} holds a run with other settings: {said}; give another run directory, or "
                                 "the run's settings to resume it")
            run._check_same_start(model, data, calibration, test, oracle)
            return run
        if not is_ensemble(model):
            raise InputError(f"model = {model}: not an ensemble directory (the loop needs the members' spread)")
        if not path.parent.is_dir():
            raise FileNotFoundError(f"cannot write {path}: directory {path.parent} does not exist")
        resolved = path.resolve()
        if resolved == Path(model).resolve() or Path(model).resolve() in resolved.parents:
            raise InputError(f"the run directory {path} is the ensemble {model} or inside it; give another")
        if path.exists() and not path.is_dir():
            raise InputError(f"the run directory {path} is a file")
        data = _loaded(data)
        _check_training_data(model, data)
        for name, ds in (("calibration", calibration), ("test", test)):
            if ds is not None:
                _check_same_system(data, _loaded(ds), name)
        path.mkdir(exist_ok=True)
        start = path / "round-000" / "model"
        if not (start / "ensemble.json").is_file():
            shutil.rmtree(start, ignore_errors=True)
            start.parent.mkdir(exist_ok=True)
            tmp = path / "round-000" / ".model.tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.copytree(model, tmp)
            os.replace(tmp, start)
        _dataset_copy(data, path / "data-initial.nc")
        for name, ds in (("calibration", calibration), ("test", test)):
            if ds is not None:
                _dataset_copy(ds, path / f"{name}.nc")
        doc = {"format": FORMAT, "format_version": 1, "uqsurrogate_version": __version__,
               "settings": settings.to_dict(), "oracle": oracle, "model": str(Path(model).resolve()),
               "start": _start_digests(model, data, calibration, test),
               "calibration": calibration is not None, "test": test is not None, "rounds": [],
               "units": {"rmse": "mol/L", "U": "(mol/L)2", "J": "1"}}
        # active.json is written last: until then this is not a run, and a rerun makes it again
        run = cls(path, doc=doc)
        run._calibrate(0)
        doc["rounds"] = [{"round": 0, "n_samples": int(run.data(0).sizes["sample"]), "metrics": run.metrics(0),
                          "calibration": run._calibration_record(0)}]
        _write_json(path / RUN_FILE, doc)
        return cls(path)

    # ------------------------------------------------------------------ state
    def round_dir(self, r: int) -> Path:
        return self.path / f"round-{r:03d}"

    def model_path(self, r: int) -> Path:
        """The ensemble after round r (r = 0: the starting one)."""
        return self.round_dir(r) / "model"

    @property
    def rounds_done(self) -> int:
        r = 0
        while (self.round_dir(r + 1) / "round.json").is_file():
            r += 1
        return r

    @property
    def names(self) -> list[str]:
        from ..data.schema import input_names

        return input_names(self.data(0))

    def data(self, r: int) -> xr.Dataset:
        """The training data after round r: the starting data and every round's new samples up to r."""
        from ..data.append import append_samples
        from ..data.io import load_dataset

        if r not in self._data:
            ds = load_dataset(self.path / "data-initial.nc", lazy=False) if r == 0 else append_samples(
                self.data(r - 1), load_dataset(self.round_dir(r) / "new.nc", lazy=False))
            self._data[r] = ds
        return self._data[r]

    def _held_out(self, name: str) -> xr.Dataset | None:
        from ..data.io import load_dataset

        path = self.path / f"{name}.nc"
        return load_dataset(path, lazy=False) if path.is_file() else None

    def box(self, f) -> InputBox:
        s = self.settings
        fixed = {}
        if s.problem:
            from ..problem import Problem

            fixed = Problem.from_json(s.problem).fixed
        if s.box is not None:
            box = InputBox.from_dict(s.box)
            return InputBox(box.names, box.low, box.high, {**box.fixed, **fixed})
        return InputBox.of_model(f, fixed)

    def acquisition(self, r: int) -> Acquisition:
        """The objective of round r + 1, on the ensemble after round r."""
        from ..model_function import ModelFunction

        s = self.settings
        f = ModelFunction.from_artifact(self.model_path(r))
        if s.outputs:
            f = f.restrict(**s.outputs)
        box = self.box(f)
        prior = None
        if s.problem:
            from ..problem import Problem

            prior = problem_prior(Problem.from_json(s.problem), f.input_names)
        elif s.prior == "kde":
            prior = kde_prior(self._inputs(r), box)
        return Acquisition(f, box, prior=prior, kT=s.kT)

    def _inputs(self, r: int) -> np.ndarray:
        from ..data.append import input_matrix

        return input_matrix(self.data(r))

    # ------------------------------------------------------------------ the steps
    @locks_output(lambda self: self.path, "active propose")
    def propose(self) -> dict:
        """Propose and select the next round's batch (or return it, if already chosen).

        Writes ``round-RRR/batch.json``, ``batch.txt`` and ``jobs/``.

        Returns
        -------
        dict
            ``round``, ``inputs`` (names), ``X`` (B rows), ``scores`` and how they were chosen.
        """
        r = self.rounds_done + 1
        folder = self.round_dir(r)
        file = folder / "batch.json"
        if file.is_file():
            return json.loads(file.read_text())
        t0 = time.perf_counter()
        s = self.settings
        acq = self.acquisition(r - 1)
        box, names = acq.box, list(acq.box.names)
        rng = keyed_generator([s.seed, 19, r])
        X_train = self._inputs(r - 1)
        u_train = box.to_unit(X_train)
        options = {}
        if s.engine == "adversarial":
            options = {"steps": s.steps, "learning_rate": s.learning_rate}
        elif s.engine == "langevin":
            stop = float(np.percentile(acq.uncertainty(X_train), s.stop_percentile))
            options = {"steps": s.steps, "step_size": s.step_size, "bias": s.bias, "threshold": stop}
        u = propose(s.engine, acq, s.n_candidates, rng=rng, seed=s.seed, skip=(r - 1) * s.batch, **options)
        X = box.to_physical(u)
        U = acq.uncertainty(X)
        J = np.log(np.maximum(U, 1e-300)) + acq.log_prior(X)  # ranks by U p, not U alone
        if s.engine in ("random", "sobol"):
            keep = np.arange(len(u))
        else:
            eligible = np.arange(len(u))
            if s.percentile is not None:  # uncertain enough: U against the training inputs' U
                eligible = np.flatnonzero(U >= np.percentile(acq.uncertainty(X_train), s.percentile))
            keep = eligible[filter_candidates(u[eligible], J[eligible], u_train, min_distance=s.min_distance)]
            if len(keep) < s.batch:
                raise InputError(f"round {r}: only {len(keep)} of {len(u)} proposals pass the filters for a batch of "
                                 f"{s.batch}; lower percentile or min_distance, or raise candidates")
        features = train_features = None
        if s.rule in ("max_distance", "max_det", "lcmd"):
            features = gradient_features(acq.f, X[keep], sketch=s.sketch, seed=s.seed)
            train_features = gradient_features(acq.f, X_train, sketch=s.sketch, seed=s.seed)
        pick = keep[select_batch(s.rule, s.batch, features=features, train_features=train_features, scores=J[keep],
                                 rng=rng, noise=s.noise)]
        batch = {"round": r, "inputs": names, "X": X[pick].tolist(), "scores": {"U": U[pick].tolist(),
                 "J": J[pick].tolist()}, "engine": s.engine, "rule": s.rule, "n_proposed": len(u),
                 "n_kept": len(keep), "median_U_proposed": float(np.median(U)),
                 "objective": acq.describe(), "seconds": time.perf_counter() - t0}
        folder.mkdir(exist_ok=True)
        with atomic_path(folder / "batch.txt") as tmp:
            np.savetxt(tmp, X[pick], header=" ".join(names), comments="", fmt="%.17g")
        write_jobs(X[pick], names, folder / "jobs")
        _write_json(file, batch)
        logger.info("round %d: %d points proposed by %s, %d kept, %d chosen by %s (%.1f s)", r, len(u), s.engine,
                    len(keep), s.batch, s.rule, batch["seconds"])
        return batch

    @locks_output(lambda self, *args, **kwargs: self.path, "active ingest")
    def ingest(self, results, *, progress: bool | None = None, provenance: dict | None = None) -> dict:
        """Take the results of the proposed batch, warm-start, recalibrate and record the round.

        Parameters
        ----------
        results : xarray.Dataset or path-like
            A training dataset of the batch's inputs (any order; from any importer), a
            netCDF file of one, or the round's ``jobs`` folder when each job holds its
            profile tables (:func:`~uqsurrogate.active.oracles.read_jobs`).  None only to
            finish a round whose results were taken already.
        progress : bool, optional
            Progress bars of the warm starts.
        provenance : dict, optional
            Where the results come from (recorded); default the results' file.

        Returns
        -------
        dict
            The round's record.
        """
        from ..data.append import append_samples
        from ..data.io import save_dataset

        r = self.rounds_done + 1
        folder = self.round_dir(r)
        if not (folder / "batch.json").is_file():
            raise InputError(f"round {r} has no proposed batch: run propose first")
        batch = json.loads((folder / "batch.json").read_text())
        if provenance is None:
            provenance = {"kind": "external", "results": str(Path(results).resolve())
                          if isinstance(results, (str, os.PathLike)) else type(results).__name__, "round": r}
        n_bins = int(self.data(0).sizes["bin"])
        new = None if results is None else match_rows(results_dataset(results, n_bins), np.asarray(batch["X"]),
                                                      batch["inputs"])
        if (folder / "new.nc").is_file():  # taken already (a resumed round): the same results only
            if new is not None:
                from ..surrogate.training import data_digest

                if data_digest(_loaded(folder / "new.nc")) != data_digest(new):
                    raise InputError(f"round {r} has taken other results already ({folder / 'new.nc'}); rerun the "
                                     "same ingest, or delete that file (and the round's model) to take these")
        else:
            if new is None:
                raise InputError(f"round {r}: no results given")
            append_samples(self.data(r - 1), new)  # refused here, before anything is written
            save_dataset(new.load(), folder / "new.nc")
            _write_json(folder / "provenance.json", provenance)
        return self._learn(r, batch, progress)

    def _learn(self, r: int, batch: dict, progress: bool | None) -> dict:
        from ..surrogate.ensemble import continue_model

        s = self.settings
        folder = self.round_dir(r)
        data = self.data(r)
        t0 = time.perf_counter()
        out = self.model_path(r)
        if not (out / "ensemble.json").is_file():
            continue_model(self.model_path(r - 1), data, out, s.epochs, progress=progress,
                           learning_rate=s.train_learning_rate, refit_scaling=self._refit(r))
        t_train = time.perf_counter() - t0
        self._calibrate(r)
        record_cal = self._calibration_record(r)
        prov = folder / "provenance.json"
        record = {"round": r, "n_samples": int(data.sizes["sample"]), "batch": batch,
                  "oracle": json.loads(prov.read_text()) if prov.is_file() else None, "train_seconds": t_train,
                  "calibration": record_cal, "metrics": self.metrics(r),
                  "units": {"metrics.rmse*": "mol/L", "batch.scores.U": "(mol/L)2", "train_seconds": "s"}}
        _write_json(folder / "round.json", record)
        self._sync_rounds()
        logger.info("round %d done: %d samples; %s", r, record["n_samples"], record["metrics"])
        return record

    def _refit(self, r: int) -> bool:
        """Whether round r's warm start takes the ranges of the appended data (``refit_scaling``)."""
        from ..surrogate.ensemble import read_ensemble
        from ..surrogate.representations import representation_of

        if self.settings.refit_scaling != "auto":
            return self.settings.refit_scaling == "always"
        meta = read_ensemble(self.model_path(r - 1))["member_metadata"][0]
        lo, hi = (np.asarray(meta["scaling"][k], dtype=float) for k in ("min", "max"))
        X = self._inputs(r)
        outside = bool(np.any(X < lo) or np.any(X > hi))
        return outside and not representation_of(meta["outputs"]).fixed_scaling

    def _sync_rounds(self) -> None:
        """``active.json``'s list of rounds, rebuilt from every finished round's ``round.json``."""
        keep = ("round", "n_samples", "metrics", "calibration")
        rounds = [self.doc["rounds"][0]] if self.doc["rounds"] and self.doc["rounds"][0]["round"] == 0 else []
        for k in range(1, self.rounds_done + 1):
            rec = json.loads((self.round_dir(k) / "round.json").read_text())
            rounds.append({key: rec[key] for key in keep})
        if rounds != self.doc["rounds"]:
            self.doc["rounds"] = rounds
            _write_json(self.path / RUN_FILE, self.doc)

    def _calibrate(self, r: int) -> None:
        """Fit the calibration of the ensemble after round r on the run's calibration set (if any, once)."""
        from ..surrogate.ensemble import read_ensemble, set_calibration

        calibration = self._held_out("calibration")
        out = self.model_path(r)
        if calibration is None or (read_ensemble(out).get("calibration") or {}).get("run") == str(r):
            return
        from ..model_function import ModelFunction
        from ..uncertainty.fit import calibrate_ensemble

        cal = calibrate_ensemble(ModelFunction.from_artifact(out), calibration, outputs=("density",),
                                 training_data=self.data(r), seed=self.settings.seed)
        set_calibration(out, {**cal, "run": str(r)})

    def _calibration_record(self, r: int) -> dict | None:
        from ..surrogate.ensemble import read_ensemble

        if self._held_out("calibration") is None:
            return None
        c = read_ensemble(self.model_path(r))["calibration"]["density"]
        return {"method": c["method"], "miscalibration_area": c["measured"][f"miscalibration_area_{c['method']}"],
                "conformal_coverage": c["measured"]["conformal_coverage"]}

    def metrics(self, r: int) -> dict | None:
        """RMSE of the ensemble mean after round r against the test set's truth (mol/L), per species and overall."""
        test = self._held_out("test")
        if test is None:
            return None
        from ..data.append import input_matrix
        from ..model_function import ModelFunction

        f = ModelFunction.from_artifact(self.model_path(r), extrapolation="warn")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pred = np.asarray(f(input_matrix(test)), dtype=float)
        truth = np.asarray(test["density_true" if "density_true" in test else "density"].values, dtype=float)
        err = (pred - truth) ** 2
        out = {"rmse": float(np.sqrt(err.mean())), "n_test": len(truth),
               "reference": "density_true" if "density_true" in test else "density"}
        for i, sp in enumerate(test["species"].values):
            out[f"rmse_{sp}"] = float(np.sqrt(err[:, i].mean()))
        return out

    def step(self, oracle, *, progress: bool | None = None) -> dict:
        """One whole round with an oracle (:mod:`.oracles`): propose, run it, ingest."""
        batch = self.propose()
        r = batch["round"]
        describe = getattr(oracle, "describe", None)
        provenance = {**(describe() if describe else {"kind": type(oracle).__name__}), "round": r}
        if hasattr(oracle, "round_seed"):
            provenance["round_seed"] = oracle.round_seed(r)
        if (self.round_dir(r) / "new.nc").is_file():
            return self.ingest(None, progress=progress, provenance=provenance)
        results = _oracle_results(oracle, np.asarray(batch["X"]), r, batch["inputs"])
        return self.ingest(results, progress=progress, provenance=provenance)


@locks_output("out", "active run")
def run_active(model: str | os.PathLike, data, out: str | os.PathLike, *, rounds: int, oracle,
               settings: ActiveSettings | None = None, calibration=None, test=None,
               progress: bool | None = None) -> ActiveRun:
    """Run (or resume) ``rounds`` rounds of active learning with an oracle.

    Parameters
    ----------
    model : path-like
        The starting ensemble directory.
    data : xarray.Dataset or path-like
        Its training data.
    out : path-like
        The run directory (see the module docstring); rerun the same call to resume.
    rounds : int
        Rounds in all (the finished ones count).
    oracle : SimulatorOracle or CallableOracle
        Or any ``oracle(X, round, names) -> Dataset`` with a ``describe()``.
    settings : ActiveSettings, optional
    calibration : xarray.Dataset, path-like or int, optional
        Held-out data to recalibrate on each round; an int n asks the oracle for n uniform
        points of the box first (keyed by the seed; round 0 of the oracle).
    test : xarray.Dataset or path-like, optional
        Held-out data with the truth, for the metrics of each round.
    progress : bool, optional
        A bar over rounds; by default only on a terminal.

    Returns
    -------
    ActiveRun
    """
    from tqdm.auto import tqdm

    settings = settings or ActiveSettings()
    rounds = check_int(rounds, "rounds", min_value=0)
    describe = getattr(oracle, "describe", None)
    provenance = describe() if describe else {"kind": type(oracle).__name__}
    if not callable(oracle):
        raise InputError(f"oracle = {oracle!r} is not callable: give a SimulatorOracle, a CallableOracle or any "
                         "oracle(X, round, names) -> Dataset")
    data = _loaded(data)
    sim = getattr(oracle, "simulator", None)
    if sim is not None and sim.n_bins != data.sizes["bin"]:
        raise InputError(f"the simulator oracle makes {sim.n_bins} bins; the data have {data.sizes['bin']} "
                         f"(SimulatorOracle(n_bins={data.sizes['bin']}))")
    if isinstance(calibration, (int, np.integer)) and not isinstance(calibration, bool):
        calibration = _oracle_calibration(model, settings, oracle, int(calibration), Path(out))
    run = ActiveRun.create(out, model, data, settings, oracle=provenance, calibration=calibration, test=test)
    with tqdm(total=rounds, initial=min(run.rounds_done, rounds), desc="active rounds", unit="round",
              disable=None if progress is None else not progress, dynamic_ncols=True) as bar:
        while run.rounds_done < rounds:
            run.step(oracle, progress=False)
            bar.update(1)
    return run


def _oracle_calibration(model, settings: ActiveSettings, oracle, n: int, out: Path):
    """n uniform points of the box, run by the oracle as its round 0 (kept in OUT/calibration.nc)."""
    n = check_int(n, "calibration", min_value=MIN_CALIBRATION)
    if (out / "calibration.nc").is_file():
        had = _loaded(out / "calibration.nc").sizes["sample"]
        if had != n:
            raise InputError(f"calibration = {n}: {out} holds a calibration set of {had} points; give {had} to resume, "
                             "or another run directory")
        return out / "calibration.nc"
    from ..model_function import ModelFunction

    f = ModelFunction.from_artifact(model)
    box = InputBox.from_dict(settings.box) if settings.box else InputBox.of_model(f)
    X = box.to_physical(box.uniform(n, keyed_generator([settings.seed, 23])))
    return _oracle_results(oracle, X, 0, list(box.names))


def _oracle_results(oracle, X: np.ndarray, r: int, names: list[str]) -> xr.Dataset:
    """The oracle's dataset for X, checked to be a Dataset."""
    ds = oracle(X, r, names)
    if not isinstance(ds, xr.Dataset):
        raise InputError(f"the oracle returned a {type(ds).__name__}; it must return an xarray.Dataset of training data "
                         "(oracle(X, round, names))")
    return ds
