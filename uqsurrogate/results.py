"""What every method's result is built from, and the run options every method shares.

The sensitivity methods (:mod:`uqsurrogate.sensitivity`) and forward propagation
(:mod:`uqsurrogate.uncertainty.propagation`) label their outputs from the model protocol
(:func:`output_labels`), record the same attributes (:func:`base_attrs`), package arrays
the same way (:func:`dataset`) and give the same bias-corrected intervals
(:func:`bias_corrected_interval`).  The options that tell how a method runs rather than
what it computes (:data:`RUN_OPTIONS`: ``seed``, ``resamples``, ``conf_level``,
``chunk_rows``, ``map``, ``progress``) are documented once here and written into each
method's docstring by :func:`run_options`.  :func:`save_results` writes any result (and,
through :func:`uqsurrogate.data.io.save_dataset`, a training dataset) to netCDF-4, atomically.
"""

from __future__ import annotations

import inspect
import logging
import os
import re
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ._atomic import atomic_path
from ._version import __version__
from .conventions import CONVENTIONS
from .errors import InputError
from .problem import Problem

__all__ = ["RUN_OPTIONS", "base_attrs", "bias_corrected_interval", "check_input_names", "dataset", "flag_attrs",
           "index_attrs", "jackknife_interval", "jackknife_variance", "output_labels", "output_units", "run_options",
           "save_results", "squared_units"]

logger = logging.getLogger(__name__)

#: Samples per netCDF chunk in the files that :func:`save_results` (and so ``save_dataset``) writes.
_STORED_CHUNK = 64

#: The run options every method shares, name -> (type, what it does), in signature order.  A method takes each as a
#: keyword argument, with the defaults below (``resamples`` excepted: each method's own).
RUN_OPTIONS = {
    "seed": ("int, numpy.random.Generator or None",
             "Seeds every draw the method makes (its design, then its bootstrap): the same seed gives the same bits."),
    "resamples": ("int", "Bootstrap replicates of the intervals; 0 for none."),
    "conf_level": ("float", "Level of the intervals, in (0, 1)."),
    "chunk_rows": ("int, optional", "Model rows per call of ``f``; by default the method's own choice.  The result "
                   "does not depend on it."),
    "map": ("object with a ``map`` method, optional",
            "Where the chunks run (:func:`uqsurrogate.evaluation.map_chunks`: a ``concurrent.futures`` executor, a "
            "multiprocessing pool); the same bits whatever it is."),
    "progress": ("bool, optional", "A progress bar: None shows one on a terminal, True always, False never."),
}
_MARKER = "{run options}"


def run_options(*names: str, **notes: str) -> Callable:
    """Decorator: write the shared run options into a function's docstring, where it says ``{run options}``.

    Parameters
    ----------
    *names : str
        Which of :data:`RUN_OPTIONS` to write (default: every one the function takes).
    **notes : str
        A sentence to add to an option's text, for this function (``resamples="..."``).

    Returns
    -------
    callable
        The decorator; the function's defaults are read from its signature.
    """
    def decorate(func: Callable) -> Callable:
        params = inspect.signature(func).parameters
        lines = []
        for name in names or [n for n in RUN_OPTIONS if n in params]:
            kind, text = RUN_OPTIONS[name]
            default = params[name].default
            lines.append(f"{name} : {kind}" + ("" if default is None else f", default {default!r}"))
            lines += textwrap.wrap(" ".join([text, notes.get(name, "")]).strip(), 88, initial_indent="    ",
                                   subsequent_indent="    ")
        doc = func.__doc__
        if doc is None or _MARKER not in doc:  # python -OO strips docstrings
            return func
        indent = doc[:doc.index(_MARKER)].rsplit("\n", 1)[1]
        func.__doc__ = doc.replace(_MARKER, ("\n" + indent).join(lines))
        return func

    return decorate


_DEFAULT_OUTPUT = re.compile(r"output(_\d+)?")


def _coord_names(coords: Any) -> set[str]:
    """The names a mapping of coordinates puts in a result: its keys and the dims they lie along."""
    names = set()
    for key, value in dict(coords).items():
        names.add(str(key))
        dims = value[0] if isinstance(value, tuple) and value else getattr(value, "dims", ())
        names.update([dims] if isinstance(dims, str) else [d for d in dims if isinstance(d, str)])
    return names


def _refuse(problem: Problem, method: str, taken: set[str], default_outputs: bool) -> None:
    for name in problem.names:
        if name in taken or (default_outputs and _DEFAULT_OUTPUT.fullmatch(name)):
            listed = sorted(taken | ({"output", "output_0", "output_1", "..."} if default_outputs else set()))
            raise InputError(f"input name {name!r} is also a dim or coordinate of {method}'s result "
                             f"({', '.join(listed)}): the result would be relabelled or could not be built; "
                             "rename the input")


def check_input_names(f: Callable, problem: Problem, method: str, own: tuple[str, ...] = ()) -> None:
    """Refuse input names that are a dim or a coordinate of the method's result, before any work.

    The result's names are the method's own (``own``, with ``input``), and the model's output dims
    and coordinates (:func:`output_labels`); a model that declares no ``output_dims`` gets
    ``output`` or ``output_0``, ``output_1``, ...  An input named like one of them (an ``output``
    input of ``nested``, whose inputs become dims) would relabel the result or break it.

    Raises
    ------
    InputError
        Naming the input, the method and the names that are taken.
    """
    taken = {"input", *own}
    dims = getattr(f, "output_dims", None)
    taken.update(str(d) for d in dims or ())
    coords = getattr(f, "output_coords", {})
    if callable(coords):
        coords = coords(problem.fixed)
    taken |= _coord_names(coords or {})
    _refuse(problem, method, taken, default_outputs=not dims)


def output_labels(f: Callable, problem: Problem, shape: tuple[int, ...]) -> tuple[list[str], dict, dict]:
    """Dims, coords and attrs of one sample's output, from the model protocol.

    A model may carry ``output_dims`` (one name per output axis), ``output_coords`` (a
    mapping of coordinates, or a callable that takes the Problem's fixed inputs and
    returns one: a grid may depend on them) and ``output_attrs`` (CF attributes).  Without
    them the dims are ``output`` or ``output_0``, ``output_1``, ...
    """
    declared = getattr(f, "output_dims", None)
    dims = list(declared or [])
    if declared and len(dims) != len(shape):
        raise InputError(f"the model {_name(f)} declares output_dims {dims} ({len(dims)} axes) but returns outputs "
                         f"of shape {tuple(shape)} per row; its labels do not fit its outputs")
    if len(dims) != len(shape):
        dims = ["output"] if len(shape) == 1 else [f"output_{k}" for k in range(len(shape))]
    coords = getattr(f, "output_coords", {})
    if callable(coords):
        coords = coords(problem.fixed)
    coords = dict(coords or {})
    _check_coords(f, coords, dict(zip(dims, shape)))
    _refuse(problem, "the method", {"input", *dims} | _coord_names(coords), default_outputs=False)
    return dims, coords, dict(getattr(f, "output_attrs", {}))


def _name(f: Callable) -> str:
    return getattr(f, "__name__", None) or type(f).__name__


def _check_coords(f: Callable, coords: dict, sizes: dict[str, int]) -> None:
    """Every output coordinate lies along output dims, with as many values as they have (else one clear error)."""
    for key, value in coords.items():
        if isinstance(value, tuple) and value:
            along, values = value[0], value[1] if len(value) > 1 else None
        else:
            along, values = getattr(value, "dims", (key,)), value
        along = (along,) if isinstance(along, str) else tuple(along)
        unknown = [d for d in along if d not in sizes]
        expected = tuple(sizes.get(d) for d in along)
        got = np.shape(values)
        if unknown or got != expected:
            raise InputError(
                f"the model {_name(f)}'s output coordinate {key!r} lies along {list(along)} with shape {got}; its "
                f"outputs have dims {sizes} per row" + (f" ({', '.join(unknown)} is none of them)" if unknown else ""))


def base_attrs(method: str, problem: Problem, seed: Any, **extra: Any) -> dict:
    attrs = {
        "Conventions": CONVENTIONS,
        "method": method,
        "problem": problem.to_json(),
        "seed": str(seed),
        "uqsurrogate_version": __version__,
    }
    attrs.update({k: (v if isinstance(v, (int, float, str)) else str(v)) for k, v in extra.items()})
    return attrs


def output_units(attrs: dict) -> str:
    """The units of a model's output from its ``output_attrs``: ``"1"`` (dimensionless) where it gives none.

    Examples
    --------
    >>> output_units({"units": "C/m3"}), output_units({})
    ('C/m3', '1')
    """
    return str(attrs.get("units") or "1")


def squared_units(units: str) -> str:
    """The units of a variance of an output in ``units`` (UDUNITS syntax): ``"1"`` stays ``"1"``.

    Examples
    --------
    >>> squared_units("C/m3"), squared_units("1")
    ('(C/m3)2', '1')
    """
    return "1" if units == "1" else f"({units})2"


def flag_attrs(long_name: str, meanings: tuple[str, str]) -> dict:
    """CF attributes of a 0/1 flag variable: ``flag_values`` 0 1 and ``flag_meanings`` (one word each).

    Examples
    --------
    >>> flag_attrs("resolved?", ("unresolved", "resolved"))["flag_meanings"]
    'unresolved resolved'
    """
    return {"long_name": long_name, "flag_values": np.array([0, 1], dtype=np.int8), "flag_meanings": " ".join(meanings)}


def index_attrs(kind: str) -> dict:
    names = {
        "S1": "first-order Sobol index",
        "ST": "total-order Sobol index",
        "S1_conf": "half-width of the confidence interval of S1",
        "ST_conf": "half-width of the confidence interval of ST",
        "S2": "second-order Sobol index",
        "S2_conf": "half-width of the confidence interval of S2",
    }
    return {"units": "1", "long_name": names.get(kind, kind)}


def dataset(
    variables: dict[str, tuple[list[str], np.ndarray, dict]],
    out_coords: dict,
    problem: Problem,
    attrs: dict,
    inputs: list[str] | None = None,
    *,
    constant: np.ndarray | None = None,
    out_dims: list[str] | None = None,
    zero: np.ndarray | None = None,
) -> xr.Dataset:
    """Package arrays into a labelled result (the input dim is named ``input``).

    ``constant`` (the output's shape, along ``out_dims``): the outputs that took one value over
    every sample (:class:`uqsurrogate.evaluation.Varying`).  Their indices are 0/0, undefined:
    every variable named ``S...`` (and ``loo_error``) is NaN there, in every method, where
    round-off would give any number; one logged warning names them and ``attrs["constant_outputs"]``
    counts them.  ``zero`` (the same shape): those that were exactly 0 at every sample, such as
    bins no ion reaches, which a model pins to 0; when every constant output is one of them,
    the note is logged at INFO, not as a warning (they are expected).
    """
    if constant is not None and np.any(constant):
        constant = np.asarray(constant, dtype=bool)
        expected = zero is not None and bool(np.all(np.asarray(zero, dtype=bool)[constant]))
        variables = _undefined_where_constant(variables, constant, list(out_dims or []), out_coords,
                                              attrs.get("method", "the method"), expected)
        attrs = {**attrs, "constant_outputs": int(np.sum(constant))}
    coords = {"input": ("input", inputs or problem.varied, {"long_name": "varied input"})}
    coords.update(out_coords)
    ds = xr.Dataset({k: (dims, np.asarray(v), a) for k, (dims, v, a) in variables.items()}, coords=coords,
                    attrs=attrs)
    return ds


def _undefined_where_constant(variables: dict, constant: np.ndarray, out_dims: list[str], out_coords: dict,
                              method: str, expected: bool = False) -> dict:
    """The indices (``S...``, ``loo_error``) set to NaN at constant outputs; one warning naming the outputs."""
    nd = constant.ndim
    out = dict(variables)
    for name, (dims, values, attrs) in variables.items():
        if not (name.startswith("S") or name == "loo_error"):
            continue
        if list(dims[len(dims) - nd:]) != out_dims:  # an aggregate over the outputs: undefined if none varies
            if "_agg" in name and constant.all():
                out[name] = (dims, np.full(np.shape(values), np.nan), attrs)
            continue
        v = np.array(values, dtype=np.float64)
        if nd:
            v[..., constant] = np.nan
        else:
            v[...] = np.nan
        out[name] = (dims, v, attrs)

    def label(index: tuple[int, ...]) -> str:
        parts = []
        for dim, i in zip(out_dims, index):
            c = out_coords.get(dim)
            values = c[1] if isinstance(c, tuple) and len(c) > 1 and np.ndim(c[1]) == 1 else c
            parts.append(f"{dim} {np.asarray(values)[i] if values is not None and np.ndim(values) == 1 else i}")
        return " ".join(parts) or "the output"

    where = [label(tuple(int(i) for i in idx)) for idx in np.argwhere(constant)[:5]] if nd else ["the output"]
    (logger.info if expected else logger.warning)(
        "%s: %d of %d outputs took one value at every sample (%s%s): their indices are 0/0, undefined, "
        "and reported as NaN", method, int(constant.sum()), constant.size, ", ".join(where),
        ", ..." if constant.sum() > 5 else "")
    return out


def jackknife_interval(estimate: np.ndarray, leave_out: np.ndarray, level: float, *,
                       bias_correct: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Delete-one-group jackknife over R independent, identically distributed groups of samples.

    Parameters
    ----------
    estimate : numpy.ndarray, shape (...)
        The estimate from every group pooled.
    leave_out : numpy.ndarray, shape (R, ...)
        The estimate with group r left out, θ_(r).
    level : float
        Confidence level of the interval, in (0, 1).
    bias_correct : bool, default False
        Return R θ̂ - (R - 1) mean_r θ_(r), which removes a bias of order 1/n (for the square of
        a mean it is exactly the unbiased estimate).

    Returns
    -------
    estimate : numpy.ndarray, shape (...)
    half_width : numpy.ndarray, shape (...)
        t_(R-1) quantile x the jackknife standard error sqrt((R - 1)/R Σ (θ_(r) - θ̄)²).

    Examples
    --------
    The mean of four groups: the jackknife standard error is the usual s / sqrt(R).

    >>> groups = np.array([1.0, 2.0, 4.0, 5.0])
    >>> est, half = jackknife_interval(groups.mean(), (groups.sum() - groups) / 3, 0.95)
    >>> bool(np.isclose(half / 3.182446, groups.std(ddof=1) / 2))
    True
    """
    from scipy.stats import t

    r = leave_out.shape[0]
    if bias_correct:
        estimate = r * estimate - (r - 1) * leave_out.mean(axis=0)
    return estimate, t.ppf(0.5 + level / 2, r - 1) * np.sqrt(jackknife_variance(leave_out))


def jackknife_variance(leave_out: np.ndarray) -> np.ndarray:
    """The delete-one-group jackknife variance (R - 1)/R Σ_r (θ_(r) - θ̄)² of leave-out estimates (R, ...)."""
    r = leave_out.shape[0]
    return (r - 1) / r * ((leave_out - leave_out.mean(axis=0)) ** 2).sum(axis=0)


def bias_corrected_interval(replicates: np.ndarray, estimate: np.ndarray, level: float) -> tuple[np.ndarray, ...]:
    """Bias-corrected percentile interval (Efron 1981) of replicates (R, ...) around estimate (...).

    z0 = Φ⁻¹(share of replicates below the estimate); the bounds are the replicates'
    quantiles at Φ(2 z0 ± z_(1+level)/2).  With z0 = 0 it is the plain percentile interval.
    """
    from scipy.stats import norm

    r = replicates.shape[0]
    below = (replicates < estimate).sum(axis=0) + 0.5 * (replicates == estimate).sum(axis=0)
    z0 = norm.ppf(np.clip(below / r, 0.5 / r, 1 - 0.5 / r))
    zq = norm.ppf(0.5 + level / 2)
    sorted_reps = np.sort(replicates, axis=0)  # NaN (a zero-variance replicate) sorts last
    out = []
    for sign in (-1, 1):
        q = norm.cdf(2 * z0 + sign * zq)
        k = np.clip(np.round(q * (r - 1)).astype(int), 0, r - 1)
        out.append(np.take_along_axis(sorted_reps, k[None], axis=0)[0])
    return out[0], out[1]


def _netcdf_ready(ds: xr.Dataset) -> xr.Dataset:
    """Drop inherited encodings and give float data compression and sample chunks."""
    out = ds.copy(deep=False)
    for var in out.variables.values():
        var.encoding = {}
        if np.issubdtype(var.dtype, np.floating) and var.ndim and "sample" in var.dims and var.size:
            chunks = [min(_STORED_CHUNK, out.sizes[d]) if d == "sample" else out.sizes[d] for d in var.dims]
            var.encoding = {"zlib": True, "complevel": 1, "shuffle": True, "chunksizes": tuple(chunks)}
    return out


def save_results(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write any results Dataset (metrics, sensitivities) to netCDF-4, atomically.

    The file is replaced only once the new one is complete (:func:`uqsurrogate._atomic.atomic_path`);
    float variables along ``sample`` are compressed and chunked by 64 samples.

    Parameters
    ----------
    ds : xarray.Dataset
    path : path-like

    Returns
    -------
    pathlib.Path
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        _netcdf_ready(ds).to_netcdf(tmp, engine="netcdf4", format="NETCDF4")
    logger.info("wrote %s (%s)", path, ", ".join(f"{d} {n}" for d, n in ds.sizes.items()) or "scalars")
    return path
