"""Bring your own MD output into uqsurrogate's training-data format.

Run from the repository root::

    python examples/bring_your_own_md.py [OUT.nc]

It imports the five nanoconfinement-md runs in ``tests/data`` (three-column ``z n err``
tables; inputs read from the folder names) and one LAMMPS ``fix ave/chunk`` run (inputs
given), rebins them onto common bins, writes one netCDF file and prints its summary.

Expected output: "wrote ... 6 samples x 126 bins", then a summary listing h from 3 to 4.5 nm,
c = 0.5 mol/L, d_plus 0.4 to 0.714 nm, sigma -0.015 to 0 C/m2, and median relative errors
of a few per cent (about 2.5 % in the bulk of the long S100000 runs).
"""

import sys
from pathlib import Path

from uqsurrogate.data import (
    load_dataset,
    read_lammps_run,
    read_run_folder,
    runs_to_dataset,
    save_dataset,
    summarize,
)

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("md_profiles.nc")

runs = [read_run_folder(folder) for folder in sorted((DATA / "nanoconfinement-md" / "md-profiles").iterdir())]
runs.append(
    read_lammps_run(
        DATA / "lammps-ave-chunk" / "cation_density.lmp.dat",
        DATA / "lammps-ave-chunk" / "anion_density.lmp.dat",
        {"h": 4.5, "c": 0.5, "d_plus": 0.4, "d_minus": 0.6, "sigma": -0.015},
        units="real",  # Å and atoms/Å^3, converted to nm and mol/L
        error="paper-eq4",  # the spread of the 9 block averages, as the paper's Eq. 4
    )
)
ds = runs_to_dataset(runs)  # 126 equal bins per profile: the finest run's count
save_dataset(ds, out)
print(f"wrote {out}: {ds.sizes['sample']} samples x {ds.sizes['bin']} bins")
print(summarize(load_dataset(out), name=str(out)))
