"""Min-max input scaling, defined once: training, the artifact, the model function and the
legacy importer all use these functions.

x_scaled = (x - lo) / span, span = hi - lo (1 where hi = lo, so a constant input maps to 0).
"""

from __future__ import annotations

import numpy as np

__all__ = ["fold_minmax", "minmax_scale", "minmax_span"]


def minmax_span(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """hi - lo, with 1 where the range is empty; shape (n_inputs,)."""
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    return np.where(hi > lo, hi - lo, 1.0)


def minmax_scale(X: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Scale physical inputs X (n, n_inputs) to [0, 1] on the training ranges [lo, hi].

    Examples
    --------
    >>> minmax_scale(np.array([[1.0, 5.0]]), [0.0, 5.0], [2.0, 5.0])
    array([[0.5, 0. ]])
    """
    return (np.asarray(X, dtype=float) - np.asarray(lo, dtype=float)) / minmax_span(lo, hi)


def fold_minmax(weight: np.ndarray, bias: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A first dense layer's (weight (n_inputs, m), bias (m,)) that takes physical inputs.

    x_scaled @ W + b = x @ (W / span[:, None]) + (b - (lo / span) @ W).
    """
    lo = np.asarray(lo, dtype=float)
    span = minmax_span(lo, hi)
    return weight / span[:, None], bias - (lo / span) @ weight
