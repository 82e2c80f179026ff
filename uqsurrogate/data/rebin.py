"""Conservative rebinning of bin-averaged profiles.

Profiles from different runs come on different grids (other bin widths, other slit
widths, extra points).  To stack them along ``sample`` every profile is moved onto
``n_bins`` equal bins spanning the slit, (-h/2, h/2).

The method is *conservative overlap averaging*: a new bin's value is the average of the
old bins weighted by how much of the new bin each one covers,

    n_new[i] = sum_j  w[i, j] n_old[j],   w[i, j] = |new_i ∩ old_j| / |new_i|,

so the number of ions per unit area, ∫ n dz, is preserved exactly, a profile already on
the target grid is returned unchanged, and a uniform profile stays uniform.  Errors are
propagated as if the old bins' errors were independent,

    ε_new[i] = sqrt( sum_j w[i, j]² ε_old[j]² ),

which is exact for splitting a bin (one old bin per new bin: ε is kept) and, for merging,
is optimistic when neighbouring MD bins are positively correlated.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_int
from ..errors import InputError

__all__ = ["edges_from_centres", "overlap_weights", "rebin", "uniform_edges"]


def uniform_edges(h: float, n_bins: int) -> np.ndarray:
    """Edges of ``n_bins`` equal bins over (-h/2, h/2).

    Parameters
    ----------
    h : float
        Slit width (nm).
    n_bins : int
        Number of bins.

    Returns
    -------
    numpy.ndarray, shape (n_bins + 1,)

    Examples
    --------
    >>> uniform_edges(4.0, 4)
    array([-2., -1.,  0.,  1.,  2.])
    """
    if not h > 0:
        raise InputError(f"h = {h!r} nm; it must be positive")
    n_bins = check_int(n_bins, "n_bins", min_value=1)
    return np.linspace(-h / 2, h / 2, n_bins + 1)


def edges_from_centres(z: np.ndarray) -> np.ndarray:
    """Bin edges for strictly increasing bin centres.

    Interior edges lie halfway between neighbouring centres; the outer edges lie half
    the neighbouring spacing beyond the first and last centres.  For equal bins this
    recovers the exact edges.

    Parameters
    ----------
    z : numpy.ndarray, shape (n,)
        Bin centres, n >= 2.

    Returns
    -------
    numpy.ndarray, shape (n + 1,)
    """
    z = np.asarray(z, dtype=float)
    if z.ndim != 1 or z.size < 2:
        raise InputError(f"z must be 1-D with at least 2 bin centres, got shape {z.shape}")
    step = np.diff(z)
    if not np.all(step > 0):
        i = int(np.argmin(step > 0))
        raise InputError(f"z must be strictly increasing; z[{i}] = {z[i]:g} >= z[{i + 1}] = {z[i + 1]:g}")
    mid = 0.5 * (z[1:] + z[:-1])
    return np.concatenate([[z[0] - step[0] / 2], mid, [z[-1] + step[-1] / 2]])


def overlap_weights(old_edges: np.ndarray, new_edges: np.ndarray) -> np.ndarray:
    """Fraction of each new bin covered by each old bin.

    Parameters
    ----------
    old_edges : numpy.ndarray, shape (m + 1,)
    new_edges : numpy.ndarray, shape (k + 1,)
        Both strictly increasing.

    Returns
    -------
    numpy.ndarray, shape (k, m)
        ``w[i, j] = |new_i ∩ old_j| / |new_i|``.
    """
    old_edges = np.asarray(old_edges, dtype=float)
    new_edges = np.asarray(new_edges, dtype=float)
    lo = np.maximum(new_edges[:-1, None], old_edges[None, :-1])
    hi = np.minimum(new_edges[1:, None], old_edges[None, 1:])
    return np.clip(hi - lo, 0.0, None) / np.diff(new_edges)[:, None]


def rebin(
    old_edges: np.ndarray,
    values: np.ndarray,
    new_edges: np.ndarray,
    errors: np.ndarray | None = None,
    *,
    rtol: float = 1e-6,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Move bin averages onto new bins, conserving their integral.

    Parameters
    ----------
    old_edges : numpy.ndarray, shape (m + 1,)
        Edges of the bins of ``values``.
    values : numpy.ndarray, shape (..., m)
        Bin averages; leading axes (for example species) are carried along.
    new_edges : numpy.ndarray, shape (k + 1,)
        Target edges.  They must lie inside ``old_edges`` (to ``rtol`` of the span).
    errors : numpy.ndarray, shape (..., m), optional
        Independent standard errors of ``values``.
    rtol : float, default 1e-6
        Tolerance, relative to the span, for the new grid reaching past the old one.

    Returns
    -------
    values : numpy.ndarray, shape (..., k)
    errors : numpy.ndarray, shape (..., k), or None if no errors were given
    """
    old_edges = np.asarray(old_edges, dtype=float)
    new_edges = np.asarray(new_edges, dtype=float)
    values = np.asarray(values, dtype=float)
    if values.shape[-1] != old_edges.size - 1:
        raise InputError(f"values has {values.shape[-1]} bins but old_edges has {old_edges.size} edges")
    span = old_edges[-1] - old_edges[0]
    if new_edges[0] < old_edges[0] - rtol * span or new_edges[-1] > old_edges[-1] + rtol * span:
        raise InputError(
            f"new bins span [{new_edges[0]:g}, {new_edges[-1]:g}], beyond the data's "
            f"[{old_edges[0]:g}, {old_edges[-1]:g}]; rebinning does not extrapolate"
        )
    w = overlap_weights(old_edges, new_edges)
    new_values = values @ w.T
    new_errors = None
    if errors is not None:
        errors = np.asarray(errors, dtype=float)
        if errors.shape != values.shape:
            raise InputError(f"errors has shape {errors.shape}; expected {values.shape} like values")
        new_errors = np.sqrt(errors**2 @ (w**2).T)
    return new_values, new_errors
