"""A readable summary of a training dataset (``uqsurrogate info``)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from .schema import SPECIES, input_names

__all__ = ["summarize"]


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def summarize(ds: xr.Dataset, name: str = "dataset", max_sources: int = 10) -> str:
    """Describe a training dataset: inputs and their ranges, the bins, the error levels.

    Parameters
    ----------
    ds : xarray.Dataset
        A dataset that follows the contract.
    name : str, default "dataset"
        How to call it in the heading (for example the file name).
    max_sources : int, default 10
        How many per-sample sources to list.

    Returns
    -------
    str
        Several lines of text.
    """
    n, n_bins = ds.sizes["sample"], ds.sizes["bin"]
    out = [f"{name}: {ds.attrs.get('title', 'training data')}"]
    out.append(
        f"  {n} sample{'s' * (n != 1)} x {len(SPECIES)} species x {n_bins} bins; "
        f"exact densities (density_true): {'yes' if 'density_true' in ds else 'no'}"
    )
    names = input_names(ds)
    width = max(len(v) for v in names + ["input"])
    out.append("")
    out.append(f"Inputs ({len(names)}):")
    out.append(f"  {'input':<{width}}  {'units':<6}  {'min':>9}  {'max':>9}  {'values':>6}  description")
    for v in names:
        x = np.asarray(ds[v].values, dtype=float)
        out.append(
            f"  {v:<{width}}  {ds[v].attrs.get('units', '?'):<6}  {_fmt(x.min()):>9}  {_fmt(x.max()):>9}  "
            f"{np.unique(x).size:>6}  {ds[v].attrs.get('long_name', '')}"
        )
    z = np.asarray(ds["z"].values, dtype=float)
    dz = np.diff(z, axis=1)
    out.append("")
    out.append("Bins:")
    out.append(
        f"  {n_bins} per profile; z from {_fmt(z.min())} to {_fmt(z.max())} {ds['z'].attrs.get('units', '')}; "
        f"bin spacing {_fmt(dz.min())} to {_fmt(dz.max())} {ds['z'].attrs.get('units', '')}"
    )
    out.append("")
    out.append("Statistical errors (density_sem relative to density, over bins with density > 0):")
    dens = np.asarray(ds["density"].values, dtype=float)
    sem = np.asarray(ds["density_sem"].values, dtype=float)
    middle = slice(int(0.4 * n_bins), max(int(0.6 * n_bins), int(0.4 * n_bins) + 1))
    for k, species in enumerate(SPECIES):
        d, e = dens[:, k], sem[:, k]
        occupied = d > 0
        rel = e[occupied] / d[occupied]
        bulk = e[:, middle][occupied[:, middle]] / d[:, middle][occupied[:, middle]]
        if rel.size:
            bulk_txt = f"; middle fifth of the slit: median {100 * np.median(bulk):.2g} %" if bulk.size else ""
            out.append(
                f"  {species:<6}  median {100 * np.median(rel):.2g} %, "
                f"90th percentile {100 * np.percentile(rel, 90):.2g} %{bulk_txt}"
            )
        else:
            out.append(f"  {species:<6}  no occupied bins")
    zero = sem == 0
    out.append(
        f"  bins with zero error: {int(zero.sum())} of {zero.size} "
        f"({int((zero & (dens > 0)).sum())} of them with density > 0: hard labels)"
    )
    if "source" in ds.coords:
        out.append("")
        out.append("Sources:")
        sources = [str(s) for s in ds["source"].values]
        out.extend(f"  [{i}] {s}" for i, s in enumerate(sources[:max_sources]))
        if len(sources) > max_sources:
            out.append(f"  ... and {len(sources) - max_sources} more")
    for key in ("source", "references", "history"):
        if key in ds.attrs:
            text = str(ds.attrs[key])
            out.append("")
            out.append(f"{key.capitalize()}: {text if len(text) <= 300 else text[:297] + '...'}")
    return "\n".join(out)
