"""Proposal engines: where the ensemble is most uncertain, or baselines that ignore it.

Every engine returns unit-box points (n, n_inputs) inside the box, fixed inputs at their
value (:class:`~uqsurrogate.active.space.InputBox`).

* ``adversarial`` — projected gradient ascent on J = log U + log q / kT
  (:class:`~uqsurrogate.active.objective.Acquisition`) with Adam, from many starts at
  once: the differentiable adversarial attack on an uncertainty metric (Schwalbe-Koda,
  Tan & Gómez-Bombarelli, 2021), applied in the surrogate's input space.  Defaults in the
  paper's spirit: learning rate 1e-2 of the box, 300 steps.
* ``langevin`` — uncertainty-biased Langevin dynamics (after Zaverkin et al., 2024): steps
  of the prior's Langevin dynamics at temperature kT plus a bias along ∇ log U whose
  strength adapts so that the bias moves a chain by ``bias`` times the thermal step, and
  a chain stops once its calibrated U passes ``threshold``.
* ``random``, ``sobol`` — uniform or scrambled Sobol' points (the Sobol' sequence
  continues across rounds, ``skip`` points on).
* ``pool`` — a large uniform candidate pool, to be ranked by U (pool-based maximum
  variance with the ``top`` batch rule).
"""

from __future__ import annotations

import logging

import numpy as np

from .._validation import check_choice, check_float, check_int
from .space import InputBox

__all__ = ["ENGINES", "adversarial", "langevin", "pool", "propose", "random_points", "sobol_points"]

logger = logging.getLogger(__name__)

#: The proposal engines.
ENGINES = ("adversarial", "langevin", "random", "sobol", "pool")


def adversarial(acq, n_starts: int = 256, *, steps: int = 300, learning_rate: float = 1e-2,
                rng: np.random.Generator, starts: np.ndarray | None = None,
                betas: tuple[float, float] = (0.9, 0.999)) -> np.ndarray:
    """Projected Adam ascent on the acquisition objective from ``n_starts`` uniform starts.

    Parameters
    ----------
    acq : Acquisition
    n_starts : int, default 256
    steps : int, default 300
    learning_rate : float, default 1e-2
        Of the unit box per step.
    rng : numpy.random.Generator
        Draws the starts.
    starts : numpy.ndarray, shape (n_starts, n_inputs), optional
        Unit-box starts instead of uniform draws.
    betas : (float, float)
        Adam's moment decays.

    Returns
    -------
    numpy.ndarray, shape (n_starts, n_inputs)
        The final points, projected into the box.
    """
    steps = check_int(steps, "steps", min_value=0)
    lr = check_float(learning_rate, "learning_rate", 0, None, closed="neither")
    box = acq.box
    u = box.project(starts) if starts is not None else box.uniform(check_int(n_starts, "n_starts", min_value=1), rng)
    m, v = np.zeros_like(u), np.zeros_like(u)
    b1, b2 = betas
    for t in range(1, steps + 1):
        _, g = acq.value_and_grad(u)
        g = np.nan_to_num(g)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        u = box.project(u + lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + 1e-12))
    return u


def langevin(acq, n_chains: int = 64, *, steps: int = 300, step_size: float = 1e-4, bias: float = 3.0,
             threshold: float | None = None, rng: np.random.Generator) -> np.ndarray:
    """Uncertainty-biased Langevin chains in the unit box.

    Each step moves a chain by ``step_size ∇ log q / kT + τ ∇ log U + sqrt(2 step_size) ξ``
    (ξ standard normal over the free inputs), projected into the box.  The bias strength τ
    is set per chain and step so that the bias moves ``bias`` times the thermal step's
    length, sqrt(2 step_size d): the rescaled uncertainty gradient of uncertainty-biased MD,
    with no force scale to tune.  A chain stops when its U reaches ``threshold``.

    Parameters
    ----------
    acq : Acquisition
    n_chains : int, default 64
    steps : int, default 300
    step_size : float, default 1e-4
        In unit-box coordinates squared (the thermal step is about sqrt(2 step_size)).
    bias : float, default 3
        The bias step over the thermal step, >= 0.
    threshold : float, optional
        Stop a chain when U >= threshold (the output units squared); default never.
    rng : numpy.random.Generator

    Returns
    -------
    numpy.ndarray, shape (n_chains, n_inputs)
        Each chain's point of highest J (the one where it stopped, for a stopped chain).
    """
    steps = check_int(steps, "steps", min_value=1)
    eta = check_float(step_size, "step_size", 0, None, closed="neither")
    bias = check_float(bias, "bias", 0, None)
    box = acq.box
    free = box.free.astype(float)
    d = max(int(free.sum()), 1)
    u = box.uniform(check_int(n_chains, "n_chains", min_value=1), rng)
    best_u, best_j = u.copy(), np.full(len(u), -np.inf)
    running = np.ones(len(u), dtype=bool)
    thermal = np.sqrt(2 * eta * d)
    for _ in range(steps):
        log_u, g_u, log_p, g_p = acq.parts(u)
        j = log_u + log_p
        better = running & (j > best_j)
        best_u[better], best_j[better] = u[better], j[better]
        if threshold is not None:
            running &= np.exp(log_u) < threshold
        if not running.any():
            break
        norm = np.linalg.norm(g_u, axis=1, keepdims=True)
        tau = np.where(norm > 0, bias * thermal / np.maximum(norm, 1e-300), 0.0)
        step = eta * g_p + tau * g_u + np.sqrt(2 * eta) * rng.standard_normal(u.shape) * free
        u = np.where(running[:, None], box.project(u + step), u)
    j, _ = acq.value_and_grad(u)
    better = j > best_j
    best_u[better] = u[better]
    return best_u


def random_points(box: InputBox, n: int, *, rng: np.random.Generator) -> np.ndarray:
    """``n`` uniform unit-box points, shape (n, n_inputs)."""
    return box.uniform(n, rng)


def sobol_points(box: InputBox, n: int, *, seed: int, skip: int = 0) -> np.ndarray:
    """Points ``skip`` to ``skip + n`` of one scrambled Sobol' sequence over the free inputs.

    The rounds of a loop take consecutive stretches, so that their union is a Sobol'
    prefix.  Shape (n, n_inputs).
    """
    from scipy.stats import qmc

    from .._random import keyed_generator

    n = check_int(n, "n", min_value=1)
    skip = check_int(skip, "skip", min_value=0)
    free = box.free
    engine = qmc.Sobol(d=int(free.sum()), scramble=True, seed=keyed_generator([seed, 11]))
    m = max(int(np.ceil(np.log2(skip + n))), 0)  # whole powers of 2: the prefix, then the stretch
    u = np.zeros((n, box.d))
    u[:, free] = engine.random_base2(m)[skip:skip + n]
    return box.project(u)


def pool(box: InputBox, n: int = 8192, *, rng: np.random.Generator) -> np.ndarray:
    """A uniform candidate pool of ``n`` unit-box points, shape (n, n_inputs)."""
    return box.uniform(n, rng)


def propose(engine: str, acq, n: int, *, rng: np.random.Generator, seed: int = 0, skip: int = 0,
            **options) -> np.ndarray:
    """Run one engine; ``n`` is its number of starts, chains or points.

    Parameters
    ----------
    engine : {"adversarial", "langevin", "random", "sobol", "pool"}
    acq : Acquisition
        Its box is used by every engine; its objective only by the first two.
    n : int
    rng : numpy.random.Generator
    seed, skip : int
        For ``sobol``: the sequence's seed and how far the loop has taken it.
    **options
        The engine's own (``steps``, ``learning_rate``, ``step_size``, ``bias``, ``threshold``).

    Returns
    -------
    numpy.ndarray, shape (n, n_inputs)
        Unit-box points.
    """
    check_choice(engine, "engine", ENGINES)
    if engine == "adversarial":
        return adversarial(acq, n, rng=rng, **options)
    if engine == "langevin":
        return langevin(acq, n, rng=rng, **options)
    if options:
        from ..errors import InputError

        raise InputError(f"engine {engine!r} takes no options; got {sorted(options)}")
    if engine == "sobol":
        return sobol_points(acq.box, n, seed=seed, skip=skip)
    return (random_points if engine == "random" else pool)(acq.box, n, rng=rng)
