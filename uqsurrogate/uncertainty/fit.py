"""Calibrate an ensemble's spread on held-out simulator (or MD) data, and store it with the ensemble.

:func:`calibrate_ensemble` compares the ensemble's member mean and spread with the truth
(``density_true`` where the data have it, else the labels) on a calibration set the members
never trained on, for each output kind (densities, ρ, S), and fits a calibration map and a
split-conformal quantile for each.  Half of the set fits, the other half measures
(miscalibration area before and after, conformal coverage), then the map is refitted on all
of it.  :func:`write_calibration` stores the result in ``ensemble.json``, where
:class:`~uqsurrogate.model_function.ModelFunction` finds it (``calibrated_std``).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from .._random import as_generator
from .._validation import check_float
from ..errors import InputError
from .calibration import CALIBRATIONS, Calibration, calibrate, miscalibration_area, reliability
from .conformal import SplitConformal, check_disjoint, coverage

__all__ = ["calibrate_ensemble", "write_calibration"]


def _inputs(ds, names) -> np.ndarray:
    missing = [k for k in names if k not in ds]
    if missing:
        raise InputError(f"the calibration data lack the model's inputs {missing}")
    return np.stack([np.asarray(ds[k].values, dtype=float) for k in names], axis=1)


def calibrate_ensemble(f, data, *, outputs=("density", "charge_density", "integrated_charge"), alpha: float = 0.1,
                       training_data=None, seed: int = 0) -> dict:
    """Calibration maps and conformal quantiles of an ensemble's spread, with their measured effect.

    Parameters
    ----------
    f : ModelFunction
        An ensemble (``f.n_members >= 2``).
    data : xarray.Dataset
        A training-data Dataset of inputs the members never trained on, with ``density_true``
        (preferred) or labels ``density``; at least 2 (1 - alpha)/alpha samples.
    outputs : sequence of str
        Output kinds to calibrate.
    alpha : float, default 0.1
        Conformal miscoverage.
    training_data : xarray.Dataset, optional
        The members' training data: calibration rows that appear there are refused.
    seed : int, default 0
        Seeds the half split used to measure the effect.

    Returns
    -------
    dict
        Per output kind: ``calibration`` (a :class:`~.calibration.Calibration` as a dict: of
        none, scale and isotonic, the one with the smallest miscalibration area on held-out
        data, each fitted on one half and scored on the other, both ways), ``conformal_q`` (per-bin, list),
        ``conformal_q_band`` (of scores normalised by the raw member spread: the interval is
        mean ± q std), and ``measured`` (areas before and after, coverage per bin and
        band on the held-out half); plus ``reference`` and ``n``.
    """
    if f.n_members < 2:
        raise InputError("calibrate_ensemble needs an ensemble (the spread of one network is not defined)")
    alpha = check_float(alpha, "alpha", 0, 1, closed="neither")
    X = _inputs(data, f.input_names)
    if training_data is not None:
        check_disjoint(X, _inputs(training_data, f.input_names))
    reference = "density_true" if "density_true" in data else "density"
    truth = np.asarray(data[reference].values, dtype=float)
    labels = np.asarray(data["density"].values, dtype=float) if reference == "density_true" else None
    n = len(X)
    if truth.shape[1:] != (len(f.species), f.n_bins):
        raise InputError(f"data: {reference} has {truth.shape[1]} species x {truth.shape[-1]} bins per sample; the "
                         f"ensemble gives {len(f.species)} x {f.n_bins}: calibrate on profiles of its bins (import-md "
                         f"--bins {f.n_bins})")
    need = math.ceil((1 - alpha) / alpha - 1e-12)  # what a split-conformal quantile needs (conformal_quantile)
    if n // 2 < need:
        raise InputError(f"data has {n} samples; the calibration is measured on halves of them ({n // 2} and "
                         f"{n - n // 2}), and each needs at least {need} for alpha = {alpha:g}: give at least "
                         f"{2 * need} samples")
    half = as_generator(seed).permutation(n)
    fit_rows, test_rows = np.sort(half[: n // 2]), np.sort(half[n // 2:])
    out: dict = {"reference": reference, "n": int(n), "alpha": alpha}
    h = X[:, f.input_names.index("h")] if "h" in f.input_names else None
    sigma = X[:, f.input_names.index("sigma")] if "sigma" in f.input_names else None
    from ..observables import charge_density, integrated_charge

    for kind in outputs:
        g = f.restrict(output=kind).with_options(extrapolation="clip")
        mean, std = g.mean_std(X)
        def observe(d):
            return {"density": lambda: d, "charge_density": lambda: charge_density(d),
                    "integrated_charge": lambda: integrated_charge(d, h, sigma)}[kind]()

        y = observe(truth)
        mask = np.any(std > 0, axis=0)
        # each map fitted on one half and scored on the other, both ways; the raw spread ("none")
        # competes too, so a map is kept only where it helps on data it did not see
        areas, fitted = {"none": 0.0}, {"none": Calibration("scale", scale=1.0, n=0)}
        for a, b in ((fit_rows, test_rows), (test_rows, fit_rows)):
            areas["none"] += miscalibration_area(y[b], mean[b], std[b], mask=mask) / 2
            for method in CALIBRATIONS:
                cal = calibrate(y[a], mean[a], std[a], method=method, mask=mask)
                fitted.setdefault(method, cal)  # the one fitted on the first half, for the curves
                areas[method] = areas.get(method, 0.0) + miscalibration_area(y[b], mean[b], cal(std[b]),
                                                                              mask=mask) / 2
        best = min(areas, key=areas.get)
        # conformal scores use the raw member spread: a map fitted on the same rows would make
        # their scores smaller than a new sample's and break the guarantee
        conf = SplitConformal(alpha).fit(y[fit_rows], mean[fit_rows], std[fit_rows], mask=mask)
        low, high = conf.intervals(mean[test_rows], std[test_rows])
        blo, bhi = conf.band(mean[test_rows], std[test_rows])
        levels, before = reliability(y[test_rows], mean[test_rows], std[test_rows], mask=mask)
        _, after = reliability(y[test_rows], mean[test_rows], fitted[best](std[test_rows]), mask=mask)
        measured = {
            "reliability_levels": levels.tolist(), "reliability_before": before.tolist(),
            "reliability_after": after.tolist(),
            "miscalibration_area_before": areas["none"],
            "miscalibration_area_none": areas["none"],
            **{f"miscalibration_area_{m}": a for m, a in areas.items()},
            "conformal_coverage": coverage(y[test_rows], low, high, mask=conf.mask_),
            "conformal_band_coverage": float(np.mean(np.all(
                ((blo <= y[test_rows]) & (y[test_rows] <= bhi)) | ~conf.mask_, axis=tuple(range(1, y.ndim))))),
            "n_fit": int(len(fit_rows)), "n_test": int(len(test_rows)),
        }
        if labels is not None:  # the same intervals against the MD-like labels (their noise adds to the error)
            measured["conformal_coverage_vs_labels"] = coverage(observe(labels)[test_rows], low, high, mask=conf.mask_)
        final = fitted["none"] if best == "none" else calibrate(y, mean, std, method=best, mask=mask)
        full = SplitConformal(alpha).fit(y, mean, std, mask=mask)
        out[kind] = {"calibration": final.to_dict(), "method": best,
                     "conformal_q": np.where(np.isfinite(full.q_), full.q_, -1.0).tolist(),
                     "conformal_q_band": full.q_band_, "measured": measured}
    return out


def write_calibration(path: str | os.PathLike, calibration: dict) -> Path:
    """Store a calibration in an ensemble directory's ``ensemble.json`` (atomically).

    The file's one home is :mod:`uqsurrogate.surrogate.ensemble`; this calls its
    :func:`~uqsurrogate.surrogate.ensemble.set_calibration`.
    """
    from ..surrogate.ensemble import set_calibration

    return set_calibration(path, calibration)
