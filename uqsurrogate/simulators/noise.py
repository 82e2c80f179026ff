"""MD-like sampling noise on exact density profiles.

An MD run estimates n(z) by counting ions in bins.  Here each of ``n_blocks`` blocks
counts ions in every bin over ``configs_per_block`` independent configurations of a box
of lateral area ``lateral_area``: the count is Poisson with mean
λ = n_true · A · Δz · configs_per_block.  A block's density is its count over
A · Δz · configs_per_block; the estimate is the mean of the blocks, and its error the
paper's Eq. 4, the spread of the block averages, sqrt((1/S) Σ_s (n_s - n̄)²)
(``error="sem"``: divided by sqrt(S - 1), the standard error of the mean).

The defaults (64 nm², 10 blocks, 15,000 configurations per block) give a relative error
of about 2 % per block in the bulk of a 0.5 M electrolyte on 502 bins across 4.5 nm, as in
the real MD profiles.  Bins no ion reaches have density 0 and error 0.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .._validation import check_int
from ..constants import MOLAR_TO_NM3
from ..data.lammps import ERROR_METHODS, ave_chunk_profile
from ..errors import InputError

__all__ = ["NoiseModel"]


@dataclass(frozen=True)
class NoiseModel:
    """Counting noise of block-averaged MD density profiles (see the module docstring).

    Parameters
    ----------
    lateral_area : float, default 64.0
        Box area parallel to the walls, nm².
    n_blocks : int, default 10
        Blocks per run (S in Eq. 4), >= 2.
    configs_per_block : int, default 15000
        Independent configurations averaged in each block.
    error : {"paper-eq4", "sem"}, default "paper-eq4"
    """

    lateral_area: float = 64.0
    n_blocks: int = 10
    configs_per_block: int = 15000
    error: str = "paper-eq4"

    def __post_init__(self) -> None:
        if not self.lateral_area > 0:
            raise InputError(f"lateral_area = {self.lateral_area!r} nm^2; it must be > 0")
        check_int(self.n_blocks, "n_blocks", min_value=2)
        check_int(self.configs_per_block, "configs_per_block", min_value=1)
        if self.error not in ERROR_METHODS:
            raise InputError(f"error = {self.error!r}; allowed: {', '.join(ERROR_METHODS)}")

    def as_dict(self) -> dict:
        """The settings, for the output file's attributes."""
        return asdict(self)

    def sample(
        self, density_true: np.ndarray, bin_width: float, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Draw an MD-like estimate and its error.

        Parameters
        ----------
        density_true : numpy.ndarray, shape (..., n_bins)
            Exact bin averages, mol/L.
        bin_width : float
            nm.
        rng : numpy.random.Generator

        Returns
        -------
        density, density_sem : numpy.ndarray, shape (..., n_bins)
            mol/L.
        """
        volume = self.lateral_area * bin_width * self.configs_per_block  # nm^3 sampled per block and bin
        lam = np.asarray(density_true, dtype=float) * MOLAR_TO_NM3 * volume
        counts = rng.poisson(lam, size=(self.n_blocks, *lam.shape))
        blocks = counts / (volume * MOLAR_TO_NM3)  # mol/L
        flat = blocks.reshape(self.n_blocks, -1)
        mean, err = ave_chunk_profile(flat, self.error)
        return mean.reshape(lam.shape), err.reshape(lam.shape)
