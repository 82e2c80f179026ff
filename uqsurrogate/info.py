"""What a file or a model directory is, summarised in its own terms (``uqsurrogate info``).

:func:`kind_of` recognises the files the toolkit reads and writes: training data, a
sensitivity result, propagation bands, a design of experiments, accuracy metrics and a
refinement record.  :func:`describe_file` summarises each as what it is (its problem,
method, sizes, headline numbers and provenance); only training data are checked against
the training-data contract, so a result file is never reported as broken training data.
:func:`describe_model` summarises a model or ensemble directory from its JSON records
(no Keras needed).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr

__all__ = ["KINDS", "FileSummary", "describe_file", "describe_model", "kind_of"]

#: The kinds of file :func:`kind_of` tells apart, in the order it tries them.
KINDS = ("design", "sensitivity result", "propagation bands", "accuracy metrics", "refinement record",
         "training data", "netCDF file")

#: Outputs a sensitivity summary lists one by one; more are summarised by their range.
_MAX_ROWS = 12

#: Headline index variables, the first present wins (the study's, nested's, any method's).
_HEADLINES = ("S1_z_corrected", "S1_corrected", "S1")


@dataclass
class FileSummary:
    """What :func:`describe_file` found: the kind, the text, and (training data only) contract problems."""

    kind: str
    text: str
    problems: list[str] = field(default_factory=list)


def kind_of(ds: xr.Dataset) -> str:
    """The kind of a Dataset the toolkit wrote or reads, one of :data:`KINDS`.

    Parameters
    ----------
    ds : xarray.Dataset

    Returns
    -------
    str

    Examples
    --------
    >>> import xarray as xr
    >>> kind_of(xr.Dataset({"S1": ("input", [0.5])}, attrs={"method": "sobol"}))
    'sensitivity result'
    >>> kind_of(xr.Dataset())
    'netCDF file'
    """
    method = ds.attrs.get("method")
    if "row" in ds.dims and "design_sha256" in ds.attrs and not any(str(v).startswith("S1") for v in ds.data_vars):
        return "design"
    if method and any(str(v).startswith("S1") for v in ds.data_vars):
        return "sensitivity result"
    if method == "propagate":
        return "propagation bands"
    if "mse" in ds and "reference" in ds.dims:
        return "accuracy metrics"
    if "round" in ds.dims and "refine" in str(ds.attrs.get("title", "")):
        return "refinement record"
    if "density" in ds or "inputs" in ds.attrs:
        return "training data"
    return "netCDF file"


def describe_file(path: str | os.PathLike) -> FileSummary:
    """Read a netCDF file and summarise it as the kind of file it is.

    Parameters
    ----------
    path : path-like
        A file the toolkit wrote or reads.

    Returns
    -------
    FileSummary
        ``problems`` lists every way training data break the contract (empty for other kinds).
    """
    from .data.io import load_dataset

    path = Path(path)
    ds = load_dataset(path, validate=False)
    kind = kind_of(ds)
    head = f"{path}: {kind}" + (f", {ds.attrs['title']}" if ds.attrs.get("title") else "")
    if kind == "training data":
        from .data.schema import check
        from .data.summary import summarize

        problems = check(ds)
        if problems:
            return FileSummary(kind, f"{path} breaks the training-data contract:\n"
                               + "\n".join(f"  - {p}" for p in problems), problems)
        return FileSummary(kind, summarize(ds, name=str(path)))
    body = {"design": _design, "sensitivity result": _sensitivity, "propagation bands": _bands,
            "accuracy metrics": _metrics}.get(kind, _generic)(ds)
    return FileSummary(kind, "\n".join([head, *body, *_provenance(ds)]))


def _sizes(ds: xr.Dataset) -> str:
    return ", ".join(f"{d} {n}" for d, n in ds.sizes.items()) or "scalars"


def _problem(ds: xr.Dataset) -> list[str]:
    """The problem's inputs, one line each (a study's problems per case, first one shown)."""
    raw = ds.attrs.get("problem")
    if not raw:
        return []
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError:
        return [f"Problem: {raw}"]
    if "inputs" not in doc and doc and all(isinstance(v, dict) for v in doc.values()):  # per case: the study's
        cases = list(doc)
        doc = doc[cases[0]]
        out = [f"Problem (cases {', '.join(cases)}; the first shown):"]
    else:
        out = ["Problem:"]
    units = doc.get("units", {})
    for name, spec in doc.get("inputs", {}).items():
        out.append(f"  {name:<8} {_law(spec)} {units.get(name, '')}".rstrip())
    return out


def _law(spec) -> str:
    """``{"kind": "normal", "mean": 0.4, "sd": 0.01}`` as ``normal(mean=0.4, sd=0.01)``; a fixed value as ``= v``."""
    if not isinstance(spec, dict):
        return str(spec)
    rest = {k: v for k, v in spec.items() if k != "kind"}
    if spec.get("kind") == "fixed" and "value" in rest:
        return f"= {rest['value']:g}"
    return f"{spec.get('kind')}(" + ", ".join(f"{k}={v:g}" if isinstance(v, (int, float)) else f"{k}={v}"
                                              for k, v in rest.items()) + ")"


def _label(ds: xr.Dataset, index: dict) -> str:
    parts = []
    for dim, i in index.items():
        value = ds[dim].values[i] if dim in ds.coords else i
        parts.append(f"{dim}={value:g}" if isinstance(value, (float, np.floating)) else f"{dim}={value}")
        for name, coord in ds.coords.items():  # a bin's z, a z's bin
            if name != dim and coord.dims == (dim,) and name.startswith("z") and dim != "z":
                parts.append(f"z={float(coord.values[i]):g}")
    return " ".join(parts)


def _sensitivity(ds: xr.Dataset) -> list[str]:
    name = next((n for n in _HEADLINES if n in ds), None)
    out = [f"  method {ds.attrs.get('method')}; {_sizes(ds)}"]
    for key in ("model_evaluations", "n_outer", "n_inner", "n_z", "base_samples", "members", "resamples",
                "conf_level", "output", "model"):
        if key in ds.attrs:
            out[-1] += f"; {key} {ds.attrs[key]}"
    out += _problem(ds)
    if name is None:
        return out
    index = ds[name]
    outputs = [d for d in index.dims if d != "input"]
    stacked = index.stack(_out=outputs) if outputs else index.expand_dims(_out=[0])
    n_out = stacked.sizes["_out"]
    low, high = (ds.get(f"{name}_low"), ds.get(f"{name}_high"))
    if low is None and f"{name}_conf" in ds:
        low, high = index - ds[f"{name}_conf"], index + ds[f"{name}_conf"]
    lo_m, hi_m = ds.get(f"{name}_member_min"), ds.get(f"{name}_member_max")
    flag = next((ds[f] for f in ("resolved_z", "resolved") if f in ds and set(ds[f].dims) <= set(outputs)), None)
    level = ds.attrs.get("conf_level", 0.95)
    out.append("")
    out.append(f"Headline: {name} ({index.attrs.get('long_name', name)}), per output and input; "
               f"interval: {100 * float(level):g} % sampling interval"
               + ("; members: range over the ensemble's members" if lo_m is not None else "")
               + ("; resolved: the output varies by more than the surrogate's error" if flag is not None else ""))
    inputs = [str(i) for i in ds["input"].values]
    if n_out > _MAX_ROWS:
        for i in inputs:
            v = index.sel(input=i)
            out.append(f"  {i}: from {float(v.min()):.3f} to {float(v.max()):.3f} over {n_out} outputs")
        for agg in (f"{name}_agg", "S1_agg", "ST_agg"):
            if agg in ds:
                out.append(f"  {agg}: " + ", ".join(f"{i} {float(ds[agg].sel(input=i)):.3f}" for i in inputs))
                break
        out.append(f"  ({n_out} outputs: read the file, or uqsurrogate plot it)")
        return out
    for k in range(n_out):
        where = dict(zip(outputs, np.unravel_index(k, [ds.sizes[d] for d in outputs]))) if outputs else {}
        at = {d: int(i) for d, i in where.items()}
        cells = []
        for i in inputs:
            cell = f"{i} {float(index.isel(at).sel(input=i)):.3f}"
            if low is not None:
                cell += f" [{float(low.isel(at).sel(input=i)):.3f}, {float(high.isel(at).sel(input=i)):.3f}]"
            if lo_m is not None:
                cell += f" members {float(lo_m.isel(at).sel(input=i)):.3f}-{float(hi_m.isel(at).sel(input=i)):.3f}"
            cells.append(cell)
        mark = ""
        if flag is not None:
            mark = "  resolved" if int(flag.isel({d: at[d] for d in flag.dims})) else "  UNRESOLVED"
        out.append(f"  {_label(ds, at) or 'output'}: " + "; ".join(cells) + mark)
    return out


def _bands(ds: xr.Dataset) -> list[str]:
    out = [f"  {_sizes(ds)}; {ds.attrs.get('n', '?')} draws; intervals at {ds.attrs.get('conf_level', '?')}"]
    out += _problem(ds)
    units = ds["mean"].attrs.get("units", "")
    out.append("")
    out.append(f"Mean: from {float(ds['mean'].min()):.4g} to {float(ds['mean'].max()):.4g} {units}; "
               f"sd up to {float(ds['std'].max()):.4g} {units}")
    if "quantile_value" in ds:
        q = ds["quantile_value"]
        width = q.isel(quantile=-1) - q.isel(quantile=0)
        where = {d: int(i) for d, i in zip(width.dims, np.unravel_index(int(np.argmax(width.values)), width.shape))}
        levels = [float(v) for v in ds["quantile"].values]
        out.append(f"Band {100 * levels[0]:g}-{100 * levels[-1]:g} %: widest {float(width.max()):.4g} {units} at "
                   f"{_label(ds, where)}")
    return out


def _design(ds: xr.Dataset) -> list[str]:
    out = [f"  for method {ds.attrs.get('method')}: {ds.sizes['row']} rows to run; settings {ds.attrs.get('settings')}"]
    out += _problem(ds)
    out.append("Inputs (over the rows):")
    for name, var in ds.data_vars.items():
        out.append(f"  {name:<8} {float(var.min()):.4g} to {float(var.max()):.4g} {var.attrs.get('units', '')}")
    if "comment" in ds.attrs:
        out.append(f"Next: {ds.attrs['comment']}")
    return out


def _metrics(ds: xr.Dataset) -> list[str]:
    out = ["  " + "; ".join([_sizes(ds), *(f"{k} {ds.attrs[k]}" for k in ("split", "members", "model", "data")
                                            if k in ds.attrs)])]
    for ref in ds["reference"].values:
        m = ds.sel(reference=ref)
        out.append(f"  {ref:>6}: MSE {float(m['mse']):.3g} (mol/L)^2, RMSE+ {float(m['rmse_mean'][0]):.3g} "
                   f"RMSE- {float(m['rmse_mean'][1]):.3g} mol/L, success rate {float(m['success_rate_mean']):.3f}")
    return out


def _generic(ds: xr.Dataset) -> list[str]:
    out = [f"  not a file uqsurrogate recognises; {_sizes(ds)}", "Variables:"]
    for name, var in ds.variables.items():
        out.append(f"  {name} {var.dims} {var.attrs.get('units', '')} {var.attrs.get('long_name', '')}".rstrip())
    return out


def _provenance(ds: xr.Dataset) -> list[str]:
    keys = ("seed", "design_sha256", "made_with", "uqsurrogate_version", "source", "history")
    found = [(k, str(ds.attrs[k])) for k in keys if k in ds.attrs]
    if not found:
        return []
    return ["", "Provenance:", *(f"  {k}: {v if len(v) <= 200 else v[:197] + '...'}" for k, v in found)]


def describe_model(path: str | os.PathLike) -> str:
    """Summarise a model or ensemble directory: inputs and their training ranges, outputs, training, calibration.

    Parameters
    ----------
    path : path-like
        A model or ensemble directory (``uqsurrogate.datasets.model_path("default")``: the shipped one).

    Returns
    -------
    str
        Several lines of text.

    Raises
    ------
    ArtifactError
        If the directory is not a readable model or ensemble.
    """
    from .surrogate.artifact import read_metadata
    from .surrogate.ensemble import is_ensemble, read_ensemble

    path = Path(path)
    doc = read_ensemble(path) if is_ensemble(path) else None
    metas = doc["member_metadata"] if doc else [read_metadata(path)]
    meta = metas[0]
    kind = f"an ensemble of {len(metas)} networks (their mean, or every member)" if doc else "a single network"
    out = [f"{path}: {kind}", "", "Inputs (training range):"]
    for spec in meta["inputs"]:
        out.append(f"  {spec['name']:<8} {spec['train_min']:g} to {spec['train_max']:g} {spec.get('units', '')}  "
                   f"{spec.get('long_name', '')}".rstrip())
    outputs = meta["outputs"]
    rep = (outputs.get("representation") or {}).get("kind", "bins")
    out += ["", f"Outputs: {', '.join(outputs['species'])} x {outputs['n_bins']} bins in {outputs.get('units', '?')} "
                f"(z grid {outputs.get('z_convention')}; representation {rep})"]
    training = [m["training"] for m in metas]
    t = training[0]
    seeds = ", ".join(str(x.get("seed")) for x in training)
    out += ["", f"Training: {t.get('loss')} loss, hidden {t.get('hidden')}, {t.get('epochs_run', t.get('epochs'))} "
                f"epochs, seeds {seeds}; data {t.get('data_title', '?')} ({len(t['split']['test_index'])} held out)"]
    if doc:
        calibration = doc.get("calibration")
        if calibration:
            methods = ", ".join(f"{k} {calibration[k].get('method')}" for k in ("density", "charge_density",
                                                                                 "integrated_charge") if k in calibration)
            out.append(f"Calibration: on {calibration.get('n')} samples against {calibration.get('reference')} "
                       f"(alpha {calibration.get('alpha')}): {methods}")
        else:
            out.append("Calibration: none stored (uqsurrogate calibrate adds one)")
        if doc.get("training", {}).get("note"):
            out.append(f"Note: {doc['training']['note']}")
    out.append(f"Written by uqsurrogate {meta.get('uqsurrogate_version')}, Keras {t.get('keras_version', '?')}; "
               f"format {meta.get('format')} {meta.get('format_version')}")
    return "\n".join(out)

