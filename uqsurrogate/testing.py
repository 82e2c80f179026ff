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
from collections.abc import Sequence

import numpy as np

from .problem import Normal, Problem, Uniform

__all__ = [
    "bilinear",
    "bilinear_indices",
    "bilinear_problem",
    "ishigami",
    "ishigami_indices",
    "ishigami_problem",
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
