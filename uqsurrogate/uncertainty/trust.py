"""How far to trust indices computed on a surrogate: member spread and a resolution check.

Three sources of uncertainty, kept apart as separate variables, never mixed into one number:

* **sampling** — the estimator's own noise at the chosen sample sizes (``*_low``/``*_high``,
  ``*_conf`` from each method);
* **members** — how much the index changes from one ensemble member to another, all with
  the same draws: the surrogate's model uncertainty as it reaches the index
  (:func:`member_summary`);
* **resolution** — whether the output varies over the study's input distribution by more
  than the surrogate's calibrated error at those inputs (:func:`resolution`).  Where it
  does not, the indices describe the surrogate's errors more than the physics.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from .._random import as_generator
from .._validation import check_float, check_int
from ..errors import InputError
from ..protocols import UQModel
from ..results import flag_attrs

__all__ = ["member_summary", "resolution"]


def member_summary(result: xr.Dataset, indices=("S1", "S1_corrected", "ST")) -> xr.Dataset:
    """Summarise a result computed on every ensemble member (a ``member`` dim) for each index.

    For each index X present: ``X`` becomes the member mean; ``X_members`` keeps every member;
    ``X_member_sd``, ``X_member_min``, ``X_member_max`` give the spread; where the method gave
    sampling intervals, ``X_low``/``X_high`` become the member mean's (the members share the
    draws, so their sampling errors move together: the mean of each member's offsets), and
    ``X_total_low``/``X_total_high`` are the envelope of every member's sampling interval,
    sampling and model uncertainty together.  Other variables are averaged over members.

    Parameters
    ----------
    result : xarray.Dataset
        From :func:`~uqsurrogate.sensitivity.nested`, :func:`~uqsurrogate.sensitivity.sobol` or
        :func:`~uqsurrogate.sensitivity.pce` on a model function that returns every member.

    Returns
    -------
    xarray.Dataset
    """
    if "member" not in result.dims:
        raise InputError("member_summary needs a result with a member dim (run on f.with_options(ensemble='members'))")
    out = result.copy()
    for name in indices:
        if name not in result or "member" not in result[name].dims:
            continue
        da = result[name]
        mean = da.mean("member")
        attrs = dict(da.attrs)
        out[f"{name}_members"] = da.assign_attrs({**attrs, "long_name": f"{attrs.get('long_name', name)}, every member"})
        out[name] = mean.assign_attrs({**attrs, "long_name": f"{attrs.get('long_name', name)}, member mean"})
        out[f"{name}_member_sd"] = da.std("member", ddof=1).assign_attrs(
            units="1", long_name=f"standard deviation of {name} over the ensemble members")
        out[f"{name}_member_min"] = da.min("member").assign_attrs(units="1", long_name=f"smallest member's {name}")
        out[f"{name}_member_max"] = da.max("member").assign_attrs(units="1", long_name=f"largest member's {name}")
        if f"{name}_low" in result and f"{name}_high" in result:
            low, high = result[f"{name}_low"], result[f"{name}_high"]
            out[f"{name}_low"] = (mean - (da - low).mean("member")).assign_attrs(
                units="1", long_name=f"lower bound of the member mean's sampling interval of {name}")
            out[f"{name}_high"] = (mean + (high - da).mean("member")).assign_attrs(
                units="1", long_name=f"upper bound of the member mean's sampling interval of {name}")
            out[f"{name}_total_low"] = low.min("member").assign_attrs(
                units="1", long_name=f"lowest bound of any member's sampling interval of {name} (sampling and members)")
            out[f"{name}_total_high"] = high.max("member").assign_attrs(
                units="1", long_name=f"highest bound of any member's sampling interval of {name} (sampling and members)")
            if f"{name}_conf" in result:
                out[f"{name}_conf"] = ((out[f"{name}_high"] - out[f"{name}_low"]) / 2).assign_attrs(
                    result[f"{name}_conf"].attrs)
    for name, da in result.data_vars.items():
        if name not in out.data_vars or "member" not in out[name].dims:
            continue
        if any(name == f"{i}_members" for i in indices):
            continue
        out[name] = (da.mean("member") if da.dtype.kind == "f" else da.max("member")).assign_attrs(da.attrs)
    out.attrs["members"] = int(result.sizes["member"])
    return out


def resolution(f: UQModel, problem, result: xr.Dataset, *, n: int = 256, seed=0,
               threshold: float = 3.0) -> xr.Dataset:
    """Add the resolution check: does each output vary by more than the surrogate's error?

    Parameters
    ----------
    f : UQModel
        Any model with the protocol's uncertainty part (:class:`uqsurrogate.protocols.UQModel`):
        only ``f.calibrated_std(X)`` is called, which gives the calibrated standard error of
        each output.  A :class:`~uqsurrogate.model_function.ModelFunction` of an ensemble with
        a stored calibration, or a user's own ensemble; restricted to the same outputs as
        ``result``.
    problem : Problem
        The study's input distribution.
    result : xarray.Dataset
        A sensitivity result with ``variance`` over the same outputs (after
        :func:`member_summary` if it was computed on every member).
    n : int, default 256
        Draws from ``problem`` at which the surrogate's calibrated error is averaged (RMS).
    seed : int, default 0
    threshold : float, default 3
        An output is resolved when its standard deviation over the distribution is at least
        ``threshold`` times the surrogate's calibrated error.

    Returns
    -------
    xarray.Dataset
        ``result`` with ``output_sd``, ``surrogate_error``, ``resolution_ratio`` and
        ``resolved`` (1 or 0) over the output dims.
    """
    n = check_int(n, "n", min_value=2)
    threshold = check_float(threshold, "threshold", 0, None, closed="neither")
    X = problem.full(problem.sample(n, as_generator(seed)))
    _, std = f.calibrated_std(X)
    error = np.sqrt(np.mean(std**2, axis=0))
    variance = result["variance"]
    if "member" in variance.dims:
        variance = variance.mean("member")
    if error.shape != variance.shape:
        raise InputError(f"the model's outputs {error.shape} are not the result's {variance.shape}: restrict f alike")
    dims = variance.dims
    sd = np.sqrt(np.maximum(variance.values, 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(error > 0, sd / error, np.inf)
    units = variance.attrs.get("units", "")
    out = result.copy()
    unit = units[1:-2] if units.startswith("(") and units.endswith(")2") else units
    out["output_sd"] = (dims, sd, {"units": unit, "long_name": "standard deviation of the output over the inputs"})
    out["surrogate_error"] = (dims, error, {"units": unit,
                                            "long_name": "surrogate's calibrated error (RMS over the study's inputs)"})
    out["resolution_ratio"] = (dims, ratio, {"units": "1", "long_name": "output_sd / surrogate_error"})
    out["resolved"] = (dims, (ratio >= threshold).astype(np.int8),
                       flag_attrs(f"1 where the output varies by at least {threshold:g} x the surrogate's error; "
                                  "elsewhere the indices describe the surrogate more than the physics",
                                  ("unresolved", "resolved")))
    out.attrs["resolution_threshold"] = threshold
    return out
