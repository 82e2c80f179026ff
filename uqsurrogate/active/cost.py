"""What a simulation costs, how noisy its labels are, and what it takes to resolve an output.

Cost is sampling length: runs x blocks x configurations per block.  Its unit here is the
*default run* of the embedded simulator (10 blocks x 15,000 configurations); a run of
``length`` L samples L default runs' worth of configurations, and its labels' standard
error scales as 1/sqrt(L) (independent configurations: the counting noise of
:mod:`uqsurrogate.simulators.noise`).

The resolution check (:func:`uqsurrogate.uncertainty.trust.resolution`) calls an output
resolved when its standard deviation over the study's inputs is at least ``threshold``
times the error of the fitted response there.  For a least-squares fit of T orthonormal
polynomial terms to runs drawn from the study's distribution, that error is exactly
sqrt(tr C), C = (Ψᵀ W Ψ)⁻¹ the coefficients' noise covariance; adding runs of total cost
K (default runs) drawn from the distribution adds K/u · I to Ψᵀ W Ψ in expectation (u the
noise variance of one default run).  :func:`cost_to_resolve` solves

    Σ_j 1 / (λ_j + K/u) = (sd / threshold)²,    λ_j the eigenvalues of the current Ψᵀ W Ψ,

for K; with no runs yet it is K = threshold² T u / sd².  That is the error of a design whose
Ψᵀ W Ψ equals its expectation; a finite design of N runs does worse on average (by about
N / (N - T - 1) for Gaussian features, more for the heavy tails of Hermite terms).  Since
the next runs' inputs are known before any of them runs, both estimates take them
(``design``) and give the cost for that very design: what remains uncertain is only the
estimates of u, sd and the coefficients.

Resolved is not yet precise: at a ratio of 3 a first-order index is still uncertain by
about ±15 points (the squared coefficients carry the noise).  :func:`cost_for_precision`
finds the cost at which the delta-method 95 % half-width of every first-order index,
sqrt(gᵀ C(K) g) x 1.96 with g = ∂S_i/∂c and C(K) = (Ψᵀ W Ψ + K/u I)⁻¹, falls to a
tolerance.  It depends on the total cost
only, not on how it is split into runs: many short runs and a few long ones inform the fit
alike, as long as there are enough runs to fit the T terms.
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

from ..constants import MOLAR_CHARGE
from ..errors import InputError

__all__ = ["cost_for_precision", "cost_to_resolve", "default_run_configurations", "rho_standard_error",
           "unit_variance"]


def default_run_configurations(simulator=None) -> int:
    """Configurations sampled by one default run (blocks x configurations per block).

    Parameters
    ----------
    simulator : ElectrolyteSimulator, optional
        Default: the embedded simulator's defaults (10 x 15,000 = 150,000).
    """
    from ..simulators import ElectrolyteSimulator

    noise = (simulator or ElectrolyteSimulator()).noise
    return int(noise.n_blocks * noise.configs_per_block)


def _error_method(ds: xr.Dataset) -> tuple[str, int]:
    """The labels' error method and block count, from the simulator settings the data carry."""
    settings = ds.attrs.get("simulator")
    if settings is None:
        raise InputError("the data do not say how their density_sem was estimated (no 'simulator' attribute); "
                         "pass standard errors explicitly")
    noise = json.loads(settings)["noise"]
    return str(noise["error"]), int(noise["n_blocks"])


def rho_standard_error(ds: xr.Dataset, bins) -> np.ndarray:
    """The standard error of ρ (C/m³) at ``bins`` of every sample, from its densities' errors.

    ``density_sem`` of the paper's Eq. 4 (``error="paper-eq4"``) is the spread of the block
    averages; the standard error of their mean is that over sqrt(S - 1), S the blocks.
    Cation and anion counts are independent (the simulator's Poisson noise), so the errors
    add in quadrature.

    Parameters
    ----------
    ds : xarray.Dataset
        Simulator data (a training dataset with the ``simulator`` attribute).
    bins : sequence of int
        Bin indices.

    Returns
    -------
    numpy.ndarray, shape (n_samples, len(bins))
    """
    method, blocks = _error_method(ds)
    sem = np.asarray(ds["density_sem"].values, dtype=float)[:, :, np.asarray(bins)]
    if method == "paper-eq4":
        sem = sem / np.sqrt(blocks - 1)
    return MOLAR_CHARGE * np.sqrt(sem[:, 0] ** 2 + sem[:, 1] ** 2)


def unit_variance(standard_error: np.ndarray, length: np.ndarray) -> np.ndarray:
    """The noise variance of one default-length run, pooled over runs of any length.

    Parameters
    ----------
    standard_error : numpy.ndarray, shape (n, P)
        Each run's standard error of each output.
    length : numpy.ndarray, shape (n,)
        Each run's length in default runs.

    Returns
    -------
    numpy.ndarray, shape (P,)
        mean over runs of se² · length.
    """
    se = np.asarray(standard_error, dtype=float)
    length = np.asarray(length, dtype=float).reshape(-1, 1)
    if se.ndim != 2 or length.shape[0] != se.shape[0]:
        raise InputError(f"standard_error {se.shape} and length {length.shape[:1]} must be (n, P) and (n,)")
    if np.any(~np.isfinite(length)) or np.any(length <= 0):
        raise InputError("every run length must be finite and > 0")
    return np.mean(se**2 * length, axis=0)


def _gain(unit_var: float, terms: int, design: np.ndarray | None) -> np.ndarray:
    """What one default run of cost adds to Ψᵀ W Ψ: I / u in expectation, or that of a given design."""
    if design is None:
        return np.eye(terms) / unit_var
    design = np.asarray(design, dtype=float)
    if design.ndim != 2 or design.shape[1] != terms:
        raise InputError(f"design has shape {design.shape}; it needs the basis of each run, (m, {terms})")
    return design.T @ design / (len(design) * unit_var)


def _spd_inverse(a: np.ndarray) -> np.ndarray | None:
    try:
        return np.linalg.inv(np.linalg.cholesky(a))
    except np.linalg.LinAlgError:
        return None


def cost_to_resolve(sd: np.ndarray, unit_var: np.ndarray, terms: int, *, threshold: float = 3.0,
                    precision: np.ndarray | None = None, design: np.ndarray | None = None) -> np.ndarray:
    """The further cost (default runs) at which each output's fit error falls to sd / threshold.

    Parameters
    ----------
    sd : numpy.ndarray, shape (P,)
        Each output's standard deviation over the study's inputs.
    unit_var : numpy.ndarray, shape (P,)
        Noise variance of one default run (:func:`unit_variance`).
    terms : int
        Terms of the expansion (T).
    threshold : float, default 3
    precision : numpy.ndarray, shape (P, T, T), optional
        Ψᵀ W Ψ of the runs so far (the inverse of the coefficients' covariance).
    design : numpy.ndarray, shape (m, T), optional
        The basis at the next runs' inputs, which share the cost equally: the error of that
        very design (the inputs are known before any run).  Default: the expectation over
        the distribution, K/u · I (a random design of N runs does worse on average, by about
        N / (N - T - 1)).

    Returns
    -------
    numpy.ndarray, shape (P,)
        0 where the output is resolved already; inf where sd is not > 0.
    """
    sd = np.asarray(sd, dtype=float)
    u = np.asarray(unit_var, dtype=float)
    target = (sd / threshold) ** 2
    out = np.empty(sd.shape)
    for k in range(sd.size):
        if not sd[k] > 0:
            out[k] = np.inf
            continue
        a0 = np.zeros((terms, terms)) if precision is None else np.asarray(precision[k], dtype=float)
        gain = _gain(u[k], terms, design)

        def excess(cost, a0=a0, gain=gain, k=k):
            inv = _spd_inverse(a0 + cost * gain)
            return np.inf if inv is None else float(np.sum(inv**2)) - target[k]  # tr(A^-1) = ||L^-1||_F^2

        out[k] = _bisect(excess, terms * u[k] / target[k])  # about the cost from nothing: tr((K/u) I)^-1 = T u / K
    return out


def _bisect(excess, hi: float) -> float:
    """The smallest cost in [0, hi] (grown as needed) at which ``excess(cost) <= 0`` (decreasing)."""
    if excess(0.0) <= 0:
        return 0.0
    for _ in range(60):
        if excess(hi) <= 0:
            break
        hi *= 2
    else:
        return np.inf
    lo = 0.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if excess(mid) > 0:
            lo = mid
        else:
            hi = mid
    return hi


def cost_for_precision(coef: np.ndarray, alphas: np.ndarray, precision: np.ndarray, unit_var: np.ndarray, *,
                       tolerance: float = 0.05, z: float = 1.96, design: np.ndarray | None = None) -> np.ndarray:
    """The further cost (default runs) at which every first-order index's half-width is ``tolerance``.

    Parameters
    ----------
    coef : numpy.ndarray, shape (T, P)
        The expansion's coefficients (orthonormal basis) so far.
    alphas : numpy.ndarray, shape (T, d)
        Its multi-indices.
    precision : numpy.ndarray, shape (P, T, T)
        Ψᵀ W Ψ of the runs so far.
    unit_var : numpy.ndarray, shape (P,)
        Noise variance of one default run.
    tolerance : float, default 0.05
        Half-width of the index's interval (0.05: 5 points).
    z : float, default 1.96
        Normal quantile of the interval (95 %).
    design : numpy.ndarray, shape (m, T), optional
        As for :func:`cost_to_resolve`.

    Returns
    -------
    numpy.ndarray, shape (P,)
        0 where precise already; inf where the output does not vary.
    """
    coef = np.asarray(coef, dtype=float)
    d = alphas.shape[1]
    only = [(alphas[:, i] > 0) & (alphas.sum(axis=1) == alphas[:, i]) for i in range(d)]
    nonconst = alphas.sum(axis=1) > 0
    out = np.empty(coef.shape[1])
    for k in range(coef.shape[1]):
        c = coef[:, k]
        v = float(np.sum(c[nonconst] ** 2))
        if not v > 0:
            out[k] = np.inf
            continue
        # dS_i/dc_a = 2 c_a (1[a in only_i] - S_i) / V  for a non-constant term
        grads = np.stack([np.where(nonconst, 2 * c * (m.astype(float) - np.sum(c[m] ** 2) / v) / v, 0.0)
                          for m in only])
        a0 = np.asarray(precision[k], dtype=float)
        gain = _gain(unit_var[k], len(c), design)

        def excess(cost, a0=a0, gain=gain, grads=grads):
            inv = _spd_inverse(a0 + cost * gain)
            return np.inf if inv is None else z * float(np.sqrt(np.max(np.sum((grads @ inv.T) ** 2, axis=1)))) - tolerance

        out[k] = _bisect(excess, max(1.0, float(unit_var[k])))
    return out
