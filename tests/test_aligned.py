"""The contact-aligned output representation: the exact bin map, its round trip, zeros, mirror symmetry,
and a network trained on it through the artifact, Keras alone and the model function."""

from __future__ import annotations

import json

import numpy as np
import pytest

from uqsurrogate.data import input_names
from uqsurrogate.errors import InputError
from uqsurrogate.model_function import ModelFunction
from uqsurrogate.simulators import ElectrolyteSimulator, random_design, sobol_design
from uqsurrogate.surrogate import SurrogateTrainer, TrainingConfig, load_artifact
from uqsurrogate.surrogate.aligned import (
    S_START,
    AlignedGrid,
    averaging_matrix,
    bin_averages,
    bins_from_knots,
    fit_profiles,
)

PAPER_BOX = {"h": (4.0, 5.0), "c": (0.1, 2.0), "d_plus": (0.2, 0.63), "d_minus": (0.2, 0.63),
             "sigma": (-0.02, -0.01)}


@pytest.fixture(scope="module")
def grid():
    return AlignedGrid.covering(5.0, 0.2)


@pytest.fixture(scope="module")
def exact_profiles():
    """Exact cDFT bin averages (502 bins) at 24 random inputs of the paper box, the densest corner included."""
    design = random_design(23, seed=5, bounds=PAPER_BOX)
    corner = {"h": 4.6, "c": 2.0, "d_plus": 0.63, "d_minus": 0.63, "sigma": -0.02}
    design = {k: np.append(v, corner[k]) for k, v in design.items()}
    return ElectrolyteSimulator(n_bins=502).run(design, seed=0)


def test_bin_map_equals_exact_integration_of_the_profile(grid):
    """A g = the average of the piecewise-linear profile over each bin, integrated independently in z.

    Between all breakpoints (knots mapped to z, the walls' mirror, bin edges) the profile is
    linear, so the trapezoid rule over their union is exact.
    """
    rng = np.random.default_rng(0)
    h, d = 4.3, 0.41
    g = rng.normal(size=grid.size)
    full = np.concatenate([[0.0], g])
    n_bins = 40  # wide bins: each spans many knots
    edges = np.linspace(-h / 2, h / 2, n_bins + 1)
    x_knots = (grid.knots + 0.5) * d
    z_knots = np.concatenate([-h / 2 + x_knots, h / 2 - x_knots])
    points = np.unique(np.concatenate([edges, z_knots[np.abs(z_knots) < h / 2], [0.0]]))

    def profile(z):
        s = (h / 2 - np.abs(z)) / d - 0.5
        return np.where(s <= grid.knots[0], 0.0, np.interp(s, grid.knots, full, right=full[-1]))

    expected = []
    for a, b in zip(edges[:-1], edges[1:]):
        zz = points[(points >= a) & (points <= b)]
        expected.append(np.trapezoid(profile(zz), zz) / (b - a))
    A = averaging_matrix(np.array([h]), np.array([d]), n_bins, grid)[0]
    np.testing.assert_allclose(A @ g, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(bin_averages(g[None], np.array([h]), np.array([d]), n_bins, grid)[0], expected,
                               rtol=0, atol=1e-12)


def test_three_implementations_of_the_map_agree(grid):
    """Keras ops (float64) = NumPy from g = NumPy matrix, at random systems and random knot values."""
    rng = np.random.default_rng(1)
    n = 9
    h, dp, dm = rng.uniform(4, 5, n), rng.uniform(0.2, 0.63, n), rng.uniform(0.2, 0.63, n)
    g = rng.normal(size=(n, 2 * grid.size))
    M = grid.size
    ref = np.concatenate([np.einsum("nbm,nm->nb", averaging_matrix(h, dp, 502, grid), g[:, :M]),
                          np.einsum("nbm,nm->nb", averaging_matrix(h, dm, 502, grid), g[:, M:])], axis=1)
    direct = np.concatenate([bin_averages(g[:, :M], h, dp, 502, grid), bin_averages(g[:, M:], h, dm, 502, grid)], 1)
    ops = np.asarray(bins_from_knots(g, h, dp, dm, 502, grid))
    np.testing.assert_allclose(direct, ref, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ops, ref, rtol=0, atol=1e-12)


def test_mirror_symmetry_and_exact_zeros(grid):
    rng = np.random.default_rng(2)
    n = 6
    h, d = rng.uniform(4, 5, n), rng.uniform(0.2, 0.63, n)
    y = bin_averages(np.abs(rng.normal(size=(n, grid.size))) + 1, h, d, 502, grid)
    np.testing.assert_array_equal(y, y[:, ::-1])  # n(z) = n(-z), bit for bit
    # bins wholly closer to the wall than s_start hold exactly 0; the first bin beyond it does not
    upper_x = np.arange(1, 252)[None, :] * h[:, None] / 502
    unreachable = upper_x / d[:, None] - 0.5 <= S_START
    assert unreachable.any()
    assert np.all(y[:, :251][unreachable] == 0.0)
    assert np.all(y[:, :251][~unreachable] > 0)


def test_round_trip_of_exact_densities_is_within_its_bound(exact_profiles, grid):
    """bins -> g (regularised least squares) -> bins loses ≤ 1e-4 M RMS, and ≤ 1e-3 M anywhere (the goal: 1e-3 M)."""
    ds = exact_profiles
    for k, d_name in enumerate(("d_plus", "d_minus")):
        y = ds["density_true"].values[:, k]
        g, back = fit_profiles(y, ds["h"].values, ds[d_name].values, grid)
        rms = np.sqrt(np.mean((back - y) ** 2))
        print(d_name, rms, np.abs(back - y).max())
        assert rms <= 1e-4, (d_name, rms)  # the bound, a tenth of the accuracy goal
        assert np.abs(back - y).max() <= 1e-3
        # and the data have the symmetry and the zeros the representation builds in
        np.testing.assert_allclose(y, y[:, ::-1], rtol=0, atol=1e-8)
        s_upper = np.arange(1, 252)[None, :] * ds["h"].values[:, None] / 502 / ds[d_name].values[:, None] - 0.5
        assert np.abs(y[:, :251][s_upper <= S_START]).max() < 1e-12


def test_a_coarser_grid_fails_the_bound(exact_profiles):
    """The bound can fail: knots coarser than the bins at the contact, or over the layers of the dense corner."""
    ds = exact_profiles
    y = ds["density_true"].values[:, 0]
    for steps, breaks in (((0.02,), ()), ((0.01, 0.04), (1.0,))):
        coarse = AlignedGrid.covering(5.0, 0.2, steps=steps, breaks=breaks)
        _, back = fit_profiles(y, ds["h"].values, ds["d_plus"].values, coarse)
        assert np.sqrt(np.mean((back - y) ** 2)) > 1e-4, steps


@pytest.fixture(scope="module")
def small_aligned():
    """64 simulator runs on 40 bins, trained briefly on the aligned representation."""
    ds = ElectrolyteSimulator(n_bins=40).run(sobol_design(64, seed=3), seed=3)
    cfg = TrainingConfig(loss="soft-label", epochs=6, hidden=(32, 32), dropout=0.0, learning_rate=3e-3, seed=1,
                         batch_size=8, output_scale="concentration", representation="aligned",
                         output_activation="linear", activation="silu")
    return ds, SurrogateTrainer(cfg, progress=False).fit(ds)


def test_aligned_network_through_artifact_keras_and_model_function(small_aligned, tmp_path):
    import keras

    ds, trainer = small_aligned
    path = trainer.save(tmp_path / "m")
    meta = json.loads((path / "metadata.json").read_text())
    assert meta["outputs"]["representation"]["kind"] == "aligned" and meta["format_version"] == 5
    sur = load_artifact(path)
    f = ModelFunction.from_artifact(path, dtype=np.float64)
    X = np.clip(np.stack([ds[k].values for k in input_names(ds)], axis=1), f.train_min, f.train_max)
    pred = sur.predict(X)
    np.testing.assert_allclose(f(X), pred, rtol=1e-5, atol=1e-6)
    alone = keras.saving.load_model(path / "model.keras").predict(X, verbose=0)
    np.testing.assert_allclose(alone, pred, rtol=1e-5, atol=1e-6)
    # an independent evaluation: the dense layers by hand (float64), then the NumPy bin map, times c
    x = sur.scale_inputs(X)
    for layer in [lyr for lyr in sur.model.layers if type(lyr).__name__ == "Dense"]:
        w, b = layer.get_weights()
        x = x @ w + b
        if layer.get_config()["activation"] == "silu":
            x = x / (1 + np.exp(-x))
    grid = AlignedGrid.from_dict(meta["outputs"]["representation"]["grid"])
    M = grid.size
    cols = {k: X[:, input_names(ds).index(k)] for k in ("h", "c", "d_plus", "d_minus")}
    bins = np.concatenate([bin_averages(x[:, :M], cols["h"], cols["d_plus"], 40, grid),
                           bin_averages(x[:, M:], cols["h"], cols["d_minus"], 40, grid)], axis=1)
    by_hand = (bins * cols["c"][:, None]).reshape(pred.shape)
    zero = np.asarray(meta["outputs"]["always_zero"], dtype=int)
    by_hand.reshape(len(X), -1)[:, zero] = 0.0
    np.testing.assert_allclose(pred, by_hand, rtol=1e-4, atol=1e-5)
    # restricted outputs and an ensemble-shaped call give the same numbers
    g = f.restrict(species="anion", bins=[0, 5, 19, 33])
    np.testing.assert_allclose(g(X), pred[:, 1:, [0, 5, 19, 33]], rtol=1e-5, atol=1e-6)


def test_aligned_profiles_are_mirror_symmetric_and_zero_at_the_walls(small_aligned):
    ds, trainer = small_aligned
    X = np.stack([ds[k].values for k in input_names(ds)], axis=1)
    pred = trainer.surrogate().predict(X)
    np.testing.assert_array_equal(pred, pred[..., ::-1])
    # bins wholly within s_start of the wall (0.35 d), per species, are exactly 0; the rest are not
    for k, d_name in enumerate(("d_plus", "d_minus")):
        s_upper = np.arange(1, 21)[None, :] * ds["h"].values[:, None] / 40 / ds[d_name].values[:, None] - 0.5
        unreachable = s_upper <= S_START
        assert unreachable.sum() > 10
        assert np.all(pred[:, k, :20][unreachable] == 0.0)
        assert np.all(pred[:, k, :20][~unreachable] != 0.0)


def test_models_without_h_and_diameters_cannot_ask_for_it(small_aligned):
    ds, _ = small_aligned
    cfg = TrainingConfig(epochs=1, hidden=(8,), representation="aligned", output_scale="concentration")
    with pytest.raises(InputError, match="needs the inputs h, d_plus, d_minus.*missing: d_minus"):
        SurrogateTrainer(cfg, progress=False).fit(ds.drop_vars("d_minus").assign_attrs(
            inputs="h c d_plus sigma"))
    with pytest.raises(InputError, match="output_scale = 'max'"):
        TrainingConfig(representation="aligned", output_scale="max")


def test_coordinate_head_equals_its_folded_dense_layer(tmp_path):
    """The coordinate network on the knot grid is one dense layer: Keras and the model function agree."""
    import keras

    ds = ElectrolyteSimulator(n_bins=40).run(sobol_design(32, seed=4), seed=4)
    cfg = TrainingConfig(loss="mse", epochs=3, hidden=(16, 16), dropout=0.0, learning_rate=3e-3, seed=2,
                         batch_size=8, output_scale="concentration", representation="aligned",
                         output_activation="softplus", activation="gelu", head="coordinate")
    trainer = SurrogateTrainer(cfg, progress=False).fit(ds)
    path = trainer.save(tmp_path / "m")
    f = ModelFunction.from_artifact(path, dtype=np.float64)
    X = np.clip(np.stack([ds[k].values for k in input_names(ds)], axis=1), f.train_min, f.train_max)
    pred = load_artifact(path).predict(X)
    assert np.all(pred >= 0)
    np.testing.assert_allclose(f(X), pred, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(keras.saving.load_model(path / "model.keras").predict(X, verbose=0), pred,
                               rtol=1e-5, atol=1e-6)
    # a fresh process: uqsurrogate's loader registers the layers itself; Keras alone after register_layers()
    import subprocess
    import sys

    np.save(tmp_path / "X.npy", X)
    code = ("import sys, numpy as np, keras\n"
            "from uqsurrogate.surrogate import load_artifact\n"
            "from uqsurrogate.surrogate.aligned import register_layers\n"
            "X = np.load(sys.argv[2])\n"
            "a = load_artifact(sys.argv[1]).predict(X)\n"
            "register_layers()\n"
            "b = keras.saving.load_model(sys.argv[1] + '/model.keras').predict(X, verbose=0)\n"
            "np.save(sys.argv[3], np.stack([a, b]))\n")
    subprocess.run([sys.executable, "-c", code, str(path), str(tmp_path / "X.npy"), str(tmp_path / "out.npy")],
                   check=True, capture_output=True)
    fresh = np.load(tmp_path / "out.npy")
    np.testing.assert_allclose(fresh[0], pred, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(fresh[1], pred, rtol=1e-5, atol=1e-6)
    with pytest.raises(InputError, match="needs representation = 'aligned'"):
        TrainingConfig(head="coordinate")


def test_aligned_ensemble_mean_and_members(small_aligned, tmp_path):
    """An ensemble of aligned members: the mean (mapped once, the map being linear) equals the members' mean."""
    from uqsurrogate.surrogate.ensemble import train_ensemble

    ds, trainer = small_aligned
    train_ensemble(trainer.config.__class__(**{**trainer.config.as_dict(), "hidden": (16,), "epochs": 2}), ds,
                   tmp_path / "ens", members=2, progress=False)
    f = ModelFunction.from_artifact(tmp_path / "ens", dtype=np.float64)
    X = np.clip(np.stack([ds[k].values for k in input_names(ds)], axis=1), f.train_min, f.train_max)
    members = f.with_options(ensemble="members")(X)
    assert members.shape == (len(X), 2, 2, 40)
    np.testing.assert_allclose(f(X), members.mean(axis=1), rtol=1e-5, atol=1e-6)
    for k in range(2):
        one = load_artifact(tmp_path / "ens" / f"member-{k:02d}").predict(X)
        np.testing.assert_allclose(members[:, k], one, rtol=1e-5, atol=1e-6)
    sub = f.restrict(species="cation", bins=[3, 20, 36])
    np.testing.assert_allclose(sub(X), members.mean(axis=1)[:, :1, [3, 20, 36]], rtol=1e-5, atol=1e-6)


def test_hybrid_adds_per_bin_values_to_the_aligned_bins(tmp_path):
    """representation = 'hybrid': artifact, Keras alone and the model function agree; the per-bin part is there."""
    import keras

    ds = ElectrolyteSimulator(n_bins=40).run(sobol_design(32, seed=6), seed=6)
    cfg = TrainingConfig(loss="mse", epochs=3, hidden=(16, 16), dropout=0.0, learning_rate=3e-3, seed=2,
                         batch_size=8, output_scale="concentration", representation="hybrid",
                         output_activation="linear", activation="silu")
    trainer = SurrogateTrainer(cfg, progress=False).fit(ds)
    path = trainer.save(tmp_path / "m")
    assert json.loads((path / "metadata.json").read_text())["outputs"]["representation"]["residual"] is True
    f = ModelFunction.from_artifact(path, dtype=np.float64)
    X = np.clip(np.stack([ds[k].values for k in input_names(ds)], axis=1), f.train_min, f.train_max)
    pred = load_artifact(path).predict(X)
    np.testing.assert_allclose(f(X), pred, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(keras.saving.load_model(path / "model.keras").predict(X, verbose=0), pred,
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(f.restrict(species="anion", bins=[1, 30])(X), pred[:, 1:, [1, 30]], rtol=1e-5,
                               atol=1e-6)
    # not mirror-symmetric by construction any more: the per-bin part is free
    assert not np.array_equal(pred, pred[..., ::-1])


def test_command_line_trains_the_aligned_preset(tmp_path, capsys):
    from uqsurrogate.cli import main
    from uqsurrogate.data import save_dataset

    ds = ElectrolyteSimulator(n_bins=20).run(sobol_design(16, seed=7), seed=7)
    save_dataset(ds, tmp_path / "d.nc")
    assert main(["train", str(tmp_path / "d.nc"), "--out", str(tmp_path / "m"), "--preset", "aligned", "--epochs",
                 "2", "--hidden", "8", "--quiet"]) == 0
    meta = json.loads((tmp_path / "m" / "metadata.json").read_text())
    assert meta["outputs"]["representation"]["kind"] == "aligned"
    assert meta["training"]["activation"] == "silu" and meta["training"]["representation"] == "aligned"
    # a per-bin-only option with it: one line, exit 2, nothing written
    capsys.readouterr()
    code = main(["train", str(tmp_path / "d.nc"), "--out", str(tmp_path / "m2"), "--preset", "aligned",
                 "--output-scale", "max", "--epochs", "1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "output_scale = 'max'" in err[0]
    assert not (tmp_path / "m2").exists()
