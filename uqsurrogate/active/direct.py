"""The direct route: a study's indices from oracle runs in its own distribution, no network.

For a study of few inputs (the paper's: two ion sizes at fixed h, c, σ) a low-order
polynomial chaos expansion fitted straight to the simulator's (or MD's) runs is both the
surrogate and the estimator:

* weighted least squares with each label's own standard error (long runs count for more),
  :func:`uqsurrogate.sensitivity.pce.fit_expansion`;
* the output's variance over the distribution with each squared coefficient's noise
  variance subtracted (ĉ² - var ĉ is unbiased for c²), so that label noise does not pass
  for variation in the resolution check;
* the indices from the coefficients as they are (plug-in): subtracting the noise there too
  pushes an index near 0 or 1 onto the bound (a small coefficient's debiased square is
  often negative), and on the paper study's cells the plug-in intervals covered the
  simulator's own indices more often (0.92 against 0.78 over 10 seeds at a budget of 150
  default runs; equal, 0.90, at 600);
* their interval from the coefficients' noise distribution N(ĉ, C) (a parametric bootstrap,
  bias-corrected percentile), with C scaled by χ²/dof where that exceeds 1 (an expansion
  that misses part of the response, or errors that understate the noise, widen it);
* the resolution check of the study, on the same terms as the surrogate's: the output's
  standard deviation over the distribution against the fit's error there, sqrt(tr C).

Chosen over a nested or Saltelli estimator on the runs because those need thousands of runs;
over chaospy's own ``fit_regression`` because it has no weights and no covariance.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from .._random import as_generator
from .._validation import check_float, check_int
from ..errors import InputError
from ..problem import Problem
from ..results import bias_corrected_interval
from ..sensitivity.pce import expansion_indices, fit_expansion, n_terms

__all__ = ["direct_indices"]




def direct_indices(xv: np.ndarray, y: np.ndarray, se: np.ndarray, problem: Problem, *, order: int = 2,
                   threshold: float = 3.0, resamples: int = 400, conf_level: float = 0.95,
                   seed=0) -> tuple[xr.Dataset, np.ndarray]:
    """First-order indices, their interval and the resolution check from noisy runs.

    Parameters
    ----------
    xv : numpy.ndarray, shape (n, d)
        The varied inputs of ``problem`` of each run, in its order.
    y : numpy.ndarray, shape (n, P)
        The runs' outputs.
    se : numpy.ndarray, shape (n, P)
        Their standard errors (> 0).
    problem : Problem
        The study's distribution (d varied inputs).
    order : int, default 2
        Total degree of the expansion (the paper study's cells need no more: on exact
        outputs order 2 and order 4 agree within 0.3 points).
    threshold : float, default 3
        Resolved where sd >= threshold x the fit's error.
    resamples : int, default 400
        Draws of the coefficients for the interval.
    conf_level : float, default 0.95
    seed : int or numpy.random.Generator, default 0

    Returns
    -------
    result : xarray.Dataset
        Dims ``input`` (d) and ``output`` (P): ``S1``, ``S1_low``, ``S1_high``, ``variance``,
        ``output_sd``, ``fit_error``, ``resolution_ratio``, ``resolved``, ``chi2_dof``,
        ``mean``.
    precision : numpy.ndarray, shape (P, T, T)
        Ψᵀ W Ψ, for :func:`uqsurrogate.active.cost.cost_to_resolve`.
    """
    order = check_int(order, "order", min_value=1)
    resamples = check_int(resamples, "resamples", min_value=2)
    threshold = check_float(threshold, "threshold", 0, None, closed="neither")
    check_float(conf_level, "conf_level", 0, 1, closed="neither")
    xv, y, se = (np.asarray(a, dtype=float) for a in (xv, y, se))
    d = len(problem.varied)
    if xv.ndim != 2 or xv.shape[1] != d:
        raise InputError(f"xv has shape {xv.shape}; the problem varies {d} inputs ({', '.join(problem.varied)})")
    if y.ndim != 2 or y.shape[0] != xv.shape[0]:
        raise InputError(f"y has shape {y.shape}; it needs one row per run ({xv.shape[0]})")
    terms = n_terms(d, order)
    if xv.shape[0] <= terms:
        raise InputError(f"{xv.shape[0]} runs for an order-{order} expansion of {terms} terms: it needs more runs "
                         "than terms")
    fit = fit_expansion(xv, y, problem, order, sd=se)
    dof = xv.shape[0] - terms
    inflate = np.maximum(1.0, fit.chi2 / dof)
    cov = fit.cov * inflate[:, None, None]
    noise = np.stack([np.diag(c) for c in cov], axis=1)  # (T, P)
    var = expansion_indices(fit.coef, fit.alphas, noise)[0]  # debiased: noise does not pass for variation
    s1 = expansion_indices(fit.coef, fit.alphas)[3]  # plug-in: in [0, 1], and it covers better near 0 and 1
    rng = as_generator(seed)
    reps = np.empty((resamples, d, y.shape[1]))
    for k in range(y.shape[1]):
        draws = rng.multivariate_normal(fit.coef[:, k], cov[k], size=resamples, method="cholesky")  # (R, T)
        reps[:, :, k] = expansion_indices(draws.T, fit.alphas)[3].T
    low, high = bias_corrected_interval(reps, s1, conf_level)
    low, high = np.fmin(low, s1), np.fmax(high, s1)  # a skewed bootstrap's corrected bounds can miss the estimate
    sd = np.sqrt(np.maximum(var, 0))
    error = np.sqrt(np.trace(cov, axis1=1, axis2=2))
    ratio = sd / error
    precision = np.stack([np.linalg.inv(c) for c in cov])
    dims = ("input", "output")
    result = xr.Dataset(
        {
            "S1": (dims, s1, {"units": "1", "long_name": "first-order index (PCE, noise-debiased)"}),
            "S1_low": (dims, low, {"units": "1", "long_name": f"lower bound of S1 ({conf_level:g})"}),
            "S1_high": (dims, high, {"units": "1", "long_name": f"upper bound of S1 ({conf_level:g})"}),
            "variance": ("output", var, {"long_name": "output variance over the distribution (noise-debiased)"}),
            "output_sd": ("output", sd, {"long_name": "standard deviation of the output over the inputs"}),
            "fit_error": ("output", error, {"long_name": "RMS noise error of the fitted response, sqrt(tr C)"}),
            "resolution_ratio": ("output", ratio, {"units": "1", "long_name": "output_sd / fit_error"}),
            "resolved": ("output", (ratio >= threshold).astype(np.int8),
                         {"long_name": f"1 where output_sd >= {threshold:g} x fit_error"}),
            "chi2_dof": ("output", fit.chi2 / dof, {"units": "1", "long_name": "weighted residual chi2 / dof"}),
            "mean": ("output", fit.coef[0], {"long_name": "output mean over the distribution"}),
            "coefficients": (("term", "output"), fit.coef, {"long_name": "coefficients, orthonormal basis"}),
            "multi_index": (("term", "input"), fit.alphas, {"long_name": "degree of each input in each term"}),
        },
        coords={"input": list(problem.varied)},
        attrs={"method": "direct (weighted PCE on oracle runs)", "order": order, "terms": terms, "runs": len(y),
               "resamples": resamples, "conf_level": conf_level, "resolution_threshold": threshold},
    )
    return result, precision
