"""Figures from the netCDF files the toolkit writes (``uqsurrogate plot``), labelled from CF attrs.

Needs matplotlib (the ``plot`` extra).  :func:`plot_file` recognises the file by its
content and draws what fits:

* training data (with ``density_surrogate`` if present): density profiles, surrogate
  against truth or MD with error bars (paper Fig. 5), and ρ(z) and S(z) (Figs. 6-7);
* surrogate metrics: RMSE per bin (Fig. 4);
* the paper's sensitivity study: response surfaces with pie charts of S+ and S- (Fig. 8),
  and S+, S- against z at every bin;
* any sensitivity result: S1 (and ST) against z or bin with their sampling intervals
  (markers for a few z values, lines for many), the range over an ensemble's members and
  the unresolved outputs where the file has them (``sensitivity --members``);
* a forward propagation (``uqsurrogate propagate``): the mean and the quantile band
  against z or bin, with an inset on the widest band.

Quantities are drawn in readable units (ρ in MC/m³) and panel titles give the inputs
with their units.

Each ``plot_*`` function takes a Dataset and, optionally, the Axes to draw into (``ax=``
for one panel, ``axes=`` — an array — for several), and returns the Figure: use them in a
notebook like any matplotlib function.  Importing this module imports no matplotlib and
never changes the backend; pyplot is imported on the first plot.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import numpy as np
import xarray as xr

from .errors import InputError, MissingDependencyError
from .observables import charge_density, integrated_charge

__all__ = ["plot_charge", "plot_file", "plot_reliability", "plot_indices", "plot_paper_indices", "plot_profiles", "plot_propagation",
           "plot_response_surfaces", "plot_rmse_per_bin"]

_COLOURS = {"cation": "tab:red", "anion": "tab:blue"}


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:  # pragma: no cover - exercised only without the extra
        raise MissingDependencyError("plotting needs matplotlib: pip install 'uqsurrogate[plot]'") from err
    return plt


def _panels(axes, nrows: int, ncols: int, **fig_kw):
    """(figure, 2-D array of axes): new ones, or the given ones reshaped (they must number nrows x ncols)."""
    if axes is None:
        fig, grid = _pyplot().subplots(nrows, ncols, squeeze=False, **fig_kw)
        return fig, grid
    grid = np.asarray(axes, dtype=object).reshape(-1)
    if grid.size != nrows * ncols:
        raise InputError(f"axes has {grid.size} Axes; this figure needs {nrows} x {ncols}")
    return grid[0].figure, grid.reshape(nrows, ncols)


def _label(da: xr.DataArray, fallback: str) -> str:
    name = da.attrs.get("long_name", fallback)
    units = _display(da.attrs.get("units"))[1]
    return f"{name} ({units})" if units and units != "1" else name


#: Units as a figure shows them: the factor a value in the file's units is multiplied by, and the label.
_DISPLAY_UNITS = {"C/m3": (1e-6, "MC/m³"), "C/m2": (1.0, "C/m²"), "(C/m3)2": (1e-12, "(MC/m³)²")}
#: The inputs of the confined electrolyte as a figure names them.
_SYMBOLS = {"d_plus": "d+", "d_minus": "d−", "sigma": "σ"}


def _display(units: str | None) -> tuple[float, str | None]:
    """(factor, units) to draw a quantity in: ρ in MC/m³ rather than C/m³ with a 1e7 offset."""
    return _DISPLAY_UNITS.get(units or "", (1.0, units))


def _value(name: str, value: float, units: str | None) -> str:
    """``d+ = 0.4 nm``: an input's value with its units."""
    unit = _display(units)[1]
    return f"{_SYMBOLS.get(name, name)} = {value:.3g}" + (f" {unit}" if unit and unit != "1" else "")


def _sample_title(ds: xr.Dataset, s: xr.Dataset) -> str:
    """The inputs of one sample with their units, on two lines."""
    items = [_value(k, float(s[k]), ds[k].attrs.get("units")) for k in ds.attrs.get("inputs", "").split() if k in s]
    return ", ".join(items[:3]) + ("\n" + ", ".join(items[3:]) if items[3:] else "")


def _fixed_inputs(ds: xr.Dataset) -> str:
    """The fixed inputs of a result's problem with their units (``h = 4.5 nm, c = 0.3 mol/L``), or ''."""
    import json

    try:
        problem = json.loads(ds.attrs.get("problem", ""))
    except ValueError:
        return ""
    units = problem.get("units", {})
    return ", ".join(_value(k, v["value"], units.get(k)) for k, v in problem.get("inputs", {}).items()
                     if isinstance(v, dict) and v.get("kind") == "fixed")


def _save(fig, out: Path, stem: str, formats: tuple[str, ...]) -> list[Path]:
    paths = []
    for fmt in formats:
        p = out / f"{stem}.{fmt}"
        fig.savefig(p, dpi=130, bbox_inches="tight")
        paths.append(p)
    _pyplot().close(fig)
    return paths


def plot_profiles(ds: xr.Dataset, axes=None):
    """Density profiles of the first (up to 4) samples, with error bars, the exact answer and the
    surrogate where the dataset has them (paper Fig. 5).

    Parameters
    ----------
    ds : xarray.Dataset
        A training dataset (``density``, ``density_sem``, ``z``), optionally with
        ``density_true`` and ``density_surrogate``.
    axes : array of matplotlib Axes, optional
        One per sample shown.

    Returns
    -------
    matplotlib.figure.Figure
    """
    n = min(4, ds.sizes["sample"])
    fig, axes = _panels(axes, 1, n, figsize=(4.2 * n, 3.6), sharey=True)
    for i, ax in enumerate(axes[0]):
        s = ds.isel(sample=i)
        z = s["z"].values
        for k, sp in enumerate(ds["species"].values):
            c = _COLOURS.get(str(sp), None)
            source = "MD-like" if "density_true" in ds else "MD"  # simulator data carry the exact answer
            ax.errorbar(z, s["density"].values[k], s["density_sem"].values[k], fmt="o", ms=1.5, lw=0.5, alpha=0.35,
                        color=c, label=f"{sp}: {source} ± error")
            if "density_true" in s:
                ax.plot(z, s["density_true"].values[k], "-", lw=1.0, color="k", alpha=0.6,
                        label="exact" if k == 0 else None)
            if "density_surrogate" in s:
                ax.plot(z, s["density_surrogate"].values[k], "--", lw=1.2, color=c, label=f"{sp}: surrogate")
        ax.set_title(_sample_title(ds, s), fontsize=8)
        ax.set_xlabel(_label(ds["z"], "z"))
    axes[0, 0].set_ylabel(_label(ds["density"], "density"))
    axes[0, 0].legend(fontsize=6)
    shown = f"the first {n} of {ds.sizes['sample']} samples" if ds.sizes["sample"] > n else f"{n} sample(s)"
    what = "surrogate against simulator runs (as paper Fig. 5)" if "density_surrogate" in ds else shown
    fig.suptitle(f"density profiles: {what}", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.93))  # room for the suptitle above the two-line panel titles
    return fig


def plot_charge(ds: xr.Dataset, axes=None):
    """ρ(z) and S(z) over the left half of the slit for the first (up to 4) samples (paper Figs. 6-7).

    Parameters
    ----------
    ds : xarray.Dataset
        A training dataset with the inputs ``h`` and ``sigma``.
    axes : array of matplotlib Axes, optional
        2 x n_samples_shown.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if "h" not in ds or "sigma" not in ds:
        raise InputError("plot_charge needs the inputs h and sigma in the dataset")
    n = min(4, ds.sizes["sample"])
    fig, axes = _panels(axes, 2, n, figsize=(4.2 * n, 6.4), sharex="col")
    for i in range(n):
        s = ds.isel(sample=i)
        z = s["z"].values
        left = z <= 0
        sources = [("density_true", "exact", "k", "-")] if "density_true" in s else [("density", "MD-like", "k", "-")]
        if "density_surrogate" in s:
            sources.append(("density_surrogate", "surrogate", "tab:green", "--"))
        for var, lab, col, ls in sources:
            dens = s[var].values[None]
            rho = charge_density(dens)[0]
            S = integrated_charge(dens, [float(s["h"])], [float(s["sigma"])])[0]
            axes[0, i].plot(z[left], rho[left] / 1e6, ls, color=col, label=lab)
            axes[1, i].plot(z[left], S[left] * 1e3, ls, color=col, label=lab)
        axes[0, i].set_title(_sample_title(ds, s), fontsize=8)
        axes[1, i].set_xlabel("z (nm)")
        for ax in axes[:, i]:
            ax.tick_params(labelsize=8)
    axes[0, 0].set_ylabel("net charge density ρ (MC/m³)")
    axes[1, 0].set_ylabel("integrated charge S (mC/m²)")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle("ρ(z) and S(z) over the left half of the slit (paper Figs. 6-7)", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.95))  # tick labels clear of the neighbouring panels
    return fig


def plot_rmse_per_bin(ds: xr.Dataset, ax=None):
    """RMSE per bin against the labels and the truth (paper Fig. 4), from a metrics Dataset.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, grid = _panels(None if ax is None else [ax], 1, 1, figsize=(6.5, 3.6))
    ax = grid[0, 0]
    for ref in ds["reference"].values:
        for sp in ds["species"].values:
            style = "-" if ref == "truth" else ":"
            ax.plot(ds["bin"].values, ds["rmse_bin"].sel(reference=ref, species=sp).values, style,
                    color=_COLOURS.get(str(sp)), lw=1, label=f"{sp}, vs {ref}")
    ax.set_xlabel("bin k")
    ax.set_ylabel(_label(ds["rmse_bin"], "RMSE"))
    ax.set_yscale("log")
    ax.legend(fontsize=7)
    ax.set_title("RMSE per bin (paper Fig. 4)", fontsize=10)
    return fig


def plot_response_surfaces(ds: xr.Dataset, c: float, axes=None):
    """The paper's study at one concentration: response surfaces ρ(d+, d-) with pie charts of S+ and S-
    (paper Fig. 8).

    Parameters
    ----------
    ds : xarray.Dataset
        The result of :func:`uqsurrogate.study.paper_sensitivity`.
    c : float
        The concentration (mol/L), one of ``ds["c"]``.
    axes : array of matplotlib Axes, optional
        2 x n_z.

    Returns
    -------
    matplotlib.figure.Figure
    """
    s = ds.sel(c=c)
    nz = s.sizes["z"]
    fig, axes = _panels(axes, 2, nz, figsize=(3.9 * nz, 6.2), gridspec_kw={"height_ratios": [3, 1.4]},
                        constrained_layout=True)
    for j in range(nz):
        ax = axes[0, j]
        surf = s["response_surface"].isel(z=j).values / 1e6
        im = ax.pcolormesh(s["d_minus_sample"].values, s["d_plus_sample"].values, surf, shading="auto",
                           cmap="viridis")
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02).set_label("ρ (MC/m³)", fontsize=7)
        # the outermost draws sit far apart, and their cells would stretch across the
        # edges: show the central 99 % of each size distribution
        ax.set_xlim(*np.percentile(s["d_minus_sample"].values, [0.5, 99.5]))
        ax.set_ylim(*np.percentile(s["d_plus_sample"].values, [0.5, 99.5]))
        ax.set_title(f"z = {float(s['z'][j]):g} nm", fontsize=9)
        ax.set_xlabel("d- (nm)", fontsize=8)
        if j == 0:
            ax.set_ylabel("d+ (nm)", fontsize=8)
        ax.tick_params(labelsize=6)
        sp, sm = np.clip(s["S1_z"].isel(z=j).values, 0, None)
        pie = axes[1, j]
        if not (np.isfinite(sp) and np.isfinite(sm)):  # rho does not vary there: no shares to draw
            pie.text(0.5, 0.5, "ρ constant:\nno indices", ha="center", va="center", fontsize=7,
                     transform=pie.transAxes)
            pie.set_axis_off()
            continue
        rest = max(0.0, 1 - sp - sm)
        resolved = "resolved_z" not in s or bool(s["resolved_z"].values[j])
        pie.pie([sp, sm, rest], colors=["tab:red", "tab:blue", "lightgrey"], startangle=90,
                            wedgeprops={"alpha": 1.0 if resolved else 0.4, "hatch": None if resolved else "//",
                                        "edgecolor": "white"})
        # the shares and their uncertainty under the pie, where labels cannot collide
        pie.set_xlabel("\n".join(_pie_lines(s, j, sp, sm, rest, resolved)), fontsize=7, linespacing=1.3)
    fig.suptitle(f"response surfaces of ρ(d+, d-) and sensitivities, c = {c:g} mol/L (paper Fig. 8)", fontsize=10)
    return fig


def _pie_lines(s: xr.Dataset, j: int, sp: float, sm: float, rest: float, resolved: bool) -> list[str]:
    """The pie's legend: each share with its sampling interval and member range, and the resolution flag."""
    lines = []
    for k, (name, share) in enumerate((("S+", sp), ("S−", sm))):
        parts = [f"{name} {100 * share:.0f}%"]
        for low, high, what in (("S1_z_low", "S1_z_high", "sampling"),
                                ("S1_z_member_min", "S1_z_member_max", "members")):
            if low in s and np.isfinite(s[low].values[k, j]):
                parts.append(f"{what} {round(100 * s[low].values[k, j]) + 0:.0f}–"  # + 0: no "-0"
                             f"{round(100 * s[high].values[k, j]) + 0:.0f}")
        lines.append(", ".join(parts))
    if rest >= 0.02:
        lines.append(f"interaction {100 * rest:.0f}%")
    if "resolved_z" in s:
        ratio = f" ({float(s['resolution_ratio_z'].values[j]):.1f}×)" if "resolution_ratio_z" in s else ""
        lines.append(f"resolved{ratio}" if resolved else f"UNRESOLVED{ratio}: trust neither (hatched)")
    return lines


def plot_paper_indices(ds: xr.Dataset, axes=None):
    """S+ and S- of ρ against z, one panel per concentration, with both kinds of bar.

    Lines: the corrected index at every bin of the left half (the member mean for an
    ensemble), with a shaded band from the smallest to the largest member.  Markers at the
    paper's five z values: the index with its sampling interval (error bars); hollow where
    the resolution check failed (ρ varies there by less than a few times the surrogate's
    calibrated error).

    Parameters
    ----------
    ds : xarray.Dataset
        The result of :func:`uqsurrogate.study.paper_sensitivity`.
    axes : array of matplotlib Axes, optional
        One per concentration.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = _panels(axes, 1, ds.sizes["c"], figsize=(6 * ds.sizes["c"], 3.8), sharey=True)
    for ax, c in zip(axes[0], ds["c"].values):
        s = ds.sel(c=c)
        z = s["z_of_bin"].values
        sd = np.sqrt(s["variance_bin"].values)
        # where rho barely varies the indices only measure the surrogate's roughness: not shown
        hide = sd < 0.02 * sd.max()
        for k, (name, col) in enumerate((("S+", "tab:red"), ("S-", "tab:blue"))):
            ax.plot(z, np.where(hide, np.nan, s["S1_bin_corrected"].values[k]), "-", color=col, lw=1,
                    label=f"{name}, every bin")
            if "S1_bin_corrected_member_min" in s:
                ax.fill_between(z, np.where(hide, np.nan, s["S1_bin_corrected_member_min"].values[k]),
                                np.where(hide, np.nan, s["S1_bin_corrected_member_max"].values[k]), color=col,
                                alpha=0.2, lw=0, label=f"{name}, member range")
            zz, v = s["z_bin"].values, s["S1_z_corrected"].values[k]
            err = None
            if "S1_z_corrected_low" in s:
                err = np.abs(np.stack([v - s["S1_z_corrected_low"].values[k], s["S1_z_corrected_high"].values[k] - v]))
            resolved = s["resolved_z"].values.astype(bool) if "resolved_z" in s else np.ones(len(zz), bool)
            for mask, face, lab in ((resolved, col, f"{name} at the paper's z, sampling interval"),
                                    (~resolved, "white", f"{name}, unresolved")):
                if mask.any():
                    ax.errorbar(zz[mask], v[mask], None if err is None else err[:, mask], fmt="o", ms=5, color=col,
                                mfc=face, capsize=3, lw=1, label=lab)
        ax.set_ylim(-0.05, 1.05)
        ax.set_xlabel("z (nm)")
        ax.set_title(f"c = {c:g} M", fontsize=9)
    axes[0, 0].set_ylabel("first-order index (two-way ANOVA)")
    axes[0, 0].legend(fontsize=6, ncol=2)
    fig.suptitle("sensitivity of ρ(z) to d+ and d- (left half; bins where the standard deviation of ρ is below "
                 "2 % of its largest are left out)", fontsize=9)
    return fig


def plot_reliability(calibration: dict, axes=None):
    """Reliability diagrams of an ensemble's spread, before and after calibration, per output kind.

    Parameters
    ----------
    calibration : dict
        What :func:`uqsurrogate.uncertainty.fit.calibrate_ensemble` returns (and
        ``ensemble.json`` stores): for each output kind, the held-out half's observed coverage
        of Gaussian intervals at each nominal level, before and after.
    axes : array of matplotlib Axes, optional
        One per output kind.

    Returns
    -------
    matplotlib.figure.Figure
    """
    kinds = [k for k in ("density", "charge_density", "integrated_charge")
             if k in calibration and "reliability_levels" in calibration[k]["measured"]]
    if not kinds:
        raise InputError("the calibration holds no reliability curves (fit it with uqsurrogate calibrate)")
    fig, axes = _panels(axes, 1, len(kinds), figsize=(3.8 * len(kinds), 3.8), sharey=True)
    for ax, kind in zip(axes[0], kinds):
        m = calibration[kind]["measured"]
        levels = np.asarray(m["reliability_levels"])
        ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--", label="calibrated")
        ax.plot(levels, m["reliability_before"], color="tab:orange",
                label=f"member spread (area {m['miscalibration_area_before']:.3f})")
        method = calibration[kind]["method"]
        if method != "none":
            ax.plot(levels, m["reliability_after"], color="tab:green",
                    label=f"{method} map (area {m['miscalibration_area_' + method]:.3f})")
        ax.set_xlabel("nominal coverage of μ ± zσ")
        ax.set_title(kind.replace("_", " "), fontsize=9)
        ax.legend(fontsize=7)
    axes[0, 0].set_ylabel("observed coverage (held-out half)")
    fig.suptitle("reliability of the ensemble's spread against the truth", fontsize=10)
    return fig


def plot_indices(ds: xr.Dataset, axes=None):
    """S1 (and ST) of a sensitivity result against z (or the bin), or as bars per input for outputs without bins.

    The first-order index is the one the result reports (nested's two-way ANOVA form where
    present, :func:`uqsurrogate.uncertainty.trust.primary_index`), with its sampling
    interval; a result of ``sensitivity --members`` adds the range over the ensemble's
    members and marks the outputs that the resolution check did not pass.  Up to
    :data:`FEW_OUTPUTS` z values are drawn as markers with bars (hollow where unresolved),
    more as lines with bands (unresolved stretches shaded grey).

    Parameters
    ----------
    ds : xarray.Dataset
        A result of :func:`~uqsurrogate.sensitivity.sobol`, :func:`~uqsurrogate.sensitivity.nested`
        or :func:`~uqsurrogate.sensitivity.pce`.
    axes : array of matplotlib Axes, optional
        One per panel (per value of an extra output dim such as species; up to 8 outputs as bars).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from .uncertainty.trust import primary_index

    if "bin" not in ds["S1"].dims:
        return _index_bars(ds, axes)
    name = primary_index(ds)
    x_name = "z" if "z" in ds.coords and ds["z"].dims == ("bin",) else "bin"
    extra = [d for d in ds[name].dims if d not in ("input", "bin")]
    groups = [{}] if not extra else [{extra[0]: v} for v in ds[extra[0]].values]
    fig, axes = _panels(axes, 1, len(groups), figsize=(6 * len(groups) + 2, 4.2), sharey=True, layout="constrained")
    few = ds.sizes["bin"] <= FEW_OUTPUTS
    for ax, sel in zip(axes[0], groups):
        s = ds.sel(sel) if sel else ds
        (_index_markers if few else _index_lines)(ax, s, name, s[x_name].values)
        ax.set_xlabel(_label(s[x_name], x_name))
        ax.set_title(", ".join(f"{k} = {v}" for k, v in sel.items()), fontsize=9)
    axes[0, 0].set_ylabel("first-order index (two-way ANOVA)" if name == "S1_corrected" else "Sobol' index")
    axes[0, -1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1))  # beside the data, not over it
    what = ("bars" if few else "bands") + ": sampling interval"
    if f"{name}_member_min" in ds:
        what += "; wide pale bars: range over the ensemble's members" if few else "; dotted: member range"
    fixed = _fixed_inputs(ds)
    fig.suptitle(f"sensitivity indices ({ds.attrs.get('method', '')}) at {fixed}\n{what}" if fixed else
                 f"sensitivity indices ({ds.attrs.get('method', '')})\n{what}", fontsize=10)
    return fig


#: Outputs (z values) up to which :func:`plot_indices` draws markers rather than lines.
FEW_OUTPUTS = 12


def _index_markers(ax, s: xr.Dataset, name: str, x: np.ndarray) -> None:
    """A handful of z values: per input, markers with the sampling interval, the member range as a wide bar
    behind them, hollow where unresolved, side by side."""
    from .uncertainty.trust import sampling_interval

    n_in = s.sizes["input"]
    span = float(np.ptp(x)) if x.size > 1 else 1.0
    width = 0.06 * span / max(1, n_in) if x.size > 1 else 0.1
    resolved = s["resolved"].values.astype(bool) if "resolved" in s else np.ones(x.size, bool)
    interval = sampling_interval(s, name)
    for k, inp in enumerate(s["input"].values):
        col = f"C{k}"
        xk = x + (k - (n_in - 1) / 2) * width
        v = s[name].isel(input=k).values
        if f"{name}_member_min" in s:
            ax.vlines(xk, s[f"{name}_member_min"].isel(input=k).values, s[f"{name}_member_max"].isel(input=k).values,
                      color=col, lw=7, alpha=0.25, label=f"{inp}: member range")
        err = None
        if interval is not None:
            err = np.abs(np.stack([v - interval[0].isel(input=k).values, interval[1].isel(input=k).values - v]))
        for mask, face, lab in ((resolved, col, f"S1 {inp}"), (~resolved, "white", f"S1 {inp}, unresolved")):
            if mask.any():
                ax.errorbar(xk[mask], v[mask], None if err is None else err[:, mask], fmt="o", ms=5, color=col,
                            mfc=face, capsize=3, lw=1, ls="none", label=lab)
        if "ST" in s:
            ax.plot(xk, s["ST"].isel(input=k).values, "x", color=col, ms=6, label=f"ST {inp}")
    ax.set_ylim(-0.05, 1.05)


def _index_lines(ax, s: xr.Dataset, name: str, x: np.ndarray) -> None:
    """Many bins: per input, a line with the sampling band and the member range; unresolved stretches shaded."""
    from .uncertainty.trust import sampling_interval

    interval = sampling_interval(s, name)
    for k, inp in enumerate(s["input"].values):
        v = s[name].isel(input=k).values
        line, = ax.plot(x, v, "-", lw=1, label=f"S1 {inp}")
        if interval is not None:
            ax.fill_between(x, interval[0].isel(input=k).values, interval[1].isel(input=k).values,
                            color=line.get_color(), alpha=0.25, lw=0)
        if f"{name}_member_min" in s:
            ax.fill_between(x, s[f"{name}_member_min"].isel(input=k).values,
                            s[f"{name}_member_max"].isel(input=k).values, facecolor="none",
                            edgecolor=line.get_color(), hatch="...", lw=0, alpha=0.5, label=f"{inp}: member range")
        if "ST" in s:
            ax.plot(x, s["ST"].isel(input=k).values, "--", lw=1, color=line.get_color(), label=f"ST {inp}")
    if "resolved" in s:
        step = np.diff(x).min() / 2 if x.size > 1 else 0.5
        first = True
        for j in np.flatnonzero(s["resolved"].values == 0):
            ax.axvspan(x[j] - step, x[j] + step, color="0.85", lw=0, zorder=0,
                       label="unresolved: trust no index" if first else None)
            first = False


def _index_bars(ds: xr.Dataset, axes=None):
    """Outputs without a bin dim (named quantities, or one scalar): bars of S1 and ST per input."""
    s1 = ds["S1"].transpose("input", ...)
    coords = [ds[d].values if d in ds.coords else np.arange(ds.sizes[d]) for d in s1.dims[1:]]
    outputs = list(itertools.product(*coords)) if coords else [None]  # row-major, as the reshape below
    flat = {k: ds[k].transpose("input", ...).values.reshape(ds.sizes["input"], -1)
            for k in ("S1", "ST", "S1_conf", "ST_conf") if k in ds}
    n = min(len(outputs), 8)
    fig, axes = _panels(axes, 1, n, figsize=(max(4.0, 3.2 * n), 3.6), sharey=True)
    x = np.arange(ds.sizes["input"])
    for j, ax in enumerate(axes[0]):
        for key, dx, style in (("S1", -0.18, {}), ("ST", 0.18, {"alpha": 0.45, "hatch": "//"})):
            if key in flat:
                err = flat[f"{key}_conf"][:, j] if f"{key}_conf" in flat else None
                ax.bar(x + dx, flat[key][:, j], width=0.36, yerr=err, capsize=2, label=key, color="tab:blue", **style)
        ax.set_xticks(x, [str(v) for v in ds["input"].values], fontsize=8)
        label = outputs[j]
        ax.set_title("" if label is None else ", ".join(map(str, label)), fontsize=9)
        ax.axhline(0, color="k", lw=0.5)
    axes[0, 0].set_ylabel("Sobol' index")
    axes[0, 0].legend(fontsize=7)
    more = f"; first {n} of {len(outputs)} outputs" if len(outputs) > n else ""
    fig.suptitle(f"sensitivity indices ({ds.attrs.get('method', '')}), error bars: confidence intervals{more}",
                 fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.92))
    return fig


def plot_propagation(ds: xr.Dataset, ax=None):
    """The mean and the band between the lowest and highest quantile of a forward propagation.

    An inset magnifies the stretch of z where the band is widest (at full-slit scale the
    band at a contact peak is thinner than the line); ρ is drawn in MC/m³.

    Parameters
    ----------
    ds : xarray.Dataset
        A result of :func:`uqsurrogate.uncertainty.propagate` over bins (with ``z`` where the
        slit width is fixed), per species for densities.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    new = ax is None
    fig, axes = _panels(None if ax is None else [ax], 1, 1, figsize=(7, 4.2))
    ax = axes[0, 0]
    if "bin" not in ds["mean"].dims or set(ds["mean"].dims) - {"bin", "species"}:
        raise InputError(f"plot_propagation draws outputs over bins (and species); this one has dims "
                         f"{ds['mean'].dims}")
    x = ds["z"] if "z" in ds.coords else ds["bin"]
    factor, _ = _display(ds["mean"].attrs.get("units"))
    species = ds["species"].values if "species" in ds["mean"].dims else [None]
    band = "quantile" in ds.coords and ds.sizes["quantile"] >= 2
    inset = ax.inset_axes([0.34, 0.42, 0.32, 0.5]) if band and ds.sizes["bin"] >= 20 else None
    widest = (0.0, 0)
    for sp in species:
        sel = {} if sp is None else {"species": sp}
        c = _COLOURS.get(str(sp), "k")
        mean = ds["mean"].sel(sel).values * factor
        for target in (ax, inset) if inset is not None else (ax,):
            target.plot(x.values, mean, "-", color=c, lw=1.2,
                        label=f"{sp + ': ' if sp is not None else ''}mean" if target is ax else None)
        if band:
            q = ds["quantile_value"].sel(sel)
            lo, hi = q.isel(quantile=0).values * factor, q.isel(quantile=-1).values * factor
            for target in (ax, inset) if inset is not None else (ax,):
                target.fill_between(x.values, lo, hi, color=c, alpha=0.3, lw=0,
                                    label=f"{float(ds['quantile'][0]):g}-{float(ds['quantile'][-1]):g} quantiles"
                                    if target is ax else None)
            j = int(np.nanargmax(hi - lo))
            widest = max(widest, (float(hi[j] - lo[j]), j))
    if inset is not None:
        _zoom(ax, inset, ds, x.values, widest[1], factor, species)
    ax.set_xlabel(_label(x, "bin"))
    ax.set_ylabel(_label(ds["mean"], "output"))
    ax.legend(fontsize=7, loc="upper left")
    ax.set_title(f"forward propagation, n = {ds.attrs.get('n', '?')}" +
                 (f"; {_fixed_inputs(ds)}" if _fixed_inputs(ds) else ""), fontsize=9)
    if new:
        fig.tight_layout()
    return fig


def _zoom(ax, inset, ds: xr.Dataset, x: np.ndarray, j: int, factor: float, species) -> None:
    """Limit the inset to a few bins around bin j (on both curves' quantile bands) and mark it on ax."""
    half = max(3, ds.sizes["bin"] // 80)
    window = slice(max(0, j - half), min(x.size, j + half + 1))
    q = ds["quantile_value"].isel(bin=window) * factor
    lo, hi = float(q.min()), float(q.max())
    pad = 0.08 * (hi - lo) or 1.0
    inset.set_xlim(x[window][0], x[window][-1])
    inset.set_ylim(lo - pad, hi + pad)
    inset.tick_params(labelsize=6)
    inset.set_title("widest band, magnified", fontsize=7)
    ax.indicate_inset_zoom(inset, edgecolor="0.4")


def plot_file(path: str | os.PathLike, out: str | os.PathLike, pdf: bool = False) -> list[Path]:
    """Draw the figures that fit a results or data file.

    Parameters
    ----------
    path : path-like
        A netCDF file written by uqsurrogate.
    out : path-like
        Directory for the figures (created).
    pdf : bool, default False
        Also write PDF.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    path, out = Path(path), Path(out)
    formats = ("png", "pdf") if pdf else ("png",)
    if not path.is_file():
        raise InputError(f"{path}: {'a folder' if path.is_dir() else 'no such file'}; give a netCDF file")
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} is a file; figures go into a folder")
    try:
        with xr.open_dataset(path, engine="netcdf4") as f:
            ds = f.load()
    except (OSError, ValueError) as err:
        raise InputError(f"{path}: not a netCDF file uqsurrogate can read ({type(err).__name__})") from None
    stem = path.stem
    if "response_surface" in ds and "c" in ds.dims:
        figures = [(plot_response_surfaces(ds, c), f"surfaces_c{c:g}") for c in ds["c"].values]
        figures.append((plot_paper_indices(ds), "indices_vs_z"))
    elif "density" in ds and "density_sem" in ds:
        figures = [(plot_profiles(ds), "profiles")]
        if "h" in ds and "sigma" in ds:
            figures.append((plot_charge(ds), "charge"))
    elif "rmse_bin" in ds:
        figures = [(plot_rmse_per_bin(ds), "rmse_per_bin")]
    elif ds.attrs.get("method") == "propagate":
        figures = [(plot_propagation(ds), "bands")]
    elif "S1" in ds and "input" in ds.dims:
        figures = [(plot_indices(ds), "indices")]
    else:
        raise InputError(f"{path}: not a file uqsurrogate knows how to plot (no density, rmse_bin, S1 or propagation)")
    out.mkdir(parents=True, exist_ok=True)  # only once there is something to draw
    return [p for fig, name in figures for p in _save(fig, out, f"{stem}_{name}", formats)]
