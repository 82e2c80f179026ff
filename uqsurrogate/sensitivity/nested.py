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

from .._random import as_generator
from .._validation import check_int
from ..errors import InputError
from ..evaluation import evaluate
from ..problem import Problem
from ._common import base_attrs, dataset, index_attrs, output_labels

__all__ = ["nested"]


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
    conditioned); ``kept`` holds the requested response surfaces.
    """

    def __init__(self, n_outer: int, n_inner: int, surfaces: Sequence[int] | None):
        self.n_outer, self.n_inner = n_outer, n_inner
        self.surfaces = surfaces
        self.row_sum = self.row_sq = self.col_sum = self.shift = self.out_shape = self.kept = None

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
        i0 = start // self.n_inner
        i1 = i0 + len(y) // self.n_inner
        g = y.reshape(i1 - i0, self.n_inner, -1) - self.shift  # one float64 temporary per chunk
        self.row_sum[i0:i1] = g.sum(axis=1)
        self.row_sq[i0:i1] = np.einsum("imk,imk->ik", g, g)
        self.col_sum += g.sum(axis=0)
        if self.kept is not None:
            self.kept[:, i0:i1] = (g[:, :, self.surfaces] + self.shift[self.surfaces]).transpose(2, 0, 1)


def nested(
    f: Callable,
    problem: Problem,
    n_outer: int = 1000,
    n_inner: int = 1000,
    *,
    surfaces: Sequence[int] | None = None,
    seed: int | None = None,
    chunk_rows: int | None = None,
    map: Any = None,
    progress: bool | None = None,
) -> xr.Dataset:
    """Nested-variance sensitivity of every output to the two varied inputs.

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
    seed : int, optional
    chunk_rows : int, optional
        Rows of the grid (values of a) per model call; by default about 2**13 evaluations.
    map : object with a ``map`` method, optional
        Where the chunks run (:func:`uqsurrogate.evaluation.map_chunks`); same bits whatever it is.
    progress : bool, optional

    Returns
    -------
    xarray.Dataset
        ``S1`` and ``S1_corrected`` (input, output dims...), ``S_interaction``, ``variance``,
        ``mean``, ``negative_corrected``, and ``response_surface`` (surface, a, b) if asked.
    """
    if len(problem.varied) != 2:
        raise InputError(f"nested needs exactly two varied inputs; the Problem varies {problem.varied}")
    n_outer = check_int(n_outer, "n_outer", min_value=2)
    n_inner = check_int(n_inner, "n_inner", min_value=2)
    if hasattr(f, "input_names"):
        problem.check_names(f.input_names)
    rng = as_generator(seed)
    a_name, b_name = problem.varied
    a = np.sort(problem.sample(n_outer, rng)[:, 0])
    b = np.sort(problem.sample(n_inner, rng)[:, 1])
    rows = chunk_rows or max(1, 2**13 // n_inner)  # about 8k evaluations per model call
    sums = _CrossedSums(n_outer, n_inner, surfaces)
    evaluate(f, _CrossedGrid(problem, a, b), [sums], n=n_outer * n_inner, chunk_size=rows * n_inner, map=map,
             progress=progress, desc="nested", unit="eval")
    row_sum, row_sq, col_sum, shift, out_shape = sums.row_sum, sums.row_sq, sums.col_sum, sums.shift, sums.out_shape
    kept, surfaces = sums.kept, sums.surfaces
    n_total = n_outer * n_inner
    grand = row_sum.sum(axis=0) / n_total
    variance = row_sq.sum(axis=0) / n_total - grand**2  # ddof = 0 over all pairs
    row_mean = row_sum / n_inner
    col_mean = col_sum / n_outer
    v_a = ((row_mean - grand) ** 2).mean(axis=0)  # paper Eq. 11
    v_b = ((col_mean - grand) ** 2).mean(axis=0)
    # Bias correction.  The grid is crossed: every a_i meets the same b_1..b_Nb.  Then
    # E[Var_i(ȳ_i)] = V_a + V_ab/N_b (the b main effect is common to all rows and cancels),
    # and the two-way random-effects ANOVA (no replication) gives unbiased components:
    #   MS_AB = Σ(y_im - ȳ_i - ȳ_m + ȳ)² / ((N_a-1)(N_b-1)),  E[MS_AB] = V_ab
    #   V̂_a = Σ_i(ȳ_i - ȳ)²/(N_a-1) - MS_AB/N_b,  V̂_b likewise,  V̂ = V̂_a + V̂_b + MS_AB.
    total_sq = row_sq.sum(axis=0)
    ss_resid = (total_sq - n_inner * (row_mean**2).sum(axis=0) - n_outer * (col_mean**2).sum(axis=0)
                + n_total * grand**2)
    ms_ab = ss_resid / ((n_outer - 1) * (n_inner - 1))
    va_hat = ((row_mean - grand) ** 2).sum(axis=0) / (n_outer - 1) - ms_ab / n_inner
    vb_hat = ((col_mean - grand) ** 2).sum(axis=0) / (n_inner - 1) - ms_ab / n_outer
    v_hat = va_hat + vb_hat + ms_ab
    # The one-way formula V̂_a = Var_i(ȳ_i) - mean_i(s_i²)/N_b is unbiased when each a_i has its
    # own independent b draws (a nested design).  On this crossed grid s_i² also holds V_b, so it
    # over-corrects by V_b/N_b; it is reported for comparison only.
    within_rows = (total_sq - n_inner * (row_mean**2).sum(axis=0)) / (n_outer * (n_inner - 1))
    within_cols = (total_sq - n_outer * (col_mean**2).sum(axis=0)) / (n_inner * (n_outer - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(variance > 0, np.stack([v_a, v_b]) / variance, np.nan)
        s_corr = np.where(v_hat > 0, np.stack([va_hat, vb_hat]) / v_hat, np.nan)
        s_int_corr = np.where(v_hat > 0, ms_ab / v_hat, np.nan)
        s_oneway = np.where(variance > 0, np.stack([v_a - within_rows / n_inner, v_b - within_cols / n_outer])
                            / variance, np.nan)
    dims, coords, yattrs = output_labels(f, problem, out_shape)

    def shaped(v):
        return v.reshape(v.shape[:-1] + tuple(out_shape))

    variables = {
        "S1": (["input", *dims], shaped(s), {**index_attrs("S1"), "long_name": "first-order index, paper Eqs. 11-13"}),
        "S1_corrected": (["input", *dims], shaped(s_corr),
                         {"units": "1", "long_name": "first-order index, finite-sample bias removed (two-way ANOVA)"}),
        "S1_oneway": (["input", *dims], shaped(s_oneway),
                      {"units": "1", "long_name": "one-way ANOVA correction (valid for nested designs; "
                       "over-corrects on the crossed grid)"}),
        "S_interaction": (dims, shaped(1 - s[0] - s[1]), {"units": "1", "long_name": "1 - S_a - S_b (paper form)"}),
        "S_interaction_corrected": (dims, shaped(s_int_corr),
                                    {"units": "1", "long_name": "interaction share, two-way ANOVA"}),
        "negative_corrected": (["input", *dims], shaped(s_corr < 0).astype(np.int8),
                               {"long_name": "1 where the corrected index is negative (V_i ~ 0 within noise)"}),
        "variance": (dims, shaped(variance), {"units": f"({yattrs.get('units', '1')})2", "long_name": "output variance"}),
        "mean": (dims, shaped(grand + shift), {**yattrs, "long_name": "output mean"}),
    }
    ds = dataset(variables, coords, problem, base_attrs(
        "nested", problem, seed, n_outer=n_outer, n_inner=n_inner, model_evaluations=n_total))
    ds = ds.assign_coords({a_name: (a_name, a, {"units": problem.units[a_name]}),
                           b_name: (b_name, b, {"units": problem.units[b_name]})})
    if kept is not None:
        ds["response_surface"] = (("surface", a_name, b_name), kept, {**yattrs, "long_name": "response surface"})
        ds = ds.assign_coords(surface=("surface", surfaces, {"long_name": "flat output index"}))
    return ds
