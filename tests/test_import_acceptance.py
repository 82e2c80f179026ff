"""Acceptance: every real MD run (five tables folders and the LAMMPS pair) in one valid file."""

from __future__ import annotations

import numpy as np
import xarray as xr
from conftest import ANION_LMP, CATION_LMP, LAMMPS_INPUTS

from uqsurrogate.data import check, load_dataset, read_lammps_run, read_run_folder, runs_to_dataset, save_dataset


def test_all_real_runs_in_one_file(tmp_path, run_dirs):
    runs = [read_run_folder(d) for d in run_dirs] + [read_lammps_run(CATION_LMP, ANION_LMP, LAMMPS_INPUTS)]
    ds = runs_to_dataset(runs)
    assert check(ds) == []
    assert ds.sizes == {"sample": 6, "species": 2, "bin": 126}
    path = save_dataset(ds, tmp_path / "all.nc")
    back = load_dataset(path)
    xr.testing.assert_identical(back, ds)
    # inputs came through: h of the table runs from their names, of the LAMMPS run as given
    np.testing.assert_array_equal(back["h"].values, [3, 3, 3, 3, 3, 4.5])
    np.testing.assert_array_equal(back["d_plus"].values[-1], 0.4)
    # rebinning conserved the ions per area of every run, species by species
    for i, run in enumerate(runs):
        before = run.density @ np.diff(run.edges)
        after = back["density"].values[i] @ np.full(126, run.inputs["h"] / 126)
        # (to the rounding of z in the table files, 5 digits: edges differ by up to 1e-4 of a bin)
        np.testing.assert_allclose(after, before, rtol=2e-4)
