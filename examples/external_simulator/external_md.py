"""A stand-in for an MD engine run as an external program: one run per folder.

    python external_md.py runs/row-00000/ runs/row-00001/ ...

Each folder holds ``in.params`` (``NAME VALUE`` lines: h nm, c mol/L, d_plus and d_minus nm,
sigma C/m2).  The program writes ``density.dat`` there: bin centre z (nm), n+ and n- (mol/L),
as an MD engine's averaged profile would be.  It solves uqsurrogate's embedded cDFT model of
the confined electrolyte; nothing else of uqsurrogate is used, so any program that reads the
same files can take its place.
"""

import sys
from pathlib import Path

import numpy as np

from uqsurrogate.constants import NM3_TO_MOLAR
from uqsurrogate.simulators.electrolyte import solve_slit

for folder in map(Path, sys.argv[1:]):
    params = dict(line.split() for line in (folder / "in.params").read_text().splitlines() if line.strip())
    x = {k: float(v) for k, v in params.items()}
    z, n = solve_slit(x["h"], x["c"], x["d_plus"], x["d_minus"], x["sigma"], n_bins=126).bin_average(126)
    np.savetxt(folder / "density.dat", np.column_stack([z, NM3_TO_MOLAR * n.T]), header="z_nm n_plus_M n_minus_M")
