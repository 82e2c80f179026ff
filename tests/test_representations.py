"""The output representations' registry: every representation round-trips, and one added from outside works.

Round trip (each registered representation): its settings for a training box, the network's
head, its metadata record (recognised again after JSON, and checked), the description's last
layer, and the TensorFlow map (as ``compile_forward`` runs it, float32) against the NumPy map
in float64 of the same float32 numbers, to a bound from float32 rounding.  Then ``mirror``, a
toy representation defined here (each species' half-slit bins, mirrored by a Keras layer of its
own), registered by a fixture: trained for 2 epochs and evaluated through ``ModelFunction``
with nothing else of the package edited.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from uqsurrogate.errors import ArtifactError, InputError
from uqsurrogate.surrogate.representations import (
    REPRESENTATIONS,
    Representation,
    get_representation,
    register_representation,
    representation_of,
    unregister_representation,
)

NAMES = ["h", "c", "d_plus", "d_minus", "sigma"]
LO = np.array([3.0, 0.1, 0.2, 0.2, -0.02])
HI = np.array([5.0, 2.0, 0.63, 0.63, 0.0])
N_BINS = 20
EPS32 = float(np.finfo(np.float32).eps)


# ------------------------------------------------------------------------------------ the toy
def _mirror_index(n_bins: int) -> np.ndarray:
    """Column of the half-slit values (species-major, n_bins // 2 each) behind each bin."""
    b = np.arange(n_bins)
    half = np.minimum(b, n_bins - 1 - b)
    return np.concatenate([half, n_bins // 2 + half])


def _mirror_layer():
    from uqsurrogate._keras import import_keras

    keras = import_keras()
    registered = keras.saving.get_registered_object("test_representations>MirrorBins")
    if registered is not None:
        return registered

    @keras.saving.register_keras_serializable(package="test_representations", name="MirrorBins")
    class MirrorBins(keras.layers.Layer):
        """Half-slit values (batch, n_bins) to the whole slit's bins (batch, 2 n_bins)."""

        def __init__(self, n_bins: int, **kwargs):
            super().__init__(**kwargs)
            self.n_bins = int(n_bins)

        def call(self, half):
            return keras.ops.take(half, _mirror_index(self.n_bins), axis=1)

        def compute_output_shape(self, input_shape):
            return (input_shape[0], 2 * self.n_bins)

        def get_config(self):
            return {**super().get_config(), "n_bins": self.n_bins}

    return MirrorBins


def _even(names, lo, hi, n_bins, record=None):
    if n_bins % 2:
        raise InputError(f"representation = 'mirror' needs an even number of bins, not {n_bins}")


def _mirror_head(keras, features, inputs, n_outputs, settings, *, seed, output_activation, head):
    half = keras.layers.Dense(n_outputs // 2, activation=output_activation, name="half_bins",
                              kernel_initializer=keras.initializers.GlorotNormal(seed=seed + 997))(features)
    return _mirror_layer()(n_outputs // 2, name="mirror_bins")(half)


def _mirror_tf(settings, n_bins, cols):
    import tensorflow as tf

    take = tf.constant(_mirror_index(n_bins)[cols], tf.int32)
    return lambda y, x: tf.gather(y, take, axis=-1)


MIRROR = Representation(
    name="mirror",
    build_head=_mirror_head,
    numpy_map=lambda y, X, settings, n_bins: np.asarray(y, dtype=np.float64)[:, _mirror_index(n_bins)],
    tf_map=_mirror_tf,
    check_metadata=lambda record, names, n_bins, z_convention: _even(names, None, None, n_bins),
    fit=_even,
    linear=True,
    register_layers=_mirror_layer,
    map_layers=("MirrorBins",),
)


@pytest.fixture
def mirror():
    register_representation(MIRROR)
    yield MIRROR
    unregister_representation("mirror")


# ------------------------------------------------------------------------------- the round trip
def _round_trip(rep: Representation) -> None:
    import tensorflow as tf

    from uqsurrogate.surrogate.artifact import Surrogate
    from uqsurrogate.surrogate.compiled import compile_forward, output_columns
    from uqsurrogate.surrogate.description import Layer, dense_layers
    from uqsurrogate.surrogate.network import build_network

    rng = np.random.default_rng(7)
    # settings, head, record
    settings = rep.fit(NAMES, LO, HI, N_BINS)
    model = build_network(len(NAMES), 2 * N_BINS, hidden=(8,), dropout=0.0, seed=1, activation="silu",
                          output_activation="linear", head=rep.heads[0], representation=rep.name, settings=settings)
    xs = rng.uniform(size=(6, len(NAMES))).astype("float32")
    assert np.all(np.isfinite(np.asarray(model(xs)))) and tuple(model(xs).shape) == (6, 2 * N_BINS)
    record = json.loads(json.dumps(rep.metadata(settings)))  # as metadata.json holds it
    outputs = {} if record is None else {"representation": record}
    assert representation_of(outputs) is rep
    rep.check_metadata(record, NAMES, N_BINS, "uniform-slit")
    map_settings = rep.map_settings(record, NAMES)
    # the description's layers end in the map's input: random ones of that width
    meta = {"scaling": {"min": LO.tolist(), "max": HI.tolist()}, "outputs": outputs}
    width = dense_layers(Surrogate(model=model, metadata=meta))[-1].weight.shape[1]
    X32 = (LO + rng.uniform(size=(64, len(NAMES))) * (HI - LO)).astype(np.float32)
    W = rng.normal(size=(len(NAMES), width)).astype(np.float32)
    b = rng.normal(size=width).astype(np.float32)
    y32 = np.asarray(tf.matmul(X32, W) + b)  # the float32 last layer, as the model function computes it
    X64, y64 = X32.astype(np.float64), y32.astype(np.float64)
    ref = rep.numpy_map(y64, X64, map_settings, N_BINS)
    # every bin map here is a non-negative weighting (a bin average, a copy, a sum): float32 rounding of the
    # result is bounded by the map of |y|
    bound = 2 * EPS32 * rep.numpy_map(np.abs(y64), X64, map_settings, N_BINS) + 1e-30
    # and of the float32 layer itself, for the compiled function that computes it again
    magnitude = np.abs(X64) @ np.abs(W.astype(np.float64)) + np.abs(b.astype(np.float64))
    bound_layer = bound + 2 * (len(NAMES) + 1) * EPS32 * rep.numpy_map(magnitude, X64, map_settings, N_BINS)
    assert ref.shape == (64, 2 * N_BINS)
    for cols in (np.arange(2 * N_BINS), output_columns("density", np.array([1]), np.array([0, 5, 19]), N_BINS),
                 output_columns("density", np.array([0, 1]), np.array([3, 10]), N_BINS)):
        to_bins = rep.tf_map(map_settings, N_BINS, cols)
        one = y32[:, cols] if to_bins is None else np.asarray(to_bins(tf.constant(y32), tf.constant(X32)))
        np.testing.assert_array_less(np.abs(one - ref[:, cols]), bound[:, cols])
        if to_bins is not None:  # an ensemble's members: a leading member axis, the inputs shared
            two = np.asarray(to_bins(tf.constant(np.stack([y32, 2 * y32])), tf.constant(X32)))
            np.testing.assert_array_equal(two[0], one)
            np.testing.assert_array_less(np.abs(two[1] - 2 * ref[:, cols]), 2 * bound[:, cols])
        # and the model function's compiled function: one linear layer (W, b) of X, then the map
        forward = compile_forward([[Layer(W.astype(np.float64), b.astype(np.float64))]], cols,
                                  np.ones(2 * N_BINS), np.zeros(2 * N_BINS, bool), None, rep.name, map_settings,
                                  N_BINS, keep_members=False)
        np.testing.assert_array_less(np.abs(np.asarray(forward(X32)) - ref[:, cols]), bound_layer[:, cols])


@pytest.mark.parametrize("name", list(REPRESENTATIONS))
def test_every_registered_representation_round_trips(name):
    _round_trip(get_representation(name))


def test_the_toy_round_trips(mirror):
    _round_trip(mirror)


def test_metadata_of_the_built_in_representations_is_unchanged():
    """The records metadata.json held before the registry (format 5), and none for bins (formats 1-4 too)."""
    aligned, hybrid = (get_representation(n).fit(NAMES, LO, HI, N_BINS) for n in ("aligned", "hybrid"))
    assert get_representation("bins").metadata(None) is None
    assert get_representation("aligned").metadata(aligned) == {"kind": "aligned", "grid": aligned["grid"],
                                                                "residual": False}
    assert get_representation("hybrid").metadata(hybrid) == {"kind": "aligned", "grid": hybrid["grid"],
                                                              "residual": True}
    assert representation_of({"representation": {"kind": "aligned", "grid": aligned["grid"]}}).name == "aligned"
    with pytest.raises(ArtifactError, match="'mirror' is none of the registered representations' .bins, aligned"):
        representation_of({"representation": {"kind": "mirror"}})
    with pytest.raises(InputError, match="needs an even n_bins"):
        get_representation("aligned").check_metadata({"kind": "aligned", "grid": aligned["grid"]}, NAMES, 21,
                                                      "uniform-slit")


def test_the_registry_refuses_a_second_name_and_unknown_ones(mirror):
    from uqsurrogate.surrogate import TrainingConfig

    with pytest.raises(InputError, match="registered already"):
        register_representation(mirror)
    with pytest.raises(InputError, match="representation = 'nope'; allowed: bins, aligned, hybrid, mirror"):
        TrainingConfig(representation="nope")
    with pytest.raises(InputError, match="head = 'coordinate' is not one of representation 'mirror'.s heads; it "
                                         "needs representation = 'aligned'"):
        TrainingConfig(representation="mirror", head="coordinate")
    with pytest.raises(InputError, match="output_scale = 'max' scales each bin"):
        TrainingConfig(representation="mirror", output_scale="max")


def test_a_toy_representation_trains_and_runs_through_the_model_function(mirror, tmp_path):
    """Registered from here, nothing else edited: training, the artifact, Keras alone, ModelFunction, an ensemble."""
    import keras

    from uqsurrogate.constants import MOLAR_CHARGE
    from uqsurrogate.model_function import ModelFunction
    from uqsurrogate.observables import charge_density
    from uqsurrogate.simulators import ElectrolyteSimulator, sobol_design
    from uqsurrogate.surrogate import SurrogateTrainer, TrainingConfig, load_artifact
    from uqsurrogate.surrogate.ensemble import train_ensemble

    ds = ElectrolyteSimulator(n_bins=N_BINS).run(sobol_design(16, seed=2), seed=2)
    cfg = TrainingConfig(loss="mse", epochs=2, hidden=(16,), dropout=0.0, learning_rate=3e-3, batch_size=8, seed=4,
                         representation="mirror", output_scale="concentration")
    path = SurrogateTrainer(cfg, progress=False).fit(ds).save(tmp_path / "m")
    meta = json.loads((path / "metadata.json").read_text())
    assert meta["outputs"]["representation"] == {"kind": "mirror"} and meta["training"]["representation"] == "mirror"
    X = np.stack([ds[k].values for k in NAMES], axis=1)
    pred = load_artifact(path).predict(X)
    f = ModelFunction.from_artifact(path, dtype=np.float64, extrapolation="clip")
    assert f.representation == "mirror" and f.aligned is None
    tol = 4 * EPS32 * np.abs(pred).max()
    np.testing.assert_allclose(f(X), pred, rtol=0, atol=tol)
    np.testing.assert_allclose(keras.saving.load_model(path / "model.keras").predict(X, verbose=0), pred, rtol=0,
                               atol=tol)
    zero = np.zeros(2 * N_BINS, bool)
    zero[meta["outputs"]["always_zero"]] = True
    if np.array_equal(zero.reshape(2, -1), zero.reshape(2, -1)[:, ::-1]):  # pinned zeros keep the symmetry
        np.testing.assert_array_equal(f(X), f(X)[..., ::-1])
    np.testing.assert_allclose(f.restrict(species="anion", bins=[0, 7, 19])(X), pred[:, 1:, [0, 7, 19]], rtol=0,
                               atol=tol)
    rho = f.restrict(output="charge_density", bins=[2, 12])(X)
    np.testing.assert_allclose(rho, charge_density(pred[:, :, [2, 12]]), rtol=0, atol=2 * MOLAR_CHARGE * tol)
    # an ensemble of two: the mean mapped once (the map is linear) equals the members' mean
    train_ensemble(TrainingConfig(**{**cfg.as_dict(), "hidden": (8,)}), ds, tmp_path / "ens", members=2,
                   progress=False)
    g = ModelFunction.from_artifact(tmp_path / "ens", dtype=np.float64, extrapolation="clip")
    members = g.with_options(ensemble="members")(X)
    np.testing.assert_allclose(g(X), members.mean(axis=1), rtol=1e-6, atol=tol)
    for k in range(2):
        one = load_artifact(tmp_path / "ens" / f"member-{k:02d}").predict(X)
        np.testing.assert_allclose(members[:, k], one, rtol=0, atol=4 * EPS32 * np.abs(one).max())
    # unregistered, the artifact is refused with a clear message
    unregister_representation("mirror")
    try:
        with pytest.raises(ArtifactError, match="outputs.representation: .*'mirror' is none of the registered"):
            load_artifact(path)
    finally:
        register_representation(mirror)
