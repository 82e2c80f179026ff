"""The vectorised model function, observables, streaming, and legacy-model import."""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from uqsurrogate.evaluation import GroupedMoments, Moments, stream
from uqsurrogate.model_function import ModelFunction
from uqsurrogate.observables import charge_density, integrated_charge
from uqsurrogate.simulators import ElectrolyteSimulator, sobol_design
from uqsurrogate.surrogate import SurrogateTrainer, TrainingConfig, load_artifact
from uqsurrogate.surrogate.legacy import (
    UnsafePickleError,
    import_legacy_model,
    read_minmax_scaler,
)
from uqsurrogate.warnings import ExtrapolationWarning

LEGACY = Path(__file__).parent / "data" / "nanoconfinement-md" / "legacy-surrogate"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    ds = ElectrolyteSimulator(n_bins=24).run(sobol_design(32, seed=4), seed=4)
    cfg = TrainingConfig(loss="mse", epochs=5, hidden=(32, 32), dropout=0.0, learning_rate=3e-3, batch_size=8)
    path = SurrogateTrainer(cfg, progress=False).fit(ds).save(tmp_path_factory.mktemp("mf") / "model")
    return path, ds


@pytest.fixture(scope="module")
def f(model_dir):
    return ModelFunction.from_artifact(model_dir[0], batch_size=7, dtype=np.float64)


def inputs(ds, n=None):
    X = np.stack([ds[k].values for k in ("h", "c", "d_plus", "d_minus", "sigma")], axis=1)
    return X if n is None else X[:n]


def test_matches_keras(model_dir, f):
    path, ds = model_dir
    X = inputs(ds)
    got = ModelFunction.from_artifact(path, batch_size=7)(X)
    ref = load_artifact(path).predict(X)
    ref[:, np.asarray(f.zero_outputs).reshape(2, -1)] = 0.0  # the model function pins never-occupied bins to 0
    assert got.shape == (32, 2, 24) and got.dtype == np.float32
    assert f(X).dtype == np.float64
    np.testing.assert_allclose(got, ref, rtol=2e-5, atol=1e-6)  # float32 arithmetic, scaling folded in


def test_out_argument(f, model_dir):
    X = inputs(model_dir[1])
    expected = f(X)
    for dtype in (np.float32, np.float64):
        out = np.full(expected.shape, np.nan, dtype=dtype)
        assert f(X, out=out) is out
        np.testing.assert_allclose(out, expected, rtol=1e-6)
        small = np.full((3, *expected.shape[1:]), np.nan, dtype=dtype)  # one batch: the same path
        np.testing.assert_allclose(f(X[:3], out=small), expected[:3], rtol=1e-6)
    with pytest.raises(ValueError, match=r"expected a C-contiguous float array of shape \(32, 2, 24\)"):
        f(X, out=np.empty((32, 48)))
    with pytest.raises(ValueError, match="C-contiguous"):
        f(X, out=np.empty((2, 24, 32)).transpose(2, 0, 1))
    with pytest.raises(ValueError, match="out= is for density output"):
        f.restrict(output="charge_density")(X, out=np.empty((32, 24)))


def test_restricted_outputs_equal_slices(f, model_dir):
    X = inputs(model_dir[1])
    full = f(X)
    np.testing.assert_allclose(f.restrict(species="anion")(X), full[:, 1:2], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(f.restrict(bins=[3, 0, 20])(X), full[:, :, [3, 0, 20]], rtol=1e-6, atol=1e-7)
    # float32 arithmetic: a column subset may be summed in another order, ~1e-7 mol/L apart;
    # rho = F (n+ - n-) turns 1e-6 mol/L into 96 C/m^3, and S integrates that over nm
    float32_rho = 1e-6 * 96485.33e3
    rho = f.restrict(output="charge_density")
    np.testing.assert_allclose(rho.restrict(bins=[5, 6])(X), rho(X)[:, [5, 6]], rtol=1e-6, atol=float32_rho)
    s = f.restrict(output="integrated_charge")
    np.testing.assert_allclose(s.restrict(bins=[2, 11])(X), s(X)[:, [2, 11]], rtol=1e-6,
                               atol=float32_rho * 5e-9)
    assert f.restrict(bins=[1, 2]).output_shape == (2, 2)
    # the restricted function really computes fewer outputs
    assert f.restrict(output="charge_density", bins=[4])._columns().size == 2


def test_observables_equal_numpy(f, model_dir):
    X = inputs(model_dir[1])
    dens = f(X)
    faraday = 96485.33212
    rho = f.restrict(output="charge_density")(X)
    np.testing.assert_allclose(rho, faraday * 1e3 * (dens[:, 0] - dens[:, 1]), rtol=1e-9, atol=1e-6)
    S = f.restrict(output="integrated_charge")(X)
    for i in range(3):
        h, sigma = X[i, 0], X[i, 4]
        w = h * 1e-9 / 24
        for k in (0, 5, 23):
            expected = sigma + sum(faraday * 1e3 * (dens[i, 0, j] - dens[i, 1, j]) * w for j in range(k))
            expected += 0.5 * faraday * 1e3 * (dens[i, 0, k] - dens[i, 1, k]) * w
            assert S[i, k] == pytest.approx(expected, rel=1e-6, abs=1e-9)
    # functions on arrays agree with the model function's observables
    np.testing.assert_allclose(charge_density(dens), rho, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(integrated_charge(dens, X[:, 0], X[:, 4]), S, rtol=1e-9, atol=1e-12)


def test_integrated_charge_of_a_neutral_profile_returns_to_zero():
    # n+ - n- integrates to -2 sigma over the slit: S goes from sigma to -sigma (the right wall's charge)
    h, n_bins, sigma = 4.0, 400, -0.01
    z = -h / 2 + (np.arange(n_bins) + 0.5) * h / n_bins
    excess = -2 * sigma / (96485.33212e3 * h * 1e-9)  # mol/L of extra cations, uniform
    dens = np.stack([np.full(n_bins, 0.5 + excess), np.full(n_bins, 0.5)])[None]
    S = integrated_charge(dens, [h], [sigma])[0]
    # round-off of a 400-term cumulative sum of ~1e-4 C/m2 terms: ~1e-13 C/m2
    np.testing.assert_allclose(S, sigma + (z + h / 2) / h * (-2 * sigma), rtol=0, atol=1e-12)


def test_streaming_equals_in_memory(f, model_dir):
    rng = np.random.default_rng(0)
    lo, hi = f.train_min, f.train_max
    X = lo + rng.random((500, 5)) * (hi - lo)
    # The reduction is exact: against in-memory moments of the same chunks' outputs.
    full = np.concatenate([f(X[a : a + 64]) for a in range(0, 500, 64)])
    m, g = stream(f, X, [Moments(), GroupedMoments(lambda i: i % 7, 7)], chunk_size=64)
    np.testing.assert_allclose(m.mean, full.mean(axis=0), rtol=1e-10)
    np.testing.assert_allclose(m.variance, full.var(axis=0), rtol=1e-8, atol=1e-14)
    # TensorFlow's CPU matmul picks its blocking by batch shape, so one batch of 500 and
    # chunks of 64 differ in the float32 rounding of some rows (TF 2.21: up to a few ulps):
    # float64 outputs agree to float32 precision.
    np.testing.assert_allclose(f(X), full, rtol=1e-6, atol=1e-9)
    for group in range(7):
        rows = full[np.arange(500) % 7 == group]
        np.testing.assert_allclose(g.mean[group], rows.mean(axis=0), rtol=1e-10)
        np.testing.assert_allclose(g.variance[group], rows.var(axis=0), rtol=1e-6, atol=1e-12)
    # a generator of chunks gives the same as the array
    m2, = stream(f, lambda a, b: X[a:b], [Moments()], n=500, chunk_size=64)
    np.testing.assert_allclose(m2.mean, m.mean, rtol=1e-12)


def test_input_policy(f, model_dir):
    X = inputs(model_dir[1], 3).copy()
    X[1, 1] = f.train_max[1] * 1.5
    with pytest.raises(ValueError, match=r"c = .* mol/L \(row 1\) is outside the training range \["):
        f(X)
    with pytest.warns(ExtrapolationWarning, match="outside the training range"):
        ModelFunction.from_artifact(model_dir[0], extrapolation="warn", dtype=np.float64)(X)
    clipped = ModelFunction.from_artifact(model_dir[0], extrapolation="clip", dtype=np.float64)(X)
    X2 = X.copy()
    X2[1, 1] = f.train_max[1]
    np.testing.assert_allclose(clipped, f(X2))
    with pytest.raises(ValueError, match=r"X has shape \(3, 4\); expected \(n, 5\)"):
        f(X[:, :4])
    with pytest.raises(ValueError, match=r"first: d_plus = nan in row 0"):
        f(np.where(np.arange(5) == 2, np.nan, X2[0])[None])
    with pytest.raises(TypeError, match="X has dtype <U"):
        f(np.array([["a"] * 5]))
    with pytest.raises(ValueError, match="extrapolation = 'ignore'"):
        ModelFunction.from_artifact(model_dir[0], extrapolation="ignore")
    with pytest.raises(ValueError, match="species does not apply"):
        f.restrict(output="charge_density", species="cation")
    with pytest.raises(ValueError, match=r"bins = \[99\]"):
        f.restrict(bins=[99])


def test_restrict_by_z(f):
    z = f.z_grid(h=4.5)
    g = f.restrict(z=[z[3] + 1e-4, z[10]], h=4.5)
    np.testing.assert_array_equal(g.bin_index, [3, 10])


# ---------------------------------------------------------------- legacy model and pickles


def test_scaler_pickle_numbers():
    s = read_minmax_scaler(LEGACY / "scaler.pkl")
    np.testing.assert_array_equal(s["data_min"], [3, 1, -1, 0.3, 0.5])
    np.testing.assert_array_equal(s["data_max"], [4, 3, -1, 0.9, 0.75])
    np.testing.assert_array_equal(s["feature_range"], [0, 1])


def test_converted_legacy_model_matches_the_legacy_loader(tmp_path):
    tf_keras = pytest.importorskip("tf_keras")  # the Keras 2 loader, in the test extra
    out = import_legacy_model(LEGACY / "my_model.h5", LEGACY / "scaler.pkl", tmp_path / "legacy",
                              input_names=["h", "valency_cation", "valency_anion", "c", "d"],
                              input_units=["nm", "1", "1", "mol/L", "nm"],
                              z_affine={"start": {"h": -0.5}, "width": {"d": 0.02}})
    f = ModelFunction.from_artifact(out)
    rng = np.random.default_rng(1)
    lo, hi = np.array([3, 1, -1, 0.3, 0.5]), np.array([4, 3, -1, 0.9, 0.75])
    X = lo + rng.random((200, 5)) * (hi - lo)
    X[:, 1] = rng.integers(1, 4, 200)
    legacy = tf_keras.models.load_model(LEGACY / "my_model.h5", compile=False)
    by_hand = (X - lo) / np.where(hi > lo, hi - lo, 1.0)  # MinMaxScaler.transform, written out
    expected = legacy.predict(by_hand.astype("float32"), verbose=0)
    np.testing.assert_allclose(f(X)[:, 0, :], expected, rtol=1e-6, atol=1e-6)
    z = load_artifact(out).z(X[:2])
    np.testing.assert_allclose(z[:, 0], -X[:2, 0] / 2 + 0.5 * 0.02 * X[:2, 4])


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def _scaler_like_with(payload):
    """A pickle shaped like the scaler whose state smuggles in ``payload``."""
    buf = io.BytesIO()

    class MinMaxScaler:  # noqa: N801 - mimics the class name
        def __reduce__(self):
            return (_Evil, (), {"scale_": payload})

    MinMaxScaler.__module__ = "sklearn.preprocessing.data"
    pickle.dump(MinMaxScaler(), buf, protocol=2)
    return buf.getvalue()


@pytest.mark.parametrize("make", [
    lambda: pickle.dumps(_Evil(), protocol=2),
    lambda: pickle.dumps(_Evil(), protocol=5),
    lambda: b"cbuiltins\neval\n(S'__import__(\"os\").system(\"touch PWNED\")'\ntR.",
    lambda: b"csklearn.preprocessing.data\nMinMaxScaler\n)\x81}(X\x06\x00\x00\x00scale_cos\nsystem\n(S'touch PWNED'\ntRub.",
    lambda: _scaler_like_with(_Evil()),
])
def test_malicious_pickle_is_refused_and_runs_nothing(tmp_path, monkeypatch, make):
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "scaler.pkl"
    bad.write_bytes(make())
    with pytest.raises(UnsafePickleError, match="refusing to load global|not a readable|not a MinMaxScaler"):
        read_minmax_scaler(bad)
    assert not (tmp_path / "PWNED").exists()


def test_import_model_cli(tmp_path, capsys):
    from uqsurrogate.cli import main

    out = tmp_path / "legacy"
    assert main(["import-model", "--keras2", str(LEGACY / "my_model.h5"), "--scaler", str(LEGACY / "scaler.pkl"),
                 "--out", str(out)]) == 0
    assert "density (1, 149)" in capsys.readouterr().out
    meta = load_artifact(out).metadata
    assert meta["outputs"]["z_convention"] == "affine" and meta["inputs"][3]["units"] == "mol/L"
    assert main(["import-model", "--keras2", str(LEGACY / "my_model.h5"), "--scaler", str(LEGACY / "scaler.pkl"),
                 "--out", str(tmp_path / "x"), "--z-width", "q=1"]) == 2
    assert "not among --inputs" in capsys.readouterr().err


def test_touch_zeroes_large_arrays_across_threads():
    from uqsurrogate._memory import touch as _touch

    a = np.full((5000, 4100), 7.0, dtype=np.float32)  # 82 MB: above the threaded size
    _touch(a)
    assert not a.any()
    b = np.full((3, 5), 7.0)
    _touch(b)
    assert not b.any()


def test_model_function_class_stays_small():
    """ModelFunction keeps its settings, the protocol and the calls; the rest lives in its helpers' homes
    (surrogate.compiled, surrogate.calibration_map, observables.from_densities, the selection of restrict).  It may
    not grow back past 250 lines (decorators and docstrings included), checked with ast."""
    import ast

    import uqsurrogate.model_function as module

    tree = ast.parse(Path(module.__file__).read_text())
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "ModelFunction"]
    lines = cls.end_lineno - min([cls.lineno, *(d.lineno for d in cls.decorator_list)]) + 1
    assert lines <= 250, f"ModelFunction has {lines} lines"


def test_surrogate_level_code_imports_nothing_above_it():
    """model_function.py and surrogate/ import nothing of uncertainty/ (a stored calibration is applied by
    surrogate.calibration_map); sensitivity/ nothing of data/ (results are written by results.save_results)."""
    import ast

    import uqsurrogate

    root = Path(uqsurrogate.__file__).parent
    rules = {"uncertainty": [root / "model_function.py", *sorted((root / "surrogate").glob("*.py"))],
             "data": sorted((root / "sensitivity").glob("*.py"))}
    found = []
    for above, paths in rules.items():
        for path in paths:
            package = path.parent.relative_to(root.parent).parts
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and node.module is not None:
                    base = package[:len(package) - node.level + 1] if node.level else ()
                    target = ".".join([*base, node.module]) if node.level else node.module
                    if target.split(".")[:2] == ["uqsurrogate", above]:
                        found.append(f"{path.name}: {target}")
    assert not found, found
    from uqsurrogate.surrogate.calibration_map import Calibration
    from uqsurrogate.uncertainty.calibration import Calibration as Same

    assert Same is Calibration
