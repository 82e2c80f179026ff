"""Sobol' indices from Saltelli designs, vectorised over every output, in bounded memory.

The design is SALib's (``SALib.sample.sobol``: scrambled Sobol' points, rows A, AB_1 ...
AB_D, [BA_1 ... BA_D,] B for each of N base samples).  Instead of keeping the outputs, the
method keeps sums over base samples of a few products per output —

    Σa, Σb, Σa², Σb², Σab, and per input j: Σab_j, Σab_j², Σa·ab_j, Σb·ab_j
    (second order also Σba_j and Σba_j·ab_k)

— from which every estimator below follows exactly, so the memory does not grow with N.
Bootstrap replicates are the same sums with each base sample weighted by how often the
resample drew it: one (R x N_chunk) @ (N_chunk x stats) product per chunk, never an
N x R matrix of outputs.

Estimators (``estimator=``), each named for what it computes:

* ``saltelli2010`` — S1 of Saltelli et al. (2010), mean(B (AB_j - A)) / V, and ST of
  Jansen (1999), mean((A - AB_j)²) / 2V.  This is what ``SALib.analyze.sobol`` computes
  (its docstring says Saltelli for both); the tests check equality to 1e-8.
* ``janon2014`` — S1 of Janon et al. (2014), with ST of Jansen (1999).
* ``martinez2011`` — S1 = corr(B, AB_j), ST = 1 - corr(A, AB_j) (Martinez 2011).

V is the variance of the pooled A and B outputs.  Outputs are centred by their mean over
all design rows (as SALib does), which the sums allow after the fact.  Second-order indices
follow Saltelli (2002), as SALib.

Confidence intervals (``ci=``):

* ``rqmc`` (default) — the n base samples are ``replicates`` independent scrambles of
  n / replicates each (the rows of one design of n, split); the estimate is the pooled one and
  the half-width t_(R-1) x the delete-one-scramble jackknife's standard error.  Valid for QMC
  rows at no extra cost; 95 % intervals covered 0.92-0.98 on the coverage panel
  (``uqsurrogate.testing.panel``).
* ``bootstrap`` — one scramble of n; base rows resampled with replacement (SALib's scheme;
  with ``resample_index`` or the same seed the CIs equal SALib's); half-width
  z_(1+level)/2 x sd of the replicates.  Rows of one QMC design are not independent draws,
  so this treats the design as if it were random: 3-6x too wide on Ishigami.
* ``none``.

Aggregated (generalised, variance-weighted) indices over all outputs,
S_agg = Σ_k V_i^k / Σ_k Var Y^k, come with each, with CIs by the same scheme.
"""

from __future__ import annotations

import logging
import math
import numbers
from collections.abc import Callable
from itertools import combinations
from typing import Any

import numpy as np
import xarray as xr
from scipy import stats

from .._memory import fits_in_memory, physical_memory, refuse_beyond_memory
from .._random import as_generator, keyed_states
from .._validation import check_choice, check_float, check_int, check_power_of_two
from ..errors import InputError
from ..evaluation import Varying, evaluate
from ..problem import Problem
from ..results import (
    base_attrs,
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

__all__ = ["CI_METHODS", "ESTIMATORS", "SPEC", "sobol"]

logger = logging.getLogger(__name__)

#: Confidence intervals: independent scrambles (jackknifed), bootstrap of base rows, or none.
CI_METHODS = ("rqmc", "bootstrap", "none")
_CI_TEXT = {
    "rqmc": "{replicates} independent scrambles, delete-one-scramble jackknife, t interval",
    "bootstrap": "bootstrap of base rows (SALib's; too wide on QMC rows)",
    "none": "none",
}
ESTIMATORS = {
    "saltelli2010": ("Saltelli et al. 2010", "Jansen 1999"),
    "janon2014": ("Janon et al. 2014", "Jansen 1999"),
    "martinez2011": ("Martinez 2011", "Martinez 2011"),
}


class _Layout:
    """Index of each sufficient statistic in the (K, P) stack."""

    def __init__(self, d: int, second_order: bool):
        self.d, self.second = d, second_order
        self.a, self.b, self.aa, self.bb, self.ab = range(5)
        k = 5
        self.abj = np.arange(k, k + d); k += d
        self.abj2 = np.arange(k, k + d); k += d
        self.a_abj = np.arange(k, k + d); k += d
        self.b_abj = np.arange(k, k + d); k += d
        self.pairs = list(combinations(range(d), 2)) if second_order else []
        if second_order:
            self.baj = np.arange(k, k + d); k += d
            self.baj_abk = np.arange(k, k + len(self.pairs)); k += len(self.pairs)
        self.k = k

    def stats(self, g: np.ndarray) -> np.ndarray:
        """Per-base-row statistics from grouped outputs g (nb, step, P) -> (nb, K, P)."""
        d = self.d
        a, b = g[:, 0], g[:, -1]
        ab = g[:, 1 : 1 + d]
        parts = [a, b, a * a, b * b, a * b]
        out = np.empty((g.shape[0], self.k, g.shape[2]))
        out[:, :5] = np.stack(parts, axis=1)
        out[:, self.abj] = ab
        out[:, self.abj2] = ab * ab
        out[:, self.a_abj] = a[:, None] * ab
        out[:, self.b_abj] = b[:, None] * ab
        if self.second:
            ba = g[:, 1 + d : 1 + 2 * d]
            out[:, self.baj] = ba
            j, k = np.array(self.pairs).T
            out[:, self.baj_abk] = ba[:, j] * ab[:, k]
        return out


def _summed(lay: _Layout, g: np.ndarray) -> np.ndarray:
    """``lay.stats(g).sum(axis=0)`` without the (nb, K, P) temporary: each sum reduced in one pass, (K, P)."""
    d = lay.d
    a, b = g[:, 0], g[:, -1]
    ab = g[:, 1 : 1 + d]
    out = np.empty((lay.k, g.shape[2]))
    out[0], out[1] = a.sum(axis=0), b.sum(axis=0)
    out[2], out[3], out[4] = (np.einsum("np,np->p", u, v) for u, v in ((a, a), (b, b), (a, b)))
    out[lay.abj] = ab.sum(axis=0)
    out[lay.abj2] = np.einsum("njp,njp->jp", ab, ab)
    out[lay.a_abj] = np.einsum("np,njp->jp", a, ab)
    out[lay.b_abj] = np.einsum("np,njp->jp", b, ab)
    if lay.second:
        ba = g[:, 1 + d : 1 + 2 * d]
        out[lay.baj] = ba.sum(axis=0)
        for p, (j, k) in enumerate(lay.pairs):
            out[lay.baj_abk[p]] = np.einsum("np,np->p", ba[:, j], ab[:, k])
    return out


def _centre(s: np.ndarray, n: float, lay: _Layout) -> np.ndarray:
    """Mean over every design row (A, AB_j, [BA_j,] B) from sums s (..., K, P), as SALib centres."""
    m = s / n
    rows = m[..., lay.a, :] + m[..., lay.b, :] + m[..., lay.abj, :].sum(axis=-2)
    if lay.second:
        rows = rows + m[..., lay.baj, :].sum(axis=-2)
    return rows / (2 + lay.d * (2 if lay.second else 1))


def _indices(
    s: np.ndarray, n: float, lay: _Layout, estimator: str, c: np.ndarray | None = None
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(numerator, denominator) of every index from sums s (..., K, P) over n base rows.

    ``c`` is the centre of the outputs (default: from ``s`` itself); bootstrap replicates
    use the full sample's, as SALib standardises its outputs once.
    """
    m = s / n
    a, b, aa, bb, ab = (m[..., i, :] for i in range(5))
    abj, abj2 = m[..., lay.abj, :], m[..., lay.abj2, :]
    a_abj, b_abj = m[..., lay.a_abj, :], m[..., lay.b_abj, :]
    if c is None:
        c = _centre(s, n, lay)
    var = (aa + bb) / 2 - ((a + b) / 2) ** 2  # pooled A and B, ddof = 0
    vard = var[..., None, :]
    out = {}
    if estimator == "saltelli2010":
        out["S1"] = (b_abj - ab[..., None, :] - c[..., None, :] * (abj - a[..., None, :]), vard)
    elif estimator == "janon2014":
        mean = (b[..., None, :] + abj) / 2
        out["S1"] = (b_abj - mean**2, (bb[..., None, :] + abj2) / 2 - mean**2)
    else:  # martinez2011
        cov = b_abj - b[..., None, :] * abj
        sd = np.sqrt(np.clip((bb - b * b)[..., None, :] * (abj2 - abj**2), 0, None))
        out["S1"] = (cov, sd)
    if estimator == "martinez2011":
        cov = a_abj - a[..., None, :] * abj
        sd = np.sqrt(np.clip((aa - a * a)[..., None, :] * (abj2 - abj**2), 0, None))
        out["ST"] = (sd - cov, sd)
    else:
        out["ST"] = ((aa[..., None, :] - 2 * a_abj + abj2) / 2, vard)
    if lay.second:
        s1num = out["S1"][0] if estimator == "saltelli2010" else (
            b_abj - ab[..., None, :] - c[..., None, :] * (abj - a[..., None, :]))
        baj = m[..., lay.baj, :]
        nums = []
        for p, (j, k) in enumerate(lay.pairs):
            vjk = (m[..., lay.baj_abk[p], :] - ab
                   - c * (baj[..., j, :] + abj[..., k, :] - a - b))
            nums.append(vjk - s1num[..., j, :] - s1num[..., k, :])
        out["S2"] = (np.stack(nums, axis=-2), var[..., None, :])
    return out


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def _jackknife(total: np.ndarray, blocks: np.ndarray, n: int, lay: _Layout, estimator: str,
               conf_level: float) -> tuple[dict, dict, dict, dict]:
    """Indices from the pooled sums of R independent scrambles, and their delete-one-scramble intervals.

    ``total`` (K, P) is the sum of ``blocks`` (R, K, P), each over n / R base samples.  The
    estimate is the pooled one (as if one design of n rows).  Leaving scramble r out gives
    θ_(r); the jackknife variance (R - 1)/R Σ (θ_(r) - θ̄)² of the pooled estimate and a
    t quantile with R - 1 degrees of freedom give the half-width.  The scrambles are
    independent and identically distributed, so the jackknife needs no independence between
    the rows of one scramble (the bootstrap of base rows does, and QMC rows have none).

    Returns
    -------
    point, agg, conf, agg_conf : dict
        Per index name: the estimates (..., P), the aggregated ones (...), and half-widths.
    """
    r = blocks.shape[0]
    est = _indices(total, n, lay, estimator)
    loo = _indices(total[None] - blocks, n - n // r, lay, estimator)  # (R, ..., P)
    point = {k: _ratio(*v) for k, v in est.items()}
    agg = {k: _ratio(num.sum(axis=-1), den.sum(axis=-1)) for k, (num, den) in est.items()}
    conf = {k: jackknife_interval(point[k], _ratio(*v), conf_level)[1] for k, v in loo.items()}
    agg_conf = {k: jackknife_interval(agg[k], _ratio(num.sum(axis=-1), den.sum(axis=-1)), conf_level)[1]
                for k, (num, den) in loo.items()}
    return point, agg, conf, agg_conf


class _SaltelliSums:
    """Sums over base rows of the per-row statistics (and their bootstrap-weighted sums).

    Outputs are shifted by a provisional centre (the first chunk's mean, or ``shift``), which
    keeps the sums well conditioned.
    """

    def __init__(self, lay: _Layout, weights: np.ndarray | None, shift: np.ndarray | None = None):
        self.lay, self.weights, self.shift = lay, weights, shift
        self.step = lay.d * (2 if lay.second else 1) + 2
        self.total = self.boot = self.out_shape = None

    def update(self, y: np.ndarray, x: np.ndarray, start: int) -> None:
        y = np.asarray(y, dtype=np.float64)
        if self.out_shape is None:
            self.out_shape = y.shape[1:]
        y = y.reshape(y.shape[0], -1)
        if self.shift is None:
            self.shift = y.mean(axis=0)
        nb = y.shape[0] // self.step
        g = (y - self.shift).reshape(nb, self.step, -1)
        if self.weights is None:  # no per-row statistics needed: their sums in one pass each
            part = _summed(self.lay, g)
            self.total = part if self.total is None else self.total + part
            return
        q = self.lay.stats(g)
        part = q.sum(axis=0)
        self.total = part if self.total is None else self.total + part
        if self.weights is not None:
            b0 = start // self.step
            w = self.weights[:, b0 : b0 + nb]
            b = (w @ q.reshape(nb, -1)).reshape(w.shape[0], self.lay.k, -1)
            self.boot = b if self.boot is None else self.boot + b


def _accumulate(
    f: Callable, X: np.ndarray, lay: _Layout, weights: np.ndarray | None, chunk_rows: int | None,
    progress: bool | None, map: Any, shift: np.ndarray | None = None,
) -> _SaltelliSums:
    sums = _SaltelliSums(lay, weights, shift)
    sums.varying = Varying()  # which outputs never change: their indices are NaN

    def chunk_size(y: np.ndarray) -> int:
        if chunk_rows is None:  # about 64 MiB of statistics per chunk
            nb = max(1, int(64 * 2**20 // (8 * lay.k * int(np.prod(y.shape[1:])))))
        else:
            nb = max(1, chunk_rows // sums.step)
        return nb * sums.step

    # the first chunk is small (64 base rows): it tells the output's size
    evaluate(f, X, [sums, sums.varying], chunk_size=chunk_size, first_chunk=64 * sums.step, map=map,
             progress=progress, desc="sobol", unit="eval")
    return sums


@run_options(
    seed="Here SALib's scheme: the same integer seed gives SALib's scrambling and resamples; a Generator or None "
    "draws that integer, recorded in the result.",
    resamples="Here replicates of the bootstrap of base rows (``ci=\"bootstrap\"``).",
    chunk_rows="Here about 64 MiB of statistics per chunk by default.",
)
def design_rows(n: int, d: int, second_order: bool) -> int:
    """Rows of one Saltelli design: n (D + 2), or n (2D + 2) with second-order indices."""
    return int(n) * (2 * d + 2 if second_order else d + 2)


def check_replicates(replicates: Any, n: int) -> int:
    """The scrambles of ``ci="rqmc"``: a power of 2 in [2, n / 2] (default min(16, n / 8), at least 2).

    Examples
    --------
    >>> check_replicates(None, 4096), check_replicates(None, 64), check_replicates(4, 64)
    (16, 8, 4)
    """
    if replicates is None:
        replicates = max(2, min(16, n // 8))
    replicates = check_int(replicates, "replicates", min_value=2)
    if replicates & (replicates - 1) or replicates > n // 2:
        raise InputError(f"replicates = {replicates}; ci='rqmc' splits the n = {n} base samples into that many "
                         f"independent scrambles: use a power of 2 in [2, {max(2, n // 2)}], or ci='bootstrap'")
    return replicates


def _check_memory(n: int, d: int, n_inputs: int, second_order: bool, resamples: Any) -> None:
    """Refuse a design (SALib's varied columns, then every input) and bootstrap weights that would not fit."""
    resamples = check_int(resamples, "resamples", min_value=0)
    per_n = 8 * design_rows(1, d, second_order) * (d + n_inputs) + 16 * resamples  # the index and the weights
    if not fits_in_memory(n * per_n):
        fit = 2 ** max(1, int(math.log2(max(2, physical_memory() // 2 // per_n))))
        refuse_beyond_memory(n * per_n, f"n = {n} base samples: the Saltelli design ({design_rows(n, d, second_order)}"
                             f" x {n_inputs}) and its {resamples} bootstrap resamples",
                             f"use n <= {fit} (a power of 2)")


def sobol(
    f: Callable,
    problem: Problem,
    n: int = 4096,
    *,
    second_order: bool = False,
    estimator: str = "saltelli2010",
    ci: str = "rqmc",
    resamples: int = 100,
    replicates: int | None = None,
    conf_level: float = 0.95,
    seed: int | None = None,
    resample_index: np.ndarray | None = None,
    chunk_rows: int | None = None,
    map: Any = None,
    progress: bool | None = None,
) -> xr.Dataset:
    """First-order, total and (optionally) second-order Sobol' indices of every output.

    Parameters
    ----------
    f : callable
        ``f(X (m, n_inputs)) -> (m, ...)``: a ModelFunction or any vectorised function.
    problem : Problem
        The inputs; the fixed ones are inserted before calling ``f``.
    n : int, default 4096
        Base samples, a power of 2 (scrambled Sobol' points keep their balance only there).
        The model is called n (D + 2) times, or n (2D + 2) with ``second_order``.
    second_order : bool, default False
    estimator : {"saltelli2010", "janon2014", "martinez2011"}, default "saltelli2010"
    ci : {"rqmc", "bootstrap", "none"}, default "rqmc"
        ``rqmc``: the n base samples are ``replicates`` independent scrambles of n /
        replicates each, and the interval is their delete-one-scramble jackknife (right-sized
        for QMC rows, at no extra cost).  ``bootstrap``: one scramble of n, base rows resampled
        as SALib does (too wide on QMC rows, see the module's notes).
    replicates : int, optional
        Scrambles for ``ci="rqmc"``, a power of 2 dividing n; default min(16, n / 8), at least 2.
    resample_index : numpy.ndarray of int, shape (n, resamples), optional
        Explicit bootstrap resamples, in SALib's layout.
    {run options}

    Returns
    -------
    xarray.Dataset
        ``S1``, ``ST`` (input, output dims...), ``S1_conf``, ``ST_conf``, ``S2`` (input,
        input_2, ...) if asked, ``S1_agg``, ``ST_agg`` (input) with ``*_conf``, ``variance``
        and ``mean`` of the output.
    """
    if estimator not in ESTIMATORS:
        raise InputError(f"estimator = {estimator!r}; allowed: {', '.join(ESTIMATORS)}")
    check_choice(ci, "ci", CI_METHODS)
    n = check_power_of_two(n, "n")
    check_float(conf_level, "conf_level", 0, 1, closed="neither")
    if hasattr(f, "input_names"):
        problem.check_names(f.input_names)
    check_input_names(f, problem, "sobol", ("input_2",))
    from SALib.sample import sobol as saltelli

    n = int(n)
    d = len(problem.varied)
    if ci == "rqmc":
        replicates = check_replicates(replicates, n)
    lay = _Layout(d, second_order)
    rng = as_generator(seed)
    seed_int = int(seed) if isinstance(seed, numbers.Integral) else int(rng.integers(2**31))
    salib_problem = problem.to_salib()
    _check_memory(n, d, len(problem.names), second_order, resamples if ci == "bootstrap" and resample_index is None
                  else 0)

    def design(scramble_seed: int, size: int = n) -> np.ndarray:
        return problem.full(saltelli.sample(salib_problem, size, calc_second_order=second_order, scramble=True,
                                            seed=scramble_seed))

    shape_out: list = []
    constant: list = []  # per evaluation: the outputs that took one value
    zero: list = []  # and those that were 0 at every sample
    if ci == "rqmc":
        block = n // replicates
        reps, shift = [], None
        for s in keyed_states(seed_int, replicates):
            sums = _accumulate(f, design(int(s), block), lay, None, chunk_rows, progress, map, shift)
            shape_out.append(sums.out_shape)
            constant.append(sums.varying.constant)
            zero.append(sums.varying.zero)
            reps.append(sums.total)
            shift = sums.shift
        blocks = np.stack(reps)  # (R, K, P): each scramble's sums
        moments = blocks.sum(axis=0)
        point, agg, conf, agg_conf = _jackknife(moments, blocks, n, lay, estimator, conf_level)
        n_eval = n * (lay.d * (2 if second_order else 1) + 2)
    else:
        weights = None
        if ci == "bootstrap":
            if resample_index is None:
                resamples = check_int(resamples, "resamples", min_value=2)
                resample_index = as_generator(seed_int).integers(n, size=(n, int(resamples)))
            resample_index = np.asarray(resample_index)
            if resample_index.ndim != 2 or resample_index.shape[0] != n:
                raise InputError(f"resample_index has shape {resample_index.shape}; expected ({n}, resamples)")
            r_count = resample_index.shape[1]
            weights = np.zeros((r_count, n), dtype=np.float64)
            for r in range(r_count):
                weights[r] = np.bincount(resample_index[:, r], minlength=n)
        sums = _accumulate(f, design(seed_int), lay, weights, chunk_rows, progress, map)
        total, boot, shift = sums.total, sums.boot, sums.shift
        shape_out.append(sums.out_shape)
        constant.append(sums.varying.constant)
        zero.append(sums.varying.zero)
        est = _indices(total, n, lay, estimator)
        point = {k: _ratio(*v) for k, v in est.items()}
        agg = {k: _ratio(num.sum(axis=-1), den.sum(axis=-1)) for k, (num, den) in est.items()}
        conf, agg_conf = {}, {}
        if boot is not None:
            z = stats.norm.ppf(0.5 + conf_level / 2)
            best = _indices(boot, n, lay, estimator, c=_centre(total, n, lay))
            conf = {k: z * _ratio(*v).std(axis=0, ddof=1) for k, v in best.items()}
            agg_conf = {k: z * _ratio(num.sum(axis=-1), den.sum(axis=-1)).std(axis=0, ddof=1)
                        for k, (num, den) in best.items()}
        moments = total
        n_eval = n * (lay.d * (2 if second_order else 1) + 2)

    out_shape = shape_out[0]
    dims, coords, yattrs = output_labels(f, problem, out_shape)
    m = moments / n
    # mean and variance of the output over the pooled A and B rows (independent draws)
    variance = ((m[lay.aa] + m[lay.bb]) / 2 - ((m[lay.a] + m[lay.b]) / 2) ** 2).reshape(out_shape)
    mean = (shift + (m[lay.a] + m[lay.b]) / 2).reshape(out_shape)

    def shaped(v: np.ndarray, lead: int = 1) -> np.ndarray:
        return v.reshape(v.shape[:lead] + tuple(out_shape))

    variables = {
        "S1": (["input", *dims], shaped(point["S1"]), index_attrs("S1")),
        "ST": (["input", *dims], shaped(point["ST"]), index_attrs("ST")),
        "S1_agg": (["input"], agg["S1"], {"units": "1", "long_name": "aggregated first-order index"}),
        "ST_agg": (["input"], agg["ST"], {"units": "1", "long_name": "aggregated total-order index"}),
        "variance": (dims, variance, {"units": squared_units(output_units(yattrs)), "long_name": "output variance"}),
        "mean": (dims, mean, {**yattrs, "units": output_units(yattrs), "long_name": "output mean"}),
    }
    if conf:
        variables["S1_conf"] = (["input", *dims], shaped(conf["S1"]), index_attrs("S1_conf"))
        variables["ST_conf"] = (["input", *dims], shaped(conf["ST"]), index_attrs("ST_conf"))
        variables["S1_agg_conf"] = (["input"], agg_conf["S1"],
                                    {"units": "1", "long_name": "half-width of the confidence interval of S1_agg"})
        variables["ST_agg_conf"] = (["input"], agg_conf["ST"],
                                    {"units": "1", "long_name": "half-width of the confidence interval of ST_agg"})
    if second_order:
        full = np.full((d, d, int(np.prod(out_shape))), np.nan)
        full_conf = np.full_like(full, np.nan)
        for p, (j, k) in enumerate(lay.pairs):
            full[j, k] = point["S2"][p]
            if conf:
                full_conf[j, k] = conf["S2"][p]
        variables["S2"] = (["input", "input_2", *dims], full.reshape((d, d, *out_shape)), index_attrs("S2"))
        if conf:
            variables["S2_conf"] = (["input", "input_2", *dims], full_conf.reshape((d, d, *out_shape)),
                                    index_attrs("S2_conf"))
    ds = dataset(variables, coords, problem, base_attrs(
        "sobol", problem, seed_int, base_samples=n, model_evaluations=n_eval, second_order=int(second_order),
        estimator=estimator, estimator_S1=ESTIMATORS[estimator][0], estimator_ST=ESTIMATORS[estimator][1],
        ci=ci, ci_method=_CI_TEXT[ci].format(replicates=replicates), conf_level=conf_level,
        resamples=int(resamples) if ci == "bootstrap" else 0,
        replicates=int(replicates) if ci == "rqmc" else 0), constant=np.logical_and.reduce(constant),
        zero=np.logical_and.reduce(zero), out_dims=dims)
    if second_order:
        ds = ds.assign_coords(input_2=("input_2", problem.varied, {"long_name": "second varied input of a pair"}))
    return ds


SPEC = MethodSpec(
    name="sobol", function=sobol, summary="Saltelli designs and SALib's estimators, every output at once",
    samples="n", samples_help="base samples (a power of 2)",
    design_settings={"n": 4096, "second_order": False, "ci": "rqmc", "replicates": None},
    record_options={"resamples": 2},
    design_rows=lambda d, s: design_rows(s["n"], d, s["second_order"]),
    options=(
        Option("--second-order", "second_order", "design", "also second-order indices (and their rows)",
               default=False, switch=True),
        Option("--ci", "ci", "design", "intervals: rqmc (default; the n base samples split into --replicates "
               "independent scrambles, jackknifed) or bootstrap of base rows (SALib's; too wide on QMC rows)",
               default="rqmc", choices=CI_METHODS),
        Option("--replicates", "replicates", "design", "rqmc scrambles, a power of 2 dividing --samples "
               "(default min(16, n/8))", default=None, type=int, range=(int, 2, None)),
        Option("--estimator", "estimator", "analysis", "the estimator of S1 and ST (default saltelli2010, as SALib)",
               default="saltelli2010", choices=tuple(ESTIMATORS)),
    ),
)
