"""Fundamental measure theory for additive hard-sphere mixtures in planar geometry.

Free-energy densities (in units of kT per volume) as functions of the weighted densities
n0, n1, n2, n3 and the z-components of the vector densities nv1, nv2:

* White Bear mark II (Hansen-Goos & Roth, J. Phys.: Condens. Matter 18, 8413 (2006);
  review: Roth, J. Phys.: Condens. Matter 22, 063102 (2010)):

      Φ = -n0 ln(1-n3) + (n1 n2 - nv1 nv2) (1 + φ2/3) / (1-n3)
          + (n2³ - 3 n2 nv2²) (1 - φ3/3) / (24π (1-n3)²)

      φ2(x) = (2x - x² + 2(1-x) ln(1-x)) / x
      φ3(x) = (2x - 3x² + 2x³ + 2(1-x)² ln(1-x)) / x²

* Rosenfeld (1989): the same with φ2 = φ3 = 0.

For one component, White Bear II gives the Carnahan-Starling equation of state; the
tests check that against the closed form.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..errors import InputError

__all__ = ["FUNCTIONALS", "Derivatives", "bulk_thermodynamics", "derivatives"]

FUNCTIONALS = ("wbii", "rosenfeld")

#: Below this packing fraction φ2, φ3 and their derivatives come from their Taylor series
#: (the closed forms cancel badly near 0); the series' truncation error there is < 1e-12.
_SERIES_BELOW = 1e-2


def _phi23(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """φ2, φ2', φ3, φ3' of White Bear II at packing fraction ``x`` (any shape)."""
    x = np.asarray(x, dtype=float)
    small = x < _SERIES_BELOW
    xs = np.where(small, 0.5, x)  # the closed forms only where they are accurate
    lg = np.log1p(-xs)
    g = 2 * xs - xs**2 + 2 * (1 - xs) * lg
    dg = -2 * xs - 2 * lg
    k = 2 * xs - 3 * xs**2 + 2 * xs**3 + 2 * (1 - xs) ** 2 * lg
    dk = -4 * xs + 6 * xs**2 - 4 * (1 - xs) * lg
    out = [np.array(a, dtype=float) for a in (g / xs, dg / xs - g / xs**2, k / xs**2, dk / xs**2 - 2 * k / xs**3)]
    if small.any():
        # φ2 = Σ_{n>=3} 2 x^(n-1) / (n(n-1));  φ3 = 4x/3 - Σ_{n>=4} 4 x^(n-2) / (n(n-1)(n-2))
        t = x[small]
        series = [
            t**2 / 3 + t**3 / 6 + t**4 / 10 + t**5 / 15 + t**6 / 21,
            2 * t / 3 + t**2 / 2 + 2 * t**3 / 5 + t**4 / 3 + 2 * t**5 / 7,
            4 * t / 3 - t**2 / 6 - t**3 / 15 - t**4 / 30 - 2 * t**5 / 105,
            4 / 3 - t / 3 - t**2 / 5 - 2 * t**3 / 15 - 2 * t**4 / 21,
        ]
        for arr, ser in zip(out, series):
            arr[small] = ser
    return tuple(out)


class Derivatives(NamedTuple):
    """Φ and its partial derivatives with respect to each weighted density (same shapes)."""

    phi: np.ndarray
    d0: np.ndarray
    d1: np.ndarray
    d2: np.ndarray
    d3: np.ndarray
    dv1: np.ndarray
    dv2: np.ndarray


def derivatives(
    n0: np.ndarray,
    n1: np.ndarray,
    n2: np.ndarray,
    n3: np.ndarray,
    nv1: np.ndarray,
    nv2: np.ndarray,
    functional: str = "wbii",
) -> Derivatives:
    """Free-energy density Φ of FMT and its derivatives.

    Parameters
    ----------
    n0, n1, n2, n3, nv1, nv2 : numpy.ndarray, all of one shape
        Weighted densities (nv1, nv2: the components normal to the walls).
        ``n3`` must lie in [0, 1).
    functional : {"wbii", "rosenfeld"}, default "wbii"

    Returns
    -------
    Derivatives
        Φ (kT per volume) and ∂Φ/∂n0, ∂Φ/∂n1, ∂Φ/∂n2, ∂Φ/∂n3, ∂Φ/∂nv1, ∂Φ/∂nv2.
    """
    if functional not in FUNCTIONALS:
        raise InputError(f"functional = {functional!r}; allowed: {', '.join(FUNCTIONALS)}")
    one = 1.0 - n3
    lg = np.log(one)
    if functional == "wbii":
        p2, dp2, p3, dp3 = _phi23(n3)
    else:
        p2 = dp2 = p3 = dp3 = np.zeros_like(n3)
    f2 = (1 + p2 / 3) / one
    df2 = dp2 / 3 / one + (1 + p2 / 3) / one**2
    f3 = (1 - p3 / 3) / (24 * np.pi * one**2)
    df3 = -dp3 / 3 / (24 * np.pi * one**2) + (1 - p3 / 3) / (12 * np.pi * one**3)
    a2 = n1 * n2 - nv1 * nv2
    a3 = n2**3 - 3 * n2 * nv2**2
    return Derivatives(
        phi=-n0 * lg + a2 * f2 + a3 * f3,
        d0=-lg,
        d1=n2 * f2,
        d2=n1 * f2 + 3 * (n2**2 - nv2**2) * f3,
        d3=n0 / one + a2 * df2 + a3 * df3,
        dv1=-nv2 * f2,
        dv2=-nv1 * f2 - 6 * n2 * nv2 * f3,
    )


def bulk_thermodynamics(
    density: np.ndarray, radius: np.ndarray, functional: str = "wbii"
) -> tuple[np.ndarray, float]:
    """Excess chemical potentials and pressure of a homogeneous hard-sphere mixture.

    Parameters
    ----------
    density : numpy.ndarray, shape (n_species,)
        Number densities (per volume).
    radius : numpy.ndarray, shape (n_species,)
        Hard-sphere radii (same length unit).
    functional : {"wbii", "rosenfeld"}, default "wbii"

    Returns
    -------
    mu_ex : numpy.ndarray, shape (n_species,)
        Excess chemical potentials in kT.
    pressure : float
        Total pressure (ideal plus excess) in kT per volume: the functional's own equation
        of state, βP = Σ ρ_i + Σ_i ρ_i μ_ex,i - Φ.
    """
    rho = np.asarray(density, dtype=float)
    r = np.asarray(radius, dtype=float)
    xi = np.stack([np.ones_like(r), r, 4 * np.pi * r**2, 4 * np.pi * r**3 / 3])  # n_α = Σ ρ_i ξ_α,i
    n = xi @ rho
    zero = np.zeros(())
    d = derivatives(n[0], n[1], n[2], n[3], zero, zero, functional)
    mu_ex = d.d0 * xi[0] + d.d1 * xi[1] + d.d2 * xi[2] + d.d3 * xi[3]
    pressure = float(rho.sum() + rho @ mu_ex - d.phi)
    return mu_ex, pressure
