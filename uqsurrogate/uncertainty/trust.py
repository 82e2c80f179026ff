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

__all__ = ["LEGEND", "index_table", "member_summary", "primary_index", "resolution", "sampling_interval"]

#: What the columns of an index table mean (the study's table and ``sensitivity``'s), one line each.
LEGEND = {
    "sampling": "sampling: the {level:g} % interval of the estimator at these sample sizes ({ci}); more samples "
                "narrow it",
    "members": "members: the smallest to the largest index over the ensemble's members, all on the same draws: "
               "the surrogate's own uncertainty as it reaches the index",
    "resolved": "resolved (r x): the output's standard deviation over the inputs is r times the surrogate's "
                "calibrated error there; yes when r >= {threshold:g}. Where it is no, the indices describe the "
                "surrogate's errors more than the physics: trust none of that output's numbers",
}


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


def primary_index(ds: xr.Dataset) -> str:
    """The first-order index a result reports: ``S1_corrected`` (nested's two-way ANOVA form) where present, else ``S1``.

    Parameters
    ----------
    ds : xarray.Dataset
        A sensitivity result.

    Returns
    -------
    str
        The variable's name.
    """
    return "S1_corrected" if "S1_corrected" in ds else "S1"


def sampling_interval(ds: xr.Dataset, name: str) -> tuple[xr.DataArray, xr.DataArray] | None:
    """The sampling interval (low, high) of index ``name``: its ``_low``/``_high``, else ± its ``_conf``; None if neither.

    Parameters
    ----------
    ds : xarray.Dataset
        A sensitivity result.
    name : str
        An index in it (``S1``, ``S1_corrected``, ``ST``).

    Returns
    -------
    tuple of xarray.DataArray, or None
    """
    if f"{name}_low" in ds and f"{name}_high" in ds:
        return ds[f"{name}_low"], ds[f"{name}_high"]
    if f"{name}_conf" in ds:
        return ds[name] - ds[f"{name}_conf"], ds[name] + ds[f"{name}_conf"]
    return None


def _output_label(ds: xr.Dataset, dims: tuple[str, ...], index: tuple[int, ...]) -> str:
    parts = []
    for d, i in zip(dims, index):
        if d == "bin" and "z" in ds.coords and ds["z"].dims == ("bin",):
            parts.append(f"z = {float(ds['z'][i]):.4g} {ds['z'].attrs.get('units', 'nm')}")
        elif d in ds.coords:
            parts.append(str(ds[d].values[i]))
        else:
            parts.append(f"{d} {i}")
    return ", ".join(parts) or "output"


def index_table(ds: xr.Dataset, max_outputs: int = 12) -> str:
    """A Markdown table of a sensitivity result: per output and input, the index, its intervals and the flag.

    Columns: the first-order index (:func:`primary_index`), its sampling interval, the range
    over the ensemble's members (``sensitivity --members``), ST where the method gives it,
    and whether the output is resolved (with a calibrated ensemble), followed by a legend.

    Parameters
    ----------
    ds : xarray.Dataset
        A result of a sensitivity method (after :func:`member_summary` and :func:`resolution`
        where they apply).
    max_outputs : int, default 12
        With more outputs than this, no table: a line that says how many there are and how
        many are unresolved (the file holds them all; ``uqsurrogate plot`` draws them).

    Returns
    -------
    str
    """
    name = primary_index(ds)
    s1 = ds[name].transpose("input", ...)
    dims = s1.dims[1:]
    shape = tuple(ds.sizes[d] for d in dims)
    n_out = int(np.prod(shape)) if shape else 1
    resolved = ds["resolved"].transpose(*dims) if "resolved" in ds else None
    if n_out > max_outputs:
        flag = ""
        if resolved is not None:
            flag = f"; {int((resolved.values == 0).sum())} of them unresolved (trust no index there)"
        return f"{n_out} outputs{flag}"
    interval = sampling_interval(ds, name)
    members = (ds[f"{name}_member_min"], ds[f"{name}_member_max"]) if f"{name}_member_min" in ds else None
    st = ds["ST"].transpose("input", ...) if "ST" in ds else None
    level = 100 * float(ds.attrs.get("conf_level", 0.95))
    head = ["output", "input", "S1" if name == "S1" else "S1 (two-way ANOVA)"]
    if interval is not None:
        head.append(f"sampling {level:g} %")
    if members is not None:
        head.append("members")
    if st is not None:
        head.append("ST")
    if resolved is not None:
        head.append("resolved")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def at(da, k, idx):
        v = float(da.transpose("input", *dims).values[(k, *idx)])
        return f"{v:.3f}" if np.isfinite(v) else "–"  # an output that never varies has no indices

    for idx in np.ndindex(*shape) if shape else [()]:
        label = _output_label(ds, dims, idx)
        for k, inp in enumerate(ds["input"].values):
            row = [label if k == 0 else "", str(inp), at(s1, k, idx)]
            if interval is not None:
                row.append(f"{at(interval[0], k, idx)} to {at(interval[1], k, idx)}")
            if members is not None:
                row.append(f"{at(members[0], k, idx)} to {at(members[1], k, idx)}")
            if st is not None:
                row.append(at(st, k, idx))
            if resolved is not None:
                ratio = float(ds["resolution_ratio"].transpose(*dims).values[idx])
                row.append("" if k else (f"yes ({ratio:.1f}x)" if resolved.values[idx] else f"**no** ({ratio:.1f}x)"))
            lines.append("| " + " | ".join(row) + " |")
    notes = legend(ds, interval is not None, members is not None, resolved is not None)
    return "\n".join(lines + [""] + [f"* {note}" for note in notes])


def legend(ds: xr.Dataset, sampling: bool = True, members: bool = True, resolved: bool = True) -> list[str]:
    """The legend lines (:data:`LEGEND`) of the columns a table of ``ds`` shows, filled from its attributes.

    Parameters
    ----------
    ds : xarray.Dataset
        The result the table shows (its ``conf_level``, ``ci_method`` or ``ci``, and ``resolution_threshold``).
    sampling, members, resolved : bool, default True
        Which columns the table has.

    Returns
    -------
    list of str
        One line per column.
    """
    lines = []
    if sampling:
        ci = str(ds.attrs.get("ci_method", ds.attrs.get("ci", "bootstrap")))
        lines.append(LEGEND["sampling"].format(level=100 * float(ds.attrs.get("conf_level", 0.95)), ci=ci))
    if members:
        lines.append(LEGEND["members"])
    if resolved:
        lines.append(LEGEND["resolved"].format(threshold=float(ds.attrs.get("resolution_threshold", 3.0))))
    return lines
