"""Oracles: what turns a batch of inputs into training data.

An oracle is a callable ``oracle(X, round) -> xarray.Dataset``: X (n, n_inputs) physical
inputs in the model's order, ``round`` the loop's round (1, 2, ...), and a training dataset
of the data contract (:mod:`uqsurrogate.data.schema`) whose samples are those inputs, in
that order.  ``oracle.describe()`` gives its provenance, recorded with every round.

* :class:`SimulatorOracle` — the embedded reference simulator.  Round r simulates with seed
  ``seed + r``, sample i of the batch drawing its noise from the counter stream
  ``(seed + r, i)``: the same batch written as a design and run with ``uqsurrogate simulate
  --seed`` (seed + r) gives the same data, which is how the two-phase path is checked.
* :class:`CallableOracle` — any Python function of X returning a training dataset.
* External (real MD, hours per run) is two-phase, not an oracle object:
  :meth:`uqsurrogate.active.loop.ActiveRun.propose` writes the batch as job folders
  (:func:`write_jobs`), you run them anywhere, and
  :meth:`~uqsurrogate.active.loop.ActiveRun.ingest` takes the results: a training dataset
  from any importer (``uqsurrogate import-md``, ``simulate``) or the job folders themselves
  (:func:`read_jobs`, nanoconfinement-md profile tables, read with
  :func:`uqsurrogate.data.tables.read_run_folder`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from .._atomic import atomic_path
from ..errors import InputError

__all__ = ["CallableOracle", "SimulatorOracle", "match_rows", "read_jobs", "write_jobs"]

logger = logging.getLogger(__name__)

#: The file of a job folder that holds its inputs (``NAME VALUE`` lines).
PARAMS_FILE = "in.params"


class SimulatorOracle:
    """The embedded reference simulator as an oracle.

    Parameters
    ----------
    seed : int, default 0
        Round r simulates with seed ``seed + r``.
    n_bins : int, optional
        Bins of the profiles (default the simulator's); must match the training data.
    simulator : ElectrolyteSimulator, optional
        Instead of ``n_bins``: a configured simulator.
    """

    def __init__(self, seed: int = 0, n_bins: int | None = None, simulator=None):
        from .._validation import check_int
        from ..simulators import ElectrolyteSimulator

        self.seed = check_int(seed, "seed", min_value=0)
        if simulator is None:
            simulator = ElectrolyteSimulator() if n_bins is None else ElectrolyteSimulator(n_bins=n_bins)
        self.simulator = simulator

    def round_seed(self, round: int) -> int:
        """The simulator's seed for round ``round``."""
        return self.seed + int(round)

    def with_length(self, length: float):
        """The simulator with runs ``length`` times as long (configurations per block scaled, blocks kept).

        Returns
        -------
        simulator : ElectrolyteSimulator
        length : float
            The length it runs (configurations per block are whole numbers).
        """
        import dataclasses

        from .._validation import check_float

        length = check_float(length, "length", 0, None, closed="neither")
        noise = self.simulator.noise
        configs = max(1, round(noise.configs_per_block * length))
        if configs == noise.configs_per_block:
            return self.simulator, 1.0
        sim = dataclasses.replace(self.simulator, noise=dataclasses.replace(noise, configs_per_block=configs))
        return sim, configs / noise.configs_per_block

    def __call__(self, X: np.ndarray, round: int, names: Sequence[str], length: float = 1.0) -> xr.Dataset:
        """Simulate the rows of X; ``length`` in runs of this simulator's (default 1).

        The data's ``simulator`` attribute records the configurations per block used.
        """
        design = {n: np.asarray(X, dtype=float)[:, i] for i, n in enumerate(names)}
        simulator, _ = self.with_length(length)
        return simulator.run(design, seed=self.round_seed(round))

    def describe(self) -> dict:
        return {"kind": "simulator", "seed": self.seed, "round_seed": "seed + round",
                "simulator": self.simulator.settings()}


class CallableOracle:
    """Any Python function as an oracle.

    Parameters
    ----------
    fn : callable
        ``fn(X (n, n_inputs)) -> xarray.Dataset``, a training dataset of those inputs.
    name : str, optional
        Recorded as its provenance (default the function's qualified name).
    """

    def __init__(self, fn: Callable[[np.ndarray], xr.Dataset], name: str | None = None):
        if not callable(fn):
            raise InputError(f"fn = {fn!r} is not callable")
        self.fn = fn
        self.name = name or getattr(fn, "__qualname__", type(fn).__name__)

    def __call__(self, X: np.ndarray, round: int, names: Sequence[str]) -> xr.Dataset:
        return self.fn(np.asarray(X, dtype=float))

    def describe(self) -> dict:
        return {"kind": "callable", "name": self.name}


def match_rows(ds: xr.Dataset, X: np.ndarray, names: Sequence[str]) -> xr.Dataset:
    """``ds``'s samples reordered to the rows of X (exact inputs); refuses a missing or extra one.

    Parameters
    ----------
    ds : xarray.Dataset
        Training data whose samples are X's rows in any order.
    X : numpy.ndarray, shape (n, n_inputs)
    names : sequence of str

    Returns
    -------
    xarray.Dataset
        ``n`` samples, in X's order.
    """
    missing_inputs = [n for n in names if n not in ds]
    if missing_inputs:
        raise InputError(f"the results lack the inputs {missing_inputs}")
    got = np.stack([np.asarray(ds[n].values, dtype=float) for n in names], axis=1)
    index = {tuple(r): i for i, r in enumerate(got)}
    order = []
    for k, row in enumerate(np.asarray(X, dtype=float)):
        i = index.get(tuple(row))
        if i is None:  # inputs written with 17 digits read back exactly; allow only float rounding
            close = np.flatnonzero(np.all(np.isclose(got, row, rtol=1e-12, atol=0), axis=1))
            if close.size != 1:
                where = ", ".join(f"{n}={v:.17g}" for n, v in zip(names, row))
                raise InputError(f"the results have no sample for batch row {k} ({where})")
            i = int(close[0])
        order.append(i)
    if len(set(order)) != len(order) or len(got) != len(order):
        raise InputError(f"the results have {len(got)} samples for a batch of {len(order)}; each row exactly once")
    return ds.isel(sample=order)


def write_jobs(X: np.ndarray, names: Sequence[str], folder: str | os.PathLike) -> list[Path]:
    """One job folder per row: ``folder/job-KKKK/in.params`` (``NAME VALUE``, 17 digits).

    Returns
    -------
    list of pathlib.Path
        The job folders, in row order.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for k, row in enumerate(np.asarray(X, dtype=float)):
        job = folder / f"job-{k:04d}"
        job.mkdir(exist_ok=True)
        with atomic_path(job / PARAMS_FILE) as tmp:
            tmp.write_text("".join(f"{n} {v:.17g}\n" for n, v in zip(names, row)))
        out.append(job)
    return out


def read_params(job: str | os.PathLike) -> dict[str, float]:
    """A job folder's inputs from its ``in.params``."""
    path = Path(job) / PARAMS_FILE
    try:
        pairs = [line.split() for line in path.read_text().splitlines() if line.strip()]
        return {k: float(v) for k, v in pairs}
    except (OSError, ValueError) as err:
        raise InputError(f"{path}: not a job's inputs ({err})") from None


def read_jobs(folder: str | os.PathLike, n_bins: int) -> xr.Dataset:
    """The finished job folders' profiles as a training dataset of ``n_bins`` bins.

    Each ``job-KKKK`` folder must hold ``in.params`` and the run's profile tables
    (``p_density_profile.dat``, ``n_density_profile.dat``: z, density, error), read with
    :func:`uqsurrogate.data.tables.read_run_folder` and rebinned by
    :func:`uqsurrogate.data.runs.runs_to_dataset`.
    """
    from ..data.runs import runs_to_dataset
    from ..data.tables import read_run_folder

    jobs = sorted(p for p in Path(folder).glob("job-*") if p.is_dir())
    if not jobs:
        raise InputError(f"{folder}: no job-* folders")
    runs = []
    for job in jobs:
        try:
            runs.append(read_run_folder(job, inputs=read_params(job)))
        except FileNotFoundError as err:
            raise InputError(f"{job}: not finished ({err})") from None
    return runs_to_dataset(runs, n_bins=n_bins, attrs={"title": f"active-learning jobs in {folder}"})


def results_dataset(source: str | os.PathLike | xr.Dataset, n_bins: int) -> xr.Dataset:
    """Results given as a Dataset, a netCDF file, or a folder of job folders."""
    if isinstance(source, xr.Dataset):
        return source
    path = Path(source)
    if path.is_dir():
        return read_jobs(path, n_bins)
    from ..data.io import load_dataset

    return load_dataset(path, lazy=False)

