"""Polynomial chaos expansion (chaospy) and Sobol' indices from its coefficients.

For independent inputs the orthonormal basis is a product of univariate orthonormal
polynomials, ψ_α(x) = Π_i φ_{α_i}(x_i), one family per input distribution (chaospy's
``generate_expansion(order, marginal, normed=True)``: Legendre for uniform, Hermite for
normal, numerically built families for the truncated normal).  The multi-indices α are
all those of total degree <= ``order``.  Coefficients come from one least-squares solve
for every output at once, on ``n`` scrambled Sobol' points mapped through the inputs'
inverse CDFs.

With an orthonormal basis the moments and Sobol' indices are sums of squared
coefficients: mean = c_0, V = Σ_{α≠0} c_α², S_i = Σ_{α: only α_i > 0} c_α² / V,
ST_i = Σ_{α: α_i > 0} c_α² / V.  (They are wrong for an unnormalised basis — chaospy's
default ``normed=False`` — hence the explicit normalisation here.  chaospy's symbolic
``Sens_m``/``Sens_t`` are exact too but take minutes for a hundred outputs.)

The leave-one-out error of the least-squares fit, from the hat matrix
(e_i = r_i / (1 - h_ii)), is reported per output relative to the output variance.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr
from scipy.stats import qmc

from .._memory import physical_memory
from .._random import as_generator
from .._validation import check_choice, check_float, check_int
from ..errors import InputError
from ..evaluation import Collect, Varying, evaluate
from ..problem import Problem
from ..results import (
    base_attrs,
    bias_corrected_interval,
    check_input_names,
    dataset,
    index_attrs,
    jackknife_interval,
    output_labels,
    output_units,
    run_options,
    squared_units,
)
from .registry import MethodSpec, Option

__all__ = ["SPEC", "Expansion", "expansion_basis", "expansion_indices", "fit_expansion", "multi_indices", "n_terms", "pce"]

#: Intervals: independent scrambles (jackknifed), a bootstrap of the regression's rows, or none.
CI_METHODS = ("rqmc", "bootstrap", "none")
_CI_TEXT = {
    "rqmc": "jackknife over independent scrambles: bias-corrected indices, t interval within [0, 1]",
    "bootstrap": "bootstrap of the regression's rows, bias-corrected percentile",
    "none": "none",
}

#: The share of the machine's memory the regression's matrices (the basis and its QR factor) may take.
_MEMORY_SHARE = 0.5


def n_terms(d: int, order: int) -> int:
    """The number of multi-indices of ``d`` variables with total degree <= ``order``: C(d + order, d).

    Examples
    --------
    >>> n_terms(2, 2), n_terms(4, 1500)
    (6, 212347034376)
    """
    return math.comb(d + order, d)


def _compositions(total: int, d: int) -> Iterator[tuple[int, ...]]:
    """The d-tuples of integers >= 0 summing to ``total``, in lexicographic order."""
    if d == 1:
        yield (total,)
        return
    for first in range(total + 1):
        for rest in _compositions(total - first, d - 1):
            yield (first, *rest)


def multi_indices(d: int, order: int) -> np.ndarray:
    """All multi-indices of ``d`` variables with total degree <= ``order``, graded, shape (n_terms, d).

    Within a degree they are in lexicographic order; they are made one by one (no walk over
    the (order + 1)^d box), :func:`n_terms` of them.

    Examples
    --------
    >>> multi_indices(2, 2).tolist()
    [[0, 0], [0, 1], [1, 0], [0, 2], [1, 1], [2, 0]]
    """
    out = [idx for total in range(order + 1) for idx in _compositions(total, d)]
    return np.array(out, dtype=int).reshape(-1, d)


def _univariate(problem: Problem, order: int) -> list:
    import chaospy

    return [chaospy.generate_expansion(order, m, normed=True) for m in problem.marginals_chaospy()]


def _basis(univ: list, alphas: np.ndarray, x: np.ndarray) -> np.ndarray:
    """ψ_α(x) for every α and sample: (n, n_terms)."""
    values = [np.asarray(u(x[:, i])).T for i, u in enumerate(univ)]  # (n, order + 1) per input
    out = np.ones((x.shape[0], alphas.shape[0]))
    for i, v in enumerate(values):
        out *= v[:, alphas[:, i]]
    return out


@dataclass(frozen=True)
class Expansion:
    """A polynomial chaos expansion fitted by (weighted) least squares (:func:`fit_expansion`).

    Attributes
    ----------
    alphas : numpy.ndarray, shape (n_terms, d)
        Multi-indices (:func:`multi_indices`).
    psi : numpy.ndarray, shape (n, n_terms)
        The orthonormal basis at the samples.
    coef : numpy.ndarray, shape (n_terms, P)
        Coefficients of every output.
    loo : numpy.ndarray, shape (n, P)
        Leave-one-out residuals (unweighted fit only, else None).
    cov : numpy.ndarray, shape (P, n_terms, n_terms) or None
        With known label errors: the coefficients' noise covariance (ΨᵀWΨ)⁻¹, W = diag(1/sd²).
    chi2 : numpy.ndarray, shape (P,) or None
        With known label errors: Σ r²/sd² over the samples (about n - n_terms when the expansion
        holds and the errors are right).
    """

    alphas: np.ndarray
    psi: np.ndarray
    coef: np.ndarray
    loo: np.ndarray | None = None
    cov: np.ndarray | None = None
    chi2: np.ndarray | None = None

    def error(self) -> np.ndarray:
        """RMS over the input distribution of the fit's noise standard error, per output: sqrt(tr cov), (P,).

        With an orthonormal basis, E_x[ψ(x)ᵀ C ψ(x)] = tr C exactly.
        """
        if self.cov is None:
            raise InputError("the expansion was fitted without label errors: its noise error is not known")
        return np.sqrt(np.trace(self.cov, axis1=1, axis2=2))


def expansion_basis(problem: Problem, order: int, xv: np.ndarray) -> np.ndarray:
    """The orthonormal basis of total degree <= ``order`` at ``xv`` (n, d): shape (n, n_terms)."""
    return _basis(_univariate(problem, order), multi_indices(xv.shape[1], order), xv)


def fit_expansion(xv: np.ndarray, y: np.ndarray, problem: Problem, order: int, *,
                  sd: np.ndarray | None = None) -> Expansion:
    """Least-squares coefficients of an orthonormal polynomial chaos expansion.

    Parameters
    ----------
    xv : numpy.ndarray, shape (n, d)
        The varied inputs of ``problem``, in its order.
    y : numpy.ndarray, shape (n, P)
        Outputs.
    problem : Problem
    order : int
        Total degree.
    sd : numpy.ndarray, shape (n, P), optional
        The labels' standard errors: weighted least squares per output (weights 1/sd²), with
        the coefficients' covariance and χ².  Without it, one ordinary solve for every output
        and leave-one-out residuals.

    Returns
    -------
    Expansion
    """
    alphas = multi_indices(xv.shape[1], order)
    psi = expansion_basis(problem, order, xv)
    if sd is None:
        q, r = np.linalg.qr(psi)
        coef = np.linalg.solve(r, q.T @ y)  # one solve for every output
        hat = np.einsum("ij,ij->i", q, q)
        loo = (y - psi @ coef) / (1 - hat)[:, None]
        return Expansion(alphas, psi, coef, loo=loo)
    sd = np.asarray(sd, dtype=float)
    if sd.shape != y.shape or not np.all(np.isfinite(sd)) or np.any(sd <= 0):
        raise InputError(f"sd must be finite, > 0 and of the outputs' shape {y.shape}; got shape {sd.shape}")
    coef = np.empty((alphas.shape[0], y.shape[1]))
    cov = np.empty((y.shape[1], alphas.shape[0], alphas.shape[0]))
    chi2 = np.empty(y.shape[1])
    for k in range(y.shape[1]):
        a = psi / sd[:, k:k + 1]
        b = y[:, k] / sd[:, k]
        q, r = np.linalg.qr(a)
        coef[:, k] = np.linalg.solve(r, q.T @ b)
        rinv = np.linalg.inv(r)
        cov[k] = rinv @ rinv.T
        chi2[k] = float(np.sum((b - a @ coef[:, k]) ** 2))
    return Expansion(alphas, psi, coef, cov=cov, chi2=chi2)


def expansion_indices(coef: np.ndarray, alphas: np.ndarray,
                      noise: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """Variance and Sobol' indices from orthonormal coefficients.

    Parameters
    ----------
    coef : numpy.ndarray, shape (n_terms, P)
    alphas : numpy.ndarray, shape (n_terms, d)
    noise : numpy.ndarray, shape (n_terms, P), optional
        The coefficients' noise variances: subtracted from the squares (c² - var(c) is
        unbiased for the true c²), so that label noise does not inflate the variances.

    Returns
    -------
    variance : (P,)
    v1, vt : (d, P)
        First-order and total partial variances.
    s1, st : (d, P)
        Indices (NaN where the variance is not > 0).
    """
    sq = coef**2 if noise is None else coef**2 - noise
    d = alphas.shape[1]
    only = [np.flatnonzero((alphas[:, i] > 0) & (alphas.sum(axis=1) == alphas[:, i])) for i in range(d)]
    anyi = [np.flatnonzero(alphas[:, i] > 0) for i in range(d)]
    var = sq[1:].sum(axis=0)
    v1 = np.stack([sq[idx].sum(axis=0) for idx in only])
    vt = np.stack([sq[idx].sum(axis=0) for idx in anyi])
    with np.errstate(divide="ignore", invalid="ignore"):
        return var, v1, vt, np.where(var > 0, v1 / var, np.nan), np.where(var > 0, vt / var, np.nan)



def _check_replicates(replicates: Any, n: int, terms: int) -> int:
    """Scrambles for ``ci="rqmc"``: a power of 2 dividing n, leaving >= ``terms`` points when one is left out."""
    if replicates is None:
        replicates = max(2, min(16, n // 32))
    replicates = check_int(replicates, "replicates", min_value=2)
    if replicates & (replicates - 1) or n % replicates or n - n // replicates < terms:
        raise InputError(f"replicates = {replicates}; ci='rqmc' splits the n = {n} points into that many "
                         f"independent scrambles and refits without each: use a power of 2 that divides n and "
                         f"leaves >= {terms} points (the expansion's terms), or ci='bootstrap'")
    return replicates


def _scrambles(d: int, n: int, replicates: int, rng: np.random.Generator) -> np.ndarray:
    """``replicates`` independent scrambles of n / replicates Sobol' points each, stacked: (n, d) in (0, 1)."""
    m = n // replicates
    blocks = []
    for _ in range(replicates):
        sampler = qmc.Sobol(d, scramble=True, seed=rng)
        blocks.append(sampler.random_base2(m.bit_length() - 1) if m & (m - 1) == 0 else sampler.random(m))
    return np.clip(np.concatenate(blocks), 1e-12, 1 - 1e-12)  # keep unbounded inverse CDFs finite


def _jackknife(psi: np.ndarray, y: np.ndarray, alphas: np.ndarray, replicates: int, pooled: tuple,
               conf_level: float) -> tuple[tuple, dict]:
    """Bias-corrected indices and their intervals from the fit without each scramble.

    ``pooled`` holds the plug-in (S1, ST, S1_agg, ST_agg) of the fit on every point.  Returns
    the jackknife's (S1, ST, S1_agg, ST_agg) and, per name, the interval's (low, high) within [0, 1].
    """
    m = len(y) // replicates
    left = [[], [], [], []]
    for r in range(replicates):
        keep = np.r_[0 : r * m, (r + 1) * m : len(y)]
        coef = np.linalg.lstsq(psi[keep], y[keep], rcond=None)[0]
        var, v1, vt, s1, st = expansion_indices(coef, alphas)
        for part, value in zip(left, (s1, st, v1.sum(axis=1) / var.sum(), vt.sum(axis=1) / var.sum())):
            part.append(value)
    out, intervals = [], {}
    for name, point, part in zip(("S1", "ST", "S1_agg", "ST_agg"), pooled, left):
        est, half = jackknife_interval(point, np.stack(part), conf_level, bias_correct=True)
        out.append(est)
        intervals[name] = (np.clip(est - half, 0, 1), np.clip(est + half, 0, 1))
    return tuple(out), intervals


@run_options(
    seed="Here it seeds the scrambled Sobol' points, then the bootstrap.",
    resamples="With ``ci=\"bootstrap\"``, replicates of the regression: the n (input, output) rows are resampled "
    "with replacement and "
    "the expansion refitted, with no new model evaluation.  The intervals hold the regression's sampling noise, "
    "not the truncation error of the expansion (``loo_error`` measures that).",
    conf_level="Intervals of ``ci`` (rqmc: jackknife t intervals; bootstrap: bias-corrected percentile).",
    chunk_rows="Here 8192 by default.",
)
def pce(
    f: Callable,
    problem: Problem,
    n: int = 512,
    order: int = 4,
    *,
    seed: int | None = None,
    ci: str = "rqmc",
    replicates: int | None = None,
    resamples: int = 100,
    conf_level: float = 0.95,
    chunk_rows: int | None = None,
    map: Any = None,
    progress: bool | None = None,
) -> xr.Dataset:
    """Sobol' indices of every output from a polynomial chaos expansion.

    Parameters
    ----------
    f : callable
        ``f(X (m, n_inputs)) -> (m, ...)``.
    problem : Problem
    n : int, default 512
        Model evaluations for the regression (at least twice the number of terms).
    order : int, default 4
        Total polynomial degree.
    ci : {"rqmc", "bootstrap", "none"}, default "rqmc"
        ``rqmc``: the n points are ``replicates`` independent scrambles of n / replicates
        Sobol' points; the expansion is fitted on all of them, and refitted with each scramble
        left out.  The indices are jackknife bias-corrected (a squared coefficient's noise
        variance taken out, so an inert input's index is near 0, not above it) and their
        interval is the jackknife's t interval, intersected with [0, 1].  ``bootstrap``: one
        scramble of n, the rows resampled and refitted ``resamples`` times (plug-in indices,
        bias-corrected percentile intervals; too wide on QMC rows and never reaching 0).
        ``none``: one scramble, plug-in indices.
    replicates : int, optional
        Scrambles for ``ci="rqmc"``: a power of 2, default min(16, n / 32), at least 2.
    {run options}

    Returns
    -------
    xarray.Dataset
        ``S1``, ``ST`` (input, output dims...), ``S1_agg``, ``ST_agg``, ``mean``,
        ``variance``, ``loo_error`` (relative leave-one-out error) and ``coefficients``;
        with ``resamples``, ``S1_conf``, ``ST_conf`` (half-widths) and ``S1_low``, ``S1_high``,
        ``ST_low``, ``ST_high`` (bounds).
    """
    order = check_int(order, "order", min_value=1)
    resamples = check_int(resamples, "resamples", min_value=0)
    if resamples == 1:
        raise InputError("resamples = 1; use 0 (no intervals) or at least 2 (100 is the default)")
    check_float(conf_level, "conf_level", 0, 1, closed="neither")
    if hasattr(f, "input_names"):
        problem.check_names(f.input_names)
    check_input_names(f, problem, "pce", ("term",))
    d = len(problem.varied)
    n = check_int(n, "n", min_value=1)
    terms = n_terms(d, order)  # counted before any is made: an order of 1500 in 4 inputs has ~2e11 terms
    if n < 2 * terms:
        raise InputError(f"n = {n!r}; an order-{order} expansion in {d} inputs has {terms} terms: "
                         f"use n >= {2 * terms} samples, or a lower order")
    need, have = 2 * 8 * n * terms, physical_memory()
    if have and need > _MEMORY_SHARE * have:
        raise InputError(f"order = {order} with n = {n} in {d} inputs: the regression's basis and its QR factor "
                         f"({n} x {terms}) need {need / 2**30:.1f} GiB, more than half of this machine's "
                         f"{have / 2**30:.1f} GiB; use a lower order")
    check_choice(ci, "ci", CI_METHODS)
    if ci == "rqmc":
        replicates = _check_replicates(replicates, n, terms)
    elif resamples == 0 or ci == "none":
        ci, resamples = "none", 0
    alphas = multi_indices(d, order)
    rng = as_generator(seed)
    u = _scrambles(d, n, replicates if ci == "rqmc" else 1, rng)
    xv = problem.ppf(u)
    chunk = {} if chunk_rows is None else {"chunk_size": check_int(chunk_rows, "chunk_rows", min_value=1)}
    collected, varying = evaluate(f, problem.full(xv), [Collect(), Varying()], map=map, progress=progress, desc="pce",
                                  **chunk)
    y = np.asarray(collected.values, dtype=np.float64)
    out_shape = y.shape[1:]
    y = y.reshape(len(y), -1)
    fit = fit_expansion(xv, y, problem, order)
    psi, coef = fit.psi, fit.coef
    var, v1, vt, s1, st = expansion_indices(coef, alphas)
    with np.errstate(divide="ignore", invalid="ignore"):
        loo_rel = np.where(var > 0, (fit.loo**2).mean(axis=0) / var, np.nan)
    intervals = {}
    s1_agg, st_agg = v1.sum(axis=1) / var.sum(), vt.sum(axis=1) / var.sum()
    if ci == "rqmc":
        (s1, st, s1_agg, st_agg), intervals = _jackknife(psi, y, alphas, replicates,
                                                         (s1, st, s1_agg, st_agg), conf_level)
    elif resamples:
        boot_rng = as_generator(rng.integers(2**63))
        reps = {"S1": [], "ST": []}
        for _ in range(resamples):
            idx = boot_rng.integers(n, size=n)
            c = np.linalg.lstsq(psi[idx], y[idx], rcond=None)[0]
            _, _, _, r1, rt = expansion_indices(c, alphas)
            reps["S1"].append(r1)
            reps["ST"].append(rt)
        for name, point in (("S1", s1), ("ST", st)):
            intervals[name] = bias_corrected_interval(np.stack(reps[name]), point, conf_level)
    dims, coords, yattrs = output_labels(f, problem, out_shape)

    def shaped(v):
        return v.reshape(v.shape[:-1] + tuple(out_shape))

    variables = {
        "S1": (["input", *dims], shaped(s1), index_attrs("S1")),
        "ST": (["input", *dims], shaped(st), index_attrs("ST")),
        "S1_agg": (["input"], s1_agg, {"units": "1", "long_name": "aggregated first-order index"}),
        "ST_agg": (["input"], st_agg, {"units": "1", "long_name": "aggregated total-order index"}),
        "mean": (dims, shaped(coef[0]), {**yattrs, "units": output_units(yattrs), "long_name": "output mean (PCE)"}),
        "variance": (dims, shaped(var), {"units": squared_units(output_units(yattrs)),
                                         "long_name": "output variance (PCE)"}),
        "loo_error": (dims, shaped(loo_rel), {"units": "1", "long_name": "leave-one-out MSE / variance"}),
        "coefficients": (["term", *dims], shaped(coef), {**yattrs, "units": output_units(yattrs),
                                                         "long_name": "coefficients, orthonormal basis"}),
        "multi_index": (["term", "input"], alphas, {"units": "1", "long_name": "degree of each input in each term"}),
    }
    for name, (low, high) in intervals.items():
        if name.endswith("_agg"):
            variables[f"{name}_conf"] = (["input"], (high - low) / 2,
                                         {"units": "1", "long_name": f"half-width of the interval of {name}"})
            continue
        variables[f"{name}_conf"] = (["input", *dims], shaped((high - low) / 2), index_attrs(f"{name}_conf"))
        variables[f"{name}_low"] = (["input", *dims], shaped(low), {"units": "1", "long_name": f"lower bound of {name}"})
        variables[f"{name}_high"] = (["input", *dims], shaped(high), {"units": "1", "long_name": f"upper bound of {name}"})
    return dataset(variables, coords, problem, base_attrs(
        "pce", problem, seed, order=int(order), model_evaluations=int(n), terms=len(alphas), ci=ci,
        ci_method=_CI_TEXT[ci], replicates=int(replicates) if ci == "rqmc" else 0,
        resamples=resamples if ci == "bootstrap" else 0, conf_level=conf_level), constant=varying.constant, zero=varying.zero, out_dims=dims)


SPEC = MethodSpec(
    name="pce", function=pce, summary="polynomial chaos (chaospy), indices from the coefficients",
    samples="n", samples_help="model evaluations", design_settings={"n": 512, "ci": "rqmc", "replicates": None},
    record_options={"resamples": 0, "order": 1},
    options=(Option("--order", "order", "analysis", "total polynomial degree (default 4)", default=4, type=int,
                    range=(int, 1, None)),
             Option("--ci", "ci", "design", "intervals: rqmc (default; --replicates independent scrambles, "
                    "jackknifed, indices bias-corrected) or bootstrap of the regression's rows", default="rqmc",
                    choices=CI_METHODS),
             Option("--replicates", "replicates", "design", "rqmc scrambles, a power of 2 dividing --samples "
                    "(default min(16, n/32))", default=None, type=int, range=(int, 2, None))),
)
