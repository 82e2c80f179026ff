"""Randomness is normalised here, and only here."""

from __future__ import annotations

import numbers

import numpy as np

from .errors import InputError, InputTypeError

__all__ = ["as_generator"]


def as_generator(seed: int | np.random.Generator | None) -> np.random.Generator:
    """Return a :class:`numpy.random.Generator` for ``seed``.

    Parameters
    ----------
    seed : int, numpy.random.Generator or None
        An integer seed (``0`` is a seed like any other), an existing generator (returned
        as is, so that callers can share a stream), or ``None`` for fresh OS entropy.

    Returns
    -------
    numpy.random.Generator
    """
    if seed is None or isinstance(seed, np.random.Generator):
        return np.random.default_rng(seed)
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        if seed < 0:
            raise InputError(f"seed = {seed} is negative; use an integer >= 0, a Generator or None")
        return np.random.default_rng(int(seed))
    raise InputTypeError(
        f"seed = {seed!r} of type {type(seed).__name__} is not allowed; "
        "use an integer >= 0, a numpy.random.Generator or None"
    )
