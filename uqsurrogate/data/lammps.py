"""Importer for LAMMPS ``fix ave/chunk`` output of ``compute chunk/atom bin/1d``.

The file holds one block per ``Nfreq`` steps: a line ``Timestep Number-of-chunks
Total-count`` followed by one row per chunk (``Chunk Coord1 ... density/number``).  Each
block is already a time average (``ave one``); the run's mean profile is the mean of the
block averages, and its error comes from their spread, the paper's Eq. 4:

    ε(z) = sqrt( (1/S) Σ_s (n_s(z) - n̄(z))² )                      (``error="paper-eq4"``)

Eq. 4 is the spread of a single block average.  The standard error of the mean of S
uncorrelated blocks is smaller by sqrt(S - 1) (with the 1/(S-1) variance):

    ε(z) = sqrt( Σ_s (n_s(z) - n̄(z))² / (S (S - 1)) )             (``error="sem"``)

The paper trained its surrogate with Eq. 4, so that is the default here.

Units are converted to nm and mol/L from the LAMMPS ``units`` style: ``real`` and
``metal`` lengths are Å, densities atoms/Å³; ``lj`` needs the length scale σ in nm.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np

from .._validation import check_int
from ..constants import NM3_TO_MOLAR
from ..errors import InputError
from .rebin import edges_from_centres
from .runs import MDRun

__all__ = ["AveChunk", "ave_chunk_profile", "read_ave_chunk", "read_lammps_run", "LENGTH_UNIT_NM"]


#: Length unit of each LAMMPS ``units`` style, in nm (``lj`` has none: give a length scale).
LENGTH_UNIT_NM: Mapping[str, float] = MappingProxyType(
    {
        "real": 0.1,
        "metal": 0.1,
        "si": 1e9,
        "cgs": 1e7,
        "electron": 0.0529177210903,
        "micro": 1e3,
        "nano": 1.0,
    }
)
ERROR_METHODS = ("paper-eq4", "sem")


@dataclass(frozen=True)
class AveChunk:
    """The blocks of one ``fix ave/chunk`` file, in the file's own units.

    Attributes
    ----------
    timesteps : numpy.ndarray, shape (n_blocks,)
    coord : numpy.ndarray, shape (n_chunks,)
        Chunk centres (``Coord1``).
    values : numpy.ndarray, shape (n_blocks, n_chunks)
        The chosen column, per block and chunk.
    column : str
        Its name.
    columns : tuple of str
        All column names of the file.
    """

    timesteps: np.ndarray
    coord: np.ndarray
    values: np.ndarray
    column: str
    columns: tuple[str, ...]


def read_ave_chunk(path: str | os.PathLike, column: str = "density/number") -> AveChunk:
    """Parse a LAMMPS ``fix ave/chunk`` file with 1-D bins.

    Parameters
    ----------
    path : path-like
    column : str, default "density/number"
        The per-chunk value to read, as named in the file's third header line.

    Returns
    -------
    AveChunk
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    with open(path, encoding="utf-8", errors="replace") as fh:
        lines = fh.read().splitlines()
    header = [ln for ln in lines[:3] if ln.startswith("#")]
    if len(header) < 3 or "Chunk" not in header[2]:
        raise InputError(
            f"{path}: not a fix ave/chunk file; expected three '#' header lines, the third naming "
            "the columns ('# Chunk Coord1 ...')"
        )
    columns = tuple(header[2].lstrip("#").split())
    if "Coord1" not in columns:
        raise InputError(f"{path}: no Coord1 column ({' '.join(columns)}); only 1-D bins (bin/1d) are supported")
    if "Coord2" in columns:
        raise InputError(f"{path}: has Coord2; only 1-D bins (bin/1d) are supported")
    if column not in columns:
        raise InputError(f"{path}: column {column!r} not found; the file has columns {', '.join(columns)}")
    i_coord, i_value = columns.index("Coord1"), columns.index(column)

    timesteps, coords, blocks = [], None, []
    k = len(header)
    while k < len(lines):
        line = lines[k].split()
        k += 1
        if not line or line[0].startswith("#"):
            continue
        lineno = k
        if len(line) != 3:
            raise InputError(
                f"{path}, line {lineno}: expected a block header 'Timestep Number-of-chunks Total-count', "
                f"found {len(line)} fields"
            )
        try:
            step, n_chunks = int(line[0]), int(line[1])
        except ValueError:
            raise InputError(f"{path}, line {lineno}: bad block header {lines[lineno - 1]!r}") from None
        rows = [ln.split() for ln in lines[k : k + n_chunks]]
        if len(rows) < n_chunks:
            raise InputError(
                f"{path}: block {len(blocks) + 1} (timestep {step}) is truncated: expected {n_chunks} "
                f"chunk rows, found {len(rows)}"
            )
        for j, row in enumerate(rows):
            if len(row) != len(columns):
                raise InputError(
                    f"{path}, line {k + j + 1}: {len(row)} fields, expected {len(columns)} "
                    f"({' '.join(columns)}); the file may be truncated"
                )
        try:
            data = np.array(rows, dtype=float)
        except ValueError:
            raise InputError(f"{path}: block at timestep {step} has non-numeric chunk rows") from None
        k += n_chunks
        if coords is None:
            coords = data[:, i_coord]
        elif data.shape[0] != coords.size or not np.allclose(data[:, i_coord], coords):
            raise InputError(
                f"{path}: block at timestep {step} has other chunk coordinates than the first block; "
                "blocks must share one bin grid (use a fixed box in z)"
            )
        timesteps.append(step)
        blocks.append(data[:, i_value])
    if not blocks:
        raise InputError(f"{path}: no blocks (empty or truncated file)")
    return AveChunk(np.array(timesteps), np.asarray(coords), np.array(blocks), column, columns)


def ave_chunk_profile(
    blocks: np.ndarray, error: str = "paper-eq4", skip_blocks: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Mean profile and its error from block averages.

    Parameters
    ----------
    blocks : numpy.ndarray, shape (n_blocks, n_bins)
    error : {"paper-eq4", "sem"}, default "paper-eq4"
        See the module docstring.
    skip_blocks : int, default 0
        Leading blocks to discard (equilibration).

    Returns
    -------
    mean, error : numpy.ndarray, shape (n_bins,)
    """
    if error not in ERROR_METHODS:
        raise InputError(f"error = {error!r}; allowed: {', '.join(ERROR_METHODS)}")
    blocks = np.asarray(blocks, dtype=float)
    skip_blocks = check_int(skip_blocks, "skip_blocks", min_value=0)
    used = blocks[skip_blocks:]
    if used.shape[0] < 2:
        raise InputError(
            f"skip_blocks = {skip_blocks} leaves {used.shape[0]} of {blocks.shape[0]} blocks; "
            "an error estimate needs at least 2"
        )
    mean = used.mean(axis=0)
    spread = np.sqrt(np.mean((used - mean) ** 2, axis=0))
    if error == "sem":
        spread = spread / np.sqrt(used.shape[0] - 1)
    return mean, spread


def read_lammps_run(
    cation: str | os.PathLike,
    anion: str | os.PathLike,
    inputs: Mapping[str, float],
    *,
    units: str = "real",
    length_scale: float | None = None,
    origin: float = 0.0,
    column: str = "density/number",
    error: str = "paper-eq4",
    skip_blocks: int = 0,
    source: str | None = None,
) -> MDRun:
    """Import one run from the cation and anion ``fix ave/chunk`` files.

    Parameters
    ----------
    cation, anion : path-like
        ``fix ave/chunk`` files of ``density/number`` per 1-D bin along the wall normal.
    inputs : mapping of str to float
        ``h`` (nm), ``c`` (mol/L), ``d_plus``, ``d_minus`` (nm), ``sigma`` (C/m2).
    units : str, default "real"
        The LAMMPS ``units`` style of the run: one of :data:`LENGTH_UNIT_NM` or ``"lj"``.
    length_scale : float, optional
        For ``units="lj"``: the LJ length unit σ in nm.
    origin : float, default 0
        The slit midplane in the file's length units (the walls at origin ± h/2).
    column : str, default "density/number"
    error : {"paper-eq4", "sem"}, default "paper-eq4"
    skip_blocks : int, default 0
    source : str, optional

    Returns
    -------
    MDRun
    """
    if units == "lj":
        if length_scale is None or not length_scale > 0:
            raise InputError(f"units = 'lj' needs length_scale > 0 (σ in nm), got {length_scale!r}")
        unit_nm = float(length_scale)
    elif units in LENGTH_UNIT_NM:
        if length_scale is not None:
            raise InputError(f"length_scale = {length_scale!r} is only for units = 'lj', not {units!r}")
        unit_nm = LENGTH_UNIT_NM[units]
    else:
        raise InputError(f"units = {units!r}; allowed: lj, {', '.join(LENGTH_UNIT_NM)}")
    parsed = [read_ave_chunk(p, column) for p in (cation, anion)]
    if parsed[0].coord.shape != parsed[1].coord.shape or not np.allclose(parsed[0].coord, parsed[1].coord):
        raise InputError(
            f"cation and anion grids differ: {cation} has {parsed[0].coord.size} chunks, {anion} has "
            f"{parsed[1].coord.size}; both species must share one bin grid"
        )
    profiles = [ave_chunk_profile(p.values, error, skip_blocks) for p in parsed]
    to_mol_per_l = NM3_TO_MOLAR / unit_nm**3
    z = (parsed[0].coord - origin) * unit_nm
    n_blocks = parsed[0].values.shape[0] - skip_blocks
    return MDRun(
        inputs=dict(inputs),
        edges=edges_from_centres(z),
        density=np.stack([m for m, _ in profiles]) * to_mol_per_l,
        error=np.stack([e for _, e in profiles]) * to_mol_per_l,
        source=source or f"{Path(cation).name} + {Path(anion).name} ({n_blocks} blocks, {error})",
    )
