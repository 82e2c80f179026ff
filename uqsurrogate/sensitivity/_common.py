"""Shared plumbing of the sensitivity methods: evaluating, labelling and packaging results."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr

from .._version import __version__
from ..conventions import CONVENTIONS
from ..problem import Problem


def output_labels(f: Callable, problem: Problem, shape: tuple[int, ...]) -> tuple[list[str], dict, dict]:
    """Dims, coords and attrs of one sample's output, from the model protocol.

    A model may carry ``output_dims`` (one name per output axis), ``output_coords`` (a
    mapping of coordinates, or a callable that takes the Problem's fixed inputs and
    returns one: a grid may depend on them) and ``output_attrs`` (CF attributes).  Without
    them the dims are ``output`` or ``output_0``, ``output_1``, ...
    """
    dims = list(getattr(f, "output_dims", []))
    if len(dims) != len(shape):
        dims = ["output"] if len(shape) == 1 else [f"output_{k}" for k in range(len(shape))]
    coords = getattr(f, "output_coords", {})
    if callable(coords):
        coords = coords(problem.fixed)
    return dims, dict(coords), dict(getattr(f, "output_attrs", {}))


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
) -> xr.Dataset:
    """Package arrays into a labelled result (the input dim is named ``input``)."""
    coords = {"input": ("input", inputs or problem.varied, {"long_name": "varied input"})}
    coords.update(out_coords)
    ds = xr.Dataset({k: (dims, np.asarray(v), a) for k, (dims, v, a) in variables.items()}, coords=coords,
                    attrs=attrs)
    return ds


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
