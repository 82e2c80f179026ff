"""Physical constants and unit conversions, defined once (CODATA 2018, exact SI values).

Every module that converts units imports from here; no other module defines a constant.
"""

from __future__ import annotations

__all__ = [
    "AVOGADRO",
    "BOLTZMANN",
    "C_PER_M2_TO_E_PER_NM2",
    "ELEMENTARY_CHARGE",
    "FARADAY",
    "MOLAR_CHARGE",
    "MOLAR_TO_NM3",
    "NM3_TO_MOLAR",
    "VACUUM_PERMITTIVITY",
]

#: Elementary charge, C.
ELEMENTARY_CHARGE = 1.602176634e-19
#: Boltzmann constant, J/K.
BOLTZMANN = 1.380649e-23
#: Avogadro constant, 1/mol.
AVOGADRO = 6.02214076e23
#: Vacuum permittivity, F/m (CODATA 2018).
VACUUM_PERMITTIVITY = 8.8541878128e-12
#: Faraday constant, C/mol (e N_A; the float of CODATA 2018's exact value).
FARADAY = 96485.33212331001
#: 1 mol/L of elementary charges in C/m³.
MOLAR_CHARGE = FARADAY * 1e3
#: 1 mol/L in particles per nm³.
MOLAR_TO_NM3 = AVOGADRO * 1e-24
#: 1 particle per nm³ in mol/L.
NM3_TO_MOLAR = 1 / MOLAR_TO_NM3
#: 1 C/m² in elementary charges per nm².
C_PER_M2_TO_E_PER_NM2 = 1e-18 / ELEMENTARY_CHARGE
