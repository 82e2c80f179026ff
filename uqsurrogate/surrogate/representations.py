"""Output representations: what the network's last layer predicts, and how that becomes bin densities.

Every representation is one :class:`Representation` record, registered by name; the rest of
the package looks it up and calls it, and never asks which one it has:

==================  =======================================================================
part                called by
==================  =======================================================================
``fit``             training (``training._prepare``) and warm starts: its settings for data
``build_head``      ``network.build_network``: the network's last layers
``record``          training's metadata: ``outputs.representation`` of ``metadata.json``
``recognises``      :func:`representation_of`: which representation a stored model has
``check_metadata``  ``artifact.check_metadata``
``map_settings``    ``description.describe``: the settings of its maps, for the model function
``tf_map``          ``compiled.compile_forward``: the last layer's outputs to bins, compiled
``numpy_map``       the same map in NumPy, float64 (tests, references by hand)
``layers``          ``artifact.load_artifact`` registers them; ``description.dense_layers`` skips
                    the ones that run the map (``map_layers``)
==================  =======================================================================

Built in:

``bins``
    One output per bin (species-major); the model function cuts the last layer to the
    outputs asked for.
``aligned``
    The knot values of each species' contact-aligned profile g(s) (:mod:`.aligned`),
    averaged exactly over each sample's bins by the ``AlignedBins`` layer.
``hybrid``
    One value per bin plus the aligned profile's knot values; the bins are their sum.

A new one is a :class:`Representation` passed to :func:`register_representation`; then
``TrainingConfig(representation=NAME)``, the artifact and :class:`~uqsurrogate.ModelFunction`
know it (``tests/test_representations.py`` registers a toy one).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from ..errors import ArtifactError, InputError, InputTypeError

__all__ = ["REGISTRY", "REPRESENTATIONS", "Representation", "get_representation", "register_representation",
           "representation_of", "unregister_representation"]


def _no_settings(names, lo, hi, n_bins, record=None):
    return None


def _no_check(record, names, n_bins, z_convention) -> None:
    return None


def _no_map_settings(record, names):
    return None


@dataclass(frozen=True)
class Representation:
    """Everything the package needs to know about one output representation.

    ``settings`` below are what :attr:`fit` returns (a JSON-able dict, or None when there
    are none); the maps get what :attr:`map_settings` returns.  Both maps give the bins in
    the units the network was trained in (before the output scale and the pinned zeros).

    Parameters
    ----------
    name : str
        ``TrainingConfig(representation=name)``.
    build_head : callable
        ``build_head(keras, features, inputs, n_outputs, settings, *, seed, output_activation,
        head) -> tensor (batch, n_outputs)``: the layers after the last hidden one
        (``features``); ``inputs`` are the network's min-max scaled inputs, ``n_outputs`` is
        n_species n_bins.  Its Dense layers' initialisers take ``seed + 997``.
    numpy_map : callable
        ``numpy_map(y, X, settings, n_bins) -> (n, n_outputs)`` float64: the last dense
        layer's outputs ``y`` (n, width) and the physical inputs ``X`` (n, n_inputs) to the
        bins (species-major).
    tf_map : callable
        ``tf_map(settings, n_bins, cols)`` for the columns ``cols`` asked for: None when the
        last layer's outputs are the bins themselves (the model function then cuts that
        layer to ``cols``), else ``to_bins(y, x) -> (..., cols.size)`` float32, with ``y``
        (n, width) or (K, n, width) (members) and ``x`` the physical inputs (n, n_inputs).
    check_metadata : callable, optional
        ``check_metadata(record, input_names, n_bins, z_convention)``: raises
        :class:`~uqsurrogate.errors.InputError` (or KeyError, TypeError: malformed) when a
        stored model's record does not fit.
    fit : callable, optional
        ``fit(input_names, lo, hi, n_bins, record=None) -> settings`` for training data
        with input ranges [lo, hi] (the network's min-max scaling); with ``record`` (a stored
        model's), the settings of that model under this scaling (warm starts).  Raises
        InputError when the data do not allow the representation.
    map_settings : callable, optional
        ``map_settings(record, input_names) -> settings`` of the maps for a stored model.
    record : callable, optional
        ``record(settings) -> dict or None``: ``outputs.representation`` of the metadata
        (None: the field is absent).  Default ``{"kind": name}``.
    recognises : callable, optional
        ``recognises(record) -> bool``: a stored ``outputs.representation`` (None when
        absent) is this one's.  Default: a mapping whose ``kind`` is ``name``.
    heads : tuple of str, default ("dense",)
        The ``TrainingConfig.head`` values it takes.
    linear : bool, default False
        The map is linear: an ensemble's mean is mapped once, not each member.
    per_bin : bool, default False
        The last layer gives one value per bin, so ``output_scale="max"`` applies.
    fixed_scaling : str, default ""
        Why a warm start cannot refit the input scaling (its layers hold it), or "".
    register_layers : callable, optional
        Registers the Keras layers of its head (called before a model is loaded).
    map_layers : tuple of str, default ()
        Class names of its Keras layers that run the map; the model function skips them
        (``tf_map`` runs it).
    head_width : callable, optional
        ``head_width(record, n_outputs) -> int``: the width of the network's last layer before
        its map (what the maps take), for a stored ``outputs.representation``; loading checks
        the network against it (None: not checked).
    """

    name: str
    build_head: Callable
    numpy_map: Callable
    tf_map: Callable
    check_metadata: Callable = _no_check
    fit: Callable = _no_settings
    map_settings: Callable = _no_map_settings
    record: Callable | None = None
    recognises: Callable | None = None
    heads: tuple[str, ...] = ("dense",)
    linear: bool = False
    per_bin: bool = False
    fixed_scaling: str = ""
    register_layers: Callable | None = None
    map_layers: tuple[str, ...] = ()
    head_width: Callable | None = None

    def metadata(self, settings: Any) -> dict | None:
        """``outputs.representation`` for ``settings`` (None: absent)."""
        return {"kind": self.name} if self.record is None else self.record(settings)

    def owns(self, record: Any) -> bool:
        """A stored ``outputs.representation`` is this representation's."""
        if self.recognises is not None:
            return bool(self.recognises(record))
        return isinstance(record, Mapping) and record.get("kind") == self.name


#: The registered representations, by name, in the order registered.
REGISTRY: dict[str, Representation] = {}
#: Their names: a live view of :data:`REGISTRY`.
REPRESENTATIONS = REGISTRY.keys()


def register_representation(rep: Representation) -> Representation:
    """Add a representation; its name must be new.  Returns ``rep``."""
    if not isinstance(rep, Representation):
        raise InputTypeError(f"rep: a Representation, not {type(rep).__name__}")
    if rep.name in REGISTRY:
        raise InputError(f"representation {rep.name!r} is registered already; unregister it first")
    REGISTRY[rep.name] = rep
    return rep


def unregister_representation(name: str) -> Representation:
    """Remove a representation; returns it."""
    return REGISTRY.pop(get_representation(name).name)


def get_representation(name: str) -> Representation:
    """The registered representation ``name``."""
    if name not in REGISTRY:
        raise InputError(f"representation = {name!r}; allowed: {', '.join(REGISTRY)}")
    return REGISTRY[name]


def representation_of(outputs: Mapping) -> Representation:
    """The representation of a stored model, from its metadata's ``outputs``.

    Raises
    ------
    ArtifactError
        No registered representation recognises ``outputs.representation``.
    TypeError
        It is not a mapping.
    """
    record = outputs.get("representation")
    for rep in REGISTRY.values():
        if rep.owns(record):
            return rep
    if not isinstance(record, Mapping):
        raise TypeError("outputs.representation is not a mapping")
    raise ArtifactError(f"outputs.representation.kind {record.get('kind')!r} is none of the registered "
                        f"representations' ({', '.join(REGISTRY)})")


# ---------------------------------------------------------------------------------------------- bins
def _bins_head(keras, features, inputs, n_outputs, settings, *, seed, output_activation, head):
    return keras.layers.Dense(n_outputs, activation=output_activation,
                              kernel_initializer=keras.initializers.GlorotNormal(seed=seed + 997),
                              name="densities")(features)


BINS = Representation(
    name="bins",
    build_head=_bins_head,
    numpy_map=lambda y, X, settings, n_bins: np.asarray(y, dtype=np.float64),
    tf_map=lambda settings, n_bins, cols: None,
    record=lambda settings: None,
    recognises=lambda record: record is None,
    linear=True,
    per_bin=True,
    head_width=lambda record, n_outputs: n_outputs,
)


# ---------------------------------------------------------------------------------- aligned, hybrid
def _aligned_fit(names: Sequence[str], lo: np.ndarray, hi: np.ndarray, n_bins: int, record: Mapping | None = None,
                 *, residual: bool) -> dict:
    """The aligned profile's knot grid and input columns for training ranges [lo, hi] (the AlignedBins layer's)."""
    from .aligned import AlignedGrid, require_aligned_inputs
    from .scaling import minmax_span

    cols = require_aligned_inputs(names)
    if n_bins % 2:
        raise InputError(f"the data have {n_bins} bins; representation = 'aligned' mirrors the slit about its "
                         "midplane and needs an even number")
    i_h, i_p, i_m = cols["h"], cols["d_plus"], cols["d_minus"]
    if not (lo[i_p] > 0 and lo[i_m] > 0 and lo[i_h] > 0):
        raise InputError("representation = 'aligned' needs h, d_plus and d_minus > 0 in every training sample")
    grid = AlignedGrid.covering(float(hi[i_h]), float(min(lo[i_p], lo[i_m])))
    span = minmax_span(lo, hi)
    settings = {"grid": grid.as_dict(), "columns": [i_h, i_p, i_m], "low": [float(lo[i]) for i in (i_h, i_p, i_m)],
                "span": [float(span[i]) for i in (i_h, i_p, i_m)]}
    if record is not None:  # a stored model: its own grid
        settings["grid"] = record["grid"]
    settings["residual"] = residual
    return settings


def _aligned_record(settings: dict, *, residual: bool) -> dict:
    return {"kind": "aligned", "grid": settings["grid"], "residual": residual}


def _aligned_recognises(record: Any, *, residual: bool) -> bool:
    return isinstance(record, Mapping) and record.get("kind") == "aligned" and \
        (record.get("residual", False) is True) == residual


def _aligned_check(record: Mapping, names: Sequence[str], n_bins: int, z_convention: str) -> None:
    from .aligned import AlignedGrid, require_aligned_inputs

    if not isinstance(record.get("residual", False), bool):
        raise ArtifactError(f"outputs.representation.residual {record.get('residual')!r} is not true or false")
    require_aligned_inputs(names)
    AlignedGrid.from_dict(record["grid"])
    if n_bins % 2 or z_convention != "uniform-slit":
        raise ArtifactError("the aligned representation needs an even n_bins on the uniform-slit z grid")


def _aligned_map_settings(record: Mapping, names: Sequence[str]) -> dict:
    from .aligned import require_aligned_inputs

    return {"grid": record["grid"], "columns": list(require_aligned_inputs(names).values()),
            "residual": bool(record.get("residual"))}


def _aligned_head(keras, features, inputs, n_outputs, settings, *, seed, output_activation, head, residual):
    """Knot values (a dense layer, or the coordinate network), then the AlignedBins layer."""
    from .aligned import AlignedGrid, aligned_layer_class, trunk_layer_class

    grid = AlignedGrid.from_dict(settings["grid"])
    if head == "coordinate":
        knots = trunk_layer_class()(grid.as_dict(), seed=seed + 997, name="profile_trunk")(features)
        if output_activation != "linear":
            knots = keras.layers.Activation(output_activation, name="profile_activation")(knots)
    else:
        knots = keras.layers.Dense(
            2 * grid.size + (n_outputs if residual else 0),
            activation=output_activation,
            kernel_initializer=keras.initializers.GlorotNormal(seed=seed + 997),
            name="profile_knots",
        )(features)
    return aligned_layer_class()(grid.as_dict(), n_outputs // 2, settings["columns"], settings["low"],
                                 settings["span"], residual=residual, name="aligned_bins")([knots, inputs])


def _aligned_numpy(y: np.ndarray, X: np.ndarray, settings: dict, n_bins: int, *, residual: bool) -> np.ndarray:
    """Knot values (and per-bin values first, with ``residual``) to bins, with :func:`.aligned.bin_averages`."""
    from .aligned import AlignedGrid, bin_averages

    grid = AlignedGrid.from_dict(settings["grid"])
    y, X = np.asarray(y, dtype=np.float64), np.asarray(X, dtype=np.float64)
    i_h, i_p, i_m = settings["columns"]
    P = 2 * n_bins if residual else 0
    M = grid.size
    g = y[:, P:]
    bins = np.concatenate([bin_averages(g[:, :M], X[:, i_h], X[:, i_p], n_bins, grid),
                           bin_averages(g[:, M:], X[:, i_h], X[:, i_m], n_bins, grid)], axis=1)
    return bins + y[:, :P] if residual else bins


def _aligned_tf(settings: dict, n_bins: int, cols: np.ndarray, *, residual: bool):
    """knot values (n, w) or (K, n, w) and physical inputs (n, d) -> the bins ``cols`` (float32).

    Only the edges of the bins asked for are evaluated (the map's cost is per edge).
    """
    import tensorflow as tf

    from .aligned import AlignedGrid, bins_from_knots

    grid = AlignedGrid.from_dict(settings["grid"])
    i_h, i_p, i_m = settings["columns"]
    bins = np.unique(cols % n_bins)
    # column of bins_from_knots's output (species-major over ``bins``) for each requested output
    take = tf.constant((cols // n_bins) * bins.size + np.searchsorted(bins, cols % n_bins), tf.int32)
    per_bin = 2 * n_bins if residual else 0
    direct = tf.constant(cols, tf.int32)

    def to_bins(g, raw):
        lead = tf.shape(g)[:-1]
        flat = tf.reshape(g, [-1, tf.shape(g)[-1]])
        reps = tf.shape(flat)[0] // tf.shape(raw)[0]  # K members share the inputs
        h, dp, dm = (tf.tile(raw[:, i], [reps]) for i in (i_h, i_p, i_m))
        y = tf.cast(bins_from_knots(flat[:, per_bin:], h, dp, dm, n_bins, grid, bins=bins), tf.float32)
        y = tf.gather(y, take, axis=1)
        if per_bin:  # the hybrid: per-bin values plus the aligned profile's bins
            y = y + tf.gather(flat[:, :per_bin], direct, axis=1)
        return tf.reshape(y, tf.concat([lead, [cols.size]], axis=0))

    return to_bins


def _aligned_width(record: Mapping, n_outputs: int, *, residual: bool) -> int:
    """Knot values of both species (and, with ``residual``, a value per bin first)."""
    from .aligned import AlignedGrid

    return 2 * AlignedGrid.from_dict(record["grid"]).size + (n_outputs if residual else 0)


def _register_aligned_layers():
    from .aligned import register_layers

    return register_layers()


def _aligned(name: str, residual: bool, heads: tuple[str, ...]) -> Representation:
    return Representation(
        name=name,
        build_head=partial(_aligned_head, residual=residual),
        numpy_map=partial(_aligned_numpy, residual=residual),
        tf_map=partial(_aligned_tf, residual=residual),
        check_metadata=_aligned_check,
        fit=partial(_aligned_fit, residual=residual),
        map_settings=_aligned_map_settings,
        record=partial(_aligned_record, residual=residual),
        recognises=partial(_aligned_recognises, residual=residual),
        heads=heads,
        linear=True,
        fixed_scaling="the aligned profile's layer holds the scaling of h, d_plus and d_minus",
        register_layers=_register_aligned_layers,
        map_layers=("AlignedBins",),
        head_width=partial(_aligned_width, residual=residual),
    )


register_representation(BINS)
register_representation(_aligned("aligned", residual=False, heads=("dense", "coordinate")))
register_representation(_aligned("hybrid", residual=True, heads=("dense",)))
