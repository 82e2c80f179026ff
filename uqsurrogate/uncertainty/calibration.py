"""Calibration of predicted standard deviations, and how to measure it.

A predicted standard deviation σ(x) is *calibrated* when the Gaussian interval
μ ± z_{(1+p)/2} σ holds a fraction p of the truths, for every level p.  The reliability
curve plots the observed fraction against p; the miscalibration area is the mean absolute
gap between the two over p in (0, 1) (Tran et al. 2020; the uncertainty-biased-MD work uses it
to compare uncertainty methods).

Two maps, fitted on a calibration split disjoint from the training data:

* ``scale`` — σ' = s σ with s² = mean(((y - μ)/σ)²): the Gaussian maximum-likelihood scale.
* ``isotonic`` — σ' = g(σ) with g the increasing function that best fits sqrt(π/2)abs(y - μ)
  against σ (scikit-learn's ``IsotonicRegression``; for a Gaussian error Eabs(y - μ) = sqrt(2/π) σ).
  Stored as its breakpoints (JSON), applied by linear interpolation.

The fitted map, :class:`Calibration`, is defined in :mod:`uqsurrogate.surrogate.calibration_map`
(applying a stored one is the model function's, below this module) and importable from here.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_choice
from ..errors import InputError
from ..surrogate.calibration_map import CALIBRATIONS, Calibration

__all__ = ["CALIBRATIONS", "Calibration", "calibrate", "miscalibration_area", "reliability"]


def _flat(y, mean, std, mask) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The compared values as 1-D arrays: only outputs in ``mask`` with std > 0."""
    y, mean, std = (np.asarray(a, dtype=float) for a in (y, mean, std))
    if not (y.shape == mean.shape == std.shape):
        raise InputError(f"y, mean and std have shapes {y.shape}, {mean.shape}, {std.shape}; they must be equal")
    keep = std > 0
    if mask is not None:
        keep &= np.broadcast_to(np.asarray(mask, dtype=bool), y.shape)
    if not keep.any():
        raise InputError("no output with std > 0 (inside mask) to compare")
    return y[keep], mean[keep], std[keep]


def reliability(y, mean, std, levels=None, mask=None) -> tuple[np.ndarray, np.ndarray]:
    """Observed coverage of central Gaussian intervals at each level.

    Parameters
    ----------
    y, mean, std : array_like, shape (n, ...)
    levels : array_like, optional
        Nominal levels in (0, 1); default 0.01, 0.02, ..., 0.99.
    mask : array_like of bool, broadcastable to y, optional

    Returns
    -------
    levels, observed : numpy.ndarray, shape (n_levels,)
    """
    from scipy.stats import norm

    y, mean, std = _flat(y, mean, std, mask)
    levels = np.linspace(0.01, 0.99, 99) if levels is None else np.asarray(levels, dtype=float)
    z = np.abs(y - mean) / std
    half = norm.ppf(0.5 + levels / 2)
    return levels, (z[None, :] <= half[:, None]).mean(axis=1)


def miscalibration_area(y, mean, std, mask=None) -> float:
    """Mean abs(observed - nominal) coverage over levels 0.01 ... 0.99 (0 is perfect, at most 0.5).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.normal(size=(20000,))
    >>> round(miscalibration_area(y, np.zeros_like(y), np.ones_like(y)), 2)
    0.0
    >>> from scipy.stats import norm  # three times too wide: P(abs(Z) <= 3 z_p) against p, exactly
    >>> p = np.linspace(0.01, 0.99, 99)
    >>> exact = np.mean(np.abs(2 * norm.cdf(3 * norm.ppf(0.5 + p / 2)) - 1 - p))
    >>> bool(abs(miscalibration_area(y, np.zeros_like(y), 3 * np.ones_like(y)) - exact) < 0.01)
    True
    """
    levels, observed = reliability(y, mean, std, mask=mask)
    return float(np.mean(np.abs(observed - levels)))


def calibrate(y, mean, std, method: str = "scale", mask=None) -> Calibration:
    """Fit a calibration map on a held-out calibration split.

    Parameters
    ----------
    y : array_like, shape (n, ...)
        Truths (or labels) of the calibration inputs.
    mean, std : array_like, shape (n, ...)
        The surrogate's prediction and predicted standard deviation there.
    method : {"scale", "isotonic"}, default "scale"
    mask : array_like of bool, optional

    Returns
    -------
    Calibration
    """
    check_choice(method, "method", CALIBRATIONS)
    y, mean, std = _flat(y, mean, std, mask)
    if method == "scale":
        return Calibration("scale", scale=float(np.sqrt(np.mean(((y - mean) / std) ** 2))), n=y.size)
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(increasing=True, out_of_bounds="clip", y_min=0.0)
    iso.fit(std, np.sqrt(np.pi / 2) * np.abs(y - mean))
    x, fitted = iso.X_thresholds_, iso.y_thresholds_
    fitted = np.maximum(fitted, 1e-12 * max(float(fitted.max()), 1e-300))  # a calibrated std stays > 0
    return Calibration("isotonic", x=x.tolist(), y=fitted.tolist(), n=y.size)
