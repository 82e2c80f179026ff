"""The paper's nested-variance estimator (Eqs. 11-13) for two varied inputs.

Draw N_a values a_i of the first varied input and N_b values b_m of the second (others
fixed), evaluate the model on all N_a x N_b pairs, and compare

    V_a = Var_i( E[P | a_i] ),   E[P | a_i] = mean_m P(a_i, b_m)        (paper Eq. 11)
    S_a = V_a / V,   S_b = V_b / V,   V = Var(P) over all pairs          (Eqs. 12-13)

The paper states S_a + S_b = 1; that holds only without interaction, so the result also
reports ``S_interaction`` = 1 - S_a - S_b.  With finitely many draws the conditional means
are noisy and Var_i(ȳ_i) overestimates V_a.  How much depends on the design.  If every a_i
had its own independent b draws (a nested design), E[Var_i(ȳ_i)] = V_a + (V - V_a)/N_b and
the one-way random-effects ANOVA estimator V̂_a = Var_i(ȳ_i) - mean_i(s_i²)/N_b would
remove it.  The paper's grid is crossed — every a_i meets the same b_1..b_Nb — so the
b main effect is common to all rows and E[Var_i(ȳ_i)] = V_a + V_ab/N_b only.  The
two-way random-effects ANOVA without replication is the unbiased estimator here:

    MS_AB = Σ_im (y_im - ȳ_i. - ȳ_.m + ȳ)² / ((N_a - 1)(N_b - 1))      (E = V_ab)
    V̂_a = Σ_i (ȳ_i. - ȳ)² / (N_a - 1) - MS_AB / N_b,   V̂_b likewise,
    S_a = V̂_a / (V̂_a + V̂_b + MS_AB),

reported as ``S1_corrected``, unclipped (it can be slightly negative when V_a ≈ 0; the
``negative_corrected`` flag marks those), with ``S_interaction_corrected`` = MS_AB / V̂.
The one-way version is kept as ``S1_oneway`` for comparison: on the crossed grid it
over-corrects by V_b/N_b (``tests/test_sensitivity.py`` shows it).  The paper's form is
``S1``.

Rows of the grid are evaluated in chunks and reduced on the fly (row sums, column sums,
squares), so N_a x N_b = 10⁶ samples over every output bin never sit in memory at once.
The two draws are sorted, so ``response_surface`` (a, b) is on an increasing grid.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from .._memory import refuse_beyond_memory
from .._random import as_generator
from .._validation import check_choice, check_float, check_int
from ..errors import InputError
from ..evaluation import Varying, evaluate
from ..problem import Problem
from ..results import (
    base_attrs,
    bias_corrected_interval,
    check_input_names,
    dataset,
    flag_attrs,
    index_attrs,
    jackknife_variance,
    output_labels,
    output_units,
    run_options,
    squared_units,
)
from .registry import MethodSpec, Option

__all__ = ["SPEC", "default_surfaces", "nested"]

#: Intervals: the two-way grouped jackknife, the two-way bootstrap, or none.
CI_METHODS = ("jackknife", "bootstrap", "none")
_CI_TEXT = {"jackknife": "two-way delete-one-group jackknife, t interval (Satterthwaite)",
            "bootstrap": "two-way bootstrap, bias-corrected percentile", "none": "none"}

#: Memory the two-way bootstrap's sums may take: 8 (n_inner + 3) x resamples bytes per output.
_BOOTSTRAP_BYTES = 2**30


@dataclass
class _CrossedGrid:
    """Rows of the crossed grid: row r is (a[r // N_b], b[r % N_b]), the fixed inputs inserted."""

    problem: Problem
    a: np.ndarray
    b: np.ndarray

    def __call__(self, start: int, stop: int) -> np.ndarray:
        n_inner = self.b.size
        i0, i1 = start // n_inner, stop // n_inner  # chunks hold whole rows of the grid
        grid = np.column_stack([np.repeat(self.a[i0:i1], n_inner), np.tile(self.b, i1 - i0)])
        return self.problem.full(grid)


class _CrossedSums:
    """Row sums, row sums of squares and column sums of the crossed grid, reduced chunk by chunk.

    Outputs are shifted by the first chunk's mean (a provisional centre keeps the sums well
    conditioned); ``kept`` holds the requested response surfaces.  With bootstrap weights
    ``w`` (R, N_a) for the rows and ``v`` (R, N_b) for the columns (multinomial counts: how
    often each a and each b draw is drawn again), it also reduces, per replicate r,

        Σ_i w_ri T_ri, Σ_i w_ri T_ri², Σ_i w_ri Q_ri   with T_ri = Σ_j v_rj y_ij, Q_ri = Σ_j v_rj y_ij²,
        U_rj = Σ_i w_ri y_ij,

    from which the resampled grid's row means, column means and sums of squares follow
    exactly (:func:`_two_way`), without ever holding the grid.
    """

    def __init__(self, n_outer: int, n_inner: int, surfaces: Sequence[int] | None,
                 w: np.ndarray | None = None, v: np.ndarray | None = None,
                 groups: tuple[np.ndarray, np.ndarray] | None = None):
        self.n_outer, self.n_inner = n_outer, n_inner
        self.surfaces = surfaces
        self.w, self.v = w, v
        self.groups = groups
        self.row_sum = self.row_sq = self.col_sum = self.shift = self.out_shape = self.kept = None
        self.boot = self.jack = None

    def update(self, y: np.ndarray, x: np.ndarray, start: int) -> None:
        y = np.asarray(y)
        if self.out_shape is None:
            self.out_shape = y.shape[1:]
            p = int(np.prod(self.out_shape))
            self.row_sum, self.row_sq = np.zeros((self.n_outer, p)), np.zeros((self.n_outer, p))
            self.col_sum = np.zeros((self.n_inner, p))
            self.shift = y.reshape(len(y), -1).mean(axis=0)
            if self.surfaces is not None:
                self.surfaces = np.asarray(self.surfaces, dtype=int)
                if self.surfaces.min() < 0 or self.surfaces.max() >= p:
                    raise InputError(f"surfaces = {self.surfaces.tolist()}; flat output indices in [0, {p - 1}]")
                self.kept = np.empty((self.surfaces.size, self.n_outer, self.n_inner))
            if self.w is not None:
                r = self.w.shape[0]
                need = 8 * r * p * (self.n_inner + 3)
                if need > _BOOTSTRAP_BYTES:
                    fit = max(0, int(_BOOTSTRAP_BYTES // (8 * p * (self.n_inner + 3))))
                    raise InputError(
                        f"resamples = {r} over {p} outputs at n_inner = {self.n_inner} would hold "
                        f"{need / 2**30:.1f} GiB of bootstrap sums (limit 1 GiB); pass resamples <= {fit}, "
                        "restrict the outputs, or resamples = 0 for no intervals")
                self.boot = {"wt": np.zeros((r, p)), "wt2": np.zeros((r, p)), "wq": np.zeros((r, p)),
                             "u": np.zeros((r, self.n_inner, p))}
            if self.groups is not None:
                ga, gb = self.groups
                n_ga, n_gb = ga.max() + 1, gb.max() + 1
                need = 8 * p * (n_ga * self.n_inner + self.n_outer * n_gb + self.n_inner)
                if need > _BOOTSTRAP_BYTES:
                    raise InputError(
                        f"n_outer = {self.n_outer}, n_inner = {self.n_inner}: the jackknife's group sums over {p} "
                        f"outputs would hold {need / 2**30:.1f} GiB (limit 1 GiB); restrict the outputs, use fewer "
                        "draws, or resamples = 0 for no intervals")
                self.jack = {"col_by_a": np.zeros((n_ga, self.n_inner, p)),
                             "row_by_b": np.zeros((self.n_outer, n_gb, p)), "col_sq": np.zeros((self.n_inner, p))}
        i0 = start // self.n_inner
        i1 = i0 + len(y) // self.n_inner
        g = y.reshape(i1 - i0, self.n_inner, -1) - self.shift  # one float64 temporary per chunk
        self.row_sum[i0:i1] = g.sum(axis=1)
        self.row_sq[i0:i1] = np.einsum("imk,imk->ik", g, g)
        self.col_sum += g.sum(axis=0)
        if self.kept is not None:
            self.kept[:, i0:i1] = (g[:, :, self.surfaces] + self.shift[self.surfaces]).transpose(2, 0, 1)
        if self.jack is not None:
            ga, gb = self.groups
            for k in np.unique(ga[i0:i1]):
                self.jack["col_by_a"][k] += g[ga[i0:i1] == k].sum(axis=0)
            for k in range(self.jack["row_by_b"].shape[1]):
                self.jack["row_by_b"][i0:i1, k] = g[:, gb == k].sum(axis=1)
            self.jack["col_sq"] += np.einsum("imk,imk->mk", g, g)
        if self.boot is not None:
            w, v = self.w[:, i0:i1], self.v  # (R, rows), (R, N_b)
            t = np.matmul(v[None], g)  # (rows, R, P): T_ri for these rows
            q = np.matmul(v[None], g * g)
            b = self.boot
            b["wt"] += np.einsum("ri,irp->rp", w, t)
            b["wt2"] += np.einsum("ri,irp->rp", w, t * t)
            b["wq"] += np.einsum("ri,irp->rp", w, q)
            b["u"] += (w @ g.reshape(g.shape[0], -1)).reshape(b["u"].shape)


def _two_way(n_a: int, n_b: int, grand: np.ndarray, rows_sq: np.ndarray, cols_sq: np.ndarray,
             total_sq: np.ndarray) -> dict[str, np.ndarray]:
    """The indices of a crossed N_a x N_b grid from its sums (every array (..., P)).

    ``grand`` is the mean of all cells, ``rows_sq`` the sum over rows of the squared row
    means, ``cols_sq`` likewise for columns, ``total_sq`` the sum of squared cells.

    Paper form (Eq. 11-13): V_a = mean_i (ȳ_i. - ȳ)², V = mean (y - ȳ)², S_a = V_a / V.
    Two-way random-effects ANOVA without replication (unbiased components on the crossed grid):
    MS_AB = SS_resid / ((N_a - 1)(N_b - 1)), V̂_a = Σ_i(ȳ_i. - ȳ)²/(N_a - 1) - MS_AB/N_b, V̂_b likewise,
    S_a = V̂_a / (V̂_a + V̂_b + MS_AB).  One-way correction: V_a - mean_i s_i²/N_b (nested designs only).
    """
    n = n_a * n_b
    ss_a = rows_sq - n_a * grand**2  # Σ_i (ȳ_i. - ȳ)²
    ss_b = cols_sq - n_b * grand**2
    total = total_sq - n * grand**2  # Σ (y - ȳ)²
    variance = total / n
    ms_ab = (total - n_b * ss_a - n_a * ss_b) / ((n_a - 1) * (n_b - 1))
    va_hat = ss_a / (n_a - 1) - ms_ab / n_b
    vb_hat = ss_b / (n_b - 1) - ms_ab / n_a
    v_hat = va_hat + vb_hat + ms_ab
    within_rows = (total - n_b * ss_a) / (n_a * (n_b - 1))
    within_cols = (total - n_a * ss_b) / (n_b * (n_a - 1))
    v_a, v_b = ss_a / n_a, ss_b / n_b
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(variance > 0, np.stack([v_a, v_b]) / variance, np.nan)
        return {
            "S1": s,
            "S1_corrected": np.where(v_hat > 0, np.stack([va_hat, vb_hat]) / v_hat, np.nan),
            "S_interaction_corrected": np.where(v_hat > 0, ms_ab / v_hat, np.nan),
            "S1_oneway": np.where(variance > 0, np.stack([v_a - within_rows / n_b, v_b - within_cols / n_a])
                                  / variance, np.nan),
            "variance": variance,
        }


def jackknife_groups(n: int, most: int = 20) -> int:
    """Groups of the two-way jackknife for n draws: the largest divisor of n in [2, most], or min(n, most).

    Examples
    --------
    >>> jackknife_groups(16), jackknife_groups(100), jackknife_groups(1000), jackknife_groups(23)
    (16, 20, 20, 20)
    """
    fits = [k for k in range(2, most + 1) if n % k == 0]
    return max(fits) if fits else min(n, most)


def _jackknife(sums: _CrossedSums, names: Sequence[str], est: dict, level: float) -> dict:
    """Two-way delete-one-group jackknife intervals (low, high, half-width) of ``names``.

    The a draws are split into G random groups and the b draws into H.  Leaving out a-group g
    (every b kept) gives θ_(g), leaving out b-group h gives θ_(h); for a statistic of two
    independent samples the variances add (Arvesen 1969):
    var = (G-1)/G Σ_g (θ_(g) - θ̄_a)² + (H-1)/H Σ_h (θ_(h) - θ̄_b)².  The interval is
    θ̂ ± t_ν sqrt(var), ν from Satterthwaite's formula.  Every leave-out grid follows from
    the row sums, the column sums per a-group and the row sums per b-group.
    """
    from scipy.stats import t

    ga, gb = sums.groups
    jack = sums.jack
    n_a, n_b = sums.n_outer, sums.n_inner
    row_sum, col_sum, row_sq = sums.row_sum, sums.col_sum, sums.row_sq
    total = row_sum.sum(axis=0)
    parts = {name: ([], []) for name in names}
    for g in range(jack["col_by_a"].shape[0]):
        keep = ga != g
        m = int(keep.sum())
        cols = (col_sum - jack["col_by_a"][g]) / m
        leave = _two_way(m, n_b, (total - row_sum[~keep].sum(axis=0)) / (m * n_b),
                         ((row_sum[keep] / n_b) ** 2).sum(axis=0), (cols**2).sum(axis=0), row_sq[keep].sum(axis=0))
        for name in names:
            parts[name][0].append(leave[name])
    for h in range(jack["row_by_b"].shape[1]):
        keep = gb != h
        m = int(keep.sum())
        rows = (row_sum - jack["row_by_b"][:, h]) / m
        leave = _two_way(n_a, m, (total - col_sum[~keep].sum(axis=0)) / (n_a * m), (rows**2).sum(axis=0),
                         ((col_sum[keep] / n_a) ** 2).sum(axis=0), jack["col_sq"][keep].sum(axis=0))
        for name in names:
            parts[name][1].append(leave[name])
    out = {}
    for name in names:
        var_a, var_b = (jackknife_variance(np.stack(leave)) for leave in parts[name])
        var = var_a + var_b
        with np.errstate(divide="ignore", invalid="ignore"):
            dof = np.where(var > 0, var**2 / (var_a**2 / (len(parts[name][0]) - 1)
                                              + var_b**2 / (len(parts[name][1]) - 1)), 1.0)
        half = t.ppf(0.5 + level / 2, np.maximum(dof, 1.0)) * np.sqrt(var)
        out[name] = (est[name] - half, est[name] + half, half)
    return out


@run_options(
    seed="The draws of a and b come first, then the bootstrap's.",
    resamples="With ``ci=\"bootstrap\"``, replicates of the two-way bootstrap (0 turns any interval off): each "
    "redraws both the a draws and the b draws with "
    "replacement (the crossed grid's two independent samples; resampling cells alone would treat them as one), "
    "computed from weighted sums while streaming: the cost is about 3 x resamples multiply-adds per evaluation "
    "and output, the memory 8 (n_inner + 3) x resamples bytes per output.",
    conf_level="Jackknife t intervals by default; the bootstrap's are bias-corrected percentile intervals.",
    chunk_rows="Here rows of the grid (values of a) per model call, about 2**13 evaluations by default.",
)
def nested(
    f: Callable,
    problem: Problem,
    n_outer: int = 1000,
    n_inner: int = 1000,
    *,
    surfaces: Sequence[int] | None = None,
    seed: int | None = None,
    ci: str = "jackknife",
    groups: int | None = None,
    resamples: int = 200,
    conf_level: float = 0.95,
    chunk_rows: int | None = None,
    map: Any = None,
    progress: bool | None = None,
) -> xr.Dataset:
    """Nested-variance sensitivity of every output to the two varied inputs, with intervals.

    Parameters
    ----------
    f : callable
        ``f(X (m, n_inputs)) -> (m, ...)``.
    problem : Problem
        Exactly two varied inputs (a, b), the rest fixed.
    n_outer, n_inner : int, default 1000
        Draws of a and of b; the model is called n_outer x n_inner times.
    surfaces : sequence of int, optional
        Flat output indices whose response surfaces P(a, b) to keep (each n_outer x n_inner
        values).
    ci : {"jackknife", "bootstrap", "none"}, default "jackknife"
        ``jackknife``: the two-way delete-one-group jackknife (each sample's draws in
        ``groups`` random groups; the a and b variances add), t intervals.  ``bootstrap``: the
        two-way bootstrap (both samples redrawn, ``resamples`` times), bias-corrected
        percentile intervals; its spread is too small on skewed outputs
        (docs/benchmarks.md, "Intervals of the right size").  ``resamples = 0`` turns either off.
    groups : int, optional
        Jackknife groups per sample: default the largest divisor of the draws in [2, 20]
        (every draw its own group at 20 draws or fewer).
    {run options}

    Returns
    -------
    xarray.Dataset
        ``S1`` and ``S1_corrected`` (input, output dims...), ``S_interaction``, ``variance``,
        ``mean``, ``negative_corrected``, and ``response_surface`` (surface, a, b) if asked.
        With an interval (``ci``, ``resamples`` > 0): ``S1_low``/``S1_high`` and
        ``S1_corrected_low``/``_high`` (the interval's bounds), ``S1_conf``/``S1_corrected_conf``
        (its half-width, as ``sobol`` reports) and ``S_interaction_corrected_conf``; the
        attributes ``ci`` and ``ci_method`` name it.  Measured on the coverage panel
        (:func:`uqsurrogate.testing.coverage`, 1,000 runs): the jackknife's 90 % interval of
        ``S1_corrected`` covers 0.87-0.92 at 100 x 100 draws on smooth, squared,
        interaction-dominated and kinked outputs, 0.81-0.82 on a log-normal output's smaller
        index and at a zero index of an interacting input, and 0.77-0.86 on skewed and
        interaction-dominated outputs at 32 x 32 and below (docs/benchmarks.md).
    """
    if len(problem.varied) != 2:
        raise InputError(f"nested needs exactly two varied inputs; the Problem varies {problem.varied}")
    n_outer = check_int(n_outer, "n_outer", min_value=2)
    n_inner = check_int(n_inner, "n_inner", min_value=2)
    if hasattr(f, "input_names"):
        problem.check_names(f.input_names)
    check_input_names(f, problem, "nested", ("surface",))
    if surfaces is not None:
        refuse_beyond_memory(8.0 * len(surfaces) * n_outer * n_inner,
                             f"{len(surfaces)} response surfaces of n_outer x n_inner = {n_outer} x {n_inner} draws",
                             "keep fewer surfaces, or use fewer draws")
    rng = as_generator(seed)
    a_name, b_name = problem.varied
    a = np.sort(problem.sample(n_outer, rng)[:, 0])
    b = np.sort(problem.sample(n_inner, rng)[:, 1])
    resamples = check_int(resamples, "resamples", min_value=0)
    if resamples == 1:
        raise InputError("resamples = 1; use 0 (no intervals) or at least 2 (200 is the default)")
    check_float(conf_level, "conf_level", 0, 1, closed="neither")
    check_choice(ci, "ci", CI_METHODS)
    if resamples == 0 or ci == "none":
        ci, resamples = "none", 0
    elif ci == "jackknife":
        resamples = 0
    w = v = jack_groups = None
    if ci == "jackknife":
        g_a = jackknife_groups(n_outer) if groups is None else check_int(groups, "groups", min_value=2,
                                                                           max_value=min(n_outer, n_inner))
        g_b = jackknife_groups(n_inner) if groups is None else g_a
        need = 8 * (g_a * n_inner + n_outer * g_b + n_inner)  # per output
        if need > _BOOTSTRAP_BYTES:  # before the draws: even one output is too many
            raise InputError(f"n_outer = {n_outer}, n_inner = {n_inner}: the jackknife's group sums would hold "
                             f"{need / 2**30:.1f} GiB even for one output (limit 1 GiB); use fewer draws, or "
                             "resamples = 0 for no intervals")
        group_rng = as_generator(rng.integers(2**63))
        jack_groups = (group_rng.permutation(n_outer) % g_a, group_rng.permutation(n_inner) % g_b)
    if resamples and 8 * resamples * (n_inner + 3) > _BOOTSTRAP_BYTES:  # before the draws: even one output is too many
        raise InputError(f"resamples = {resamples} at n_inner = {n_inner} would hold at least "
                         f"{8 * resamples * (n_inner + 3) / 2**30:.1f} GiB of bootstrap sums, even for one output "
                         "(limit 1 GiB); use fewer inner draws, or resamples = 0 for no intervals")
    if resamples:
        boot_rng = as_generator(rng.integers(2**63))
        w = boot_rng.multinomial(n_outer, np.full(n_outer, 1 / n_outer), size=resamples).astype(float)
        v = boot_rng.multinomial(n_inner, np.full(n_inner, 1 / n_inner), size=resamples).astype(float)
    rows = chunk_rows or max(1, 2**13 // n_inner)  # about 8k evaluations per model call
    sums = _CrossedSums(n_outer, n_inner, surfaces, w, v, jack_groups)
    varying = Varying()
    evaluate(f, _CrossedGrid(problem, a, b), [sums, varying], n=n_outer * n_inner, chunk_size=rows * n_inner,
             map=map, progress=progress, desc="nested", unit="eval")
    shift, out_shape, kept, surfaces = sums.shift, sums.out_shape, sums.kept, sums.surfaces
    n_total = n_outer * n_inner
    grand = sums.row_sum.sum(axis=0) / n_total
    row_mean, col_mean = sums.row_sum / n_inner, sums.col_sum / n_outer
    est = _two_way(n_outer, n_inner, grand, (row_mean**2).sum(axis=0), (col_mean**2).sum(axis=0),
                   sums.row_sq.sum(axis=0))
    s, s_corr, variance = est["S1"], est["S1_corrected"], est["variance"]
    intervals = {}
    if ci == "jackknife":
        intervals = _jackknife(sums, ("S1", "S1_corrected", "S_interaction_corrected"), est, conf_level)
    if resamples:
        boot = sums.boot
        reps = _two_way(n_outer, n_inner, boot["wt"] / n_total, boot["wt2"] / n_inner**2,
                        np.einsum("rj,rjp->rp", v, boot["u"] ** 2) / n_outer**2, boot["wq"])
        reps["S1"], reps["S1_corrected"] = (np.moveaxis(reps[k], 0, 1) for k in ("S1", "S1_corrected"))
        for name in ("S1", "S1_corrected", "S_interaction_corrected"):
            low, high = bias_corrected_interval(reps[name], est[name], conf_level)
            intervals[name] = (low, high, (high - low) / 2)
    dims, coords, yattrs = output_labels(f, problem, out_shape)

    def shaped(v):
        return v.reshape(v.shape[:-1] + tuple(out_shape))

    variables = {
        "S1": (["input", *dims], shaped(s), {**index_attrs("S1"), "long_name": "first-order index, paper Eqs. 11-13"}),
        "S1_corrected": (["input", *dims], shaped(s_corr),
                         {"units": "1", "long_name": "first-order index, finite-sample bias removed (two-way ANOVA)"}),
        "S1_oneway": (["input", *dims], shaped(est["S1_oneway"]),
                      {"units": "1", "long_name": "one-way ANOVA correction (valid for nested designs; "
                       "over-corrects on the crossed grid)"}),
        "S_interaction": (dims, shaped(1 - s[0] - s[1]), {"units": "1", "long_name": "1 - S_a - S_b (paper form)"}),
        "S_interaction_corrected": (dims, shaped(est["S_interaction_corrected"]),
                                    {"units": "1", "long_name": "interaction share, two-way ANOVA"}),
        "negative_corrected": (["input", *dims], shaped(s_corr < 0).astype(np.int8),
                               flag_attrs("1 where the corrected index is negative (V_i ~ 0 within noise)",
                                          ("not_negative", "negative"))),
        "variance": (dims, shaped(variance), {"units": squared_units(output_units(yattrs)),
                                              "long_name": "output variance"}),
        "mean": (dims, shaped(grand + shift), {**yattrs, "units": output_units(yattrs), "long_name": "output mean"}),
    }
    for name, (low, high, half) in intervals.items():
        lead = ["input"] if name.startswith("S1") else []
        what = {"S1": "paper-form index", "S1_corrected": "corrected index",
                "S_interaction_corrected": "interaction share"}[name]
        variables[f"{name}_low"] = ([*lead, *dims], shaped(low),
                                    {"units": "1", "long_name": f"lower bound of the {what}'s interval"})
        variables[f"{name}_high"] = ([*lead, *dims], shaped(high),
                                     {"units": "1", "long_name": f"upper bound of the {what}'s interval"})
        variables[f"{name}_conf"] = ([*lead, *dims], shaped(half),
                                     {"units": "1", "long_name": f"half-width of the {what}'s interval"})
    ds = dataset(variables, coords, problem, base_attrs(
        "nested", problem, seed, n_outer=n_outer, n_inner=n_inner, model_evaluations=n_total,
        ci=ci, ci_method=_CI_TEXT[ci], resamples=resamples,
        groups=f"{len(np.unique(jack_groups[0]))} x {len(np.unique(jack_groups[1]))}" if ci == "jackknife" else "none",
        conf_level=conf_level), constant=varying.constant, zero=varying.zero, out_dims=dims)
    ds = ds.assign_coords({a_name: (a_name, a, {"units": problem.units[a_name] or "1",
                                                "long_name": f"outer draws of {a_name} (rows of the crossed grid)"}),
                           b_name: (b_name, b, {"units": problem.units[b_name] or "1",
                                                "long_name": f"inner draws of {b_name} (columns of the crossed grid)"})})
    if kept is not None:
        ds["response_surface"] = (("surface", a_name, b_name), kept, {**yattrs, "long_name": "response surface"})
        ds = ds.assign_coords(surface=("surface", surfaces, {"units": "1", "long_name": "flat output index"}))
    return ds


def default_surfaces(f: Callable, members: bool = False) -> dict:
    """The response surfaces worth keeping for ``f``: every output where there are at most 64.

    Parameters
    ----------
    f : callable
        The model; its ``output_shape`` (one sample's) counts the outputs.
    members : bool, default False
        True when ``f`` returns every ensemble member: then none.

    Returns
    -------
    dict
        ``{"surfaces": [0, ..., P - 1]}`` or ``{"surfaces": None}``, keyword arguments of :func:`nested`.
    """
    shape = getattr(f, "output_shape", None)
    size = int(np.prod(shape)) if shape else 0
    return {"surfaces": list(range(size)) if 0 < size <= 64 and not members else None}


SPEC = MethodSpec(
    name="nested", function=nested, summary="the paper's estimator (Eqs. 11-13) on a crossed grid of two inputs",
    samples="n_outer", samples_help="outer draws", design_settings={"n_outer": 1000, "n_inner": 1000},
    record_options={"resamples": 0},
    design_rows=lambda d, s: int(s["n_outer"]) * int(s["n_inner"]),
    options=(Option("--inner", "n_inner", "design", "inner draws (default = --samples)", type=int,
                    range=(int, 2, None)),),
    design_kwargs=lambda args: {"n_outer": args.samples, "n_inner": args.inner or args.samples},
    model_kwargs=default_surfaces,
)
