"""Shared fixtures: the real test data, and small synthetic datasets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from uqsurrogate.data import make_dataset

DATA = Path(__file__).parent / "data"
MD_PROFILES = DATA / "nanoconfinement-md" / "md-profiles"
LAMMPS = DATA / "lammps-ave-chunk"
CATION_LMP = LAMMPS / "cation_density.lmp.dat"
ANION_LMP = LAMMPS / "anion_density.lmp.dat"
LAMMPS_INPUTS = {"h": 4.5, "c": 0.5, "d_plus": 0.4, "d_minus": 0.6, "sigma": -0.015}


@pytest.fixture
def run_dirs() -> list[Path]:
    dirs = sorted(p for p in MD_PROFILES.iterdir() if p.is_dir())
    assert len(dirs) == 5
    return dirs


def synthetic(n: int = 4, n_bins: int = 20, seed: int = 0, with_true: bool = True):
    """A small valid training dataset with random but physical values."""
    rng = np.random.default_rng(seed)
    h = rng.uniform(4, 5, n)
    edges = np.linspace(-0.5, 0.5, n_bins + 1)
    z = h[:, None] * 0.5 * (edges[1:] + edges[:-1])[None, :]
    true = rng.uniform(0.1, 2.0, (n, 2, n_bins))
    sem = 0.02 * true
    return make_dataset(
        {
            "h": h,
            "c": rng.uniform(0.1, 2, n),
            "d_plus": rng.uniform(0.2, 0.63, n),
            "d_minus": rng.uniform(0.2, 0.63, n),
            "sigma": rng.uniform(-0.02, -0.01, n),
        },
        z,
        true + sem * rng.standard_normal(true.shape),
        sem,
        density_true=true if with_true else None,
        attrs={"title": "synthetic test data"},
    )


@pytest.fixture
def small_ds():
    return synthetic()


def paper_study_dir(tmp_path, resolved):
    """A study directory whose result has the paper's layout, with the given resolved flags (c, z)."""
    import json

    import xarray as xr

    from uqsurrogate.results import save_results
    from uqsurrogate.simulators import ElectrolyteSimulator
    from uqsurrogate.study import _paper_problem
    from uqsurrogate.surrogate.zgrid import uniform_slit_centres

    cs, zs = [0.3, 1.9], [-1.85, -1.55]
    grid = uniform_slit_centres(4.5, ElectrolyteSimulator().n_bins)
    zb = [float(grid[np.argmin(abs(grid - z))]) for z in zs]
    shape = (2, 2)
    s1 = np.full((2, 2, 2), 0.5)
    ds = xr.Dataset(
        {"S1_z_corrected": (("c", "input", "z"), s1),
         "S1_z_corrected_low": (("c", "input", "z"), s1 - 0.1),
         "S1_z_corrected_high": (("c", "input", "z"), s1 + 0.1),
         "S1_z_corrected_total_low": (("c", "input", "z"), s1 - 0.2),
         "S1_z_corrected_total_high": (("c", "input", "z"), s1 + 0.2),
         "resolved_z": (("c", "z"), np.asarray(resolved, dtype=np.int8)),
         "resolution_ratio_z": (("c", "z"), np.where(np.asarray(resolved), 5.0, 1.5) * np.ones(shape))},
        coords={"c": cs, "input": ["d_plus", "d_minus"], "z": zs, "z_bin": ("z", zb)},
        attrs={"problem": json.dumps({str(c): json.loads(_paper_problem(c).to_json()) for c in cs})})
    out = tmp_path / "study"
    out.mkdir()
    save_results(ds, out / "paper_sensitivity.nc")
    return out


@pytest.fixture(scope="session")
def quick_study(tmp_path_factory) -> Path:
    """The main job's output folder, ``uqsurrogate study --quick`` with the shipped model (about a minute):
    made once per session, for the slow checks that read it (the metadata walk, the notebook, ``info``)."""
    import warnings

    from uqsurrogate.cli import main
    from uqsurrogate.warnings import ExtrapolationWarning

    out = tmp_path_factory.mktemp("quick-study") / "study"
    with warnings.catch_warnings():  # the paper's d_minus reaches past the training range: printed, as a user sees it
        warnings.simplefilter("default", ExtrapolationWarning)
        assert main(["study", "--out", str(out), "--quick", "--quiet"]) == 0
    return out
