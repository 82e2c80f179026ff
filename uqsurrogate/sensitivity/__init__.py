"""Sensitivity analysis of any vectorised model: nested variance, Sobol/Saltelli, PCE.

Each method takes ``f(X (n, d)) -> (n, ...)`` (a ModelFunction or any function) and a
:class:`~uqsurrogate.problem.Problem`, and returns an xarray Dataset with an ``input`` dim
and the output's dims.

For models outside Python, :mod:`.external` splits each method SALib's way: ``*_sample``
writes the design, ``*_analyze`` takes the outputs back keyed by row.

Each method is one record, its ``SPEC`` (:class:`.registry.MethodSpec`), registered below
with one line; :func:`run`, :func:`sample`, :func:`analyze` and the command line read the
registry (docs/sensitivity.md, "How to add a sensitivity method").
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
from .nested import SPEC as _NESTED, nested
from .pce import SPEC as _PCE, pce
from .registry import METHODS, REGISTRY, MethodSpec, Option, get, register, run, unregister
from .sobol import CI_METHODS, ESTIMATORS, SPEC as _SOBOL, sobol

register(_NESTED)
register(_SOBOL)
register(_PCE)

__all__ = ["CI_METHODS", "ESTIMATORS", "METHODS", "REGISTRY", "MethodSpec", "Option", "analyze", "get", "load_design",
           "load_outputs", "nested", "nested_analyze", "nested_sample", "pce", "pce_analyze", "pce_sample", "register",
           "run", "sample", "save_design", "sobol", "sobol_analyze", "sobol_sample", "unregister"]
