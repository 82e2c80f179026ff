"""Analytic test functions with closed-form Sobol' indices (as SALib's ``test_functions``).

Each function maps X (n, d) to (n,) and comes with its :class:`~uqsurrogate.problem.Problem`
and its exact indices, so that estimators can be checked against the truth rather than
against themselves.

* :func:`ishigami` — Ishigami & Homma (1990), inputs uniform on [-π, π]; indices from
  Sobol' & Levitan (1999).
* :func:`sobol_g` — Sobol's G function, inputs uniform on [0, 1] (Saltelli & Sobol' 1995).
* :func:`bilinear` — y = c1 a + c2 b + c12 a b with independent normal inputs: an additive
  model with one interaction, whose ANOVA terms follow by hand.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .problem import Normal, Problem, Uniform

__all__ = [
    "PanelCase",
    "bilinear",
    "bilinear_indices",
    "bilinear_problem",
    "coverage",
    "ishigami",
    "ishigami_indices",
    "ishigami_problem",
    "panel",
    "sobol_g",
    "sobol_g_indices",
    "sobol_g_problem",
]


def ishigami(X: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    """sin x1 + a sin² x2 + b x3⁴ sin x1, for X (n, 3); returns (n,)."""
    X = np.asarray(X, dtype=float)
    return np.sin(X[:, 0]) + a * np.sin(X[:, 1]) ** 2 + b * X[:, 2] ** 4 * np.sin(X[:, 0])


def ishigami_problem() -> Problem:
    """x1, x2, x3 uniform on [-π, π]."""
    return Problem({f"x{i}": Uniform(-math.pi, math.pi) for i in (1, 2, 3)})


def ishigami_indices(a: float = 7.0, b: float = 0.1) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Exact (S1 (3,), ST (3,), mean, variance) of :func:`ishigami`.

    V1 = (1 + b π⁴/5)²/2, V2 = a²/8, V13 = b² π⁸ (1/18 - 1/50), V = V1 + V2 + V13.

    Examples
    --------
    >>> s1, st, mean, var = ishigami_indices()
    >>> s1.round(4).tolist(), st.round(4).tolist(), mean
    ([0.3139, 0.4424, 0.0], [0.5576, 0.4424, 0.2437], 3.5)
    """
    pi4 = math.pi**4
    v1 = 0.5 * (1 + b * pi4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * math.pi**8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    return np.array([v1, v2, 0.0]) / v, np.array([v1 + v13, v2, v13]) / v, a / 2, v


def sobol_g(X: np.ndarray, a: Sequence[float] = (0.0, 1.0, 4.5, 9.0, 99.0)) -> np.ndarray:
    """Π_i (abs(4 x_i - 2) + a_i) / (1 + a_i), for X (n, len(a)); returns (n,)."""
    a = np.asarray(a, dtype=float)
    return np.prod((np.abs(4 * np.asarray(X, dtype=float) - 2) + a) / (1 + a), axis=1)


def sobol_g_problem(d: int = 5) -> Problem:
    """u0 ... u(d-1) uniform on [0, 1]."""
    return Problem({f"u{i}": Uniform(0.0, 1.0) for i in range(d)})


def sobol_g_indices(a: Sequence[float] = (0.0, 1.0, 4.5, 9.0, 99.0)) -> tuple[np.ndarray, np.ndarray]:
    """Exact (S1, ST) of :func:`sobol_g`: v_i = 1 / (3 (1 + a_i)²), V = Π(1 + v_i) - 1."""
    a = np.asarray(a, dtype=float)
    v = 1 / (3 * (1 + a) ** 2)
    total = np.prod(1 + v) - 1
    return v / total, v * np.prod(1 + v) / (1 + v) / total


def bilinear(X: np.ndarray, c1: float = 2.0, c2: float = 1.3, c12: float = 1.0) -> np.ndarray:
    """c1 a + c2 b + c12 a b, for X (n, 2) = (a, b); returns (n,)."""
    X = np.asarray(X, dtype=float)
    return c1 * X[:, 0] + c2 * X[:, 1] + c12 * X[:, 0] * X[:, 1]


def bilinear_problem(mean_a: float = 0.5, sd_a: float = 1.0, mean_b: float = -0.5, sd_b: float = 1.0) -> Problem:
    """a ~ N(mean_a, sd_a²), b ~ N(mean_b, sd_b²), independent."""
    return Problem({"a": Normal(mean_a, sd_a), "b": Normal(mean_b, sd_b)})


def bilinear_indices(c1: float = 2.0, c2: float = 1.3, c12: float = 1.0, mean_a: float = 0.5, sd_a: float = 1.0,
                     mean_b: float = -0.5, sd_b: float = 1.0) -> tuple[np.ndarray, float]:
    """Exact (S1 (2,), S_interaction) of :func:`bilinear` under :func:`bilinear_problem`.

    With a = m_a + a', b = m_b + b': y - E y = (c1 + c12 m_b) a' + (c2 + c12 m_a) b' + c12 a' b',
    three uncorrelated terms, so V_a = (c1 + c12 m_b)² s_a², V_b = (c2 + c12 m_a)² s_b²,
    V_ab = c12² s_a² s_b².

    Examples
    --------
    >>> s1, s12 = bilinear_indices()  # V_a = 2.25, V_b = 3.24, V_ab = 1
    >>> s1.round(4).tolist(), round(s12, 4)
    ([0.3467, 0.4992], 0.1541)
    """
    va = (c1 + c12 * mean_b) ** 2 * sd_a**2
    vb = (c2 + c12 * mean_a) ** 2 * sd_b**2
    vab = c12**2 * sd_a**2 * sd_b**2
    v = va + vb + vab
    return np.array([va, vb]) / v, vab / v


# --------------------------------------------------------------------------------------------
# The coverage panel: analytic cases with closed-form indices, and a harness that measures how
# often each method's interval holds them.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PanelCase:
    """One analytic test case: a function, its input distribution and its exact indices.

    Attributes
    ----------
    name : str
    shape : str
        What the case tests (one line, for tables).
    function : callable
        ``function(X (n, d)) -> (n,)``.
    problem : Problem
        ``d`` varied inputs.
    s1, st : numpy.ndarray, shape (d,)
        Exact first-order and total indices.
    """

    name: str
    shape: str
    function: Callable[[np.ndarray], np.ndarray]
    problem: Problem
    s1: np.ndarray
    st: np.ndarray

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """The case's function with one output column: (n, d) -> (n, 1)."""
        return self.function(X)[:, None]


def _square(X: np.ndarray) -> np.ndarray:
    return X[:, 0] ** 2 + X[:, 1]


def _interaction(X: np.ndarray) -> np.ndarray:
    return X[:, 0] + X[:, 1] + 3.0 * X[:, 0] * X[:, 1]


def _lognormal(X: np.ndarray) -> np.ndarray:
    return np.exp(X[:, 0] + 0.5 * X[:, 1])


def _inert(X: np.ndarray) -> np.ndarray:
    return np.sin(X[:, 0]) * (1 + 0.1 * X[:, 1] ** 4)


def _g2(X: np.ndarray) -> np.ndarray:
    return sobol_g(X, (0.0, 1.0))


def panel() -> dict[str, PanelCase]:
    """The coverage panel: every shape an interval must survive, each with exact indices.

    Two-input cases (every method, ``nested`` included), normal inputs N(0, 1) unless said:

    * ``bilinear`` — smooth, near-Gaussian: :func:`bilinear` with its defaults.
    * ``square`` — a squared input, y = a² + b: S = (2/3, 1/3), no interaction (skewed, χ²).
    * ``interaction`` — y = a + b + 3ab: S = (1/11, 1/11), the interaction holds 9/11.
    * ``lognormal`` — heavy-tailed, y = exp(a + b/2): with σ² the exponents' variances,
      S_a = (e^σa² - 1)/(e^(σa²+σb²) - 1), ST_a = 1 - S_b.
    * ``inert`` — Ishigami's (x1, x3) slice, y = sin a (1 + 0.1 b⁴), a, b ~ U(-π, π): b's
      first-order index is exactly 0 though it interacts; S_a = E[g]²/E[g²], g = 1 + 0.1 b⁴.
    * ``g2`` — Sobol' G in two inputs, a = (0, 1), uniform on [0, 1].

    More inputs (``sobol`` and ``pce``): ``ishigami`` (x3 inert at first order) and
    ``sobol_g`` (five inputs, a = (0, 1, 4.5, 9, 99)).

    Returns
    -------
    dict
        Name -> :class:`PanelCase`.
    """
    normal = Problem({"a": Normal(0.0, 1.0), "b": Normal(0.0, 1.0)})
    s_bil, _ = bilinear_indices()
    e1, e2 = math.exp(1.0), math.exp(0.25)
    ln_s1 = np.array([e1 - 1, e2 - 1]) / (e1 * e2 - 1)
    # g = 1 + 0.1 b⁴, b ~ U(-π, π): E b⁴ = π⁴/5, E b⁸ = π⁸/9
    eg, eg2 = 1 + 0.1 * math.pi**4 / 5, 1 + 0.2 * math.pi**4 / 5 + 0.01 * math.pi**8 / 9
    g2_s1, g2_st = sobol_g_indices((0.0, 1.0))
    ish_s1, ish_st, _, _ = ishigami_indices()
    g_s1, g_st = sobol_g_indices()
    cases = [
        PanelCase("bilinear", "smooth, near-Gaussian", bilinear, bilinear_problem(), s_bil,
                  1 - s_bil[::-1]),
        PanelCase("square", "a squared input (skewed)", _square, normal, np.array([2, 1]) / 3,
                  np.array([2, 1]) / 3),
        PanelCase("interaction", "interaction-dominated, small first-order shares", _interaction, normal,
                  np.full(2, 1 / 11), np.full(2, 10 / 11)),
        PanelCase("lognormal", "heavy-tailed (log-normal)", _lognormal, normal, ln_s1, 1 - ln_s1[::-1]),
        PanelCase("inert", "an input inert at first order (Ishigami's x1, x3)", _inert,
                  Problem({"a": Uniform(-math.pi, math.pi), "b": Uniform(-math.pi, math.pi)}),
                  np.array([eg**2 / eg2, 0.0]), np.array([1.0, 1 - eg**2 / eg2])),
        PanelCase("g2", "Sobol' G, two inputs", _g2, sobol_g_problem(2), g2_s1, g2_st),
        PanelCase("ishigami", "Ishigami (x3 inert at first order)", ishigami, ishigami_problem(), ish_s1, ish_st),
        PanelCase("sobol_g", "Sobol' G, five inputs", sobol_g, sobol_g_problem(5), g_s1, g_st),
    ]
    return {c.name: c for c in cases}


def _bounds(ds, name: str) -> tuple[np.ndarray, np.ndarray]:
    """An index's interval (low, high) from a result: its bounds, or estimate ± half-width."""
    est = ds[name].values[..., 0]
    if f"{name}_low" in ds:
        return ds[f"{name}_low"].values[..., 0], ds[f"{name}_high"].values[..., 0]
    half = ds[f"{name}_conf"].values[..., 0]
    return est - half, est + half


def coverage(method: Callable, case: PanelCase, *, repetitions: int = 1000, seed: int = 0,
             indices: Sequence[tuple[str, str]] = (("S1", "s1"), ("ST", "st")), progress: bool | None = None,
             **options) -> dict[str, dict[str, np.ndarray]]:
    """How often a method's interval holds the exact index, and whether it has the right size.

    Parameters
    ----------
    method : callable
        ``method(f, problem, *, seed=..., progress=False, **options) -> Dataset``, e.g.
        :func:`uqsurrogate.sensitivity.sobol`; its result must carry ``NAME_low``/``NAME_high``
        or ``NAME_conf`` (a half-width) for every index measured.
    case : PanelCase
    repetitions : int, default 1000
        Independent runs, with seeds ``seed``, ``seed + 1``, ...
    seed : int, default 0
    indices : sequence of (str, str), default (("S1", "s1"), ("ST", "st"))
        (result variable, case attribute) pairs: which estimate to check against which truth.
    progress : bool, optional
        A bar over the repetitions.
    **options
        Passed to ``method`` (``conf_level`` included).

    Returns
    -------
    dict
        Per result variable, arrays of shape (d,): ``coverage`` (the share of runs whose
        interval holds the exact index), ``coverage_se`` (its binomial standard error),
        ``width_ratio`` (mean half-width over z_(1+level)/2 times the estimate's standard
        deviation over the runs: 1 is the right size for a normal estimate), ``bias`` (mean
        estimate minus the exact index), ``sd`` (the estimate's spread) and ``half_width``
        (mean).
    """
    from scipy.stats import norm
    from tqdm.auto import tqdm

    level = float(options.get("conf_level", 0.95))
    est = {name: [] for name, _ in indices}
    hit = {name: [] for name, _ in indices}
    half = {name: [] for name, _ in indices}
    for r in tqdm(range(int(repetitions)), desc=f"coverage {case.name}", disable=progress is False
                  or (progress is None and repetitions < 50)):
        ds = method(case, case.problem, seed=seed + r, progress=False, **options)
        for name, truth in indices:
            low, high = _bounds(ds, name)
            exact = getattr(case, truth)
            est[name].append(ds[name].values[..., 0])
            hit[name].append((low <= exact + 1e-12) & (exact <= high + 1e-12))
            half[name].append((high - low) / 2)
    z = norm.ppf(0.5 + level / 2)
    out = {}
    for name, truth in indices:
        e, h, w = np.array(est[name]), np.array(hit[name], dtype=float), np.array(half[name])
        sd = e.std(axis=0, ddof=1)
        p = h.mean(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = w.mean(axis=0) / (z * sd)
        out[name] = {"coverage": p, "coverage_se": np.sqrt(p * (1 - p) / len(h)), "width_ratio": ratio,
                     "bias": e.mean(axis=0) - getattr(case, truth), "sd": sd, "half_width": w.mean(axis=0)}
    return out
