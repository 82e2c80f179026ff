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
from typing import Any

from .errors import InputError, InputTypeError

__all__ = ["check_choice", "check_float", "check_int", "check_power_of_two"]


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
