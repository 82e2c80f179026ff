"""The surrogate as a fast, vectorised model function, with observables and streaming.

:class:`ModelFunction` is a plain callable: ``f(X)`` maps inputs X of shape
(n, n_inputs), in physical units, to densities of shape (n, n_species, n_bins) in mol/L,
or to a chosen observable.  It runs the network's dense layers as one compiled
TensorFlow function on batches of ``batch_size`` rows (not ``Model.predict`` per call),
with the input scaling folded into the first layer.  ``restrict`` builds a function that
computes only the outputs asked for, by slicing the last layer's weights.

Observables (paper Eqs. 1-2), on the model's z grid:

* ``charge_density``: ρ(z) = e (n+ - n-), in C/m³ (1 mol/L of net charge = 9.6485e7 C/m³);
* ``integrated_charge``: S(z) = σ + ∫_{-h/2}^{z} ρ dz', in C/m², at the bin centres,
  integrating the bin averages exactly; meaningful up to the midplane.

:func:`stream` evaluates many samples in chunks and feeds each chunk to reducers
(:class:`Moments`, :class:`GroupedMoments`) without ever holding the full output.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .warnings import ExtrapolationWarning

__all__ = [
    "FARADAY",
    "GroupedMoments",
    "Layer",
    "ModelFunction",
    "Moments",
    "OBSERVABLES",
    "charge_density",
    "integrated_charge",
    "stream",
]

logger = logging.getLogger(__name__)

#: Faraday constant, C/mol (CODATA 2018, exact).
FARADAY = 96485.33212331001
#: 1 mol/L of elementary charges in C/m³.
_MOLAR_CHARGE = FARADAY * 1e3
OBSERVABLES = ("density", "charge_density", "integrated_charge")
_ACTIVATIONS = ("linear", "relu", "sigmoid", "softplus", "tanh")
_UNITS = {"density": "mol/L", "charge_density": "C/m3", "integrated_charge": "C/m2"}


@dataclass(frozen=True)
class Layer:
    """One dense layer: y = activation(x @ weight + bias)."""

    weight: np.ndarray  # (n_in, n_out)
    bias: np.ndarray  # (n_out,)
    activation: str = "linear"

    def __post_init__(self) -> None:
        if self.activation not in _ACTIVATIONS:
            raise ValueError(f"activation = {self.activation!r}; supported: {', '.join(_ACTIVATIONS)}")


def _touch(a: np.ndarray) -> None:
    """Fault in the pages of a fresh array by writing zeros, split across the available cores.

    On virtual machines the first touch of fresh memory can cost up to ~1 s/GB per thread,
    and pages fault in concurrently: two threads halved the time on 2 cores (measured,
    benchmarks/bench_model_function.py).  Small arrays are filled in the calling thread.
    """
    flat = a.reshape(-1)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if cores < 2 or flat.nbytes < 64 << 20:
        flat.fill(0)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(cores) as pool:  # ndarray.fill releases the GIL
        list(pool.map(lambda part: part.fill(0), np.array_split(flat, 4 * cores)))


def charge_density(density: np.ndarray) -> np.ndarray:
    """ρ = e (n+ - n-) in C/m³ from densities (..., 2, n_bins) in mol/L; returns (..., n_bins).

    Examples
    --------
    >>> import numpy as np
    >>> charge_density(np.array([[1.0, 0.5], [0.5, 0.5]])).round(1)  # 0.5 mol/L of net charge in bin 0
    array([48242666.1,        0. ])
    """
    density = np.asarray(density)
    return _MOLAR_CHARGE * (density[..., 0, :] - density[..., 1, :])


def integrated_charge(
    density: np.ndarray, h: np.ndarray, sigma: np.ndarray, n_bins: int | None = None
) -> np.ndarray:
    """S(z) = σ + ∫ρ dz' from the left wall to each bin centre, in C/m².

    Parameters
    ----------
    density : numpy.ndarray, shape (n, 2, n_bins)
        Bin averages in mol/L on equal bins across (-h/2, h/2).
    h : numpy.ndarray, shape (n,)
        nm.
    sigma : numpy.ndarray, shape (n,)
        C/m2.
    n_bins : int, optional
        Bins across the whole slit, when ``density`` holds only the first of them.

    Returns
    -------
    numpy.ndarray, shape (n, density.shape[-1])
    """
    rho = charge_density(density)
    width = np.asarray(h, dtype=float)[:, None] * 1e-9 / (n_bins or rho.shape[-1])  # m
    before = np.cumsum(rho, axis=-1) - rho  # bins wholly left of each centre
    return np.asarray(sigma, dtype=float)[:, None] + width * (before + 0.5 * rho)


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


def stream(
    f: Callable[[np.ndarray], np.ndarray],
    X: np.ndarray | Callable[[int, int], np.ndarray],
    reducers: Sequence[Any],
    *,
    n: int | None = None,
    chunk_size: int = 8192,
    progress: bool | None = False,
) -> Sequence[Any]:
    """Evaluate ``f`` chunk by chunk and feed every chunk to the reducers.

    Parameters
    ----------
    f : callable
        ``f(X (m, d)) -> (m, ...)``.
    X : numpy.ndarray of shape (n, d), or callable
        The inputs, or ``X(start, stop) -> (stop - start, d)`` that makes them chunk by
        chunk (for designs too large to hold; seed each chunk from its ``start``).
    reducers : sequence
        Objects with ``update(y, x, start)``.
    n : int, optional
        Number of samples when ``X`` is a callable.
    chunk_size : int, default 8192
    progress : bool, optional
        tqdm bar (None: only on a terminal).

    Returns
    -------
    sequence
        ``reducers``, updated.
    """
    from tqdm.auto import tqdm

    if callable(X):
        if n is None:
            raise ValueError("n is required when X is a callable")
        get = X
    else:
        arr = np.asarray(X)
        n = arr.shape[0]
        get = lambda a, b: arr[a:b]  # noqa: E731
    if int(chunk_size) != chunk_size or chunk_size < 1:
        raise ValueError(f"chunk_size = {chunk_size!r}; it must be a positive integer")
    with tqdm(total=n, unit="sample", desc="evaluate", disable=None if progress is None else not progress) as bar:
        for start in range(0, n, int(chunk_size)):
            stop = min(n, start + int(chunk_size))
            x = get(start, stop)
            y = f(x)
            for r in reducers:
                r.update(y, x, start)
            bar.update(stop - start)
    return reducers


@dataclass
class ModelFunction:
    """A trained surrogate as a vectorised callable (see the module docstring).

    Build one with :meth:`from_artifact`.  Calling it checks the inputs (shape, dtype,
    NaN, training ranges under ``extrapolation``).

    Attributes
    ----------
    layers : list of Layer
        With the input scaling folded into the first layer.
    input_names, input_units : list of str
    train_min, train_max : numpy.ndarray, shape (n_inputs,)
    species : list of str
    n_bins : int
    output : {"density", "charge_density", "integrated_charge"}
    species_index, bin_index : numpy.ndarray
        Which species and bins are computed.
    scale_by_input : int or None
        Index of the input that multiplies every output (a model trained on n(z)/c has the
        concentration's index here), or None.
    batch_size : int
    extrapolation : {"raise", "warn", "clip"}
    dtype : numpy dtype, default float32
        Of density outputs (the network computes in float32; float64 would only double the
        memory).  Observables are returned in float64 (n+ - n- cancels).
    """

    layers: list[Layer]
    input_names: list[str]
    input_units: list[str]
    train_min: np.ndarray
    train_max: np.ndarray
    species: list[str]
    n_bins: int
    output_scale: np.ndarray
    zero_outputs: np.ndarray
    z_convention: dict
    output: str = "density"
    scale_by_input: int | None = None
    species_index: np.ndarray | None = None
    bin_index: np.ndarray | None = None
    batch_size: int = 16384
    extrapolation: str = "raise"
    dtype: Any = np.float32
    _fn: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.extrapolation not in ("raise", "warn", "clip"):
            raise ValueError(f"extrapolation = {self.extrapolation!r}; allowed: raise, warn, clip")
        if int(self.batch_size) != self.batch_size or self.batch_size < 1:
            raise ValueError(f"batch_size = {self.batch_size!r}; it must be a positive integer")
        if self.output not in OBSERVABLES:
            raise ValueError(f"output = {self.output!r}; allowed: {', '.join(OBSERVABLES)}")
        self.train_min = np.asarray(self.train_min, dtype=float)
        self.train_max = np.asarray(self.train_max, dtype=float)
        if self.species_index is None:
            self.species_index = np.arange(len(self.species))
        if self.bin_index is None:
            self.bin_index = np.arange(self.n_bins)
        self.species_index = np.asarray(self.species_index, dtype=int)
        self.bin_index = np.asarray(self.bin_index, dtype=int)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_artifact(cls, source: Any, **kwargs: Any) -> ModelFunction:
        """Build from a model directory (path) or a loaded :class:`~uqsurrogate.surrogate.Surrogate`.

        Parameters
        ----------
        source : path-like or Surrogate
        **kwargs
            ``batch_size``, ``extrapolation``.

        Returns
        -------
        ModelFunction
        """
        from .surrogate.artifact import Surrogate, load_artifact

        sur = source if isinstance(source, Surrogate) else load_artifact(source)
        meta = sur.metadata
        layers = []
        for layer in sur.model.layers:
            kind = type(layer).__name__
            if kind == "Dense":
                w, b = (np.asarray(v, dtype=np.float64) for v in layer.get_weights())
                act = layer.get_config()["activation"]
                layers.append(Layer(w, b, act if isinstance(act, str) else "linear"))
            elif kind not in ("InputLayer", "Dropout"):
                raise ValueError(f"layer {layer.name!r} of type {kind} is not supported; the model function "
                                 "runs chains of Dense layers (Dropout is skipped at inference)")
        scaling = meta["scaling"]
        lo, hi = np.asarray(scaling["min"], dtype=float), np.asarray(scaling["max"], dtype=float)
        span = np.where(hi > lo, hi - lo, 1.0)
        first = layers[0]
        # x_scaled = (x - lo) / span  =>  x_scaled @ W + b = x @ (W / span[:, None]) + (b - (lo / span) @ W)
        layers[0] = Layer(first.weight / span[:, None], first.bias - (lo / span) @ first.weight, first.activation)
        species = list(meta["outputs"]["species"])
        n_bins = int(meta["outputs"]["n_bins"])
        zero = np.zeros(len(species) * n_bins, dtype=bool)
        zero[np.asarray(meta["outputs"].get("always_zero", []), dtype=int)] = True
        names = [i["name"] for i in meta["inputs"]]
        by = meta["outputs"].get("scale_by_input")
        return cls(
            layers=layers,
            input_names=names,
            input_units=[i.get("units", "") for i in meta["inputs"]],
            train_min=[i["train_min"] for i in meta["inputs"]],
            train_max=[i["train_max"] for i in meta["inputs"]],
            species=species,
            n_bins=n_bins,
            output_scale=np.broadcast_to(np.asarray(meta["outputs"]["scale"], dtype=float), zero.shape).copy(),
            zero_outputs=zero,
            scale_by_input=None if by is None else names.index(by),
            z_convention={"z_convention": meta["outputs"]["z_convention"], "z": meta["outputs"].get("z"),
                          "affine": meta["outputs"].get("affine")},
            **kwargs,
        )

    def restrict(
        self,
        *,
        output: str | None = None,
        species: Sequence[str] | str | None = None,
        bins: Sequence[int] | None = None,
        z: Sequence[float] | None = None,
        h: float | None = None,
    ) -> ModelFunction:
        """A model function computing only some outputs.

        Parameters
        ----------
        output : {"density", "charge_density", "integrated_charge"}, optional
        species : str or sequence of str, optional
            For ``density``: which species (default all).
        bins : sequence of int, optional
            Bin indices (default all).
        z : sequence of float, optional
            Instead of ``bins``: the bins whose centres are nearest these z (nm), for slit
            width ``h`` (needed when the z grid depends on h).
        h : float, optional

        Returns
        -------
        ModelFunction
            Output shape (n, n_species_selected, n_bins_selected) for densities, or
            (n, n_bins_selected) for the observables.
        """
        output = output or self.output
        if output not in OBSERVABLES:
            raise ValueError(f"output = {output!r}; allowed: {', '.join(OBSERVABLES)}")
        if z is not None and bins is not None:
            raise ValueError("give bins or z, not both")
        if z is not None:
            grid = self.z_grid(h)
            z = np.atleast_1d(np.asarray(z, dtype=float))
            bins = np.abs(grid[None, :] - z[:, None]).argmin(axis=1)
        bin_index = np.arange(self.n_bins) if bins is None else np.atleast_1d(np.asarray(bins, dtype=int))
        if bin_index.size == 0 or bin_index.min() < 0 or bin_index.max() >= self.n_bins:
            raise ValueError(f"bins = {bins!r}; allowed: indices in [0, {self.n_bins - 1}]")
        if output == "density":
            names = self.species if species is None else ([species] if isinstance(species, str) else list(species))
            unknown = [s for s in names if s not in self.species]
            if unknown:
                raise ValueError(f"species {unknown} not in the model's {self.species}")
            species_index = np.array([self.species.index(s) for s in names])
        else:
            if species is not None:
                raise ValueError(f"species does not apply to output = {output!r} (it combines both species)")
            if self.species != ["cation", "anion"]:
                raise ValueError(f"output = {output!r} needs cation and anion densities; the model has {self.species}")
            if output == "integrated_charge" and not {"h", "sigma"} <= set(self.input_names):
                raise ValueError("integrated_charge needs the inputs h and sigma")
            species_index = np.arange(2)
        return replace(self, output=output, species_index=species_index, bin_index=bin_index, _fn=None)

    def z_grid(self, h: float | None = None) -> np.ndarray:
        """Bin centres in nm (for slit width ``h`` where the grid depends on it), shape (n_bins,)."""
        conv = self.z_convention["z_convention"]
        k = np.arange(self.n_bins) + 0.5
        if conv == "fixed":
            return np.asarray(self.z_convention["z"], dtype=float)
        if h is None:
            raise ValueError(f"the z grid ({conv}) depends on the inputs; pass h")
        if conv == "uniform-slit":
            return -h / 2 + k * h / self.n_bins
        raise ValueError(f"z convention {conv!r} needs all inputs; use z_for(X)")

    @property
    def output_shape(self) -> tuple[int, ...]:
        """Shape of one sample's output."""
        if self.output == "density":
            return (len(self.species_index), len(self.bin_index))
        return (len(self.bin_index),)

    @property
    def units(self) -> str:
        return _UNITS[self.output]

    # ------------------------------------------------------------------ evaluation
    def _columns(self) -> np.ndarray:
        """Output columns of the last layer needed for the requested output."""
        if self.output == "integrated_charge":
            bins = np.arange(int(self.bin_index.max()) + 1)  # S at bin k needs every bin up to k
        else:
            bins = self.bin_index
        return (self.species_index[:, None] * self.n_bins + bins[None, :]).ravel()

    def _compiled(self):
        if self._fn is not None:
            return self._fn
        from .surrogate.network import import_keras

        import_keras()
        import tensorflow as tf

        cols = self._columns()
        layers = list(self.layers)
        last = layers[-1]
        weight, bias = last.weight[:, cols].copy(), last.bias[cols].copy()
        scale = self.output_scale[cols] * (~self.zero_outputs[cols])  # never-occupied bins pinned to 0
        if np.all((scale == 0) | (scale == 1)) and last.activation in ("relu", "sigmoid", "softplus"):
            # pin inside the last layer, f(0 @ h - big) = 0 exactly, instead of a pass over the output
            weight[:, scale == 0], bias[scale == 0] = 0.0, np.finfo(np.float32).min
            scale = np.ones_like(scale)
        layers[-1] = Layer(weight, bias, last.activation)
        consts = [(tf.constant(L.weight, tf.float32), tf.constant(L.bias, tf.float32), L.activation) for L in layers]
        post = None if np.all(scale == 1.0) else tf.constant(scale, tf.float32)
        by = self.scale_by_input
        acts = {"linear": tf.identity, "relu": tf.nn.relu, "sigmoid": tf.sigmoid, "softplus": tf.nn.softplus,
                "tanh": tf.tanh}

        @tf.function(input_signature=[tf.TensorSpec([None, layers[0].weight.shape[0]], tf.float32)],
                     reduce_retracing=True)
        def forward(x):
            factor = None if by is None else x[:, by : by + 1]  # physical inputs: scaling is in layer 1
            # the plain kernels give every row the same bits whatever the batch; an XLA-fused
            # last bias and softplus was ~5 % faster but broke that, so it was left out
            for w, b, act in consts:
                x = acts[act](tf.matmul(x, w) + b)
            x = x if post is None else x * post
            return x if factor is None else x * factor

        self._fn = forward
        return forward

    def check_inputs(self, X: Any) -> np.ndarray:
        """Validate inputs and apply the extrapolation policy; returns float64 (n, n_inputs)."""
        arr = np.asarray(X)
        if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
            raise TypeError(f"X has dtype {arr.dtype}; expected numbers (float), shape (n, {len(self.input_names)})")
        if arr.ndim != 2 or arr.shape[1] != len(self.input_names):
            raise ValueError(
                f"X has shape {arr.shape}; expected (n, {len(self.input_names)}) with columns {self.input_names}"
            )
        arr = arr.astype(np.float64, copy=False)
        bad = ~np.isfinite(arr)
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise ValueError(f"X has {int(bad.sum())} NaN or inf value(s); first: {self.input_names[col]} "
                             f"= {arr[row, col]} in row {row}")
        tol = 1e-9 * np.maximum(self.train_max - self.train_min, 1e-12)
        low, high = arr < self.train_min - tol, arr > self.train_max + tol
        if low.any() or high.any():
            row, col = np.argwhere(low | high)[0]
            msg = (f"{self.input_names[col]} = {arr[row, col]:g} {self.input_units[col]} (row {row}) is outside the "
                   f"training range [{self.train_min[col]:g}, {self.train_max[col]:g}]; "
                   f"{int((low | high).any(axis=1).sum())} row(s) are outside")
            if self.extrapolation == "raise":
                raise ValueError(msg + "; pass extrapolation='warn' or 'clip' to allow it")
            if self.extrapolation == "warn":
                warnings.warn(msg, ExtrapolationWarning, stacklevel=3)
            else:
                arr = np.clip(arr, self.train_min, self.train_max)
        return arr

    def __call__(self, X: Any, out: np.ndarray | None = None) -> np.ndarray:
        """Evaluate.

        Parameters
        ----------
        X : array_like, shape (n, n_inputs)
            Inputs in the units of ``input_units``, columns ordered as ``input_names``.
        out : numpy.ndarray, shape (n, ``*output_shape``), optional
            For densities: a C-contiguous float array to write into and return, as with
            NumPy's ``out=``.  Reusing one over many calls saves allocating (and, on some
            virtual machines, first-touching) a fresh output each time.

        Returns
        -------
        numpy.ndarray, shape (n, ``*output_shape``)
            ``dtype`` for densities, float64 for observables.
        """
        x = self.check_inputs(X)
        fn = self._compiled()
        n = x.shape[0]
        cols = self._columns()
        shape = (n, len(self.species_index), len(self.bin_index))
        if out is not None:
            if self.output != "density":
                raise ValueError(f"out= is for density output; this model function gives {self.output}")
            if not isinstance(out, np.ndarray) or out.shape != shape or not out.flags.c_contiguous \
                    or not np.issubdtype(out.dtype, np.floating):
                got = f"{type(out).__name__} {getattr(out, 'shape', '')} {getattr(out, 'dtype', '')}"
                raise ValueError(f"out is {got}; expected a C-contiguous float array of shape {shape}")
        xf = x.astype(np.float32)
        if out is None and n <= self.batch_size:
            raw = fn(xf).numpy()
        else:
            if out is None:
                raw = np.empty((n, cols.size), dtype=np.float32)
                # touch the pages first, in parallel: faulting them in batch by batch, interleaved with
                # TensorFlow's work, cost ~4x as much (1.0 s against 0.26 s per GB, measured)
                _touch(raw)
            else:
                raw = out.reshape(n, cols.size)  # a view: C-contiguous was checked
            for start in range(0, n, int(self.batch_size)):
                # EagerTensor.numpy() copies; its _numpy() is a view, copied once into raw here
                y = fn(xf[start : start + self.batch_size])
                raw[start : start + self.batch_size] = y._numpy() if hasattr(y, "_numpy") else y.numpy()
        if out is not None:
            return out
        if self.output == "density":
            return raw.reshape(shape).astype(self.dtype, copy=False)
        dens = raw.reshape(n, 2, -1).astype(np.float64)
        if self.output == "charge_density":
            return charge_density(dens)
        h = x[:, self.input_names.index("h")]
        sigma = x[:, self.input_names.index("sigma")]
        return integrated_charge(dens, h, sigma, n_bins=self.n_bins)[:, self.bin_index]

    def __getstate__(self):  # the compiled function does not travel to dask or process workers
        state = dict(self.__dict__)
        state["_fn"] = None
        return state

    def describe(self) -> str:
        """One line: inputs, output, shape."""
        return (f"ModelFunction({', '.join(self.input_names)} -> {self.output} {self.output_shape} in {self.units}, "
                f"batch_size={self.batch_size}, extrapolation={self.extrapolation!r})")
