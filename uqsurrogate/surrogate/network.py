"""The paper's regression network, in Keras 3 on TensorFlow.

Inputs (min-max scaled to [0, 1] on the training split) -> Dense(256, ReLU) -> Dropout(0.2)
-> Dense(512, ReLU) -> Dropout(0.2) -> Dense(P, softplus), with P = 2 x n_bins
(cation bins, then anion bins), Xavier-normal (Glorot) initialisation.

The output activation is softplus: densities cannot be negative, and unlike ReLU it
never stops passing gradient (a ReLU output unit pushed below zero for every input is
dead for good).  Its outputs are > 0; bins no ion reaches come out at ~1e-4 of the output
scale and can be clipped to 0 by the caller (the model function does, where the training
data were 0 in every sample).
"""

from __future__ import annotations

from .._validation import check_choice
from .._keras import import_keras
from ..errors import InputError
from .representations import get_representation

__all__ = ["ACTIVATIONS", "OUTPUT_ACTIVATIONS", "build_network"]

#: Hidden-layer activations (names Keras and the model function both know).
ACTIVATIONS = ("relu", "silu", "gelu", "tanh")
#: Output activations: softplus keeps densities > 0; linear lets knot values of the aligned profile be any sign.
OUTPUT_ACTIVATIONS = ("softplus", "linear")


def build_network(
    n_inputs: int,
    n_outputs: int,
    hidden: tuple[int, ...] = (256, 512),
    dropout: float = 0.2,
    seed: int = 0,
    activation: str = "relu",
    output_activation: str = "softplus",
    aligned: dict | None = None,
    head: str = "dense",
    representation: str = "bins",
    settings: dict | None = None,
):
    """Build the (uncompiled) regression network.

    Parameters
    ----------
    n_inputs : int
    n_outputs : int
        P, the number of densities predicted (2 x n_bins).
    hidden : tuple of int, default (256, 512)
        Units of the hidden layers.
    dropout : float, default 0.2
        Dropout rate after each hidden layer.
    seed : int, default 0
        Seeds the Glorot-normal initialisers and the dropout masks.
    activation : {"relu", "silu", "gelu", "tanh"}, default "relu"
        Of the hidden layers.
    output_activation : {"softplus", "linear"}, default "softplus"
    aligned : dict, optional
        The former keyword of ``settings`` for the aligned and hybrid representations
        (``residual`` true: hybrid); it sets ``representation`` and ``settings``.
    head : {"dense", "coordinate"}, default "dense"
        One of the representation's heads; ``coordinate`` (``aligned`` only): the knot
        values from a coordinate network (:class:`~.aligned.TrunkBasis`).
    representation : str, default "bins"
        A registered representation (:mod:`.representations`): it builds the layers after
        the last hidden one.
    settings : dict, optional
        The representation's settings (:attr:`.representations.Representation.fit`).  For
        ``aligned`` and ``hybrid``: ``grid`` (an :class:`~.aligned.AlignedGrid`'s dict),
        ``columns`` (positions of h, d_plus, d_minus among the inputs), ``low`` and ``span``
        (their min-max scaling).

    Returns
    -------
    keras.Model
        Maps (batch, n_inputs) to (batch, n_outputs).
    """
    keras = import_keras()
    if not 0 <= dropout < 1:
        raise InputError(f"dropout = {dropout!r}; allowed: [0, 1)")
    check_choice(activation, "activation", ACTIVATIONS)
    check_choice(output_activation, "output_activation", OUTPUT_ACTIVATIONS)
    inputs = keras.Input(shape=(n_inputs,), name="inputs")
    x = inputs
    for k, units in enumerate(hidden):
        x = keras.layers.Dense(
            units,
            activation=activation,
            kernel_initializer=keras.initializers.GlorotNormal(seed=seed + 101 * k),
            name=f"hidden_{k + 1}",
        )(x)
        if dropout:
            x = keras.layers.Dropout(dropout, seed=seed + 101 * k + 1, name=f"dropout_{k + 1}")(x)
    if aligned is not None:  # the former keyword of the aligned and hybrid settings
        representation, settings = ("hybrid" if aligned.get("residual") else "aligned"), aligned
    rep = get_representation(representation)
    if head not in rep.heads:
        raise InputError(f"the {rep.name} representation needs head = {' or '.join(map(repr, rep.heads))}")
    outputs = rep.build_head(keras, x, inputs, n_outputs, settings, seed=seed, output_activation=output_activation,
                             head=head)
    return keras.Model(inputs, outputs, name="surrogate")
