"""A stand-in for an MD engine: one run per job folder, written as nanoconfinement-md profile tables.

    python fake_md.py RUN/round-001/jobs/job-0000 RUN/round-001/jobs/job-0001 ...

Each job folder holds ``in.params`` (``NAME VALUE`` lines: h nm, c mol/L, d_plus and d_minus
nm, sigma C/m2), as ``uqsurrogate active propose`` writes it.  This writes
``p_density_profile.dat`` and ``n_density_profile.dat`` there: bin centre z (nm), density
and its statistical error (mol/L), the tables a LAMMPS workflow of the nanoconfinement-md
project leaves.  It runs uqsurrogate's embedded simulator (its exact profile plus MD-like
noise, seeded by ``--seed`` and the job's number); a real engine takes its place unchanged.
"""

import argparse
from pathlib import Path

import numpy as np

from uqsurrogate.simulators import ElectrolyteSimulator

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("jobs", nargs="+", type=Path)
ap.add_argument("--bins", type=int, default=16)
ap.add_argument("--seed", type=int, default=0)
args = ap.parse_args()
sim = ElectrolyteSimulator(n_bins=args.bins)
for job in args.jobs:
    x = {k: float(v) for k, v in (line.split() for line in (job / "in.params").read_text().splitlines() if line)}
    ds = sim.run({k: np.array([v]) for k, v in x.items()}, seed=args.seed, start=int(job.name.split("-")[-1]))
    for name, species in (("p_density_profile.dat", 0), ("n_density_profile.dat", 1)):
        table = np.column_stack([ds["z"].values[0], ds["density"].values[0, species],
                                 ds["density_sem"].values[0, species]])
        np.savetxt(job / name, table, fmt="%.10g")
