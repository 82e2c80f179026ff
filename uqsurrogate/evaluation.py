"""The one chunked evaluation path: every heavy loop of the package goes through here.

A long job is cut into chunks of rows ``[start, stop)``.  :func:`map_chunks` runs a task on
every chunk through a pluggable ``map`` — the built-in one by default, or anything with a
``map(func, iterable)`` method that returns results in order (a
``concurrent.futures`` executor, a ``multiprocessing`` or emcee-style pool, later a dask
client's wrapper) — shows one progress bar, and yields the results in chunk order, so that
whatever reduces them adds the same numbers in the same order: same seed and chunking,
same bits, whatever the ``map``.  (The chunking itself can move the last bits where the model
is not row-wise exact: TensorFlow's CPU matmul rounds a row differently in batches of other
shapes.  The simulator and NumPy models are row-wise exact.)

:func:`evaluate` is the common case: call a model ``f`` on the rows of each chunk and feed
every chunk's outputs to *reducers*, objects with ``update(y, x, start)``.  The sensitivity
estimators (:mod:`uqsurrogate.sensitivity`) reduce to their sufficient statistics this way,
:func:`stream` to moments (:class:`Moments`, :class:`GroupedMoments`), and
:class:`Collect` keeps the outputs when they fit in memory.  The simulator runner maps its
chunks (simulate, then write) through :func:`map_chunks` directly.

Rows come either from an array or from ``rows(start, stop)``, a function of the row
indices only.  :func:`sampled_rows` makes such a function from a seed with counter-based
streams — block ``k`` of rows is drawn from ``SeedSequence(seed, spawn_key=(k,))`` — so a
row's values do not depend on the chunking or on which worker draws it.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._random import counter_generator
from ._validation import check_int, collect_extrapolation, merge_reports, warn_extrapolation
from .errors import InputError

__all__ = ["Collect", "GroupedMoments", "Moments", "Varying", "check_output", "chunk_bounds", "evaluate",
           "map_chunks", "sampled_rows", "stream"]


def _name(f: Callable) -> str:
    return getattr(f, "__name__", None) or type(f).__name__


def _numbers(f: Callable, y: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Outputs as real numbers: ints and floats as they are, booleans (and objects that are numbers) as float64."""
    kind = y.dtype.kind
    if kind in "iuf":
        return y
    if kind == "b":
        return y.astype(np.float64)
    what = f"outputs of dtype {y.dtype}"
    if kind == "O":
        if any(v is None for v in y.flat):  # astype would make it NaN
            what = "None among its outputs"
        else:
            try:
                return y.astype(np.float64)
            except (TypeError, ValueError):
                what = "objects that are not numbers among its outputs"
    raise InputError(f"the model {_name(f)} returned {what} for rows {start} to {stop - 1}; expected real numbers "
                     "(int, float or bool)")


def _not_finite(f: Callable, y: np.ndarray, start: int, stop: int) -> InputError:
    """The refusal of NaN or infinite outputs, naming the outputs, the rows and the first value."""
    bad = ~np.isfinite(y.reshape(len(y), -1))
    rows, outputs = np.flatnonzero(bad.any(axis=1)), np.flatnonzero(bad.any(axis=0))
    shape = y.shape[1:]

    def where(k: int) -> str:
        if not shape:
            return "output"
        return f"output {tuple(int(i) for i in np.unravel_index(k, shape)) if len(shape) > 1 else k}"
    first_row, first_out = start + rows[0], outputs[0]
    value = y.reshape(len(y), -1)[rows[0], first_out]
    named = ", ".join(where(int(k)) for k in outputs[:5]) + (", ..." if outputs.size > 5 else "")
    return InputError(
        f"the model {_name(f)} returned {int(bad.sum())} NaN or infinite value(s) for rows {start} to {stop - 1}, "
        f"in {outputs.size} output(s) ({named}) of {rows.size} row(s) (first: {value} at row {first_row}, "
        f"{where(int(first_out))}); every output must be finite: check the model at these inputs")


def check_output(f: Callable, y: Any, start: int, stop: int, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """``f``'s output for rows ``[start, stop)`` as an array, if it has one row per input row, all finite.

    Parameters
    ----------
    f : callable
        The model (named in the message).
    y : array_like
        What it returned.
    start, stop : int
        The rows it was given.
    shape : tuple of int, optional
        One row's output shape, from the first call: every call must return it.

    Returns
    -------
    numpy.ndarray, shape (stop - start, ...)
        Ints and floats as returned; booleans (and an object array of numbers) as float64.

    Raises
    ------
    InputError
        Naming the function and the rows: a shape other than the one expected (the shape it
        returned, and the one expected), outputs that are not real numbers (None, text,
        complex: the dtype), or NaN or infinite outputs (which outputs, how many, the first
        value and its row).  The package's one policy: every method and :func:`propagate
        <uqsurrogate.uncertainty.propagation.propagate>` refuse them, as :func:`analyze
        <uqsurrogate.sensitivity.external.analyze>` refuses such outputs computed elsewhere.
    """
    y = np.asarray(y)
    m = stop - start
    if y.ndim == 0 or y.shape[0] != m:
        raise InputError(f"the model {_name(f)} returned shape {y.shape} for rows {start} to {stop - 1}; expected "
                         f"({m}, ...): one output row per input row")
    if shape is not None and y.shape[1:] != tuple(shape):
        raise InputError(f"the model {_name(f)} returned shape {y.shape} for rows {start} to {stop - 1}; expected "
                         f"{(m, *shape)} as for the first rows: every call must return the same output shape")
    y = _numbers(f, y, start, stop)
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise _not_finite(f, y, start, stop)
    return y


def chunk_bounds(n: int, size: int, start: int = 0) -> list[tuple[int, int]]:
    """``[(start, start + size), ...]`` up to ``n``; the last chunk may be shorter.

    Examples
    --------
    >>> chunk_bounds(10, 4)
    [(0, 4), (4, 8), (8, 10)]
    """
    size = check_int(size, "chunk_size", min_value=1)
    return [(a, min(n, a + size)) for a in range(start, n, size)]


def map_chunks(
    task: Callable[[tuple[int, int]], Any],
    bounds: Iterable[tuple[int, int]],
    *,
    map: Any = None,
    progress: bool | None = None,
    desc: str = "evaluate",
    unit: str = "row",
    total: int | None = None,
    initial: int = 0,
) -> Iterator[tuple[tuple[int, int], Any]]:
    """Run ``task`` on every chunk and yield ``((start, stop), result)`` in chunk order.

    Parameters
    ----------
    task : callable
        ``task((start, stop)) -> result``.  With a process pool it must pickle (a
        module-level function or a small class instance, not a closure).
    bounds : iterable of (int, int)
    map : object with a ``map`` method, or a callable like :func:`map`, optional
        Runs the tasks; the results must come back in the order of ``bounds``.  Default:
        the built-in :func:`map`, in this process, one chunk at a time.
    progress : bool, optional
        tqdm bar; None shows it only on a terminal.
    desc, unit : str
        The bar's label and unit.
    total, initial : int, optional
        The bar's length (default: the rows in ``bounds``) and its starting count.

    Yields
    ------
    ((int, int), object)
    """
    from tqdm.auto import tqdm

    bounds = list(bounds)
    if map is None:
        run = builtins.map
    else:
        run = map.map if hasattr(map, "map") else map
        if not callable(run):
            raise InputError(f"map = {map!r}; pass an object with a map(func, iterable) method, or a map-like callable")
    rows = sum(b - a for a, b in bounds)
    with tqdm(total=rows + initial if total is None else total, initial=initial, unit=unit, desc=desc,
              disable=None if progress is None else not progress, dynamic_ncols=True) as bar:
        for ab, result in zip(bounds, run(task, bounds)):
            yield ab, result
            bar.update(ab[1] - ab[0])


@dataclass
class _EvaluateTask:
    """Picklable ``(start, stop) -> (x, f(x), reports)``: ``reports`` of inputs beyond the model's training ranges.

    A model that checks its inputs under ``extrapolation="warn"`` reports each call
    (:func:`~uqsurrogate._validation.collect_extrapolation`, in the worker that runs the
    chunk) instead of warning, so that :func:`evaluate` warns once for the whole run.
    """

    f: Callable
    rows: Callable[[int, int], np.ndarray]

    def __call__(self, ab: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, list]:
        x = self.rows(*ab)
        with collect_extrapolation() as reports:
            y = self.f(x)
        return x, y, reports


@dataclass
class _ArrayRows:
    """``rows(start, stop)`` of an array (picklable, unlike a lambda)."""

    array: np.ndarray

    def __call__(self, start: int, stop: int) -> np.ndarray:
        return self.array[start:stop]


def evaluate(
    f: Callable[[np.ndarray], np.ndarray],
    X: np.ndarray | Callable[[int, int], np.ndarray],
    reducers: Sequence[Any],
    *,
    n: int | None = None,
    chunk_size: int | Callable[[np.ndarray], int] = 8192,
    first_chunk: int | None = None,
    map: Any = None,
    progress: bool | None = None,
    desc: str = "evaluate",
    unit: str = "sample",
) -> Sequence[Any]:
    """Evaluate ``f`` chunk by chunk and feed every chunk, in order, to the reducers.

    Every chunk's outputs are checked (:func:`check_output`): one row per input row, and the
    same shape per row as the first chunk's, whatever method calls it.  A model evaluated
    beyond its training ranges under ``extrapolation="warn"`` gives one
    :class:`~uqsurrogate.warnings.ExtrapolationWarning` for the run, after its last chunk,
    with the count and share of the distinct values of each input beyond its range.

    Parameters
    ----------
    f : callable
        ``f(X (m, d)) -> (m, ...)``.
    X : numpy.ndarray of shape (n, d), or callable
        The inputs, or ``X(start, stop) -> (stop - start, d)`` that makes them chunk by
        chunk (:func:`sampled_rows` makes one from a seed).
    reducers : sequence
        Objects with ``update(y, x, start)``, called with each chunk's outputs ``y``
        (m, ...), inputs ``x`` (m, d) and first row index.
    n : int, optional
        Number of rows when ``X`` is a callable.
    chunk_size : int or callable, default 8192
        Rows per call of ``f``; or ``chunk_size(y)`` that picks it from the first chunk's
        outputs (y (m, ...)), for reducers whose memory grows with the output size.
    first_chunk : int, optional
        Rows of the first chunk (required when ``chunk_size`` is a callable).
    map : object with a ``map`` method, optional
        Where the chunks run (see :func:`map_chunks`).
    progress : bool, optional
    desc, unit : str
        The progress bar's label and unit.

    Returns
    -------
    sequence
        ``reducers``, updated.
    """
    if callable(X):
        if n is None:
            raise InputError("n is required when X is a callable")
        rows = X
    else:
        arr = np.asarray(X)
        n = arr.shape[0]
        rows = _ArrayRows(arr)
    n = check_int(n, "n", min_value=0)
    task = _EvaluateTask(f, rows)
    if callable(chunk_size):
        if first_chunk is None:
            raise InputError("first_chunk is required when chunk_size is a callable")
        head = chunk_bounds(n, check_int(first_chunk, "first_chunk", min_value=1))[:1]
    else:
        head = chunk_bounds(n, chunk_size if first_chunk is None else first_chunk)
        if first_chunk is not None:
            head = head[:1]
    from tqdm.auto import tqdm

    with tqdm(total=n, unit=unit, desc=desc, disable=None if progress is None else not progress,
              dynamic_ncols=True) as bar:
        shape: list[tuple[int, ...]] = []  # one row's output shape, from the first chunk
        reports: list = []  # inputs beyond the training ranges, from every chunk

        def feed(pairs: Iterator) -> np.ndarray | None:
            y = None
            for (a, b), (x, y, found) in pairs:
                reports.extend(found)
                if len(reports) > 64:  # keep one merged report per model, not one per chunk
                    reports[:] = merge_reports(reports)
                y = check_output(f, y, a, b, shape[0] if shape else None)
                if not shape:
                    shape.append(y.shape[1:])
                for r in reducers:
                    r.update(y, x, a)
                bar.update(b - a)
            return y

        last = feed(map_chunks(task, head, map=map, progress=False))
        done = head[-1][1] if head else 0
        if done < n:
            size = chunk_size(last) if callable(chunk_size) else chunk_size
            feed(map_chunks(task, chunk_bounds(n, size, start=done), map=map, progress=False))
    warn_extrapolation(reports, stacklevel=2)
    return reducers


def stream(
    f: Callable[[np.ndarray], np.ndarray],
    X: np.ndarray | Callable[[int, int], np.ndarray],
    reducers: Sequence[Any],
    *,
    n: int | None = None,
    chunk_size: int = 8192,
    map: Any = None,
    progress: bool | None = False,
) -> Sequence[Any]:
    """Evaluate ``f`` in chunks of ``chunk_size`` rows and feed the reducers.

    :func:`evaluate` with a fixed chunk size and no bar by default; ``reducers`` are
    :class:`Moments`, :class:`GroupedMoments`, :class:`Collect` or your own objects with
    ``update(y, x, start)``.  ``X`` is an array (n, d) or ``X(start, stop)`` with ``n``.

    Returns
    -------
    sequence
        ``reducers``, updated.

    Examples
    --------
    >>> import numpy as np
    >>> m, = stream(lambda x: 2 * x, np.arange(10.0)[:, None], [Moments()], chunk_size=3)
    >>> float(m.mean[0]), float(m.variance[0])
    (9.0, 33.0)
    """
    return evaluate(f, X, reducers, n=n, chunk_size=check_int(chunk_size, "chunk_size", min_value=1), map=map,
                    progress=progress)


@dataclass
class _SampledRows:
    problem: Any
    seed: int
    block: int

    def __call__(self, start: int, stop: int) -> np.ndarray:
        first, last = start // self.block, (stop - 1) // self.block if stop > start else start // self.block - 1
        parts = [self.problem.sample(self.block, counter_generator(self.seed, k)) for k in range(first, last + 1)]
        if not parts:
            return self.problem.full(np.empty((0, len(self.problem.varied))))
        block = np.concatenate(parts)
        offset = first * self.block
        return self.problem.full(block[start - offset : stop - offset])


def sampled_rows(problem: Any, seed: int, block: int = 4096) -> Callable[[int, int], np.ndarray]:
    """``rows(start, stop)``: draws from ``problem`` that depend only on (seed, row index).

    Parameters
    ----------
    problem : Problem
    seed : int
        >= 0.
    block : int, default 4096
        Rows per counter-based stream; a chunk draws the blocks it overlaps.

    Returns
    -------
    callable
        ``rows(start, stop) -> (stop - start, n_inputs)``, the fixed inputs inserted.
    """
    return _SampledRows(problem, check_int(seed, "seed", min_value=0), check_int(block, "block", min_value=1))


@dataclass
class Moments:
    """Streaming count, mean and variance of every output (Chan et al.'s pairwise update).

    After :func:`stream`, ``mean`` and ``variance`` (ddof=0) have the output's shape.
    """

    count: int = 0
    mean: Any = None
    m2: Any = None

    def update(self, y: np.ndarray, x: np.ndarray, start: int) -> None:
        y = np.asarray(y, dtype=np.float64)
        n = y.shape[0]
        mean = y.mean(axis=0)
        m2 = ((y - mean) ** 2).sum(axis=0)
        if self.count == 0:
            self.count, self.mean, self.m2 = n, mean, m2
            return
        total = self.count + n
        delta = mean - self.mean
        self.mean = self.mean + delta * (n / total)
        self.m2 = self.m2 + m2 + delta**2 * (self.count * n / total)
        self.count = total

    @property
    def variance(self) -> np.ndarray:
        return self.m2 / self.count


@dataclass
class GroupedMoments:
    """Streaming per-group count, mean and variance: group g of sample i is ``groups(i)``.

    Parameters
    ----------
    groups : callable
        Maps an array of global sample indices (m,) to group ids (m,) in [0, n_groups).
    n_groups : int
    """

    groups: Callable[[np.ndarray], np.ndarray]
    n_groups: int
    count: np.ndarray = field(init=False)
    total: Any = field(init=False, default=None)
    total_sq: Any = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.count = np.zeros(self.n_groups, dtype=np.int64)

    def update(self, y: np.ndarray, x: np.ndarray, start: int) -> None:
        y = np.asarray(y, dtype=np.float64)
        g = np.asarray(self.groups(np.arange(start, start + y.shape[0])))
        flat = y.reshape(y.shape[0], -1)
        if self.total is None:
            self.total = np.zeros((self.n_groups, flat.shape[1]))
            self.total_sq = np.zeros_like(self.total)
        np.add.at(self.count, g, 1)
        # sort by group and reduce contiguous runs: far faster than np.add.at on 2-D rows
        order = np.argsort(g, kind="stable")
        gs = g[order]
        cuts = np.flatnonzero(np.diff(gs)) + 1
        starts = np.concatenate([[0], cuts])
        ids = gs[starts]
        self.total[ids] += np.add.reduceat(flat[order], starts, axis=0)
        self.total_sq[ids] += np.add.reduceat(flat[order] ** 2, starts, axis=0)
        self._shape = y.shape[1:]

    @property
    def mean(self) -> np.ndarray:
        """(n_groups, ...) group means."""
        return (self.total / self.count[:, None]).reshape((self.n_groups, *self._shape))

    @property
    def variance(self) -> np.ndarray:
        """(n_groups, ...) within-group variances (ddof=0)."""
        m = self.total / self.count[:, None]
        return np.maximum(self.total_sq / self.count[:, None] - m**2, 0).reshape((self.n_groups, *self._shape))


@dataclass
class Varying:
    """Which outputs took more than one value over the rows fed (a reducer that every method runs).

    After :func:`evaluate`, ``constant`` (the output's shape) is True where every row gave the
    same value.  A sensitivity index of such an output is 0/0, undefined: the methods report
    NaN for it (:func:`uqsurrogate.results.dataset`), where round-off would give any number.
    """

    first: Any = None
    varies: Any = None
    shape: tuple[int, ...] = ()

    def update(self, y: np.ndarray, x: np.ndarray, start: int) -> None:
        flat = np.asarray(y).reshape(len(y), -1)
        if not len(flat):
            return
        if self.first is None:
            self.first, self.varies, self.shape = flat[0].copy(), np.zeros(flat.shape[1], dtype=bool), y.shape[1:]
        still = np.flatnonzero(~self.varies)  # only the outputs not yet seen to vary: after a chunk, few or none
        if still.size:
            self.varies[still] = (flat[:, still] != self.first[still]).any(axis=0)

    @property
    def constant(self) -> np.ndarray:
        return ~self.varies.reshape(self.shape)

    @property
    def zero(self) -> np.ndarray:
        """True where every row gave exactly 0 (a bin no ion reaches, pinned by the model), the output's shape."""
        return (~self.varies & (self.first == 0)).reshape(self.shape)


@dataclass
class Collect:
    """Keep every chunk's outputs; ``values`` is their concatenation, shape (n, ...)."""

    parts: list = field(default_factory=list)

    def update(self, y: np.ndarray, x: np.ndarray, start: int) -> None:
        self.parts.append(np.asarray(y))

    @property
    def values(self) -> np.ndarray:
        return np.concatenate(self.parts) if len(self.parts) != 1 else self.parts[0]
