"""Less label noise for a profile's bin: a local cubic fit across its neighbours in z.

The counting noise of an MD density profile is independent from bin to bin, while the
profile itself is smooth away from the walls' contact layers.  The value of a cubic fitted
by least squares to the 2k + 1 bins around a bin (a Savitzky-Golay filter; scipy's
``savgol_coeffs``) is a fixed linear combination Σ w_j ρ_j of them: exact for any cubic in
z, with a noise variance Σ w_j² times one bin's (0.21 at k = 5, 0.13 at k = 8).  For the
direct route of a refinement that cuts the cost of a cell by 1 / Σ w_j², as long as the
window is narrow enough for ρ to be a cubic across it.

:func:`choose_window` decides that without new runs, on a surrogate of the same profiles
(the study's ensemble): the widest window whose smoothed first-order indices stay within
``bias`` of those of the narrowest window (±2 bins).  Not of the bin itself: a network's
error differs from bin to bin, so its indices wander by 1-4 points between neighbouring bins
at exactly the cells that need refining, which smoothing removes; what the check looks for
is the structure of a contact layer, which moves them by 10 points and more.  Measured on
the simulator itself at the paper study's cells, the window's own bias: ±5 bins (±0.045 nm)
moves no index by more than 0.3 points, ±8 by at most 0.9 (c = 1.9 M, −1.55 nm) except at
−1.85 nm and c = 0.3 M, where it moves S+ by 14 points (the contact layer) and the check on
the shipped ensemble stops at ±5.
"""

from __future__ import annotations

import warnings

import numpy as np

from .._validation import check_int
from ..errors import InputError

__all__ = ["WINDOWS", "centre_weights", "choose_window", "smooth_bin"]

#: The half-widths tried (bins on each side); the first non-zero one is the check's baseline.
WINDOWS = (0, 2, 3, 5, 8)


def centre_weights(k: int) -> np.ndarray:
    """Weights (2k + 1,) of the centre value of a least-squares cubic over 2k + 1 equal bins (k = 0: [1])."""
    from scipy.signal import savgol_coeffs

    k = check_int(k, "k", min_value=0)
    if k == 0:
        return np.ones(1)
    if k == 1:  # three points cannot take a cubic: the quadratic's centre weights, which equal the cubic's for k >= 2
        return savgol_coeffs(3, 2, use="dot")
    return savgol_coeffs(2 * k + 1, 3, use="dot")


def smooth_bin(values: np.ndarray, errors: np.ndarray, bin: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The locally fitted value at ``bin`` and its standard error, for every row.

    Parameters
    ----------
    values, errors : numpy.ndarray, shape (n, n_bins)
        A profile and its independent per-bin standard errors.
    bin : int
    k : int
        Half-width of the window.

    Returns
    -------
    value, error : numpy.ndarray, shape (n,)
    """
    if bin - k < 0 or bin + k >= values.shape[1]:
        raise InputError(f"a window of ±{k} bins around bin {bin} leaves the profile's {values.shape[1]} bins")
    w = centre_weights(k)
    sl = slice(bin - k, bin + k + 1)
    return values[:, sl] @ w, np.sqrt((errors[:, sl] ** 2) @ (w**2))


def choose_window(f, problem, bin: int, *, bias: float = 0.03, order: int = 2, n: int = 256, seed: int = 0,
                  windows=WINDOWS) -> int:
    """The widest window whose smoothed indices stay within ``bias`` of the narrowest window's, on a surrogate.

    Parameters
    ----------
    f : ModelFunction
        A surrogate of the profiles (restricted to nothing yet; ρ is taken from it).
    problem : Problem
        The study's distribution.
    bin : int
        The cell's bin.
    bias : float, default 0.03
        Largest change of any first-order index from the narrowest window's (0.03: 3 points,
        above a network's wander from bin to bin, below a contact layer's structure).
    order : int, default 2
    n : int, default 256
        Draws (scrambled Sobol') at which the surrogate is evaluated.
    seed : int, default 0
    windows : sequence of int
        Half-widths tried (0 and one other at least; the smallest non-zero one is the
        baseline).

    Returns
    -------
    int
        The chosen half-width (0: no smoothing, when no window but 0 is tried or fits).
    """
    from scipy.stats import qmc

    from ..sensitivity.pce import expansion_indices, fit_expansion
    from ..warnings import ExtrapolationWarning

    widest = max(k for k in windows if bin - k >= 0 and bin + k < f.n_bins)
    bins = list(range(bin - widest, bin + widest + 1))
    u = np.clip(qmc.Sobol(len(problem.varied), seed=np.random.default_rng(seed)).random_base2(
        int(np.ceil(np.log2(n)))), 1e-12, 1 - 1e-12)
    xv = problem.ppf(u)
    g = f.with_options(ensemble="mean", extrapolation="warn").restrict(output="charge_density", bins=bins)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)  # the study's own draws, as the study evaluates them
        rho = np.asarray(g(problem.full(xv)), dtype=float)
    tried = [k for k in sorted(set(windows)) if 0 < k <= widest]
    chosen = 0
    base = None
    for k in tried:
        y = rho[:, widest - k:widest + k + 1] @ centre_weights(k)
        fit = fit_expansion(xv, y[:, None], problem, order)
        s1 = expansion_indices(fit.coef, fit.alphas)[3][:, 0]
        if base is None:
            base = s1
        if not np.all(np.abs(s1 - base) <= bias):
            break
        chosen = k
    return chosen
