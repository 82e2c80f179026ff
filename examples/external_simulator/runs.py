"""Job folders from a design, and the outputs back from them.

    python runs.py prepare design.csv runs/     # runs/row-00000/in.params, ...
    python runs.py collect runs/ outputs.csv     # row, contact_cation, contact_anion

``collect`` reads each finished folder's ``density.dat`` and reduces the profile to the
quantities of interest (here the cation and anion contact densities, the highest n+ and n-,
in mol/L), one line per row in the order the folders are found: ``uqsurrogate analyze``
puts them back in design order and refuses a missing or repeated row.
"""

import sys
from pathlib import Path

import numpy as np

INPUTS = ("h", "c", "d_plus", "d_minus", "sigma")


def prepare(design: Path, runs: Path) -> None:
    lines = [ln for ln in design.read_text().splitlines() if ln and not ln.startswith("#")]
    header = lines[0].split(",")
    for line in lines[1:]:
        values = dict(zip(header, line.split(",")))
        folder = runs / f"row-{int(values['row']):05d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "in.params").write_text("".join(f"{k} {values[k]}\n" for k in INPUTS))
    print(f"prepared {len(lines) - 1} run folders in {runs}")


def collect(runs: Path, out: Path) -> None:
    rows = []
    for folder in runs.glob("row-*"):  # file-system order: not the design's
        profile = np.loadtxt(folder / "density.dat")
        rows.append(f"{int(folder.name[4:])},{float(profile[:, 1].max())!r},{float(profile[:, 2].max())!r}\n")
    out.write_text("row,contact_cation,contact_anion\n" + "".join(rows))
    print(f"collected {len(rows)} runs into {out}")


if __name__ == "__main__":
    {"prepare": prepare, "collect": collect}[sys.argv[1]](Path(sys.argv[2]), Path(sys.argv[3]))
