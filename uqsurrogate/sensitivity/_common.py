"""Shared plumbing of the sensitivity methods: evaluating, labelling and packaging results."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr

from .._version import __version__
from ..data.schema import CONVENTIONS
from ..problem import Problem


def output_labels(f: Callable, problem: Problem, shape: tuple[int, ...]) -> tuple[list[str], dict, dict]:
    """Dims, coords and attrs of one sample's output.

    A :class:`~uqsurrogate.model_function.ModelFunction` gives (species, bin) or (bin,) with
    the z of each bin where the slit width is fixed; a plain callable may carry
    ``output_dims`` (and ``output_coords``); otherwise the dims are ``output`` or
    ``output_0``, ``output_1``, ...
    """
    from ..model_function import ModelFunction

    attrs: dict[str, Any] = {}
    if isinstance(f, ModelFunction):
        coords: dict[str, Any] = {"bin": ("bin", f.bin_index)}
        dims = ["species", "bin"] if f.output == "density" else ["bin"]
        if f.output == "density":
            coords["species"] = ("species", [f.species[i] for i in f.species_index])
        h = problem.fixed.get("h")
        conv = f.z_convention["z_convention"]
        if conv == "fixed" or (conv == "uniform-slit" and h is not None):
            z = f.z_grid(h)[f.bin_index]
            coords["z"] = ("bin", z, {"units": "nm", "long_name": "bin centre, distance from the slit midplane"})
        attrs = {"units": f.units, "long_name": f.output.replace("_", " ")}
        return dims, coords, attrs
    dims = list(getattr(f, "output_dims", []))
    if len(dims) != len(shape):
        dims = ["output"] if len(shape) == 1 else [f"output_{k}" for k in range(len(shape))]
    return dims, dict(getattr(f, "output_coords", {})), attrs


def evaluate(f: Callable, X: np.ndarray) -> np.ndarray:
    """f(X) as float64 (n, P) plus the per-sample output shape."""
    y = np.asarray(f(X), dtype=np.float64)
    if y.ndim == 0 or y.shape[0] != X.shape[0]:
        raise ValueError(f"the model returned shape {y.shape} for {X.shape[0]} inputs; expected (n, ...)")
    return y


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
    out_dims: list[str],
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
