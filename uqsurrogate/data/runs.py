"""One imported MD run, and the stacking of runs into a training dataset.

Every importer returns an :class:`MDRun`: the inputs, the bin edges and the two
profiles with their errors, in nm and mol/L.  :func:`runs_to_dataset` rebins runs onto
a common number of equal bins across the slit (see :mod:`uqsurrogate.data.rebin`) and
builds the contract dataset.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr

from ..errors import InputError
from .rebin import rebin, uniform_edges
from .schema import INPUTS, SPECIES, make_dataset

__all__ = ["MDRun", "runs_to_dataset"]

logger = logging.getLogger(__name__)

#: How far (in units of the run's outermost bin width) the data may end short of, or
#: reach past, a wall before an importer refuses the run's slit width h.
_WALL_TOLERANCE_BINS = 0.5
#: Edges within this fraction of a bin of equal bins across the slit are taken as equal
#: bins (files round z, e.g. to 5 digits).
_SNAP_BINS = 0.01


@dataclass(frozen=True)
class MDRun:
    """The averaged output of one MD run.

    Parameters
    ----------
    inputs : mapping of str to float
        Input values in the units of :data:`uqsurrogate.data.schema.INPUTS` (``h`` in nm
        is required: it places the walls).
    edges : numpy.ndarray, shape (n_bins + 1,)
        Bin edges in nm, strictly increasing.
    density, error : numpy.ndarray, shape (2, n_bins)
        Mean density and its statistical error in mol/L; axis 0 is (cation, anion).
    source : str
        Where the run came from (shown in the dataset's ``source`` coordinate).
    """

    inputs: Mapping[str, float]
    edges: np.ndarray
    density: np.ndarray
    error: np.ndarray
    source: str = ""

    def __post_init__(self) -> None:
        edges = np.asarray(self.edges, dtype=float)
        n_bins = edges.size - 1
        for name in ("density", "error"):
            arr = np.asarray(getattr(self, name), dtype=float)
            if arr.shape != (len(SPECIES), n_bins):
                raise InputError(
                    f"{self.source or 'run'}: {name} has shape {arr.shape}; expected (2, {n_bins}) "
                    "to match the bin edges"
                )
        if "h" not in self.inputs:
            raise InputError(f"{self.source or 'run'}: inputs must include h (nm), the wall separation")
        h = float(self.inputs["h"])
        if not h > 0:
            raise InputError(f"{self.source or 'run'}: h = {h} nm; it must be positive")
        outer = np.array([edges[1] - edges[0], edges[-1] - edges[-2]])
        gap = np.abs(np.array([edges[0] + h / 2, edges[-1] - h / 2]))
        if np.any(gap > _WALL_TOLERANCE_BINS * outer + 1e-9):
            raise InputError(
                f"{self.source or 'run'}: the profile spans [{edges[0]:g}, {edges[-1]:g}] nm, but "
                f"h = {h:g} nm puts the walls at ±{h / 2:g} nm; check h and the length units"
            )


def runs_to_dataset(
    runs: Sequence[MDRun],
    n_bins: int | None = None,
    *,
    attrs: Mapping[str, str] | None = None,
) -> xr.Dataset:
    """Rebin runs onto ``n_bins`` equal bins over (-h/2, h/2) and stack them along ``sample``.

    Parameters
    ----------
    runs : sequence of MDRun
        At least one run.  All must have the same input names.
    n_bins : int, optional
        Bins per profile.  By default the largest bin count among the runs, so the
        finest run loses no resolution.
    attrs : mapping, optional
        Extra global attributes.

    Returns
    -------
    xarray.Dataset
        A training dataset (``n_samples = len(runs)``), with the run sources as the
        ``source`` coordinate.
    """
    runs = list(runs)
    if not runs:
        raise InputError("runs is empty: import at least one run")
    names = list(runs[0].inputs)
    for run in runs[1:]:
        if list(run.inputs) != names:
            raise InputError(
                f"runs have different inputs: {run.source} has {list(run.inputs)}, "
                f"{runs[0].source} has {names}"
            )
    if n_bins is None:
        n_bins = max(run.edges.size - 1 for run in runs)
        logger.info("rebinning every run onto %d equal bins (the finest run's count)", n_bins)
    n = len(runs)
    z = np.empty((n, n_bins))
    density = np.empty((n, len(SPECIES), n_bins))
    sem = np.empty_like(density)
    for i, run in enumerate(runs):
        h = float(run.inputs["h"])
        target = uniform_edges(h, n_bins)
        old = np.asarray(run.edges, dtype=float).copy()
        uniform = uniform_edges(h, old.size - 1)
        if np.allclose(old, uniform, rtol=0, atol=_SNAP_BINS * h / (old.size - 1)):
            old = uniform  # equal bins across the slit, written with rounded z: take them exactly
        old[0], old[-1] = min(old[0], -h / 2), max(old[-1], h / 2)  # within tolerance: the walls
        density[i], sem[i] = rebin(old, run.density, target, run.error)
        z[i] = 0.5 * (target[1:] + target[:-1])
    unknown = [name for name in names if name not in INPUTS]
    if unknown:
        raise InputError(f"inputs {unknown} have no known units; known inputs are {list(INPUTS)}")
    inputs = {name: [run.inputs[name] for run in runs] for name in names}
    global_attrs = {
        "title": "imported molecular-dynamics density profiles",
        "rebinning": (
            f"conservative overlap averaging onto {n_bins} equal bins over (-h/2, h/2); "
            "errors propagated as independent (uqsurrogate.data.rebin)"
        ),
    }
    global_attrs.update(attrs or {})
    return make_dataset(
        inputs,
        z,
        density,
        sem,
        sample_coords={"source": np.array([run.source for run in runs], dtype=object)},
        attrs=global_attrs,
    )
