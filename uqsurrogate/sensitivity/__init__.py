"""Sensitivity analysis of any vectorised model: nested variance, Sobol/Saltelli, PCE.

Each method takes ``f(X (n, d)) -> (n, ...)`` (a ModelFunction or any function) and a
:class:`~uqsurrogate.problem.Problem`, and returns an xarray Dataset with an ``input`` dim
and the output's dims.
"""

from .nested import nested
from .pce import pce
from .sobol import CI_METHODS, ESTIMATORS, sobol

#: The methods, by name.
METHODS = ("nested", "sobol", "pce")

__all__ = ["CI_METHODS", "ESTIMATORS", "METHODS", "nested", "pce", "sobol"]
