"""Batch selection: B diverse points out of many candidates (NumPy, from the published definitions).

The candidates are rows of a feature matrix; the training inputs' features count as
already chosen, so that a batch spreads away from the data as well as within itself.

* ``random`` — B candidates uniformly, without replacement.
* ``top`` — the B highest scores (pool-based maximum variance when the scores are U).
* ``max_distance`` — greedy farthest-point selection: each pick maximises its distance to
  the nearest training point or earlier pick (Holzmüller et al., JMLR 24(164), 2023,
  "MaxDist").
* ``max_det`` — greedy maximum determinant of the kernel k(x, x') = φ(x)·φ(x') after
  conditioning on the training points (Bayesian linear regression on the features,
  noise ``noise``): each pick maximises the log-determinant of the picks' posterior kernel,
  found by a pivoted Cholesky decomposition (the pick is the largest residual diagonal).
* ``lcmd`` — largest cluster maximum distance (Holzmüller et al., 2023): every candidate
  belongs to its nearest centre (a training point or a pick); the cluster with the
  largest sum of squared distances gives the next pick, its member farthest from the
  centre.

Features (:func:`gradient_features`): the gradient of a network's outputs with respect to
its last layer's weights is its last hidden layer's activations (and 1, for the bias); an
ensemble's are its members', side by side, divided by sqrt(K).  Wide features are
sketched to ``sketch`` columns by a seeded Gaussian projection, which keeps inner products
in expectation.
"""

from __future__ import annotations

import logging

import numpy as np

from .._random import keyed_generator
from .._validation import check_choice, check_float, check_int
from ..errors import InputError
from .filters import min_distances

__all__ = ["RULES", "gradient_features", "lcmd", "max_det", "max_distance", "posterior_features", "select_batch"]

logger = logging.getLogger(__name__)

#: The batch rules.
RULES = ("random", "top", "max_distance", "max_det", "lcmd")

_ACTS = {"linear": lambda x: x, "relu": lambda x: np.maximum(x, 0), "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
         "softplus": lambda x: np.logaddexp(0, x), "tanh": np.tanh, "silu": lambda x: x / (1 + np.exp(-x)),
         "gelu": lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))}


def gradient_features(f, X, *, sketch: int | None = 512, seed: int = 0) -> np.ndarray:
    """Last-layer gradient features of a model function's network or ensemble.

    Parameters
    ----------
    f : ModelFunction
    X : array_like, shape (n, n_inputs)
        Physical inputs.
    sketch : int or None, default 512
        Project to this many columns when wider (None: never).
    seed : int, default 0
        Of the sketch's projection (the same seed gives the same projection).

    Returns
    -------
    numpy.ndarray, shape (n, p)
    """
    X = np.asarray(X, dtype=float)
    stacks = f.member_layers or [f.layers]
    blocks = []
    for layers in stacks:
        h = X
        for layer in layers[:-1]:
            h = _ACTS[layer.activation](h @ np.asarray(layer.weight, dtype=float) + np.asarray(layer.bias, dtype=float))
        blocks.append(np.hstack([h, np.ones((len(h), 1))]))
    phi = np.hstack(blocks) / np.sqrt(len(stacks))
    if sketch is not None and phi.shape[1] > check_int(sketch, "sketch", min_value=1):
        proj = keyed_generator([seed, 13, phi.shape[1]]).standard_normal((phi.shape[1], sketch)) / np.sqrt(sketch)
        phi = phi @ proj
    return phi


def posterior_features(features: np.ndarray, train_features: np.ndarray, noise: float = 1e-2) -> np.ndarray:
    """Features whose inner products are the posterior kernel given the training points.

    With prior weights N(0, I) and noise variance ``noise`` (after scaling the features to a
    mean squared norm of 1 over the training points), the posterior covariance of the
    weights is (I + Φ_tᵀΦ_t / noise)^-1; φ̃ = φ L^-T with L Lᵀ that matrix's inverse's
    inverse, so that φ̃(x)·φ̃(x') is the posterior covariance of f(x) and f(x').

    Returns
    -------
    numpy.ndarray, shape (n, p)
    """
    noise = check_float(noise, "noise", 0, None, closed="neither")
    scale = np.sqrt(np.mean(np.sum(train_features**2, axis=1))) if len(train_features) else 1.0
    scale = scale if scale > 0 else 1.0
    phi, phi_t = features / scale, train_features / scale
    A = np.eye(phi.shape[1]) + phi_t.T @ phi_t / noise
    L = np.linalg.cholesky(A)
    from scipy.linalg import solve_triangular

    return solve_triangular(L, phi.T, lower=True).T


def max_det(features: np.ndarray, B: int) -> np.ndarray:
    """Greedy maximum-determinant selection by pivoted Cholesky of K = features featuresᵀ.

    Each pick maximises log det K[S ∪ {x}] given the earlier picks S, that is the residual
    variance K(x, x) - K(x, S) K(S, S)^-1 K(S, x); the decomposition updates the residuals
    at O(n p) per pick.  Where no candidate has residual variance left (> 1e-12 of the
    largest diagonal), the remaining picks follow the order of the diagonal.

    Parameters
    ----------
    features : numpy.ndarray, shape (n, p)
    B : int

    Returns
    -------
    numpy.ndarray of int, shape (B,)
    """
    n = len(features)
    B = _check_b(B, n)
    diag = np.sum(features**2, axis=1)
    resid = diag.copy()
    L = np.zeros((n, B))
    picked: list[int] = []
    tol = 1e-12 * max(float(diag.max()), 1e-300)
    for m in range(B):
        r = resid.copy()
        r[picked] = -np.inf
        j = int(np.argmax(r))
        if r[j] <= tol:
            rest = [i for i in np.argsort(-diag, kind="stable") if i not in picked]
            picked.extend(int(i) for i in rest[: B - m])
            logger.info("max_det: no residual variance after %d picks; the rest by the diagonal", m)
            break
        col = features @ features[j] - L[:, :m] @ L[j, :m]
        L[:, m] = col / np.sqrt(r[j])
        resid = resid - L[:, m] ** 2
        picked.append(j)
    return np.asarray(picked, dtype=int)


def max_distance(features: np.ndarray, B: int, train_features: np.ndarray | None = None) -> np.ndarray:
    """Greedy farthest-point selection, the training points counted as chosen.

    Without training points the first pick is the candidate of largest norm (as in MaxDist).

    Returns
    -------
    numpy.ndarray of int, shape (B,)
    """
    _, B, train = _setup(features, B, train_features)
    dist = min_distances(features, train)
    picked: list[int] = []
    for _ in range(B):
        score = np.sum(features**2, axis=1) if not np.isfinite(dist).any() else dist.copy()
        score[picked] = -np.inf
        j = int(np.argmax(score))
        picked.append(j)
        dist = np.minimum(dist, np.sqrt(np.sum((features - features[j]) ** 2, axis=1)))
    return np.asarray(picked, dtype=int)


def lcmd(features: np.ndarray, B: int, train_features: np.ndarray | None = None) -> np.ndarray:
    """Largest cluster maximum distance, the training points being the first centres.

    Returns
    -------
    numpy.ndarray of int, shape (B,)
    """
    n, B, train = _setup(features, B, train_features)
    if len(train):
        sq = np.full(n, np.inf)
        centre = np.zeros(n, dtype=int)
        for s in range(0, len(train), 512):
            d2 = ((features[:, None, :] - train[None, s:s + 512]) ** 2).sum(-1)
            k = d2.argmin(axis=1)
            closer = d2[np.arange(n), k] < sq
            sq[closer], centre[closer] = d2[np.arange(n), k][closer], s + k[closer]
        n_centres = len(train)
    else:
        sq, centre, n_centres = np.full(n, np.inf), np.zeros(n, dtype=int), 0
    picked: list[int] = []
    for _ in range(B):
        if n_centres == 0:  # no centre yet: the candidate of largest norm
            j = int(np.argmax(np.sum(features**2, axis=1)))
        else:
            size = np.bincount(centre, weights=sq, minlength=n_centres)
            score = np.where(size[centre] == size.max(), sq, -np.inf)
            score[picked] = -np.inf
            j = int(np.argmax(score))
            if not np.isfinite(score[j]):  # every candidate is picked or in a spent cluster
                rest = np.where(np.isin(np.arange(n), picked), -np.inf, sq)
                j = int(np.argmax(rest))
        picked.append(j)
        d2 = np.sum((features - features[j]) ** 2, axis=1)
        closer = d2 < sq
        sq[closer], centre[closer] = d2[closer], n_centres
        n_centres += 1
    return np.asarray(picked, dtype=int)


def _setup(features: np.ndarray, B, train_features: np.ndarray | None) -> tuple[int, int, np.ndarray]:
    """The candidates' count, B checked against it, and the training features ((0, p) if none)."""
    n = len(features)
    train = np.zeros((0, features.shape[1])) if train_features is None else np.asarray(train_features)
    return n, _check_b(B, n), train


def _check_b(B, n: int) -> int:
    B = check_int(B, "B", min_value=1)
    if B > n:
        raise InputError(f"B = {B}: more than the {n} candidates")
    return B


def select_batch(rule: str, B: int, *, features: np.ndarray | None = None, train_features: np.ndarray | None = None,
                 scores: np.ndarray | None = None, rng: np.random.Generator | None = None,
                 noise: float = 1e-2) -> np.ndarray:
    """Indices of B distinct candidates by one rule.

    Parameters
    ----------
    rule : {"random", "top", "max_distance", "max_det", "lcmd"}
    B : int
        1 <= B <= the number of candidates.
    features : numpy.ndarray, shape (n, p)
        Of the candidates (every rule but ``random`` and ``top``).
    train_features : numpy.ndarray, shape (m, p), optional
        Of the training inputs (counted as chosen).
    scores : numpy.ndarray, shape (n,)
        For ``top``.
    rng : numpy.random.Generator
        For ``random``.
    noise : float, default 1e-2
        For ``max_det``'s conditioning on the training points.

    Returns
    -------
    numpy.ndarray of int, shape (B,)
        Distinct indices, in the order picked.
    """
    check_choice(rule, "rule", RULES)
    if rule == "random":
        n = len(features) if features is not None else len(scores)
        return np.sort(rng.choice(n, size=_check_b(B, n), replace=False))
    if rule == "top":
        return np.argsort(-np.asarray(scores, dtype=float), kind="stable")[: _check_b(B, len(scores))]
    if features is None:
        raise InputError(f"rule {rule!r} needs the candidates' features")
    if rule == "max_distance":
        return max_distance(features, B, train_features)
    if rule == "lcmd":
        return lcmd(features, B, train_features)
    post = features if train_features is None or not len(train_features) else posterior_features(
        features, train_features, noise)
    return max_det(post, B)
