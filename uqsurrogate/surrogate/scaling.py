"""Min-max input scaling, defined once: training, the artifact, the model function and the
legacy importer all use these functions.

x_scaled = (x - lo) / span, span = hi - lo (1 where hi = lo, so a constant input maps to 0).
"""

from __future__ import annotations

import numpy as np

__all__ = ["fold_minmax", "minmax_scale", "minmax_span", "rescale_first_layer"]


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


def rescale_first_layer(weight: np.ndarray, bias: np.ndarray, old: tuple, new: tuple) -> tuple[np.ndarray, np.ndarray]:
    """A first dense layer's (weight, bias) for new min-max ranges, computing the same function.

    The layer saw inputs scaled on ``old = (lo, hi)``; the returned one sees them scaled on
    ``new = (lo, hi)`` and gives the same pre-activations: the change of scaling is folded into
    the weights (:func:`fold_minmax`, then its inverse for the new ranges).

    Parameters
    ----------
    weight : numpy.ndarray, shape (n_inputs, m)
    bias : numpy.ndarray, shape (m,)
    old, new : tuple of array_like, each of shape (n_inputs,)

    Returns
    -------
    tuple of numpy.ndarray
        weight (n_inputs, m), bias (m,).

    Examples
    --------
    >>> W, b = np.array([[2.0], [1.0]]), np.array([0.5])
    >>> W2, b2 = rescale_first_layer(W, b, ([0, 0], [1, 2]), ([-1, 0], [1, 4]))
    >>> x = np.array([[0.5, 1.0]])
    >>> bool(np.allclose(minmax_scale(x, [0, 0], [1, 2]) @ W + b, minmax_scale(x, [-1, 0], [1, 4]) @ W2 + b2))
    True
    """
    w_phys, b_phys = fold_minmax(np.asarray(weight, dtype=float), np.asarray(bias, dtype=float), *old)
    lo_new = np.asarray(new[0], dtype=float)
    span_new = minmax_span(*new)
    return w_phys * span_new[:, None], b_phys + lo_new @ w_phys
