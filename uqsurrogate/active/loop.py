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

    def __post_init__(self) -> None:
        check_int(self.batch, "batch", min_value=1)
        check_choice(self.engine, "engine", ENGINES)
        check_choice(self.rule, "rule", RULES)
        check_choice(self.prior, "prior", PRIORS)
        if self.candidates is not None:
            check_int(self.candidates, "candidates", min_value=self.batch)
        check_int(self.steps, "steps", min_value=1)
        check_int(self.epochs, "epochs", min_value=0)
        check_int(self.seed, "seed", min_value=0)
        check_float(self.kT, "kT", 0, None, closed="neither")
        check_float(self.stop_percentile, "stop_percentile", 0, 100)
        if self.percentile is not None:
            check_float(self.percentile, "percentile", 0, 100)
        if self.engine in ("random", "sobol") and self.rule != "random":
            raise InputError(f"engine {self.engine!r} draws exactly B points; use rule 'random', not {self.rule!r}")

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
            doc = json.loads(file.read_text())
        self.doc = doc
        if self.doc.get("format") != FORMAT:
            raise InputError(f"{file}: not an active-learning run")
        self.settings = ActiveSettings(**self.doc["settings"])
        self._data: dict[int, xr.Dataset] = {}

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
            if run.settings != settings:
                raise InputError(f"{path} holds a run with other settings; give another --out, or the same settings "
                                 "to resume it")
            return run
        if not is_ensemble(model):
            raise InputError(f"model = {model}: not an ensemble directory (the loop needs the members' spread)")
        if not path.parent.is_dir():
            raise FileNotFoundError(f"cannot write {path}: directory {path.parent} does not exist")
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
               "settings": settings.to_dict(), "oracle": oracle, "model": str(model),
               "calibration": calibration is not None, "test": test is not None, "rounds": []}
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

            prior = problem_prior(Problem.from_json(s.problem))
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
        if s.engine in ("random", "sobol"):
            keep = np.arange(len(u))
        else:
            train_U = acq.uncertainty(X_train) if s.percentile is not None else None
            keep = filter_candidates(u, U, u_train, train_scores=train_U, percentile=s.percentile,
                                     min_distance=s.min_distance)
            if len(keep) < s.batch:
                raise InputError(f"round {r}: only {len(keep)} of {len(u)} proposals pass the filters for a batch of "
                                 f"{s.batch}; lower percentile or min_distance, or raise candidates")
        features = train_features = None
        if s.rule in ("max_distance", "max_det", "lcmd"):
            features = gradient_features(acq.f, X[keep], sketch=s.sketch, seed=s.seed)
            train_features = gradient_features(acq.f, X_train, sketch=s.sketch, seed=s.seed)
        pick = keep[select_batch(s.rule, s.batch, features=features, train_features=train_features, scores=U[keep],
                                 rng=rng, noise=s.noise)]
        J = acq.objective(u[pick])
        batch = {"round": r, "inputs": names, "X": X[pick].tolist(), "scores": {"U": U[pick].tolist(),
                 "J": J.tolist()}, "engine": s.engine, "rule": s.rule, "n_proposed": len(u),
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
    def ingest(self, results, *, progress: bool | None = None) -> dict:
        """Take the results of the proposed batch, warm-start, recalibrate and record the round.

        Parameters
        ----------
        results : xarray.Dataset or path-like
            A training dataset of the batch's inputs (any order; from any importer), a
            netCDF file of one, or the round's ``jobs`` folder when each job holds its
            profile tables (:func:`~uqsurrogate.active.oracles.read_jobs`).
        progress : bool, optional
            Progress bars of the warm starts.

        Returns
        -------
        dict
            The round's record.
        """
        from ..data.io import save_dataset

        r = self.rounds_done + 1
        folder = self.round_dir(r)
        if not (folder / "batch.json").is_file():
            raise InputError(f"round {r} has no proposed batch: run propose first")
        batch = json.loads((folder / "batch.json").read_text())
        if not (folder / "new.nc").is_file():
            n_bins = int(self.data(0).sizes["bin"])
            new = match_rows(results_dataset(results, n_bins), np.asarray(batch["X"]), batch["inputs"])
            save_dataset(new.load(), folder / "new.nc")
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
                           learning_rate=s.train_learning_rate)
        t_train = time.perf_counter() - t0
        self._calibrate(r)
        record_cal = self._calibration_record(r)
        record = {"round": r, "n_samples": int(data.sizes["sample"]), "batch": batch,
                  "oracle": self.doc.get("oracle"), "train_seconds": t_train,
                  "calibration": record_cal, "metrics": self.metrics(r)}
        _write_json(folder / "round.json", record)
        self.doc["rounds"] = [*[d for d in self.doc["rounds"] if d["round"] < r], {
            k: record[k] for k in ("round", "n_samples", "metrics", "calibration")}]
        _write_json(self.path / RUN_FILE, self.doc)
        logger.info("round %d done: %d samples; %s", r, record["n_samples"], record["metrics"])
        return record

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
        if (self.round_dir(r) / "new.nc").is_file():
            return self.ingest(None, progress=progress)
        return self.ingest(oracle(np.asarray(batch["X"]), r, batch["inputs"]), progress=progress)


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
    if (out / "calibration.nc").is_file():
        return out / "calibration.nc"
    from ..model_function import ModelFunction

    n = check_int(n, "calibration", min_value=2)
    f = ModelFunction.from_artifact(model)
    box = InputBox.from_dict(settings.box) if settings.box else InputBox.of_model(f)
    X = box.to_physical(box.uniform(n, keyed_generator([settings.seed, 23])))
    return oracle(X, 0, list(box.names))
