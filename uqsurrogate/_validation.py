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
import warnings
from typing import Any

import numpy as np

from .errors import InputError, InputTypeError
from .warnings import ExtrapolationWarning

__all__ = ["check_choice", "check_float", "check_int", "check_model_inputs", "check_power_of_two"]


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
    if low.any() or high.any():
        row, col = np.argwhere(low | high)[0]
        msg = (f"{names[col]} = {arr[row, col]:g} {units[col]} (row {row}) is outside the "
               f"training range [{train_min[col]:g}, {train_max[col]:g}]; "
               f"{int((low | high).any(axis=1).sum())} row(s) are outside")
        if extrapolation == "raise":
            raise InputError(msg + "; pass extrapolation='warn' or 'clip' (command line: --extrapolation warn "
                             "or clip) to allow it")
        if extrapolation == "warn":
            warnings.warn(msg, ExtrapolationWarning, stacklevel=4)
        else:
            arr = np.clip(arr, train_min, train_max)
    return arr
