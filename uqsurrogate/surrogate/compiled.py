"""The model function's compiled evaluation: dense layers as one TensorFlow function, run in batches.

:func:`compile_forward` turns a description's layers (:mod:`.description`) into one
``tf.function``: the last layer cut to the outputs asked for, bins no ion reaches pinned to
0 inside it, an ensemble's members as batched matmuls, the representation's map from the last
layer's outputs to bins (:mod:`.representations`: none for ``bins``, the exact bin averages
of the contact-aligned profile for ``aligned``), and the output scale.
:func:`run_batches` runs it over many rows into one preallocated array.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._memory import touch
from .description import Layer
from .representations import Representation, get_representation

__all__ = ["compile_forward", "output_columns", "run_batches"]


def output_columns(output: str, species_index: np.ndarray, bin_index: np.ndarray, n_bins: int) -> np.ndarray:
    """Columns of the last layer (species-major) needed for ``output`` at the selected species and bins.

    ``integrated_charge`` at bin k needs every bin up to k.
    """
    bins = np.arange(int(bin_index.max()) + 1) if output == "integrated_charge" else bin_index
    return (species_index[:, None] * n_bins + bins[None, :]).ravel()


def _cut(layers: list[Layer], cols: np.ndarray, output_scale: np.ndarray, zero_outputs: np.ndarray,
         mapped: bool) -> tuple[list[Layer], Any]:
    """The layers with the last one cut to ``cols``, and the scale left to apply after it (or None).

    ``mapped``: the last layer's outputs are not the bins but go through the representation's
    map, which needs every one of them; that layer stays whole.
    """
    import tensorflow as tf

    last = layers[-1]
    scale = output_scale[cols] * (~zero_outputs[cols])  # never-occupied bins pinned to 0
    if mapped:
        return layers, None if np.all(scale == 1.0) else tf.constant(scale, tf.float32)
    weight, bias = last.weight[:, cols].copy(), last.bias[cols].copy()
    if np.all((scale == 0) | (scale == 1)) and last.activation in ("relu", "sigmoid", "softplus"):
        # pin inside the last layer, f(0 @ h - big) = 0 exactly, instead of a pass over the output
        weight[:, scale == 0], bias[scale == 0] = 0.0, np.finfo(np.float32).min
        scale = np.ones_like(scale)
    layers[-1] = Layer(weight, bias, last.activation)
    return layers, None if np.all(scale == 1.0) else tf.constant(scale, tf.float32)


def compile_forward(stacks_in: list[list[Layer]], cols: np.ndarray, output_scale: np.ndarray, zero_outputs: np.ndarray,
                    scale_by_input: int | None, representation: str | Representation, settings: dict | None,
                    n_bins: int, *, keep_members: bool):
    """The network's dense layers as one compiled TensorFlow function of float32 inputs.

    Parameters
    ----------
    stacks_in : list of list of Layer
        One network's layers (input scaling folded in), or each ensemble member's.
    cols : numpy.ndarray of int
        The last layer's outputs to compute (species-major columns).
    output_scale, zero_outputs : numpy.ndarray, shape (n_species n_bins,)
        The outputs' scale, and where they are pinned to 0.
    scale_by_input : int or None
        Column of X that multiplies every output (a model trained on n/c), or None.
    representation : str or Representation
        The output representation (:mod:`.representations`), whose ``tf_map`` takes the last
        layer's outputs to the bins.
    settings : dict or None
        Its maps' settings (for ``aligned``: ``grid``, ``columns``, ``residual``).
    n_bins : int
    keep_members : bool
        For an ensemble: return every member (a member axis after the samples), not the mean.

    Returns
    -------
    callable
        ``forward(x (n, n_inputs) float32) -> (n, cols.size)`` or ``(n, K, cols.size)``.
    """
    from .._keras import import_keras

    import_keras()
    import tensorflow as tf

    rep = get_representation(representation) if isinstance(representation, str) else representation
    to_bins = rep.tf_map(settings, n_bins, cols)  # None: the last layer's outputs are the bins
    stacks = [_cut(list(layers), cols, output_scale, zero_outputs, to_bins is not None) for layers in stacks_in]
    post = stacks[0][1]
    by = scale_by_input
    acts = {"linear": tf.identity, "relu": tf.nn.relu, "sigmoid": tf.sigmoid, "softplus": tf.nn.softplus,
            "tanh": tf.tanh, "silu": tf.nn.silu, "gelu": tf.nn.gelu}
    mean_first = rep.linear and len(stacks) > 1 and not keep_members
    n_in = stacks_in[0][0].weight.shape[0]
    if len(stacks) == 1:
        consts = [(tf.constant(L.weight, tf.float32), tf.constant(L.bias, tf.float32), L.activation)
                  for L in stacks[0][0]]
    else:  # member k's layer l: weights stacked along a leading member axis, run as batched matmuls
        consts = [(tf.constant(np.stack([st[0][i].weight for st in stacks]), tf.float32),
                   tf.constant(np.stack([st[0][i].bias for st in stacks])[:, None, :], tf.float32),
                   stacks[0][0][i].activation) for i in range(len(stacks[0][0]))]
    members = len(stacks) > 1

    @tf.function(input_signature=[tf.TensorSpec([None, n_in], tf.float32)], reduce_retracing=True)
    def forward(x):
        factor = None if by is None else x[:, by : by + 1]  # physical inputs: scaling is in layer 1
        # An XLA-fused last bias and softplus was ~5 % faster but was left out.  Note that
        # TensorFlow's CPU matmul chooses its blocking by batch shape: a row's float32 bits can
        # differ in the last places between batch compositions (the same batches give the same bits).
        raw = x
        if members:
            x = x[None]  # (1, n, d) against weights (K, d, h): batched over the members
        for w, b, act in consts:
            x = acts[act](tf.matmul(x, w) + b)
        if to_bins is not None:
            if mean_first:  # a linear map: the mean's bins are the bins' mean
                x = tf.reduce_mean(x, axis=0, keepdims=True)
            x = to_bins(x, raw)
        x = x if post is None else x * post
        x = x if factor is None else x * factor
        if members:
            x = tf.transpose(x, [1, 0, 2]) if keep_members else tf.reduce_mean(x, axis=0)
        return x

    return forward


def run_batches(fn, xf: np.ndarray, shape: tuple[int, ...], batch_size: int, out: np.ndarray | None = None) -> np.ndarray:
    """``fn`` over the rows of ``xf`` in batches of ``batch_size``, into one array of ``shape``.

    Parameters
    ----------
    fn : callable
        From :func:`compile_forward`.
    xf : numpy.ndarray, shape (n, n_inputs), float32
    shape : tuple of int
        Of the result: (n, ...) as ``fn`` gives it.
    batch_size : int
    out : numpy.ndarray, optional
        Written into and returned (C-contiguous, of ``shape``).

    Returns
    -------
    numpy.ndarray, float32 (or ``out``'s dtype)
    """
    n = xf.shape[0]
    if out is None and n <= batch_size:
        return fn(xf).numpy()
    if out is None:
        raw = np.empty(shape, dtype=np.float32)
        # touch the pages first, in parallel: faulting them in batch by batch, interleaved with
        # TensorFlow's work, cost ~4x as much (1.0 s against 0.26 s per GB, measured)
        touch(raw)
    else:
        raw = out
    for start in range(0, n, int(batch_size)):
        # EagerTensor.numpy() copies; its _numpy() is a view, copied once into raw here
        y = fn(xf[start : start + batch_size])
        raw[start : start + batch_size] = y._numpy() if hasattr(y, "_numpy") else y.numpy()
    return raw
