"""Sensitivity analysis of any vectorised model: nested variance, Sobol/Saltelli, PCE.

Each method takes ``f(X (n, d)) -> (n, ...)`` (a ModelFunction or any function) and a
:class:`~uqsurrogate.problem.Problem`, and returns an xarray Dataset with an ``input`` dim
and the output's dims.
"""

from .nested import nested
from .pce import pce
from .sobol import ESTIMATORS, sobol

__all__ = ["ESTIMATORS", "nested", "pce", "sobol"]
