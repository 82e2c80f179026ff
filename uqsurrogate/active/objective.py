"""The acquisition objective: an ensemble's calibrated uncertainty weighted by an input density.

For the inputs x of a surrogate ensemble (a :class:`~uqsurrogate.model_function.ModelFunction`
of K members, restricted to the outputs of interest),

    U(x) = mean over the outputs o of  c_o(s_o(x))^2,

where s_o is the members' standard deviation (ddof = 1) of output o and c_o the ensemble's
stored calibration of its density spread (:mod:`uqsurrogate.uncertainty.fit`), applied as the
same piecewise-linear or scale map inside TensorFlow.  Without a calibration, c is the
identity (recorded as ``calibrated = False``).  The proposal engines ascend

    J(x) = log U(x) + log q(x) / kT,

the logarithm of U(x) p(x) with p ∝ q^(1/kT): the same maximisers as U p, with gradients that
do not span the orders of magnitude of U.  q is the design prior (None: uniform in the box),
a KDE of the training inputs (:func:`kde_prior`) or a study's own
:class:`~uqsurrogate.problem.Problem` (:func:`problem_prior`).  As kT grows, J tends to
log U alone.  Gradients with respect to the unit-box coordinates u come from TensorFlow's
autodiff through the compiled ensemble; a prior without a TensorFlow form is differentiated
by central differences (it is cheap: a sum of marginal log densities).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .._validation import check_float
from ..errors import InputError
from .space import InputBox

__all__ = ["Acquisition", "Prior", "kde_prior", "problem_prior"]

logger = logging.getLogger(__name__)

#: Floor of a log density (a point outside a prior's support is very unlikely, not impossible).
LOG_FLOOR = -700.0


@dataclass(frozen=True)
class Prior:
    """A log density q(x) of physical inputs, up to a constant.

    Attributes
    ----------
    name : str
        Recorded with every proposal (``"uniform"``, ``"kde"``, ``"problem"``).
    log_density : callable
        ``log_density(X (n, n_inputs)) -> (n,)``, NumPy.
    tf_log_density : callable, optional
        The same of a float64 ``tf.Tensor``, differentiable.
    """

    name: str
    log_density: Callable[[np.ndarray], np.ndarray]
    tf_log_density: Callable | None = None


def kde_prior(X_train, box: InputBox, bandwidth: float | None = None) -> Prior:
    """A Gaussian KDE of the training inputs, in the unit box (Scott's bandwidth by default).

    Parameters
    ----------
    X_train : array_like, shape (n, n_inputs)
        Physical inputs.
    box : InputBox
    bandwidth : float, optional
        In unit-box coordinates; default Scott's rule, n^(-1/(d+4)) times the mean standard
        deviation of the free unit coordinates.

    Returns
    -------
    Prior
    """
    U = box.to_unit(np.asarray(X_train, dtype=float))[:, box.free]
    n, d = U.shape
    if n < 2:
        raise InputError(f"a KDE needs at least 2 training inputs; got {n}")
    if bandwidth is None:
        bandwidth = float(np.mean(U.std(axis=0))) * n ** (-1.0 / (d + 4))
    bw = check_float(bandwidth, "bandwidth", 0, None, closed="neither")
    free = box.free

    def log_density(X):
        u = box.to_unit(np.asarray(X, dtype=float))[:, free]
        out = np.empty(len(u))
        for s in range(0, len(u), 256):  # (256, n) distances at a time
            d2 = ((u[s:s + 256, None, :] - U[None]) ** 2).sum(-1)
            a = -0.5 * d2 / bw**2
            m = a.max(axis=1)
            out[s:s + 256] = m + np.log(np.exp(a - m[:, None]).sum(axis=1))
        return np.maximum(out - np.log(n), LOG_FLOOR)

    def tf_log_density(x):
        import tensorflow as tf

        u = (x - box.low) / np.where(box.span > 0, box.span, 1.0)
        u = tf.boolean_mask(u, free, axis=1)
        d2 = tf.reduce_sum((u[:, None, :] - tf.constant(U)[None]) ** 2, axis=-1)
        return tf.maximum(tf.reduce_logsumexp(-0.5 * d2 / bw**2, axis=1) - np.log(n), LOG_FLOOR)

    return Prior("kde", log_density, tf_log_density)


def problem_prior(problem, names) -> Prior:
    """The density of a study's :class:`~uqsurrogate.problem.Problem` (its varied inputs' marginals).

    Its fixed inputs are held by the :class:`InputBox` (``fixed=problem.fixed``), not by q.

    Parameters
    ----------
    problem : Problem
        Over exactly the model's inputs, in the model's order (checked).
    names : sequence of str
        The model's inputs: the columns of the X the density is given.
    """
    problem.check_names(list(names))
    dists = {n: problem.dists[n].scipy() for n in problem.varied}
    names = list(names)

    def log_density(X):
        X = np.asarray(X, dtype=float)
        total = np.zeros(len(X))
        for n, dist in dists.items():
            total += np.maximum(dist.logpdf(X[:, names.index(n)]), LOG_FLOOR)
        return total

    return Prior("problem", log_density)


def smooth_isotonic(x, y) -> tuple[np.ndarray, np.ndarray]:
    """Knots of a strictly increasing, piecewise-linear version of an isotonic map (a staircase).

    An isotonic regression is constant on blocks of its thresholds: its gradient is zero
    almost everywhere, and an ascent on it stalls.  Each block of equal values becomes one
    knot at the block's middle; beyond the first and last knots the map is proportional,
    c(s) = (y_k / x_k) s, so that it keeps a gradient for spreads beyond the calibration data.

    Parameters
    ----------
    x, y : array_like, shape (m,)
        The isotonic map's thresholds and values (:class:`~uqsurrogate.surrogate.calibration_map.Calibration`).

    Returns
    -------
    xp, fp : numpy.ndarray, shape (k,), k >= 2
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    starts = np.flatnonzero(np.r_[True, np.diff(y) != 0])
    ends = np.r_[starts[1:] - 1, len(y) - 1]
    xp, fp = 0.5 * (x[starts] + x[ends]), y[starts]
    keep = np.r_[True, np.diff(xp) > 0]
    xp, fp = xp[keep], fp[keep]
    if len(xp) < 2:  # one block: a scale through its middle
        xp, fp = np.array([xp[0], 2 * xp[0]]), np.array([fp[0], 2 * fp[0]])
    return xp, fp


class Acquisition:
    """J(x) = log U(x) + log q(x) / kT of an ensemble (see the module docstring).

    Parameters
    ----------
    f : ModelFunction
        An ensemble with density output, restricted to the outputs of interest
        (``f.restrict(species=..., bins=...)``).
    box : InputBox, optional
        Where to search; default the ensemble's training ranges.
    prior : Prior, optional
        Default uniform in the box.
    kT : float, default 1
        Temperature of p ∝ q^(1/kT), > 0.
    """

    def __init__(self, f, box: InputBox | None = None, *, prior: Prior | None = None, kT: float = 1.0):
        if getattr(f, "n_members", 1) < 2:
            raise InputError("the acquisition needs an ensemble (U is the spread of its members)")
        if f.output != "density":
            raise InputError(f"the acquisition differentiates density outputs; this model function gives {f.output}")
        self.f = f.with_options(ensemble="members", extrapolation="clip")
        self.box = box or InputBox.of_model(f)
        if list(self.box.names) != list(f.input_names):
            raise InputError(f"the box's inputs {list(self.box.names)} are not the model's {f.input_names}")
        self.prior = prior
        self.kT = check_float(kT, "kT", 0, None, closed="neither")
        cal = (f.calibration or {}).get("density")
        self.calibration = None if cal is None else cal["calibration"]
        self._knots = None if self.calibration is None or self.calibration["kind"] != "isotonic" else \
            smooth_isotonic(self.calibration["x"], self.calibration["y"])
        self._grad = None

    @property
    def calibrated(self) -> bool:
        """True when U uses the ensemble's stored calibration of its density spread."""
        return self.calibration is not None

    def describe(self) -> dict:
        """Plain JSON values that identify the objective (recorded with proposals)."""
        return {"prior": "uniform" if self.prior is None else self.prior.name, "kT": self.kT,
                "calibrated": self.calibrated, "n_outputs": int(np.prod(self.f.output_shape[1:])),
                "box": self.box.to_dict()}

    # ------------------------------------------------------------------ NumPy values
    def _calibrate_np(self, std: np.ndarray) -> np.ndarray:
        if self._knots is None:
            return std if self.calibration is None else float(self.calibration["scale"]) * std
        xp, fp = self._knots
        inside = np.interp(std, xp, fp)
        return np.where(std < xp[0], fp[0] / xp[0] * std, np.where(std > xp[-1], fp[-1] / xp[-1] * std, inside))

    def members(self, X, batch: int = 16384) -> np.ndarray:
        """Every member's outputs at physical inputs X (n, n_inputs), as the gradient sees them (not clipped).

        Returns
        -------
        numpy.ndarray, shape (n, K, n_outputs), float64
        """
        fn = self.f._compiled()
        x = np.ascontiguousarray(np.atleast_2d(np.asarray(X, dtype=float)), dtype=np.float32)
        parts = [fn(x[s:s + batch]).numpy() for s in range(0, len(x), batch)]
        k = self.f.n_members
        return np.concatenate(parts).astype(np.float64) if parts else np.zeros((0, k, 0))

    def uncertainty(self, X) -> np.ndarray:
        """U at physical inputs X (n, n_inputs): the mean calibrated variance over the outputs, shape (n,)."""
        y = self.members(X)
        std = y.std(axis=1, ddof=1).reshape(len(y), -1)
        return np.mean(self._calibrate_np(std) ** 2, axis=1)

    def log_prior(self, X) -> np.ndarray:
        """log q(X) / kT, shape (n,); zero for the uniform prior."""
        if self.prior is None:
            return np.zeros(len(X))
        return np.asarray(self.prior.log_density(np.asarray(X, dtype=float)), dtype=float) / self.kT

    def objective(self, u) -> np.ndarray:
        """J at unit-box points u (n, n_inputs), shape (n,)."""
        X = self.box.to_physical(np.atleast_2d(u))
        return np.log(np.maximum(self.uncertainty(X), 1e-300)) + self.log_prior(X)

    # ------------------------------------------------------------------ gradients
    def _tf_calibrate(self, std):
        import tensorflow as tf

        if self._knots is None:
            return std if self.calibration is None else float(self.calibration["scale"]) * std
        xp_np, fp_np = self._knots
        xp, fp = tf.constant(xp_np), tf.constant(fp_np)
        flat = tf.reshape(std, [-1])
        i = tf.clip_by_value(tf.searchsorted(xp, flat, side="right") - 1, 0, len(xp_np) - 2)
        x0, x1, y0, y1 = (tf.gather(v, j) for v, j in ((xp, i), (xp, i + 1), (fp, i), (fp, i + 1)))
        inside = y0 + (flat - x0) / (x1 - x0) * (y1 - y0)
        out = tf.where(flat < xp_np[0], fp_np[0] / xp_np[0] * flat,
                       tf.where(flat > xp_np[-1], fp_np[-1] / xp_np[-1] * flat, inside))
        return tf.reshape(out, tf.shape(std))

    def _build_grad(self):
        import tensorflow as tf

        forward = self.f._compiled()  # float32 physical inputs -> (n, K, n_outputs)
        low, span = tf.constant(self.box.low), tf.constant(self.box.span)
        free = tf.constant(self.box.free.astype(np.float64))
        tf_prior = None if self.prior is None else self.prior.tf_log_density
        kT = self.kT

        @tf.function(input_signature=[tf.TensorSpec([None, self.box.d], tf.float64)], reduce_retracing=True,
                     autograph=False)
        def parts(u):
            with tf.GradientTape(persistent=True) as tape:
                tape.watch(u)
                x = low + u * span
                y = tf.cast(forward(tf.cast(x, tf.float32)), tf.float64)
                k = tf.cast(tf.shape(y)[1], tf.float64)
                var = tf.reduce_sum((y - tf.reduce_mean(y, axis=1, keepdims=True)) ** 2, axis=1) / (k - 1)
                std = tf.sqrt(var + 1e-30)
                log_u = tf.math.log(tf.reduce_mean(self._tf_calibrate(std) ** 2, axis=1) + 1e-300)
                log_p = tf.zeros_like(log_u) if tf_prior is None else tf_prior(x) / kT
            zero = tf.UnconnectedGradients.ZERO
            return (log_u, tape.gradient(log_u, u, unconnected_gradients=zero) * free, log_p,
                    tape.gradient(log_p, u, unconnected_gradients=zero) * free)

        return parts

    def parts(self, u) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """log U, its gradient, log q / kT and its gradient at unit-box points u (n, n_inputs).

        Gradients are with respect to u, zero along fixed inputs.

        Returns
        -------
        log_u, log_p : numpy.ndarray, shape (n,)
        grad_log_u, grad_log_p : numpy.ndarray, shape (n, n_inputs)
        """
        if self._grad is None:
            self._grad = self._build_grad()
        u = np.atleast_2d(np.asarray(u, dtype=np.float64))
        log_u, g_u, log_p, g_p = (t.numpy() for t in self._grad(u))
        if self.prior is not None and self.prior.tf_log_density is None:
            log_p = self.log_prior(self.box.to_physical(u))
            g_p = self._prior_gradient(u)
        return log_u, np.nan_to_num(g_u), log_p, np.nan_to_num(g_p)

    def _prior_gradient(self, u: np.ndarray, step: float = 1e-5) -> np.ndarray:
        """d(log q / kT)/du by differences taken inside the box (one-sided at a face), shape (n, n_inputs)."""
        g = np.zeros_like(u)
        for i in np.flatnonzero(self.box.free):
            hi, lo = u.copy(), u.copy()
            hi[:, i] = np.minimum(u[:, i] + step, 1.0)
            lo[:, i] = np.maximum(u[:, i] - step, 0.0)
            width = hi[:, i] - lo[:, i]
            g[:, i] = (self.log_prior(self.box.to_physical(hi)) - self.log_prior(self.box.to_physical(lo))) / width
        return g

    def value_and_grad(self, u) -> tuple[np.ndarray, np.ndarray]:
        """J and dJ/du at unit-box points u (n, n_inputs); zero gradient along fixed inputs.

        Returns
        -------
        value : numpy.ndarray, shape (n,)
        grad : numpy.ndarray, shape (n, n_inputs)
        """
        log_u, g_u, log_p, g_p = self.parts(u)
        return log_u + log_p, g_u + g_p

    def __getstate__(self):  # the compiled gradient does not travel to workers
        state = dict(self.__dict__)
        state["_grad"] = None
        return state
