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
        The contact-aligned representation (:mod:`.aligned`): ``grid`` (an
        :class:`~.aligned.AlignedGrid`'s dict), ``columns`` (positions of h, d_plus,
        d_minus among the inputs), ``low`` and ``span`` (their min-max scaling).  The
        dense layers then predict the knot values of g(s) (2 M of them), and a last
        :class:`~.aligned.AlignedBins` layer averages them over each sample's bins.  With
        ``residual`` true (the hybrid representation) the last dense layer also gives one
        value per bin, added to those averages.
    head : {"dense", "coordinate"}, default "dense"
        With ``aligned``: the knot values from a dense layer, or from a coordinate network
        (:class:`~.aligned.TrunkBasis`: a kernel that is a smooth function of s).

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
    if aligned is None:
        outputs = keras.layers.Dense(
            n_outputs,
            activation=output_activation,
            kernel_initializer=keras.initializers.GlorotNormal(seed=seed + 997),
            name="densities",
        )(x)
    else:
        from .aligned import AlignedGrid, aligned_layer_class

        grid = AlignedGrid.from_dict(aligned["grid"])
        residual = bool(aligned.get("residual"))
        if residual and head != "dense":
            raise InputError("the hybrid representation (per-bin values plus the aligned profile) needs head = 'dense'")
        if head == "coordinate":
            from .aligned import trunk_layer_class

            knots = trunk_layer_class()(grid.as_dict(), seed=seed + 997, name="profile_trunk")(x)
            if output_activation != "linear":
                knots = keras.layers.Activation(output_activation, name="profile_activation")(knots)
        else:
            knots = keras.layers.Dense(
                2 * grid.size + (n_outputs if residual else 0),
                activation=output_activation,
                kernel_initializer=keras.initializers.GlorotNormal(seed=seed + 997),
                name="profile_knots",
            )(x)
        outputs = aligned_layer_class()(grid.as_dict(), n_outputs // 2, aligned["columns"], aligned["low"],
                                        aligned["span"], residual=residual, name="aligned_bins")([knots, inputs])
    return keras.Model(inputs, outputs, name="surrogate")
