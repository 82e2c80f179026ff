"""Randomness is normalised here, and only here."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from .errors import InputError, InputTypeError

__all__ = ["as_generator", "counter_generator", "fresh_seed", "keyed_generator", "keyed_states"]


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


def counter_generator(seed: int, index: int) -> np.random.Generator:
    """The generator of item ``index`` of a seeded run: ``SeedSequence(seed, spawn_key=(index,))``.

    The package's counter-based streams: row block ``k`` of a sampled design
    (:func:`uqsurrogate.evaluation.sampled_rows`) and the noise of sample ``i`` of a simulated
    design (:mod:`uqsurrogate.simulators.runner`).  An item's numbers depend only on (seed,
    index), never on the chunking or on the worker that draws them.

    Parameters
    ----------
    seed : int
        >= 0.
    index : int
        >= 0.

    Returns
    -------
    numpy.random.Generator
    """
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(int(index),)))


def keyed_generator(key: int | Sequence[int]) -> np.random.Generator:
    """A generator seeded by a tuple of integers, for a stream that depends only on that key.

    For example the training loop's shuffling of epoch ``e`` is ``keyed_generator([seed, 2, e])``.

    Parameters
    ----------
    key : int or sequence of int
        Each >= 0; passed to :class:`numpy.random.SeedSequence` as its entropy.

    Returns
    -------
    numpy.random.Generator
    """
    return np.random.default_rng(key if isinstance(key, numbers.Integral) else list(key))


def keyed_states(key: int | Sequence[int], n: int) -> np.ndarray:
    """``n`` 32-bit words drawn from ``SeedSequence(key)``: seeds for ``n`` sub-streams.

    Parameters
    ----------
    key : int or sequence of int
    n : int

    Returns
    -------
    numpy.ndarray of uint32, shape (n,)
    """
    return np.random.SeedSequence(key if isinstance(key, numbers.Integral) else list(key)).generate_state(int(n))


def fresh_seed() -> int:
    """A new seed from the operating system's entropy, as an int in [0, 2**63), to be recorded.

    For runs started with ``seed=None`` that must be made again later: the seed drawn is
    written into the output.
    """
    return int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> np.uint64(1))
