"""The simulator front end: noise model, designs, reproducibility, parallel and resumable runs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from uqsurrogate.cli import main
from uqsurrogate.data import check, load_dataset
from uqsurrogate.simulators import (
    PAPER_BOUNDS,
    ElectrolyteSimulator,
    NoiseModel,
    paper_grid,
    random_design,
    read_design,
    simulate,
    sobol_design,
)
from uqsurrogate.simulators import runner as simulate_module

SMALL = ElectrolyteSimulator(n_bins=100)


def test_paper_grid():
    grid = paper_grid()
    table = np.stack(list(grid.values()), axis=1)
    assert table.shape == (4050, 5)
    assert len(np.unique(table, axis=0)) == 4050
    assert sorted(np.unique(grid["h"])) == [4.0, 4.2, 4.4, 4.6, 4.8, 5.0]
    assert sorted(np.unique(grid["sigma"])) == [-0.02, -0.015, -0.01]
    assert np.unique(grid["c"]).size == 9 and np.unique(grid["d_minus"]).size == 5


@pytest.mark.parametrize("make", [sobol_design, random_design])
def test_box_designs(make):
    a, b = make(64, seed=5), make(64, seed=5)
    for name, (lo, hi) in PAPER_BOUNDS.items():
        np.testing.assert_array_equal(a[name], b[name])
        assert a[name].min() >= lo and a[name].max() <= hi
    assert not np.array_equal(make(64, seed=6)["c"], a["c"])
    with pytest.raises(ValueError, match="n = 0"):
        make(0, seed=1)


def test_sobol_is_balanced():
    # each of 4 equal slices of every input holds exactly a quarter of 2^6 Sobol' points
    d = sobol_design(64, seed=0)
    for name, (lo, hi) in PAPER_BOUNDS.items():
        counts = np.histogram(d[name], bins=4, range=(lo, hi))[0]
        np.testing.assert_array_equal(counts, 16)


def test_read_design(tmp_path):
    f = tmp_path / "d.csv"
    f.write_text("# my design\nsigma,h,c,d_plus,d_minus\n-0.01,4.5,0.5,0.4,0.6\n-0.02,3,1,0.3,0.3\n")
    d = read_design(f)
    np.testing.assert_array_equal(d["h"], [4.5, 3.0])
    np.testing.assert_array_equal(d["sigma"], [-0.01, -0.02])
    f.write_text("h c d_plus\n1 2 3\n")
    with pytest.raises(ValueError, match=r"missing inputs \['d_minus', 'sigma'\]"):
        read_design(f)
    f.write_text("h c d_plus d_minus sigma\n4 0.5 0.4 0.6\n")
    with pytest.raises(ValueError, match="data row 1 has 4 values, expected 5"):
        read_design(f)


def test_noise_model_statistics():
    """Block counts are Poisson: the Eq. 4 spread is about 1/sqrt(lambda) of the density."""
    noise = NoiseModel()
    true = np.full((2, 4000), 0.5)
    true[:, :100] = 0.0  # unreachable bins
    dens, sem = noise.sample(true, 4.5 / 502, np.random.default_rng(0))
    lam = 0.5 * 0.602214076 * noise.lateral_area * (4.5 / 502) * noise.configs_per_block
    rel = sem[:, 100:] / dens[:, 100:]
    # S = 10 blocks: the ddof=0 spread has mean about sqrt((S-1)/S)/sqrt(lam); 7,800 bins make it tight
    assert rel.mean() == pytest.approx(np.sqrt(0.9 / lam), rel=0.03)
    assert 0.017 < rel.mean() < 0.022  # the documented ~2 % at 0.5 M on 502 bins over 4.5 nm
    # the estimate scatters around the truth by the standard error of the mean of S blocks
    z = (dens[:, 100:] - 0.5) / (0.5 / np.sqrt(lam * noise.n_blocks))
    assert abs(z.mean()) < 0.05 and z.std() == pytest.approx(1, rel=0.05)
    assert np.all(dens[:, :100] == 0) and np.all(sem[:, :100] == 0)


def test_noise_model_validation():
    for kwargs, match in [({"n_blocks": 1}, "n_blocks = 1"), ({"lateral_area": 0}, "lateral_area = 0"),
                          ({"error": "x"}, "error = 'x'"), ({"configs_per_block": 0.5}, "configs_per_block")]:
        with pytest.raises(ValueError, match=match):
            NoiseModel(**kwargs)


def test_same_seed_same_output_bit_for_bit():
    design = random_design(3, seed=1)
    a = SMALL.run(design, seed=7)
    b = SMALL.run(design, seed=7)
    xr.testing.assert_identical(a, b)
    c = SMALL.run(design, seed=8)
    assert not np.array_equal(a["density"].values, c["density"].values)
    np.testing.assert_array_equal(a["density_true"].values, c["density_true"].values)
    assert check(a) == []


def test_output_independent_of_workers_and_chunks(tmp_path):
    design = random_design(10, seed=3)
    one = load_dataset(simulate(design, tmp_path / "a.nc", simulator=SMALL, seed=11, chunk_size=10, progress=False))
    two = load_dataset(simulate(design, tmp_path / "b.nc", simulator=SMALL, seed=11, workers=2, chunk_size=3,
                                progress=False))
    for name in ("density", "density_sem", "density_true", "z", "h"):
        np.testing.assert_array_equal(one[name].values, two[name].values)
    settings = json.loads(one.attrs["simulator"])
    assert settings["noise"]["n_blocks"] == 10 and settings["model"]["functional"] == "wbii"
    assert one.attrs["seed"] == "11"
    assert not (tmp_path / "a.nc.parts").exists()


def test_resume_after_crash(tmp_path, monkeypatch):
    design = random_design(9, seed=4)
    out = tmp_path / "run.nc"
    task = simulate_module._SimulateChunk
    real = task.__call__
    calls = []

    def crash_on_third(self, bounds):
        calls.append(bounds[0])
        if len(calls) == 3:
            raise KeyboardInterrupt("Ctrl-C")
        return real(self, bounds)

    monkeypatch.setattr(task, "__call__", crash_on_third)
    with pytest.raises(KeyboardInterrupt):
        simulate(design, out, simulator=SMALL, seed=2, chunk_size=2, progress=False)
    assert not out.exists()
    assert sorted(p.name for p in (tmp_path / "run.nc.parts").glob("chunk-*.nc")) == [
        "chunk-000000.nc", "chunk-000001.nc"]
    counted = []
    monkeypatch.setattr(task, "__call__", lambda self, bounds: counted.append(bounds[0]) or real(self, bounds))
    simulate(design, out, simulator=SMALL, seed=2, chunk_size=2, progress=False)
    assert counted == [4, 6, 8]  # finished chunks were not recomputed
    fresh = simulate(design, tmp_path / "fresh.nc", simulator=SMALL, seed=2, chunk_size=2, progress=False)
    xr.testing.assert_equal(load_dataset(out), load_dataset(fresh))


def test_resume_refuses_other_settings(tmp_path, monkeypatch):
    design = random_design(4, seed=4)
    out = tmp_path / "run.nc"
    monkeypatch.setattr(simulate_module._SimulateChunk, "__call__",
                        lambda self, bounds: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        simulate(design, out, simulator=SMALL, seed=2, chunk_size=2, progress=False)
    with pytest.raises(ValueError, match="another design or other simulator settings"):
        simulate(random_design(4, seed=5), out, simulator=SMALL, seed=2, chunk_size=2, progress=False)
    with pytest.raises(ValueError, match="holds a run with seed 2, not 3"):
        simulate(design, out, simulator=SMALL, seed=3, chunk_size=2, progress=False)


def test_simulate_cli(tmp_path, capsys):
    out = tmp_path / "s.nc"
    assert main(["simulate", "--design", "sobol", "--n", "4", "--seed", "1", "--bins", "50", "--out", str(out),
                 "--quiet"]) == 0
    ds = load_dataset(out)
    assert ds.sizes["sample"] == 4 and ds.sizes["bin"] == 50 and "density_true" in ds
    assert ds.attrs["design"] == "sobol"
    assert main(["simulate", "--design", "sobol", "--n", "4", "--out", str(tmp_path / "x.nc")]) == 2
    assert "needs --seed" in capsys.readouterr().err
    assert main(["simulate", "--design", "paper-grid", "--n", "4", "--out", str(tmp_path / "x.nc")]) == 2
    assert "--n does not apply" in capsys.readouterr().err
    assert main(["simulate", "--design", str(tmp_path / "none.csv"), "--out", str(tmp_path / "x.nc")]) == 2
    assert "no such design file" in capsys.readouterr().err
