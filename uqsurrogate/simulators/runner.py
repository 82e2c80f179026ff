"""Run the reference simulator over a design: in parallel, in chunks, resumably.

:class:`ElectrolyteSimulator` turns one input into exact and MD-like profiles;
:func:`simulate` runs a whole design and writes a training dataset.  Work is cut into
chunks of samples; each finished chunk is written atomically to ``OUT.parts/``, so a
crash or a Ctrl-C loses at most the chunks in progress, and running the same command
again resumes.  Each finished part's SHA-256 is written beside it (``chunk-KKKKKK.nc.sha256``,
atomically, after the part); a resume recomputes, with a warning, a part whose digest is
missing or does not match (it was edited, or the run stopped between the two writes): the
part depends only on the design, the settings and the seed, so recomputing gives the same
bits.  The parts are checked once more just before they are joined.  Each sample's noise is drawn from its own stream,
``SeedSequence(seed, spawn_key=(index,))``, so the output does not depend on the number
of workers or the chunk size.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import json
import logging
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

from .._atomic import atomic_path, locks_output
from .._random import counter_generator, fresh_seed
from .._validation import check_int
from .._version import __version__
from ..constants import NM3_TO_MOLAR
from ..data.io import load_dataset, save_dataset
from ..data.schema import INPUTS, SPECIES, make_dataset
from ..errors import InputError
from ..evaluation import chunk_bounds, map_chunks
from .electrolyte import ConvergenceError, SlitModel, check_row, solve_slit
from .noise import NoiseModel

__all__ = ["ElectrolyteSimulator", "simulate"]

logger = logging.getLogger(__name__)



def _seed_entropy(seed: int | None) -> int:
    if seed is None:
        return fresh_seed()
    return check_int(seed, "seed", min_value=0)


@dataclass(frozen=True)
class ElectrolyteSimulator:
    """The embedded reference simulator: cDFT profiles plus MD-like noise.

    Parameters
    ----------
    model : SlitModel
        Physics and numerics of the cDFT solver.
    noise : NoiseModel
        The MD-like sampling noise.
    n_bins : int, default 502
        Equal bins over (-h/2, h/2), as in the paper.
    """

    model: SlitModel = field(default_factory=SlitModel)
    noise: NoiseModel = field(default_factory=NoiseModel)
    n_bins: int = 502

    def __post_init__(self) -> None:
        check_int(self.n_bins, "n_bins", min_value=2)

    def settings(self) -> dict:
        """Every parameter of the simulator and its noise model, as plain JSON-able values."""
        return {
            "model": dataclasses.asdict(self.model),
            "bjerrum_length_nm": self.model.bjerrum_length,
            "noise": self.noise.as_dict(),
            "n_bins": self.n_bins,
        }

    def exact(self, h: float, c: float, d_plus: float, d_minus: float, sigma: float) -> tuple[np.ndarray, np.ndarray]:
        """Exact bin-averaged profiles.

        Returns
        -------
        z : numpy.ndarray, shape (n_bins,)
            Bin centres, nm.
        density : numpy.ndarray, shape (2, n_bins)
            (cation, anion), mol/L.
        """
        try:
            sol = solve_slit(h, c, d_plus, d_minus, sigma, self.model, n_bins=self.n_bins)
        except ConvergenceError:
            logger.info("retrying h=%g c=%g d+=%g d-=%g sigma=%g with gentler mixing", h, c, d_plus, d_minus, sigma)
            careful = dataclasses.replace(
                self.model, mixing=0.15, anderson_memory=10, max_iter=4 * self.model.max_iter
            )
            sol = solve_slit(h, c, d_plus, d_minus, sigma, careful, n_bins=self.n_bins)
        z, dens = sol.bin_average(self.n_bins)
        return z, dens * NM3_TO_MOLAR

    def run(self, design: Mapping[str, np.ndarray], seed: int, start: int = 0) -> xr.Dataset:
        """Simulate every point of a design, in this process.

        Parameters
        ----------
        design : mapping of str to array_like, each of shape (n,)
            The inputs h, c, d_plus, d_minus, sigma.
        seed : int
            Seed of the whole run; sample ``start + i`` draws its noise from
            ``SeedSequence(seed, spawn_key=(start + i,))``.
        start : int, default 0
            Index of the first point in the whole design.

        Returns
        -------
        xarray.Dataset
            A training dataset with ``density_true``.
        """
        missing = [k for k in INPUTS if k not in design]
        if missing:
            raise InputError(f"design lacks inputs {missing}; it needs {list(INPUTS)}")
        x = {k: np.atleast_1d(np.asarray(design[k], dtype=float)) for k in INPUTS}
        n = x["h"].size
        z = np.empty((n, self.n_bins))
        true = np.empty((n, len(SPECIES), self.n_bins))
        dens, sem = np.empty_like(true), np.empty_like(true)
        for i in range(n):
            args = [float(x[k][i]) for k in INPUTS]
            try:
                z[i], true[i] = self.exact(*args)
            except (InputError, ConvergenceError) as err:
                where = ", ".join(f"{k}={v:g}" for k, v in zip(INPUTS, args))
                raise type(err)(f"design row {start + i} ({where}): {err}") from None
            rng = counter_generator(seed, start + i)
            dens[i], sem[i] = self.noise.sample(true[i], args[0] / self.n_bins, rng)
        return make_dataset(
            x,
            z,
            dens,
            sem,
            density_true=true,
            attrs={
                "title": "confined electrolyte: cDFT density profiles with MD-like noise",
                "source": f"uqsurrogate {__version__} reference simulator (White Bear II FMT + mean-field "
                "electrostatics, canonical, soft WCA walls)",
                "simulator": json.dumps(self.settings()),
                "seed": str(seed),
            },
        )


def _design_digest(design: Mapping[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in INPUTS:
        h.update(name.encode())
        h.update(np.ascontiguousarray(np.asarray(design[name], dtype=np.float64)).tobytes())
    return h.hexdigest()


def _chunk_path(parts: Path, start: int, chunk_size: int) -> Path:
    return parts / f"chunk-{start // chunk_size:06d}.nc"


def _digest_path(part: Path) -> Path:
    return part.with_name(part.name + ".sha256")


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_part_digest(part: Path) -> None:
    """Record a finished part's SHA-256 beside it (atomically, after the part)."""
    with atomic_path(_digest_path(part)) as tmp:
        tmp.write_text(_file_digest(part) + "\n")


def _part_problem(part: Path) -> str | None:
    """Why a part on disk cannot be trusted (None if it matches its recorded SHA-256)."""
    if not part.is_file():
        return "missing"
    try:
        recorded = _digest_path(part).read_text().strip()
    except (FileNotFoundError, UnicodeDecodeError):
        return "has no recorded SHA-256 (the run stopped before recording it)"
    actual = _file_digest(part)
    if actual != recorded:
        return f"does not match its recorded SHA-256 ({actual[:12]}... against {recorded[:12]}...): it was changed"
    return None


@dataclass(frozen=True)
class _SimulateChunk:
    """Simulate rows [start, stop) of the design and write them to their part file (picklable)."""

    simulator: ElectrolyteSimulator
    design: dict
    seed: int
    parts: Path
    chunk_size: int

    def __call__(self, bounds: tuple[int, int]) -> int:
        start, stop = bounds
        rows = {k: v[start:stop] for k, v in self.design.items()}
        # one BLAS thread per process: the solver's small least-squares steps only lose from
        # threads, and with several workers they oversubscribe the cores (measured: 2 workers
        # took 1.7x the serial time with OpenBLAS threads, 0.6x with one thread each)
        with threadpool_limits(limits=1):
            ds = self.simulator.run(rows, self.seed, start)
        part = _chunk_path(self.parts, start, self.chunk_size)
        save_dataset(ds, part)
        _write_part_digest(part)
        return stop - start


@locks_output("out", "simulate")
def simulate(
    design: Mapping[str, np.ndarray],
    out: str | os.PathLike,
    *,
    simulator: ElectrolyteSimulator | None = None,
    seed: int | None = None,
    workers: int = 1,
    chunk_size: int = 64,
    progress: bool | None = None,
    design_name: str = "user",
    map: Any = None,
) -> Path:
    """Simulate a design and write a training dataset, resumably.

    Parameters
    ----------
    design : mapping of str to array_like, each of shape (n,)
        The inputs h (nm), c (mol/L), d_plus, d_minus (nm), sigma (C/m2).
    out : path-like
        The netCDF file to write.  Finished chunks live in ``OUT.parts/`` until the end.  The
        run holds ``OUT.lock`` (:func:`~uqsurrogate._atomic.output_lock`): a second run to the
        same ``out`` is refused while it runs.
    simulator : ElectrolyteSimulator, optional
    seed : int, optional
        Seed of the noise.  None draws a fresh one and records it in the output.
    workers : int, default 1
        Processes of a local pool (a convenience: it builds the ``map`` below).
    chunk_size : int, default 64
        Samples per chunk (the unit of work, of checkpointing and of resumption).
    progress : bool, optional
        Show a progress bar; by default only on a terminal.
    design_name : str, default "user"
        Recorded in the output's attributes.
    map : object with an order-keeping ``map(func, iterable)``, optional
        Where the chunks run: the evaluation path's seam (:func:`uqsurrogate.evaluation.map_chunks`),
        as every estimator takes it; for example a ``concurrent.futures`` executor.  The output
        does not depend on it.  Not with ``workers`` > 1.

    Returns
    -------
    pathlib.Path
        ``out``.
    """
    simulator = simulator or ElectrolyteSimulator()
    out = Path(out)
    if not out.parent.is_dir():  # as every writer: no folders made on the user's behalf
        raise FileNotFoundError(f"cannot write {out}: directory {out.parent} does not exist")
    missing = [k for k in INPUTS if k not in design]
    if missing:
        raise InputError(f"design lacks inputs {missing}; it needs {list(INPUTS)}")
    design = {k: np.atleast_1d(np.asarray(design[k], dtype=float)) for k in INPUTS}
    n = design["h"].size
    if any(v.shape != (n,) for v in design.values()):
        raise InputError(f"design inputs have different lengths: { {k: v.size for k, v in design.items()} }")
    if n == 0:
        raise InputError("design is empty")
    for i in range(n):  # every row before any work: a bad one never leaves OUT.parts/ behind
        try:
            check_row(*(float(design[k][i]) for k in INPUTS), simulator.model, n_bins=simulator.n_bins)
        except InputError as err:
            raise InputError(f"design row {i}: {err}") from None
    workers = check_int(workers, "workers", min_value=1)
    if map is not None and workers != 1:
        raise InputError(f"workers = {workers} builds a local pool; with map given, leave workers at 1")
    chunk_size = check_int(chunk_size, "chunk_size", min_value=1)
    parts = out.with_name(out.name + ".parts")
    manifest = {
        "design_sha256": _design_digest(design),
        "n": n,
        "chunk_size": int(chunk_size),
        "simulator": simulator.settings(),
        "uqsurrogate": __version__,
    }
    manifest_path = parts / "manifest.json"
    if parts.is_dir() and manifest_path.is_file():
        try:
            old = json.loads(manifest_path.read_text())
            seed_entropy = int(old["seed"])
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError) as err:
            raise InputError(f"{manifest_path}: damaged ({type(err).__name__}: {err}); delete {parts} to start "
                             "over") from None
        if seed is not None and int(seed) != seed_entropy:
            raise InputError(f"{parts} holds a run with seed {seed_entropy}, not {seed}; delete it to start over")
        old.pop("seed", None)
        if old.get("chunk_size") != manifest["chunk_size"] and {**old, "chunk_size": chunk_size} == json.loads(
                json.dumps(manifest)):
            raise InputError(f"{parts} holds this run in chunks of {old.get('chunk_size')}; rerun with "
                             f"--chunk-size {old.get('chunk_size')} to resume it (the results do not depend on it)")
        if old != json.loads(json.dumps(manifest)):
            raise InputError(
                f"{parts} holds an unfinished run of another design or other simulator settings; "
                "delete it to start over, or rerun the original command to finish it"
            )
        logger.info("resuming the unfinished run in %s", parts)
    else:
        seed_entropy = _seed_entropy(seed)
        parts.mkdir(parents=True, exist_ok=True)
        with atomic_path(manifest_path) as tmp:
            tmp.write_text(json.dumps({**manifest, "seed": seed_entropy}, indent=1))
    bounds = chunk_bounds(n, chunk_size)
    paths = [_chunk_path(parts, a, chunk_size) for a, _ in bounds]
    todo = []
    for ab, p in zip(bounds, paths):
        problem = _part_problem(p) if p.exists() else "missing"
        if problem is not None and problem != "missing":
            logger.warning("%s %s; recomputing it", p, problem)
            p.unlink()
        if problem is not None:
            todo.append(ab)
    done_samples = n - sum(b - a for a, b in todo)
    if done_samples:
        logger.info("%d of %d samples already done", done_samples, n)
    task = _SimulateChunk(simulator, design, seed_entropy, parts, chunk_size)
    pool = None if workers == 1 else concurrent.futures.ProcessPoolExecutor(max_workers=workers)
    try:
        for _ in map_chunks(task, todo, map=pool if pool is not None else map, progress=progress, desc="simulate", unit="input", total=n,
                            initial=done_samples):
            pass
    except BaseException:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        if pool is not None:
            pool.shutdown()
    for p in paths:  # every part as it was written, once more just before joining them
        problem = _part_problem(p)
        if problem is not None:
            raise InputError(f"{p} {problem} during the run; run the same command again to recompute it")
    pieces = [load_dataset(p) for p in paths]
    ds = xr.concat(pieces, dim="sample", data_vars="all", coords="different", compat="equals",
                   combine_attrs="drop_conflicts")
    ds.attrs.update(
        {
            "design": design_name,
            "seed": str(seed_entropy),
            "history": f"uqsurrogate {__version__} simulate: {n} samples",
        }
    )
    save_dataset(ds, out)
    shutil.rmtree(parts)
    return out
