"""Conventions every layer shares: the inputs of the confined electrolyte, their units, the species.

This module is the foundation below :mod:`uqsurrogate.data`, :mod:`uqsurrogate.problem` and
the estimators: it imports nothing of the package, so any of them can import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["CONVENTIONS", "DENSITY_UNITS", "INPUTS", "SPECIES", "Z_UNITS", "InputSpec"]

#: The CF conventions every netCDF output of the package follows.
CONVENTIONS = "CF-1.10"
#: The ion species of a profile, in the order of the ``species`` dim.
SPECIES = ("cation", "anion")
#: Units of the bin centres z.
Z_UNITS = "nm"
#: Units of number densities.
DENSITY_UNITS = "mol/L"


@dataclass(frozen=True)
class InputSpec:
    """Name, units and description of one input variable."""

    name: str
    units: str
    long_name: str


#: The inputs of the confined-electrolyte system (paper Table I), in their canonical order.
INPUTS: Mapping[str, InputSpec] = MappingProxyType(
    {
        spec.name: spec
        for spec in (
            InputSpec("h", "nm", "wall separation (confinement length)"),
            InputSpec("c", "mol/L", "salt concentration"),
            InputSpec("d_plus", "nm", "cation diameter"),
            InputSpec("d_minus", "nm", "anion diameter"),
            InputSpec("sigma", "C/m2", "surface charge density of each wall"),
        )
    }
)
