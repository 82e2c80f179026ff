"""Sensitivity analysis of any vectorised model: nested variance, Sobol/Saltelli, PCE.

Each method takes ``f(X (n, d)) -> (n, ...)`` (a ModelFunction or any function) and a
:class:`~uqsurrogate.problem.Problem`, and returns an xarray Dataset with an ``input`` dim
and the output's dims.

For models outside Python, :mod:`.external` splits each method SALib's way: ``*_sample``
writes the design, ``*_analyze`` takes the outputs back keyed by row.
"""

from .external import (
    analyze,
    load_design,
    load_outputs,
    nested_analyze,
    nested_sample,
    pce_analyze,
    pce_sample,
    sample,
    save_design,
    sobol_analyze,
    sobol_sample,
)
from .nested import nested
from .pce import pce
from .sobol import CI_METHODS, ESTIMATORS, sobol

#: The methods, by name.
METHODS = ("nested", "sobol", "pce")

__all__ = ["CI_METHODS", "ESTIMATORS", "METHODS", "analyze", "load_design", "load_outputs", "nested", "nested_analyze",
           "nested_sample", "pce", "pce_analyze", "pce_sample", "sample", "save_design", "sobol", "sobol_analyze",
           "sobol_sample"]
