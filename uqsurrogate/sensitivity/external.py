"""Sample, evaluate elsewhere, analyse: the sensitivity methods on outputs computed outside Python.

SALib's split, for models that are not a Python callable (LAMMPS runs on a cluster, another
code): :func:`sample` writes the design, the user runs it anywhere and brings the outputs
back keyed by row, and :func:`analyze` computes the method's indices from them.

One rule makes the two paths agree: the design is *recorded* from the method itself.
:func:`sample` runs the method (any of :data:`~.registry.REGISTRY`) with a stand-in model that keeps the
rows it is asked for; :func:`analyze` runs the same method, with the same settings, on a
stand-in that hands back the user's outputs for exactly those rows, checking each chunk of
inputs against the stored design.  The analysis therefore equals the callable path on the
same design (the same chunks reach the same reducers), and a design that the method would
not make again (other settings, another SALib) is refused with the first row that differs.

The design is a Dataset with one variable per input over a ``row`` dim; its attributes
hold the method, the Problem (JSON), the settings that shape the design, a SHA-256 of the
inputs, and the versions that made it.  :func:`save_design` writes it as netCDF or as a
plain table (``.csv``/``.txt``/``.tsv``: a ``#`` header line with the attributes, then
``row`` and the inputs, every number written exactly).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .._atomic import atomic_path
from .._memory import refuse_beyond_memory
from .._random import fresh_seed
from .._version import __version__
from ..conventions import CONVENTIONS
from ..errors import InputError, InputTypeError
from ..problem import Problem
from ..results import save_results
from .registry import REGISTRY, get

__all__ = ["DESIGN_SETTINGS",  # noqa: F822 (a module __getattr__ derives it from the registry)
           "analyze", "load_design", "load_outputs", "nested_analyze", "nested_sample", "pce_analyze",
           "pce_sample", "sample", "save_design", "sobol_analyze", "sobol_sample"]

_TABLE = (".csv", ".txt", ".tsv", ".dat")


def __getattr__(name: str) -> Any:
    if name == "DESIGN_SETTINGS":  # the settings that shape each method's design, now in its MethodSpec
        return {method: dict(spec.design_settings) for method, spec in REGISTRY.items()}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_HEADER = "# uqsurrogate-design "


class _Recorder:
    """A stand-in model that keeps the rows it is asked for and returns the varied inputs' sum."""

    def __init__(self, problem: Problem):
        self.cols = [problem.names.index(n) for n in problem.varied]
        self.parts: list[np.ndarray] = []

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        self.parts.append(x.copy())
        return x[:, self.cols].sum(axis=1, keepdims=True)


class _Replay:
    """A stand-in model that returns the user's outputs for the design's rows, in order.

    Each call must ask for the next rows of the design, exactly; the outputs' dims, coords
    and attrs label the result (the model protocol of :mod:`uqsurrogate.sensitivity`).
    """

    def __init__(self, X: np.ndarray, Y: xr.DataArray):
        self.X, self.values, self.cursor = X, Y.values, 0
        self.output_dims = [d for d in Y.dims if d != "row"]
        self.output_coords = {k: (c.dims, c.values, c.attrs) for k, c in Y.coords.items() if "row" not in c.dims}
        self.output_attrs = dict(Y.attrs)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        a, b = self.cursor, self.cursor + len(x)
        if b > len(self.X) or not np.array_equal(x, self.X[a:b]):
            raise InputError(f"the method asks for rows {a} to {b - 1} other than the design's: the design was made "
                             "with other settings or another version; sample it again")
        self.cursor = b
        return self.values[a:b]


def _digest(X: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(X, dtype="<f8").tobytes()).hexdigest()


def _settings(method: str, given: Mapping[str, Any]) -> dict:
    defaults = get(method).design_settings
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise InputError(f"{method} designs take {', '.join(defaults)}; not {', '.join(unknown)} "
                         "(analysis options go to analyze)")
    return {**defaults, **given}


def _record(method: str, problem: Problem, settings: dict, seed: int) -> np.ndarray:
    rec = _Recorder(problem)
    spec = get(method)
    spec.function(rec, problem, **settings, **spec.record_options, seed=seed, progress=False)
    return np.concatenate(rec.parts)


def _design_rows(method: str, problem: Problem, settings: Mapping[str, Any]) -> int | None:
    """The rows the method's design will have, where its spec says (None: unknown, or settings it will refuse)."""
    count = get(method).design_rows
    if count is None:
        return None
    try:
        return int(count(len(problem.varied), settings))
    except (TypeError, ValueError, KeyError):  # settings of the wrong type: the method refuses them, naming them
        return None


def sample(method: str, problem: Problem, *, seed: int | None = None, **settings: Any) -> xr.Dataset:
    """The design of ``method`` for ``problem``: every input row the method will evaluate.

    Parameters
    ----------
    method : str
        A registered method (:data:`~.registry.REGISTRY`: "nested", "sobol", "pce", ...).
    problem : Problem
    seed : int, optional
        >= 0; None draws one (recorded in the design).
    **settings
        What shapes the design (the method's ``MethodSpec.design_settings``, with their
        defaults): sobol ``n``, ``second_order``, ``ci`` ("rqmc" makes ``replicates``
        scrambles), ``replicates``; nested ``n_outer``, ``n_inner``; pce ``n``.

    Returns
    -------
    xarray.Dataset
        One variable per input (row,), with units; ``row`` coordinate 0 ... rows-1.

    Examples
    --------
    >>> from uqsurrogate.problem import Problem, Uniform
    >>> d = sample("sobol", Problem({"a": Uniform(0, 1), "b": Uniform(0, 1), "k": 2.0}), n=8, seed=1)
    >>> d.sizes["row"], list(d.data_vars), d.attrs["method"]
    (32, ['a', 'b', 'k'], 'sobol')
    """
    if not isinstance(problem, Problem):
        raise InputTypeError(f"problem: a Problem, not {type(problem).__name__}")
    if "row" in problem.names:
        raise InputError("input name 'row' is also the dim and coordinate of the design's rows (row); rename the "
                         "input")
    settings = _settings(method, settings)
    if seed is None:
        seed = fresh_seed()
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise InputError(f"seed = {seed!r}: a design needs an integer seed >= 0, to be made again")
    rows = _design_rows(method, problem, settings)
    if rows is not None:
        refuse_beyond_memory(16.0 * rows * len(problem.names), f"the {method} design's {rows} rows of "
                             f"{len(problem.names)} inputs ({', '.join(f'{k} = {v}' for k, v in settings.items())})",
                             "make it smaller")
    X = _record(method, problem, settings, int(seed))
    import SALib
    import scipy

    attrs = {
        "Conventions": CONVENTIONS,
        "title": f"design of experiments for uqsurrogate's {method} method",
        "method": method,
        "problem": problem.to_json(),
        "settings": json.dumps(settings),
        "seed": int(seed),
        "design_sha256": _digest(X),
        "uqsurrogate_version": __version__,
        "made_with": f"SALib {getattr(SALib, '__version__', '?')}, scipy {scipy.__version__}, numpy {np.__version__}",
        "comment": "run every row, then give the outputs keyed by row to uqsurrogate analyze",
    }
    data = {n: ("row", X[:, k], {"units": problem.units[n] or "1", "long_name": f"input {n}"})
            for k, n in enumerate(problem.names)}
    return xr.Dataset(data, coords={"row": ("row", np.arange(len(X)), {"units": "1", "long_name": "design row"})},
                      attrs=attrs)


def save_design(design: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write a design atomically: netCDF, or a plain table for ``.csv``, ``.txt``, ``.tsv``, ``.dat``.

    Returns
    -------
    pathlib.Path
    """
    path = Path(path)
    if path.suffix.lower() not in _TABLE:
        return save_results(design, path)
    names = json.loads(design.attrs["problem"])["inputs"]
    sep = "\t" if path.suffix.lower() == ".tsv" else ("," if path.suffix.lower() == ".csv" else " ")
    rows = design["row"].values
    X = np.stack([design[n].values for n in names], axis=1)
    with atomic_path(path) as tmp, open(tmp, "w") as fh:
        fh.write(_HEADER + json.dumps({k: (int(v) if isinstance(v, np.integer) else v)
                                       for k, v in design.attrs.items()}) + "\n")
        fh.write(sep.join(["row", *names]) + "\n")
        fh.writelines(sep.join([str(int(r)), *(repr(float(v)) for v in x)]) + "\n"  # repr: exact round trip
                      for r, x in zip(rows, X))
    return path


def _fields(line: str) -> list[str]:
    """A table line's fields, split at commas or white space, without the quotes R's ``write.csv`` puts around text."""
    return [f[1:-1] if len(f) >= 2 and f[0] == f[-1] == '"' else f for f in line.replace(",", " ").split()]


def _read_table(path: Path) -> tuple[dict | None, list[str], np.ndarray]:
    """(header attrs or None, column names, values) of a table with a header row; comments start with #."""
    attrs, header, lines = None, None, []
    try:
        with open(path, encoding="utf-8-sig") as fh:  # a byte-order mark is not part of the first name
            for line in fh:
                if line.startswith(_HEADER):
                    try:
                        attrs = json.loads(line[len(_HEADER):])
                    except json.JSONDecodeError as err:
                        raise InputError(f"{path}: its '{_HEADER.strip()}' line is not JSON ({err}); the header was "
                                         "edited or cut: make the design again with sample") from None
                elif line.startswith("#") or not line.strip():
                    continue
                elif header is None:
                    header = _fields(line)
                else:
                    lines.append(_fields(line))
    except UnicodeDecodeError as err:
        raise InputError(f"{path}: not UTF-8 text (byte {err.object[err.start:err.start + 1]!r} at offset "
                         f"{err.start}); a table is plain text: a header row, then one row of numbers per line") \
            from None
    if header is None:
        raise InputError(f"{path}: no header row (expected 'row' and column names)")
    bad = [i for i, ln in enumerate(lines) if len(ln) != len(header)]
    if bad:
        raise InputError(f"{path}: data line {bad[0] + 1} has {len(lines[bad[0]])} fields; the header has "
                         f"{len(header)}")
    try:
        values = np.array(lines, dtype=float).reshape(len(lines), len(header))
    except ValueError as err:
        raise InputError(f"{path}: not numbers ({err})") from None
    return attrs, header, values


def _row_label(value: Any) -> int | None:
    """One row label as an int if it is a whole number (a number, or text that spells one); else None."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, (float, np.floating)) and np.isfinite(value) and float(value).is_integer() \
            and abs(value) < 2**62:
        return int(value)
    return None


def _row_labels(labels: Any, what: str) -> np.ndarray:
    """Row labels converted exactly to int64: "10" is row 10, 2.0 row 2; 2.5, "x3" or NaN are refused, naming one.

    Text labels are never compared as text ("10" sorts before "2"), and fractions are never truncated.
    """
    arr = np.asarray(labels)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64).reshape(-1)
    flat = arr.reshape(-1)
    if arr.dtype.kind == "f":
        good = np.isfinite(flat) & (np.abs(flat) < 2**62)
        good[good] = flat[good] == np.round(flat[good])
        bad = np.flatnonzero(~good)
        out = None if bad.size else flat.astype(np.int64)
    else:
        converted = [_row_label(v) for v in flat.tolist()]
        bad = np.array([k for k, v in enumerate(converted) if v is None], dtype=int)
        out = None if bad.size else np.array(converted, dtype=np.int64)
    if out is None:
        k = int(bad[0])
        label = flat[k].item() if isinstance(flat[k], np.generic) else flat[k]
        raise InputError(f"{what}: row label {label!r} (position {k}) is not a whole number ({bad.size} such "
                         "label(s)); rows must be labelled by the design's integer row numbers 0, 1, 2, ...")
    return out


def load_design(path: str | os.PathLike) -> xr.Dataset:
    """Read a design written by :func:`save_design`, checking its digest."""
    path = Path(path)
    if path.suffix.lower() in _TABLE:
        attrs, header, values = _read_table(path)
        if attrs is None:
            raise InputError(f"{path}: not a uqsurrogate design (no '{_HEADER.strip()}' line)")
        _check_header(attrs, path)
        if header[0] != "row":
            raise InputError(f"{path}: the first column is {header[0]!r}, not 'row'")
        units = json.loads(attrs["problem"]).get("units", {})
        design = xr.Dataset({n: ("row", values[:, k + 1], {"units": units.get(n, "")})
                             for k, n in enumerate(header[1:])},
                            coords={"row": ("row", _row_labels(values[:, 0], f"{path}: column 'row'"))}, attrs=attrs)
    else:
        with xr.open_dataset(path) as f:
            design = f.load()
    _check_header(design.attrs, path)
    return design


def _check_header(attrs: Mapping[str, Any], path: Path) -> None:
    """The design's own attributes are those :func:`sample` writes: each present and of its type.

    The digest covers the inputs only; an edited header must end in one clear error, not a traceback
    or a silently different replay (a seed of 1.5 was truncated to 1).
    """
    if not isinstance(attrs, Mapping):
        raise InputError(f"{path}: the '{_HEADER.strip()}' line holds a JSON {type(attrs).__name__}, not an object "
                         "of the design's attributes")
    for key in ("method", "problem", "settings", "seed", "design_sha256"):
        if key not in attrs:
            raise InputError(f"{path}: not a uqsurrogate design (no {key!r} attribute)")
    for key in ("method", "problem", "settings", "design_sha256"):
        if not isinstance(attrs[key], str):
            raise InputError(f"{path}: the design's {key!r} is {attrs[key]!r}; sample writes text there (the "
                             "header was edited)")
    if attrs["method"] not in REGISTRY:
        raise InputError(f"{path}: the design's method is {attrs['method']!r}; allowed: {', '.join(REGISTRY)} (the "
                         "header was edited)")
    seed = attrs["seed"]
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"{path}: the design's seed is {seed!r}; sample writes an integer >= 0 (the header was "
                         "edited)")
    try:
        settings = json.loads(attrs["settings"])
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: the design's 'settings' is not JSON ({err}); the header was edited") from None
    if not isinstance(settings, dict):
        raise InputError(f"{path}: the design's 'settings' is a JSON {type(settings).__name__}, not an object of "
                         "the method's settings (the header was edited)")
    try:
        Problem.from_json(attrs["problem"])
    except InputError as err:
        raise InputError(f"{path}: the design's 'problem': {err}") from None


def _design_matrix(design: xr.Dataset) -> tuple[Problem, np.ndarray]:
    problem = Problem.from_json(design.attrs["problem"])
    missing = [n for n in problem.names if n not in design]
    if missing:
        raise InputError(f"the design has no column for the inputs {missing}")
    if not np.array_equal(design["row"].values, np.arange(design.sizes["row"])):
        raise InputError("the design's rows must be 0 ... rows-1 in order; it was reordered or cut")
    X = np.stack([np.asarray(design[n].values, dtype=np.float64) for n in problem.names], axis=1)
    if _digest(X) != design.attrs["design_sha256"]:
        raise InputError("the design's inputs differ from those it was made with (its SHA-256 does not match): "
                         "it was edited or rounded; sample it again")
    return problem, X


def load_outputs(path: str | os.PathLike, variable: str | None = None) -> xr.DataArray:
    """Outputs keyed by row: a netCDF variable with a ``row`` dim, or a table with a ``row`` column.

    A table's other columns are the outputs: one column is a scalar output (named by its
    header), several an ``output`` dim labelled by the header.
    """
    path = Path(path)
    if path.suffix.lower() in _TABLE:
        _, header, values = _read_table(path)
        if "row" not in header:
            raise InputError(f"{path}: no 'row' column; its columns are {header}")
        k = header.index("row")
        names = [h for i, h in enumerate(header) if i != k]
        y = np.delete(values, k, axis=1)
        rows = _row_labels(values[:, k], f"{path}: column 'row'")
        if len(names) == 1:
            return xr.DataArray(y[:, 0], dims="row", coords={"row": rows}, name=names[0])
        return xr.DataArray(y, dims=("row", "output"), coords={"row": rows, "output": names})
    with xr.open_dataset(path) as f:
        ds = f.load()
    candidates = [v for v in ds.data_vars if "row" in ds[v].dims]
    if variable is None:
        if len(candidates) != 1:
            raise InputError(f"{path}: {len(candidates)} variables have a 'row' dim ({candidates}); name one "
                             "with variable=")
        variable = candidates[0]
    if variable not in candidates:
        raise InputError(f"{path}: no variable {variable!r} with a 'row' dim; candidates: {candidates}")
    out = ds[variable]
    if "row" in out.coords and out["row"].dims == ("row",):
        out = out.assign_coords(row=_row_labels(out["row"].values, f"{path}: {variable}"))
    return out


def _aligned(Y: Any, rows: int) -> xr.DataArray:
    """The outputs as a DataArray over row 0 ... rows-1, whatever order they came in."""
    if isinstance(Y, (str, os.PathLike)):
        Y = load_outputs(Y)
    if isinstance(Y, xr.Dataset):
        names = [v for v in Y.data_vars if "row" in Y[v].dims]
        if len(names) != 1:
            raise InputError(f"Y: {len(names)} variables have a 'row' dim ({names}); pass the DataArray")
        Y = Y[names[0]]
    if not isinstance(Y, xr.DataArray):
        arr = np.asarray(Y, dtype=np.float64)
        if arr.ndim == 0 or arr.shape[0] != rows:
            raise InputError(f"Y has shape {arr.shape}; an array must have the design's {rows} rows first, in "
                             "order (or pass a DataArray with a 'row' coordinate, in any order)")
        dims = ["row"] + (["output"] if arr.ndim == 2 else [f"output_{k}" for k in range(arr.ndim - 1)])
        Y = xr.DataArray(arr, dims=dims, coords={"row": np.arange(rows)})
    if "row" not in Y.dims:
        raise InputError(f"Y has dims {Y.dims}; the outputs need a 'row' dim")
    Y = Y.transpose("row", ...)
    got = _row_labels(Y["row"].values, "Y") if "row" in Y.coords else np.arange(Y.sizes["row"])
    uniq, counts = np.unique(got, return_counts=True)
    if np.any(counts > 1):
        raise InputError(f"Y gives rows {uniq[counts > 1][:5].tolist()} more than once")
    missing = np.setdiff1d(np.arange(rows), uniq)
    extra = np.setdiff1d(uniq, np.arange(rows))
    if missing.size or extra.size:
        raise InputError(
            f"Y does not match the design's {rows} rows: "
            + (f"{missing.size} missing (first {missing[:5].tolist()})" if missing.size else "")
            + ("; " if missing.size and extra.size else "")
            + (f"{extra.size} not in the design (first {extra[:5].tolist()})" if extra.size else ""))
    Y = Y.assign_coords(row=got).sortby("row")
    bad = ~np.isfinite(np.asarray(Y.values, dtype=np.float64))
    if bad.any():
        rows_bad = np.unique(np.nonzero(bad.reshape(rows, -1))[0])
        raise InputError(f"Y has NaN or infinite outputs in {rows_bad.size} rows (first {rows_bad[:5].tolist()}); "
                         "rerun them or drop the analysis")
    return Y


def analyze(design: xr.Dataset | str | os.PathLike, Y: Any, problem: Problem | None = None,
            **options: Any) -> xr.Dataset:
    """The method's indices from outputs computed elsewhere on ``design``.

    Parameters
    ----------
    design : xarray.Dataset or path-like
        From :func:`sample` (or :func:`load_design`).
    Y : array, xarray.DataArray or Dataset, or path-like
        The outputs: an array (rows, ...) in the design's row order, or labelled by a
        ``row`` coordinate in any order (a file: :func:`load_outputs`).  Every row exactly
        once, all finite.
    problem : Problem, optional
        Checked against the design's, if given.
    **options
        The method's analysis options (sobol ``estimator``, ``resamples``, ``conf_level``;
        nested ``resamples``, ``conf_level``, ``surfaces``; pce ``order``, ``resamples``,
        ``conf_level``).

    Returns
    -------
    xarray.Dataset
        As the method returns for a callable; ``attrs["design_sha256"]`` names the design.
    """
    if not isinstance(design, xr.Dataset):
        design = load_design(design)
    method = design.attrs["method"]
    stored, X = _design_matrix(design)
    if problem is not None and problem.to_json() != stored.to_json():
        differ = [n for n in sorted(set(problem.names) | set(stored.names))
                  if problem.dists.get(n) != stored.dists.get(n)]
        raise InputError(f"the problem differs from the design's in {differ or 'the input order'}: design "
                         f"{stored!r}")
    settings = _settings(method, json.loads(design.attrs["settings"]))
    clash = sorted(set(options) & (set(settings) | {"seed", "map", "progress"}))
    if clash:
        raise InputError(f"{clash} are fixed by the design; analysis options only")
    Y = _aligned(Y, len(X))
    replay = _Replay(X, Y)
    result = get(method).function(replay, stored, **settings, **options, seed=int(design.attrs["seed"]),
                              progress=False)
    if replay.cursor != len(X):
        raise InputError(f"the method used {replay.cursor} of the design's {len(X)} rows: the design was made with "
                         "other settings")
    result.attrs["design_sha256"] = design.attrs["design_sha256"]
    return result


def _check_method(design: Any, method: str) -> xr.Dataset:
    design = design if isinstance(design, xr.Dataset) else load_design(design)
    if design.attrs.get("method") != method:
        raise InputError(f"the design is for {design.attrs.get('method')!r}, not {method!r}: use "
                         f"{design.attrs.get('method')}_analyze or analyze")
    return design


def _sampler(method: str) -> Callable:
    """``METHOD_sample(problem, *settings, seed=None, **settings)``: :func:`sample` for one method."""
    def method_sample(problem: Problem, *args: Any, seed: int | None = None, **settings: Any) -> xr.Dataset:
        names = list(get(method).design_settings)
        if len(args) > len(names):
            raise InputTypeError(f"{method}_sample takes at most {len(names)} settings by position ({names})")
        return sample(method, problem, seed=seed, **dict(zip(names, args)), **settings)

    method_sample.__name__ = method_sample.__qualname__ = f"{method}_sample"
    method_sample.__doc__ = f"The design of :func:`~uqsurrogate.sensitivity.{method}` (see :func:`sample`)."
    return method_sample


def _analyzer(method: str) -> Callable:
    """``METHOD_analyze(problem, design, Y, **options)``: :func:`analyze` for one method's designs."""
    def method_analyze(problem: Problem | None, design: Any, Y: Any, **options: Any) -> xr.Dataset:
        return analyze(_check_method(design, method), Y, problem, **options)

    method_analyze.__name__ = method_analyze.__qualname__ = f"{method}_analyze"
    method_analyze.__doc__ = (f"The indices of :func:`~uqsurrogate.sensitivity.{method}` from outputs computed "
                              f"elsewhere on a :func:`{method}_sample` design (see :func:`analyze`).")
    return method_analyze


sobol_sample, sobol_analyze = _sampler("sobol"), _analyzer("sobol")
nested_sample, nested_analyze = _sampler("nested"), _analyzer("nested")
pce_sample, pce_analyze = _sampler("pce"), _analyzer("pce")
