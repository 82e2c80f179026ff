"""Filters of proposals: uncertain enough, far enough from the training inputs, not repeated.

All distances are Euclidean in the unit box of :class:`~uqsurrogate.active.space.InputBox`.
"""

from __future__ import annotations

import logging

import numpy as np

from .._validation import check_float

__all__ = ["filter_candidates", "min_distances"]

logger = logging.getLogger(__name__)


def min_distances(u: np.ndarray, ref: np.ndarray, chunk: int = 512) -> np.ndarray:
    """Distance from each row of ``u`` (n, d) to its nearest row of ``ref`` (m, d); shape (n,), inf if m = 0."""
    u, ref = np.asarray(u, dtype=float), np.asarray(ref, dtype=float)
    if len(ref) == 0:
        return np.full(len(u), np.inf)
    out = np.empty(len(u))
    for s in range(0, len(u), chunk):
        d2 = ((u[s:s + chunk, None, :] - ref[None]) ** 2).sum(-1)
        out[s:s + chunk] = np.sqrt(d2.min(axis=1))
    return out


def filter_candidates(u: np.ndarray, scores: np.ndarray, u_train: np.ndarray, *,
                      train_scores: np.ndarray | None = None, percentile: float | None = None,
                      min_distance: float = 1e-3) -> np.ndarray:
    """Indices of the proposals that pass the filters, best score first.

    1. ``percentile``: U at least the given percentile of U at the training inputs.
    2. ``min_distance``: at least this far from every training input.
    3. Deduplication: of proposals closer than ``min_distance`` to each other, only the one
       with the higher score stays (greedy, best first).

    Parameters
    ----------
    u : numpy.ndarray, shape (n, d)
        Unit-box proposals.
    scores : numpy.ndarray, shape (n,)
        Their U (or any score where higher is more wanted).
    u_train : numpy.ndarray, shape (m, d)
        The training inputs, in the same unit box.
    train_scores : numpy.ndarray, shape (m,), optional
        U at the training inputs (needed with ``percentile``).
    percentile : float, optional
        In [0, 100].
    min_distance : float, default 1e-3
        >= 0, in unit-box units.

    Returns
    -------
    numpy.ndarray of int
        Indices into ``u``, in decreasing order of score.
    """
    scores = np.asarray(scores, dtype=float)
    min_distance = check_float(min_distance, "min_distance", 0, None)
    keep = np.isfinite(scores)
    if percentile is not None:
        percentile = check_float(percentile, "percentile", 0, 100)
        if train_scores is None:
            from ..errors import InputError

            raise InputError("percentile needs train_scores (U at the training inputs)")
        floor = float(np.percentile(train_scores, percentile))
        keep &= scores >= floor
    keep &= min_distances(u, u_train) >= min_distance
    order = [i for i in np.argsort(-scores, kind="stable") if keep[i]]
    chosen: list[int] = []
    for i in order:  # greedy deduplication, best first
        if not chosen or min_distances(u[i:i + 1], u[chosen])[0] >= max(min_distance, 1e-12):
            chosen.append(int(i))
    logger.info("filters: %d of %d proposals pass (percentile %s, min_distance %g)", len(chosen), len(u),
                percentile, min_distance)
    return np.asarray(chosen, dtype=int)
