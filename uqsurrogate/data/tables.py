"""Importer for three-column profile tables ``z n err`` (one file per species).

This is the format of the nanoconfinement-md project (``p_density_profile.dat`` for
cations, ``n_density_profile.dat`` for anions): whitespace-separated z (nm), mean number
density (mol/L) and its statistical error (mol/L), one bin centre per line.  That
project's front end also inserts the contact point z = -h/2 + d/2 (and its mirror image)
into the list; such points are not bin centres, so points off the regular grid are
dropped (and logged).

Its run folders are named like
``lammps_T0.001_Z3_p1_nminus1_c0.5_d0.474_a0.627_i-0.01_S100000``; :func:`parse_run_name`
reads the inputs from such a name.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..errors import InputError
from .rebin import edges_from_centres
from .runs import MDRun

__all__ = ["parse_run_name", "read_run_folder", "read_table", "read_table_run", "regular_grid_mask"]

logger = logging.getLogger(__name__)

#: Folder-name keys of the nanoconfinement-md project, and what they mean.
_RUN_NAME_KEYS = {
    "Z": "h",
    "c": "c",
    "d": "d_plus",
    "a": "d_minus",
    "i": "sigma",
    "p": "valency_cation",
    "n": "valency_anion",
    "S": "md_steps",
    "T": "md_timestep",
}
_TOKEN = re.compile(r"^(?P<key>[A-Za-z]+?)(?P<minus>minus)?(?P<value>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)$")

CATION_FILE = "p_density_profile.dat"
ANION_FILE = "n_density_profile.dat"


def parse_run_name(name: str) -> dict[str, float]:
    """Read the inputs encoded in a nanoconfinement-md run name.

    Parameters
    ----------
    name : str
        A folder name such as ``lammps_T0.001_Z3_p1_nminus1_c0.5_d0.474_a0.627_i-0.01_S100000``
        (a path is allowed; its last part is used).

    Returns
    -------
    dict of str to float
        ``h`` (nm), ``c`` (mol/L), ``d_plus`` and ``d_minus`` (nm), ``sigma`` (C/m2), and
        where present ``valency_cation``, ``valency_anion``, ``md_steps``, ``md_timestep``.

    Raises
    ------
    ValueError
        If a token cannot be read or one of the five inputs is missing.

    Examples
    --------
    >>> run = parse_run_name("lammps_T0.001_Z3_p1_nminus1_c0.5_d0.474_a0.627_i-0.01_S100000")
    >>> run["h"], run["c"], run["d_plus"], run["d_minus"], run["sigma"], run["valency_anion"]
    (3.0, 0.5, 0.474, 0.627, -0.01, -1.0)
    """
    base = Path(str(name)).name
    found: dict[str, float] = {}
    for token in base.split("_"):
        if token.lower() in ("lammps", ""):
            continue
        m = _TOKEN.match(token)
        if not m or m["key"] not in _RUN_NAME_KEYS:
            raise InputError(
                f"run name {base!r}: cannot read token {token!r}; expected KEYvalue with KEY in "
                f"{sorted(_RUN_NAME_KEYS)} (for example Z3, c0.5, i-0.01, nminus1)"
            )
        key = _RUN_NAME_KEYS[m["key"]]
        value = float(m["value"])
        found[key] = -value if m["minus"] else value
    missing = [k for k in ("h", "c", "d_plus", "d_minus", "sigma") if k not in found]
    if missing:
        raise InputError(f"run name {base!r} does not give {missing}; pass the inputs explicitly")
    return found


def read_table(path: str | os.PathLike, n_columns: int = 3) -> np.ndarray:
    """Read a whitespace-separated numeric table, with clear errors.

    Blank lines and lines starting with ``#`` are skipped.

    Parameters
    ----------
    path : path-like
    n_columns : int, default 3
        Columns every data line must have.

    Returns
    -------
    numpy.ndarray, shape (n_rows, n_columns)
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    rows = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, 1):
            fields = line.split()
            if not fields or fields[0].startswith("#"):
                continue
            if len(fields) != n_columns:
                raise InputError(
                    f"{path}, line {lineno}: {len(fields)} column{'s' * (len(fields) != 1)}, expected "
                    f"{n_columns} (z n err); the file may be truncated or not a profile table"
                )
            try:
                row = [float(f) for f in fields]
            except ValueError:
                raise InputError(f"{path}, line {lineno}: not numbers: {line.strip()!r}") from None
            if not all(math.isfinite(v) for v in row):
                raise InputError(f"{path}, line {lineno}: NaN or infinite value: {line.strip()!r}")
            rows.append(row)
    if not rows:
        raise InputError(f"{path}: no data lines (empty or truncated file)")
    return np.array(rows)


def regular_grid_mask(z: np.ndarray, rtol: float = 0.05) -> np.ndarray:
    """Mark the points of ``z`` that lie on its dominant regular grid.

    The grid spacing is the median spacing; its phase is the one most points share.

    Parameters
    ----------
    z : numpy.ndarray, shape (n,)
        Strictly increasing positions.
    rtol : float, default 0.05
        A point is on the grid within ``rtol`` of the spacing.

    Returns
    -------
    numpy.ndarray of bool, shape (n,)
    """
    z = np.asarray(z, dtype=float)
    if z.size < 3:
        return np.ones(z.shape, bool)
    step = float(np.median(np.diff(z)))
    k = (z[None, :] - z[:, None]) / step  # k[r, j]: position of j in steps from reference r
    on = np.abs(k - np.round(k)) < rtol
    return on[int(np.argmax(on.sum(axis=1)))]


def read_table_run(
    cation: str | os.PathLike,
    anion: str | os.PathLike,
    inputs: Mapping[str, float] | None = None,
    *,
    source: str | None = None,
) -> MDRun:
    """Import one run from a cation table and an anion table.

    Parameters
    ----------
    cation, anion : path-like
        Three-column files ``z n err`` (nm, mol/L, mol/L) on the same z grid.
    inputs : mapping of str to float, optional
        ``h``, ``c``, ``d_plus``, ``d_minus``, ``sigma``.  By default they are read from
        the name of the folder holding ``cation`` (:func:`parse_run_name`).
    source : str, optional
        A label for the run; by default the folder name.

    Returns
    -------
    MDRun
    """
    cation, anion = Path(cation), Path(anion)
    if inputs is None:
        parsed = parse_run_name(cation.resolve().parent.name)
        inputs = {k: parsed[k] for k in ("h", "c", "d_plus", "d_minus", "sigma")}
        for key in ("valency_cation", "valency_anion"):
            if key in parsed and abs(parsed[key]) != 1:
                raise InputError(
                    f"{cation.parent.name}: {key} = {parsed[key]:g}; the training-data contract covers "
                    "monovalent ions only"
                )
    tables = [read_table(cation), read_table(anion)]
    if tables[0].shape != tables[1].shape or not np.allclose(tables[0][:, 0], tables[1][:, 0], rtol=0, atol=1e-9):
        raise InputError(
            f"cation and anion grids differ: {cation} has {len(tables[0])} points over "
            f"[{tables[0][0, 0]:g}, {tables[0][-1, 0]:g}], {anion} has {len(tables[1])} over "
            f"[{tables[1][0, 0]:g}, {tables[1][-1, 0]:g}]; both species must share one z grid"
        )
    z = tables[0][:, 0]
    for path, table in zip((cation, anion), tables):
        if np.any(table[:, 2] < 0):
            row = int(np.argmax(table[:, 2] < 0))
            raise InputError(f"{path}: negative error {table[row, 2]:g} at z = {table[row, 0]:g} nm")
    keep = regular_grid_mask(z)
    if not keep.all():
        dropped = ", ".join(f"{v:g}" for v in z[~keep])
        logger.info(
            "%s: dropped %d off-grid point(s) at z = %s nm (inserted contact points are not bin centres)",
            cation.parent.name or cation, int((~keep).sum()), dropped,
        )
    edges = edges_from_centres(z[keep])
    density = np.stack([t[keep, 1] for t in tables])
    error = np.stack([t[keep, 2] for t in tables])
    return MDRun(
        inputs=dict(inputs),
        edges=edges,
        density=density,
        error=error,
        source=source or cation.resolve().parent.name,
    )


def read_run_folder(folder: str | os.PathLike, inputs: Mapping[str, float] | None = None) -> MDRun:
    """Import a nanoconfinement-md run folder holding ``p_density_profile.dat`` and ``n_density_profile.dat``.

    Parameters
    ----------
    folder : path-like
        The run folder; its name gives the inputs unless ``inputs`` is given.
    inputs : mapping of str to float, optional

    Returns
    -------
    MDRun
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such run folder")
    return read_table_run(folder / CATION_FILE, folder / ANION_FILE, inputs, source=folder.resolve().name)
