"""Scalar argument checks, in one place (modelled on scikit-learn's ``check_scalar``).

scikit-learn's own helper would do, but importing ``sklearn.utils`` costs about 2 s,
which every command and every estimator call would pay; this module imports nothing
heavy.  The messages name the argument, the value and what is allowed, and the errors
are the package's own (:class:`~uqsurrogate.errors.InputError`), so that the command
line reports them as one line.
"""

from __future__ import annotations

import math
import numbers
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import InputError, InputTypeError
from .warnings import ExtrapolationWarning

__all__ = ["ExtrapolationReport", "check_choice", "check_float", "check_int", "check_model_inputs",
           "check_power_of_two", "collect_extrapolation", "merge_reports", "warn_extrapolation"]


def _range(low: float | None, high: float | None, closed: str) -> str:
    left = "[" if closed in ("both", "left") else "("
    right = "]" if closed in ("both", "right") else ")"
    if high is None:
        return f">= {low}" if left == "[" else f"> {low}"
    if low is None:
        return f"<= {high}" if right == "]" else f"< {high}"
    return f"in {left}{low}, {high}{right}"


def check_int(value: Any, name: str, min_value: int | None = None, max_value: int | None = None) -> int:
    """``value`` as an int, if it is an integer (an int, a NumPy integer, or a float equal to one) in range.

    Parameters
    ----------
    value : object
    name : str
        The argument's name, as the user wrote it (an option such as ``--samples`` or a
        keyword such as ``n_outer``).
    min_value, max_value : int, optional
        Inclusive bounds.

    Returns
    -------
    int

    Raises
    ------
    InputTypeError
        If ``value`` is not a number (None, a string, a bool).
    InputError
        If it is not a whole number, or out of range.

    Examples
    --------
    >>> check_int(4.0, "n", min_value=1)
    4
    >>> check_int(0, "n", min_value=1)
    Traceback (most recent call last):
    ...
    uqsurrogate.errors.InputError: n = 0; it must be an integer >= 1
    """
    allowed = "an integer" + ("" if min_value is None and max_value is None
                              else " " + _range(min_value, max_value, "both"))
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputTypeError(f"{name} = {value!r} of type {type(value).__name__}; it must be {allowed}")
    if isinstance(value, numbers.Integral):
        out = int(value)
    else:
        if not float(value).is_integer():
            raise InputError(f"{name} = {value!r}; it must be {allowed}")
        out = int(value)
    if (min_value is not None and out < min_value) or (max_value is not None and out > max_value):
        raise InputError(f"{name} = {value!r}; it must be {allowed}")
    return out


def check_float(value: Any, name: str, low: float | None = None, high: float | None = None,
                closed: str = "both") -> float:
    """``value`` as a finite float in range.

    Parameters
    ----------
    value : object
    name : str
    low, high : float, optional
    closed : {"both", "left", "right", "neither"}, default "both"
        Which bounds are allowed values.

    Returns
    -------
    float

    Examples
    --------
    >>> check_float(0.9, "conf_level", 0, 1, closed="neither")
    0.9
    >>> check_float(1.0, "conf_level", 0, 1, closed="neither")
    Traceback (most recent call last):
    ...
    uqsurrogate.errors.InputError: conf_level = 1.0; it must be a number in (0, 1)
    """
    allowed = "a number" + ("" if low is None and high is None else " " + _range(low, high, closed))
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputTypeError(f"{name} = {value!r} of type {type(value).__name__}; it must be {allowed}")
    out = float(value)
    bad = not math.isfinite(out)
    if low is not None:
        bad |= out < low if closed in ("both", "left") else out <= low
    if high is not None:
        bad |= out > high if closed in ("both", "right") else out >= high
    if bad:
        raise InputError(f"{name} = {value!r}; it must be {allowed}")
    return out


def check_choice(value: Any, name: str, choices: Any) -> Any:
    """``value`` if it is one of ``choices``; otherwise an error listing them."""
    if value not in tuple(choices):
        raise InputError(f"{name} = {value!r}; allowed: {', '.join(map(str, choices))}")
    return value


def check_power_of_two(value: Any, name: str, min_value: int = 2) -> int:
    """``value`` as an int if it is a power of 2 (scrambled Sobol' points are balanced only there).

    Examples
    --------
    >>> check_power_of_two(100, "n")
    Traceback (most recent call last):
    ...
    uqsurrogate.errors.InputError: n = 100 is not a power of 2; scrambled Sobol' points are balanced only at powers of 2 (try n = 128)
    """
    out = check_int(value, name, min_value=min_value)
    if out & (out - 1):
        good = 2 ** max(1, round(math.log2(out)))
        raise InputError(f"{name} = {value!r} is not a power of 2; scrambled Sobol' points are balanced only at "
                         f"powers of 2 (try {name} = {good})")
    return out


def check_model_inputs(X: Any, names: list[str], units: list[str], train_min: np.ndarray, train_max: np.ndarray,
                       extrapolation: str) -> np.ndarray:
    """A model's inputs checked (type, shape, finite) under an extrapolation policy.

    Parameters
    ----------
    X : array_like, shape (n, n_inputs)
    names, units : list of str
        Of the inputs (for the messages).
    train_min, train_max : numpy.ndarray, shape (n_inputs,)
        The training ranges.
    extrapolation : {"raise", "warn", "clip"}
        Inputs outside the ranges: refuse, warn (:class:`~uqsurrogate.warnings.ExtrapolationWarning`)
        or clip to them.

    Returns
    -------
    numpy.ndarray, shape (n, n_inputs), float64
    """
    arr = np.asarray(X)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise InputTypeError(f"X has dtype {arr.dtype}; expected numbers (float), shape (n, {len(names)})")
    if arr.ndim != 2 or arr.shape[1] != len(names):
        raise InputError(
            f"X has shape {arr.shape}; expected (n, {len(names)}) with columns {names}"
        )
    arr = arr.astype(np.float64, copy=False)
    bad = ~np.isfinite(arr)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise InputError(f"X has {int(bad.sum())} NaN or inf value(s); first: {names[col]} "
                         f"= {arr[row, col]} in row {row}")
    tol = 1e-9 * np.maximum(train_max - train_min, 1e-12)
    low, high = arr < train_min - tol, arr > train_max + tol
    collector = getattr(_COLLECTOR, "reports", None)
    if extrapolation == "warn" and collector is not None:  # a chunk of a run: the run warns once, at its end
        collector.append(ExtrapolationReport.of(arr, names, units, train_min, train_max))
    elif low.any() or high.any():
        if extrapolation == "raise":
            row, col = np.argwhere(low | high)[0]
            raise InputError(
                f"{names[col]} = {arr[row, col]:g} {units[col]} (row {row}) is outside the training range "
                f"[{train_min[col]:g}, {train_max[col]:g}]; {int((low | high).any(axis=1).sum())} row(s) are "
                "outside; pass extrapolation='warn' or 'clip' (command line: --extrapolation warn or clip) to allow it")
        if extrapolation == "warn":
            warn_extrapolation([ExtrapolationReport.of(arr, names, units, train_min, train_max)], stacklevel=4)
        else:
            arr = np.clip(arr, train_min, train_max)
    return arr


@dataclass
class ExtrapolationReport:
    """What one call of a model saw of each input: its distinct values, and the training ranges.

    Reports of a run's chunks merge (:meth:`merge`) into the run's; the message counts the
    distinct values of each input beyond its range, out of all its distinct values.
    """

    names: list[str]
    units: list[str]
    train_min: np.ndarray
    train_max: np.ndarray
    values: list[np.ndarray]  # the sorted distinct values of each input

    @classmethod
    def of(cls, X: np.ndarray, names: Sequence[str], units: Sequence[str], train_min: np.ndarray,
           train_max: np.ndarray) -> ExtrapolationReport:
        """The report of inputs X (n, n_inputs)."""
        return cls(list(names), list(units), np.asarray(train_min, float), np.asarray(train_max, float),
                   [np.unique(X[:, j]) for j in range(X.shape[1])])

    @classmethod
    def merge(cls, reports: Sequence[ExtrapolationReport]) -> ExtrapolationReport:
        """One report of several calls of the same model."""
        first = reports[0]
        values = [np.unique(np.concatenate([r.values[j] for r in reports])) for j in range(len(first.names))]
        return cls(first.names, first.units, first.train_min, first.train_max, values)

    def outside(self) -> list[tuple[str, int, int, str]]:
        """Per input with values beyond its range: (name, distinct values beyond, distinct values, text)."""
        found = []
        tol = 1e-9 * np.maximum(self.train_max - self.train_min, 1e-12)
        for j, (name, unit) in enumerate(zip(self.names, self.units)):
            v = self.values[j]
            low, high = v[v < self.train_min[j] - tol[j]], v[v > self.train_max[j] + tol[j]]
            if low.size or high.size:
                reach = " and ".join(x for x in (f"down to {low.min():.4g}" if low.size else "",
                                                 f"up to {high.max():.4g}" if high.size else "") if x)
                n_out = low.size + high.size
                text = (f"{name}: {n_out:,} of {v.size:,} distinct values ({100 * n_out / v.size:.1f} %) "
                        f"beyond [{self.train_min[j]:g}, {self.train_max[j]:g}] {unit}, {reach}")
                found.append((name, n_out, v.size, text))
        return found

    def message(self) -> str:
        """The warning's text; empty when no input left its range."""
        found = self.outside()
        if not found:
            return ""
        return ("inputs outside the training range, evaluated anyway (extrapolation='warn'): "
                + "; ".join(text for *_, text in found))


_COLLECTOR = threading.local()


@contextmanager
def collect_extrapolation() -> Iterator[list[ExtrapolationReport]]:
    """Within it, in this thread, :func:`check_model_inputs` under ``"warn"`` reports instead of warning.

    Yields the list the reports of every call go to; the evaluation path sends them from its
    chunks (whichever worker ran them) to :func:`warn_extrapolation` once per run.
    """
    before = getattr(_COLLECTOR, "reports", None)
    _COLLECTOR.reports = []
    try:
        yield _COLLECTOR.reports
    finally:
        _COLLECTOR.reports = before


def merge_reports(reports: Sequence[ExtrapolationReport]) -> list[ExtrapolationReport]:
    """One report per model (input names and ranges) of these: the distinct values of each input, merged.

    Parameters
    ----------
    reports : sequence of ExtrapolationReport

    Returns
    -------
    list of ExtrapolationReport
    """
    groups: dict[tuple, list[ExtrapolationReport]] = {}
    for r in reports:
        key = (tuple(r.names), tuple(r.train_min.tolist()), tuple(r.train_max.tolist()))
        groups.setdefault(key, []).append(r)
    return [ExtrapolationReport.merge(group) for group in groups.values()]


def warn_extrapolation(reports: Sequence[ExtrapolationReport], stacklevel: int = 2) -> None:
    """One :class:`~uqsurrogate.warnings.ExtrapolationWarning` for these reports (a run's chunks), if any input left its range.

    Parameters
    ----------
    reports : sequence of ExtrapolationReport
    stacklevel : int, default 2
        As :func:`warnings.warn`'s, counted from the caller of this function.

    Notes
    -----
    Reports of different models (other input names or ranges) are counted apart.  Within
    :func:`collect_extrapolation` (a run of several passes, such as ``sensitivity --members``
    and its resolution check), they go to its list instead: the enclosing run warns once.
    """
    outer = getattr(_COLLECTOR, "reports", None)
    if outer is not None:
        outer.extend(reports)
        return
    for report in merge_reports(reports):
        message = report.message()
        if message:
            warnings.warn(message, ExtrapolationWarning, stacklevel=stacklevel + 1)
