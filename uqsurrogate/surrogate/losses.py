"""Training losses that use the statistical errors of the labels.

Keras passes a loss ``(y_true, y_pred)``; the errors travel with the labels:
``y_true`` is ``concat([y, ε], axis=-1)`` of shape (batch, 2 P) and ``y_pred`` is
(batch, P).

* ``mse`` — BaseNN, the paper's Eq. 3: mean over outputs of (y - ŷ)².
* ``soft-label`` — ModNN, the paper's Eq. 5: (Y - ŷ)² with fresh soft labels
  Y ~ N(y, ε²) drawn inside every training step, so every epoch sees new labels; bins with
  ε = 0 keep their hard label.  (A deterministic "upper and lower label" variant,
  ((y + ε/2 - ŷ)² + (y - ε/2 - ŷ)²)/2 = (y - ŷ)² + ε²/4, is MSE plus a constant: it changes
  no gradient, so it is not offered.)
* ``chi2`` — inverse-variance weighting, (y - ŷ)² / (ε² + ε0²), normalised by the mean
  weight of the batch so its scale matches MSE; ε0, a floor, keeps ε = 0 bins (no ion
  reaches them: y = 0 exactly) from dominating.  It trusts precise bins more.

All three report, as a metric, the plain MSE against the hard labels, ``mse_hard``, on
which early stopping watches the validation split (for ``soft-label`` the loss itself is
noisy; its expectation is MSE plus the constant mean(ε²)).
"""

from __future__ import annotations

from ..errors import InputError

__all__ = ["LOSSES", "make_loss", "mse_hard"]

LOSSES = ("mse", "soft-label", "chi2")


def _split(y_true):
    from keras import ops

    p = ops.shape(y_true)[-1] // 2
    return y_true[..., :p], y_true[..., p:]


def mse_hard(y_true, y_pred):
    """MSE against the hard labels (the first half of ``y_true``), per sample."""
    from keras import ops

    y, _ = _split(y_true)
    return ops.mean(ops.square(y - y_pred), axis=-1)


def make_loss(name: str, seed: int = 0, error_floor: float = 0.0):
    """The loss function called ``name``.

    Parameters
    ----------
    name : {"mse", "soft-label", "chi2"}
    seed : int, default 0
        Seed of the soft labels' generator (``soft-label``).
    error_floor : float, default 0.0
        ε0 of ``chi2``, in the units of the (scaled) outputs; must be > 0 for ``chi2``.

    Returns
    -------
    callable
        ``loss(y_true, y_pred) -> (batch,)``.
    """
    import keras
    from keras import ops

    if name == "mse":
        def loss(y_true, y_pred):
            return mse_hard(y_true, y_pred)

    elif name == "soft-label":
        generator = keras.random.SeedGenerator(seed)

        def loss(y_true, y_pred):
            y, eps = _split(y_true)
            soft = y + eps * keras.random.normal(ops.shape(y), seed=generator)  # ε = 0: the hard label
            return ops.mean(ops.square(soft - y_pred), axis=-1)

        loss.seed_generator = generator  # tracked by the trainer for checkpoints

    elif name == "chi2":
        if not error_floor > 0:
            raise InputError(f"error_floor = {error_floor!r}; chi2 needs a floor > 0 for bins with zero error")
        floor2 = float(error_floor) ** 2

        def loss(y_true, y_pred):
            y, eps = _split(y_true)
            w = 1.0 / (ops.square(eps) + floor2)
            return ops.mean(w * ops.square(y - y_pred), axis=-1) / ops.mean(w)

    else:
        raise InputError(f"loss = {name!r}; allowed: {', '.join(LOSSES)}")
    loss.__name__ = name.replace("-", "_")
    return loss
