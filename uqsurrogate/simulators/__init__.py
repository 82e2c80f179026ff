"""The embedded reference simulator and designs of experiments.

* :func:`solve_slit` — cDFT of a monovalent electrolyte between charged walls
  (White Bear II FMT, mean-field electrostatics, canonical, soft WCA walls).
* :class:`NoiseModel` — MD-like block-averaged counting noise, errors by the paper's Eq. 4.
* :class:`ElectrolyteSimulator` and :func:`simulate` — whole designs, in parallel,
  resumably, into a training dataset.
* :func:`paper_grid`, :func:`sobol_design`, :func:`random_design`, :func:`read_design`,
  :func:`shipped_design`.
"""

from .design import PAPER_BOUNDS, paper_grid, random_design, read_design, shipped_design, sobol_design
from .electrolyte import ConvergenceError, SlitModel, SlitSolution, bjerrum_length, solve_slit
from .noise import NoiseModel
from .runner import ElectrolyteSimulator, simulate

__all__ = [
    "PAPER_BOUNDS",
    "ConvergenceError",
    "ElectrolyteSimulator",
    "NoiseModel",
    "SlitModel",
    "SlitSolution",
    "bjerrum_length",
    "paper_grid",
    "random_design",
    "read_design",
    "shipped_design",
    "simulate",
    "sobol_design",
    "solve_slit",
]
