"""Split-conformal intervals with a finite-sample guarantee.

Scores s_i = abs(y_i - μ_i) / σ_i on n calibration samples that the model never trained on.
With q the ⌈(n + 1)(1 - α)⌉-th smallest score, the interval μ ± q σ of a new sample
exchangeable with the calibration samples holds its truth with probability at least
1 - α, and at most 1 - α + 1/(n + 1) when the scores have no ties (Vovk et al. 2005; Lei et
al. 2018).  It needs ⌈(n + 1)(1 - α)⌉ <= n, that is n >= (1 - α)/α: 9 samples at α = 0.1.

* per output (``intervals``): one q per output (bin), from that output's n scores, so
  every bin has the guarantee on its own;
* simultaneous (``band``): the score of a sample is its largest over the outputs in the
  mask, so the whole profile lies inside μ ± q σ with probability at least 1 - α.

The guarantee is marginal over the calibration draw and the new sample; it needs the new
inputs to come from the calibration inputs' distribution.  ``coverage`` measures it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._validation import check_float
from ..errors import InputError

__all__ = ["SplitConformal", "check_disjoint", "conformal_quantile", "coverage"]


def conformal_quantile(scores, alpha: float, axis: int = 0) -> np.ndarray:
    """The ⌈(n + 1)(1 - α)⌉-th smallest of n scores along ``axis``.

    Examples
    --------
    >>> float(conformal_quantile(np.arange(1.0, 20.0), 0.1))  # n = 19: the 18th smallest
    18.0
    >>> conformal_quantile(np.arange(1.0, 5.0), 0.1)
    Traceback (most recent call last):
    ...
    uqsurrogate.errors.InputError: 4 calibration samples are too few for alpha = 0.1: it needs at least 9
    """
    alpha = check_float(alpha, "alpha", 0, 1, closed="neither")
    scores = np.asarray(scores, dtype=float)
    n = scores.shape[axis]
    k = math.ceil((n + 1) * (1 - alpha))
    if k > n:
        need = math.ceil((1 - alpha) / alpha - 1e-12)
        raise InputError(f"{n} calibration samples are too few for alpha = {alpha:g}: it needs at least {need}")
    return np.take(np.sort(scores, axis=axis), k - 1, axis=axis)


def check_disjoint(X_calibration, X_training) -> None:
    """Refuse a calibration set that shares input rows with the training set (the guarantee needs new data)."""
    a = np.ascontiguousarray(np.asarray(X_calibration, dtype=np.float64))
    b = np.ascontiguousarray(np.asarray(X_training, dtype=np.float64))
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise InputError(f"calibration inputs {a.shape} and training inputs {b.shape} must be (n, d) alike")
    seen = {row.tobytes() for row in b}
    shared = [i for i, row in enumerate(a) if row.tobytes() in seen]
    if shared:
        raise InputError(f"{len(shared)} of {len(a)} calibration input rows are also training rows (first: row "
                         f"{shared[0]}); calibrate on data the model never trained on")


def coverage(y, low, high, mask=None) -> float:
    """Share of values with low <= y <= high (over the outputs in ``mask``)."""
    y, low, high = (np.asarray(a, dtype=float) for a in (y, low, high))
    inside = (low <= y) & (y <= high)
    if mask is not None:
        inside = inside[np.broadcast_to(np.asarray(mask, dtype=bool), y.shape)]
    return float(inside.mean())


@dataclass
class SplitConformal:
    """Split-conformal intervals normalised by a predicted standard deviation.

    Fit on a calibration split with :meth:`fit`; then ``intervals(mean, std)`` per output
    and ``band(mean, std)`` for the whole output at once.

    Parameters
    ----------
    alpha : float, default 0.1
        Miscoverage: the intervals hold at least 1 - alpha.

    Attributes
    ----------
    q_ : numpy.ndarray, shape (...)
        Per-output score quantiles (NaN where no output had std > 0).
    q_band_ : float
        The simultaneous band's quantile.
    n_ : int
        Calibration samples.
    """

    alpha: float = 0.1

    def fit(self, y, mean, std, mask=None) -> SplitConformal:
        """Fit on calibration data y, mean, std of shape (n, ...); ``mask`` marks outputs with uncertainty."""
        check_float(self.alpha, "alpha", 0, 1, closed="neither")
        y, mean, std = (np.asarray(a, dtype=float) for a in (y, mean, std))
        if not (y.shape == mean.shape == std.shape) or y.ndim < 1:
            raise InputError(f"y, mean and std have shapes {y.shape}, {mean.shape}, {std.shape}; expected (n, ...) alike")
        valid = std > 0
        if mask is not None:
            valid &= np.broadcast_to(np.asarray(mask, dtype=bool), y.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            scores = np.where(valid, np.abs(y - mean) / std, np.nan)
        usable = valid.all(axis=0)  # outputs with a score for every calibration sample
        self.q_ = np.full(y.shape[1:], np.nan)
        if usable.any():
            self.q_[usable] = conformal_quantile(scores[:, usable], self.alpha)
        self.q_band_ = float(conformal_quantile(np.nanmax(np.where(usable, scores, np.nan).reshape(len(y), -1),
                                                          axis=1), self.alpha))
        self.mask_ = usable
        self.n_ = len(y)
        return self

    def intervals(self, mean, std) -> tuple[np.ndarray, np.ndarray]:
        """(low, high) per output, each of mean's shape; NaN-width where the output had no score."""
        half = self.q_ * np.asarray(std, dtype=float)
        return np.asarray(mean) - half, np.asarray(mean) + half

    def band(self, mean, std) -> tuple[np.ndarray, np.ndarray]:
        """(low, high) of the simultaneous band over the outputs that had scores."""
        half = np.where(self.mask_, self.q_band_ * np.asarray(std, dtype=float), np.nan)
        return np.asarray(mean) - half, np.asarray(mean) + half
