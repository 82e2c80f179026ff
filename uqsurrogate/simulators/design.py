"""Designs of experiments over the simulator's inputs.

* :func:`paper_grid`: the paper's 4,050-point grid, 6 h x 9 c x 5 d+ x 5 d- x 3 σ.
* :func:`sobol_design`: scrambled Sobol' points in the input box (scipy.stats.qmc).
* :func:`random_design`: independent uniform points in the box.
* :func:`shipped_design`: the training design of the shipped surrogate, the paper grid
  plus 4,096 Sobol' points.
* :func:`read_design`: a user's table (whitespace- or comma-separated, a header row of
  input names).

A design is a dict of input name to array of shape (n,), in the units of
:data:`uqsurrogate.data.schema.INPUTS`.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

import numpy as np
from scipy.stats import qmc

from .._random import as_generator
from .._validation import check_int, check_power_of_two
from ..conventions import INPUTS
from ..errors import InputError

__all__ = ["PAPER_BOUNDS", "PAPER_LEVELS", "paper_grid", "random_design", "read_design", "shipped_design",
           "sobol_design"]

logger = logging.getLogger(__name__)

#: The input box of the paper's Table I (σ treated as continuous).
PAPER_BOUNDS: Mapping[str, tuple[float, float]] = MappingProxyType(
    {"h": (4.0, 5.0), "c": (0.1, 2.0), "d_plus": (0.2, 0.63), "d_minus": (0.2, 0.63), "sigma": (-0.02, -0.01)}
)
#: The levels of the paper's grid.
PAPER_LEVELS: Mapping[str, tuple[float, ...]] = MappingProxyType(
    {
        "h": (4.0, 4.2, 4.4, 4.6, 4.8, 5.0),
        "c": (0.1, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0),
        "d_plus": (0.2, 0.3075, 0.415, 0.5225, 0.63),
        "d_minus": (0.2, 0.3075, 0.415, 0.5225, 0.63),
        "sigma": (-0.01, -0.015, -0.02),
    }
)


def paper_grid() -> dict[str, np.ndarray]:
    """The paper's full-factorial grid of 4,050 inputs.

    Returns
    -------
    dict of str to numpy.ndarray, each of shape (4050,)
        In the order h, c, d_plus, d_minus, sigma (the last varying fastest).
    """
    rows = np.array(list(itertools.product(*PAPER_LEVELS.values())))
    return {name: rows[:, k] for k, name in enumerate(PAPER_LEVELS)}


def shipped_design(n_sobol: int = 4096, seed: int = 1) -> dict[str, np.ndarray]:
    """The training design of the shipped surrogate: the paper grid, then Sobol' points.

    A network trained on the grid alone (5 levels per ion diameter) is accurate at the
    grid's points and several times less so between them, where the contact peaks move
    with the diameters; the Sobol' points fill the box (``benchmarks/bench_design.py``).

    Parameters
    ----------
    n_sobol : int, default 4096
        Scrambled Sobol' points added (a power of 2 keeps their balance).
    seed : int, default 1
        Seed of the Sobol' scramble.

    Returns
    -------
    dict of str to numpy.ndarray, each of shape (4050 + n_sobol,)
    """
    grid, extra = paper_grid(), sobol_design(n_sobol, seed=seed)
    return {k: np.concatenate([grid[k], extra[k]]) for k in grid}


def _scale(unit: np.ndarray, bounds: Mapping[str, tuple[float, float]]) -> dict[str, np.ndarray]:
    for name, (lo, hi) in bounds.items():
        if not lo <= hi:
            raise InputError(f"bounds[{name!r}] = ({lo}, {hi}); the lower bound must not exceed the upper")
    lo = np.array([b[0] for b in bounds.values()])
    hi = np.array([b[1] for b in bounds.values()])
    x = lo + unit * (hi - lo)
    return {name: x[:, k] for k, name in enumerate(bounds)}


def sobol_design(
    n: int, seed: int | np.random.Generator | None = None, bounds: Mapping[str, tuple[float, float]] = PAPER_BOUNDS
) -> dict[str, np.ndarray]:
    """Scrambled Sobol' points in a box.

    Parameters
    ----------
    n : int
        Number of points, a power of 2: scrambled Sobol' points are balanced only there
        (the rule :func:`uqsurrogate.sensitivity.sobol` applies too).
    seed : int, Generator or None
        Seeds the scrambling.
    bounds : mapping of str to (low, high), default the paper's box

    Returns
    -------
    dict of str to numpy.ndarray, each of shape (n,)
    """
    n = check_power_of_two(n, "n", min_value=1)
    m = n.bit_length() - 1
    sampler = qmc.Sobol(d=len(bounds), scramble=True, seed=as_generator(seed))
    return _scale(sampler.random_base2(m)[:n], bounds)


def random_design(
    n: int, seed: int | np.random.Generator | None = None, bounds: Mapping[str, tuple[float, float]] = PAPER_BOUNDS
) -> dict[str, np.ndarray]:
    """Independent uniform points in a box.

    Parameters
    ----------
    n : int
    seed : int, Generator or None
    bounds : mapping of str to (low, high), default the paper's box

    Returns
    -------
    dict of str to numpy.ndarray, each of shape (n,)
    """
    n = check_int(n, "n", min_value=1)
    return _scale(as_generator(seed).random((n, len(bounds))), bounds)


def read_design(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a design table: a header row of input names, then one row per point.

    Columns may be separated by commas or whitespace; lines starting with ``#`` are
    skipped.  Every input of :data:`~uqsurrogate.data.schema.INPUTS` must be present.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    dict of str to numpy.ndarray, each of shape (n,)
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such design file")
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a text table (binary content); a design is a header row of input names, "
                         "then one row of numbers per point") from None
    lines = [ln.replace(",", " ").split() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln and not ln[0].startswith("#")]
    if len(lines) < 2:
        raise InputError(f"{path}: a design needs a header row of input names and at least one row of values")
    header = lines[0]
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise InputError(f"{path}: header {header} names {', '.join(repeated)} more than once; one column per input")
    unknown = [h for h in header if h not in INPUTS]
    missing = [k for k in INPUTS if k not in header]
    if unknown or missing:
        raise InputError(
            f"{path}: header {header}: "
            + (f"unknown columns {unknown}; " if unknown else "")
            + (f"missing inputs {missing}; " if missing else "")
            + f"expected the columns {list(INPUTS)}"
        )
    rows = []
    for k, row in enumerate(lines[1:], 2):
        if len(row) != len(header):
            raise InputError(f"{path}: data row {k - 1} has {len(row)} values, expected {len(header)}")
        try:
            rows.append([float(v) for v in row])
        except ValueError:
            raise InputError(f"{path}: data row {k - 1} is not numeric: {row}") from None
    table = np.array(rows)
    return {name: table[:, header.index(name)] for name in INPUTS}
