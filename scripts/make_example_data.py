"""Rebuild the shipped example dataset ``uqsurrogate/datasets/real_md_profiles.nc``.

It imports the real MD profiles kept in ``tests/data`` (see ``tests/data/PROVENANCE.md``)
with the ``uqsurrogate import-md`` command, exactly as a user would::

    python scripts/make_example_data.py

``tests/test_example_data.py`` checks that the shipped file equals a fresh import.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "tests" / "data"
OUT = ROOT / "uqsurrogate" / "datasets" / "real_md_profiles.nc"

#: The LAMMPS fix ave/chunk run of tests/data/lammps-ave-chunk/README.md.
LAMMPS_INPUTS = "h=4.5,c=0.5,d_plus=0.4,d_minus=0.6,sigma=-0.015"
TITLE = "Real LAMMPS density profiles of a confined monovalent electrolyte (nanoconfinement-md and fix ave/chunk)"


def import_args(raw: Path = RAW) -> list[str]:
    """Arguments of ``uqsurrogate import-md`` that build the example, without --out."""
    args = []
    for folder in sorted((raw / "nanoconfinement-md" / "md-profiles").iterdir()):
        args += ["--run-dir", str(folder.relative_to(raw))]
    lmp = (raw / "lammps-ave-chunk").relative_to(raw)
    args += ["--lammps", str(lmp / "cation_density.lmp.dat"), str(lmp / "anion_density.lmp.dat"), LAMMPS_INPUTS]
    return args + ["--units", "real", "--title", TITLE]


ATTRIBUTION = {
    "source": (
        "md-profiles: softmaterialslab/nanoconfinement-md (Apache License 2.0), commit "
        "7c6aa48d2260da15b243702747ebe1c806c5eee9; fix ave/chunk run: LAMMPS 22 Jul 2025, "
        "h = 4.5 nm, 80 x 80 A^2, 9 blocks (see tests/data/PROVENANCE.md)"
    ),
    "license": "Apache-2.0 (nanoconfinement-md profiles); see LICENSE-nanoconfinement-md in this folder",
    "references": (
        "Kadupitiya, Anousheh, Jadhao, 'Designing machine learning surrogates using outputs of molecular "
        "dynamics simulations as soft labels'"
    ),
}


def build(out: Path = OUT, raw: Path = RAW) -> Path:
    """Import the raw files into ``out`` and add the attribution attributes."""
    import os

    from uqsurrogate.cli import main
    from uqsurrogate.data import load_dataset, save_dataset

    cwd = os.getcwd()
    os.chdir(raw)  # relative paths in the recorded command and the sources
    try:
        status = main(["import-md", *import_args(raw), "--out", os.path.relpath(out, raw), "--force"])
    finally:
        os.chdir(cwd)
    if status:
        raise SystemExit(status)
    ds = load_dataset(out)
    ds.attrs.update(ATTRIBUTION)
    save_dataset(ds, out)
    return out


if __name__ == "__main__":
    sys.exit(0 if build(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT) else 1)
