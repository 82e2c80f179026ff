"""Uncertainties from a single network, cheaper than an ensemble.

* :func:`mc_dropout` — Gal & Ghahramani (2016): keep dropout active at inference and take
  the mean and spread over T passes.  Needs a network trained with dropout.
* :class:`FeaturePosterior` — the gradient-feature uncertainty of the uncertainty-biased-MD
  work, on last-layer features: Bayesian linear regression of the outputs on the last
  hidden layer's activations φ(x) gives the posterior spread u(x)² ∝ φᵀ(ΦᵀΦ + λI)⁻¹φ,
  scaled per output by the training residuals' RMS.  One network, one extra matrix.

Both spreads need a calibration (:mod:`.calibration`) before they mean a standard error.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .._validation import check_float, check_int
from ..errors import InputError

__all__ = ["FeaturePosterior", "mc_dropout"]


def mc_dropout(model: str | os.PathLike | Any, X, passes: int = 30, seed: int = 0,
               batch_size: int = 8192) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of ``passes`` stochastic forward passes with dropout on.

    Parameters
    ----------
    model : path-like or Surrogate
        A model directory whose network has Dropout layers (trained with dropout > 0).
    X : array_like, shape (n, n_inputs)
    passes : int, default 30
    seed : int, default 0
        Seeds Keras' dropout masks (``keras.utils.set_random_seed``: the global state).

    Returns
    -------
    mean, std : numpy.ndarray, each of shape (n, n_species, n_bins)
        mol/L.
    """
    from ..surrogate.artifact import Surrogate, load_artifact
    from .._keras import import_keras

    passes = check_int(passes, "passes", min_value=2)
    sur = model if isinstance(model, Surrogate) else load_artifact(model)
    if not any(type(layer).__name__ == "Dropout" and layer.rate > 0 for layer in sur.model.layers):
        raise InputError("mc_dropout needs a network with dropout (train with --dropout > 0); this one has none")
    import_keras().utils.set_random_seed(check_int(seed, "seed", min_value=0))
    draws = np.stack([sur.predict(X, batch_size=batch_size, training=True) for _ in range(passes)])
    return draws.mean(axis=0), draws.std(axis=0, ddof=1)


class FeaturePosterior:
    """Last-layer Bayesian linear regression uncertainty of a single network (scikit-learn style).

    Parameters
    ----------
    f : ModelFunction
        One network (density output); its layers before the last give the features.
    ridge : float, default 1e-3
        λ relative to the mean squared feature: A = ΦᵀΦ + λ mean(diag ΦᵀΦ) I.

    Attributes
    ----------
    precision_ : numpy.ndarray, shape (m + 1, m + 1)
        ΦᵀΦ + λI, features with a constant 1.
    scale_ : numpy.ndarray, shape (n_species, n_bins)
        RMS training residual of each output (0 where the output is always 0).
    """

    def __init__(self, f, ridge: float = 1e-3):
        if f.member_layers is not None:
            raise InputError("FeaturePosterior is the single-network alternative; give it one member, not an ensemble")
        self.f = f.with_options(dtype=np.float64)
        self.ridge = check_float(ridge, "ridge", 0, None, closed="neither")

    def features(self, X) -> np.ndarray:
        """φ(x) (n, m + 1): the last hidden layer's activations and a constant 1."""
        acts = {"linear": lambda v: v, "relu": lambda v: np.maximum(v, 0), "tanh": np.tanh,
                "sigmoid": lambda v: 1 / (1 + np.exp(-v)), "softplus": lambda v: np.logaddexp(0, v)}
        h = self.f.check_inputs(X)
        for layer in self.f.layers[:-1]:
            h = acts[layer.activation](h @ layer.weight + layer.bias)
        return np.column_stack([h, np.ones(len(h))])

    def fit(self, X, Y) -> FeaturePosterior:
        """Fit on the training inputs X (n, n_inputs) and their densities Y (n, n_species, n_bins)."""
        phi = self.features(X)
        gram = phi.T @ phi
        self.precision_ = gram + self.ridge * float(np.mean(np.diag(gram))) * np.eye(gram.shape[0])
        self._chol = np.linalg.cholesky(self.precision_)
        resid = np.asarray(Y, dtype=float) - self.f(X)
        self.scale_ = np.sqrt(np.mean(resid**2, axis=0))
        return self

    def std(self, X) -> np.ndarray:
        """Uncalibrated standard deviation of every output, shape (n, n_species, n_bins)."""
        if not hasattr(self, "_chol"):
            raise InputError("fit the FeaturePosterior before asking for std")
        from scipy.linalg import solve_triangular

        v = solve_triangular(self._chol, self.features(X).T, lower=True)  # L⁻¹φ: ‖v‖² = φᵀA⁻¹φ
        u = np.sqrt(np.sum(v**2, axis=0) * len(self.precision_))
        return u[:, None, None] * self.scale_[None]
