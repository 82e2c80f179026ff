"""A model or ensemble directory read into a plain description, for the model function to compile.

:func:`describe` reads and checks an artifact (:mod:`.artifact`) or an ensemble
(:mod:`.ensemble`), and returns plain data: the dense layers as NumPy arrays (the input
scaling folded into the first), the inputs and their training ranges, the output layout,
scale and z convention, the representation's settings and an ensemble's calibration.
:class:`~uqsurrogate.model_function.ModelFunction` takes these fields as they are; the
reading of Keras layers and metadata lives here, in ``surrogate/``, and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._validation import check_choice
from ..errors import InputError
from .representations import representation_of
from .scaling import fold_minmax

__all__ = ["ACTIVATIONS", "Layer", "dense_layers", "describe"]

#: Activations the compiled model function runs.
ACTIVATIONS = ("linear", "relu", "sigmoid", "softplus", "tanh", "silu", "gelu")


@dataclass(frozen=True)
class Layer:
    """One dense layer: y = activation(x @ weight + bias)."""

    weight: np.ndarray  # (n_in, n_out)
    bias: np.ndarray  # (n_out,)
    activation: str = "linear"

    def __post_init__(self) -> None:
        check_choice(self.activation, "activation", ACTIVATIONS)


def describe(source: Any) -> dict:
    """Read a model directory, an ensemble directory or a loaded Surrogate into plain fields.

    Parameters
    ----------
    source : path-like or Surrogate

    Returns
    -------
    dict
        The keyword arguments of :class:`~uqsurrogate.model_function.ModelFunction`:
        ``layers`` (list of :class:`Layer`), ``member_layers`` (an ensemble's, or None),
        ``input_names``, ``input_units``, ``train_min``/``train_max`` (n_inputs,) (the range
        every member was trained on), ``species``, ``n_bins``, ``output_scale`` and
        ``zero_outputs`` (n_species n_bins,), ``scale_by_input``, ``z_convention``,
        ``calibration``, ``representation`` (its name, :mod:`.representations`) and
        ``representation_settings`` (the settings of its maps).
    """
    from .artifact import Surrogate, load_artifact
    from .ensemble import is_ensemble, read_ensemble

    calibration = None
    if isinstance(source, Surrogate):
        surrogates = [source]
    elif is_ensemble(source):
        doc = read_ensemble(source)  # checks every member's metadata against its hash
        surrogates = [load_artifact(Path(source) / name) for name in doc["members"]]
        calibration = doc.get("calibration")
    else:
        surrogates = [load_artifact(source)]
    stacks = [dense_layers(sur) for sur in surrogates]
    metas = [sur.metadata for sur in surrogates]
    meta = metas[0]
    representations = [m["outputs"].get("representation") for m in metas]
    if any(r != representations[0] for r in representations):
        raise InputError("the ensemble's members use different output representations (or aligned grids); "
                         "they cannot be evaluated together")
    species = list(meta["outputs"]["species"])
    n_bins = int(meta["outputs"]["n_bins"])
    zero = np.ones(len(species) * n_bins, dtype=bool)
    for m in metas:  # pinned to 0 only where no member ever saw an ion
        mine = np.zeros_like(zero)
        mine[np.asarray(m["outputs"].get("always_zero", []), dtype=int)] = True
        zero &= mine
    names = [i["name"] for i in meta["inputs"]]
    rep = representation_of(meta["outputs"])
    by = meta["outputs"].get("scale_by_input")
    # the range every member was trained on
    train_min = np.max([[i["train_min"] for i in m["inputs"]] for m in metas], axis=0)
    train_max = np.min([[i["train_max"] for i in m["inputs"]] for m in metas], axis=0)
    return dict(
        layers=stacks[0],
        input_names=names,
        input_units=[i.get("units", "") for i in meta["inputs"]],
        train_min=train_min,
        train_max=train_max,
        species=species,
        n_bins=n_bins,
        output_scale=np.broadcast_to(np.asarray(meta["outputs"]["scale"], dtype=float), zero.shape).copy(),
        zero_outputs=zero,
        scale_by_input=None if by is None else names.index(by),
        z_convention={"z_convention": meta["outputs"]["z_convention"], "z": meta["outputs"].get("z"),
                      "affine": meta["outputs"].get("affine")},
        member_layers=stacks if len(stacks) > 1 else None,
        calibration=calibration,
        representation=rep.name,
        representation_settings=rep.map_settings(representations[0], names),
    )


def dense_layers(sur) -> list[Layer]:
    """A network's dense layers, the input scaling folded into the first.

    Parameters
    ----------
    sur : Surrogate
        A loaded artifact: its network (``sur.model``) and metadata.

    Returns
    -------
    list of Layer
        The first takes the inputs in their physical units.
    """

    layers = []
    # the representation's map (AlignedBins) runs in compiled.forward()
    skip = ("InputLayer", "Dropout", *representation_of(sur.metadata["outputs"]).map_layers)
    for layer in sur.model.layers:
        kind = type(layer).__name__
        if kind == "Dense":
            w, b = (np.asarray(v, dtype=np.float64) for v in layer.get_weights())
            act = layer.get_config()["activation"]
            layers.append(Layer(w, b, act if isinstance(act, str) else "linear"))
        elif hasattr(layer, "effective_kernel"):  # a layer that equals a dense one (the aligned coordinate network)
            layers.append(Layer(*layer.effective_kernel(), "linear"))
        elif kind == "Activation" and layers and layers[-1].activation == "linear":
            act = layer.get_config()["activation"]
            layers[-1] = Layer(layers[-1].weight, layers[-1].bias, act if isinstance(act, str) else "?")
        elif kind not in skip:
            raise InputError(f"layer {layer.name!r} of type {kind} is not supported; the model function "
                             "runs chains of Dense layers (Dropout is skipped at inference)")
    first = layers[0]
    scaling = sur.metadata["scaling"]
    layers[0] = Layer(*fold_minmax(first.weight, first.bias, scaling["min"], scaling["max"]), first.activation)
    return layers

