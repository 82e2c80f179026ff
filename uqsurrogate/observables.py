"""Observables of the confined electrolyte computed from density profiles (paper Eqs. 1-2).

* ``charge_density``: ρ(z) = e (n+ - n-), in C/m³ (1 mol/L of net charge = 9.6485e7 C/m³);
* ``integrated_charge``: S(z) = σ + ∫_{-h/2}^{z} ρ dz', in C/m², at the bin centres,
  integrating the bin averages exactly; meaningful up to the midplane.
"""

from __future__ import annotations

import numpy as np

from .constants import MOLAR_CHARGE

__all__ = ["OBSERVABLES", "UNITS", "charge_density", "from_densities", "integrated_charge"]

#: What a model function can return.
OBSERVABLES = ("density", "charge_density", "integrated_charge")
#: Their units.
UNITS = {"density": "mol/L", "charge_density": "C/m3", "integrated_charge": "C/m2"}


def charge_density(density: np.ndarray) -> np.ndarray:
    """ρ = e (n+ - n-) in C/m³ from densities (..., 2, n_bins) in mol/L; returns (..., n_bins).

    Examples
    --------
    >>> import numpy as np
    >>> charge_density(np.array([[1.0, 0.5], [0.5, 0.5]])).round(1)  # 0.5 mol/L of net charge in bin 0
    array([48242666.1,        0. ])
    """
    density = np.asarray(density)
    return MOLAR_CHARGE * (density[..., 0, :] - density[..., 1, :])


def integrated_charge(
    density: np.ndarray, h: np.ndarray, sigma: np.ndarray, n_bins: int | None = None
) -> np.ndarray:
    """S(z) = σ + ∫ρ dz' from the left wall to each bin centre, in C/m².

    Parameters
    ----------
    density : numpy.ndarray, shape (n, 2, n_bins)
        Bin averages in mol/L on equal bins across (-h/2, h/2).
    h : numpy.ndarray, shape (n,)
        nm.
    sigma : numpy.ndarray, shape (n,)
        C/m2.
    n_bins : int, optional
        Bins across the whole slit, when ``density`` holds only the first of them.

    Returns
    -------
    numpy.ndarray, shape (n, density.shape[-1])
    """
    rho = charge_density(density)
    width = np.asarray(h, dtype=float)[:, None] * 1e-9 / (n_bins or rho.shape[-1])  # m
    before = np.cumsum(rho, axis=-1) - rho  # bins wholly left of each centre
    return np.asarray(sigma, dtype=float)[:, None] + width * (before + 0.5 * rho)


def from_densities(output: str, density: np.ndarray, X: np.ndarray, input_names: list[str], *, n_bins: int,
                   bins: np.ndarray) -> np.ndarray:
    """The observable ``output`` from a model's cation and anion densities at inputs ``X``, in float64.

    Parameters
    ----------
    output : {"charge_density", "integrated_charge"}
    density : numpy.ndarray, shape (n, [K,] 2, m)
        mol/L (any float dtype), with an optional member axis: for ``charge_density`` at
        the selected bins, for ``integrated_charge`` at bins 0 to max(bins) of ``n_bins``
        equal bins across the slit.
    X : numpy.ndarray, shape (n, n_inputs)
        The inputs, named ``input_names`` (``integrated_charge`` needs h in nm and sigma).
    n_bins : int
    bins : numpy.ndarray of int
        The selected bins.

    Returns
    -------
    numpy.ndarray, shape (n, [K,] len(bins))
    """
    dens = np.asarray(density).astype(np.float64)
    if output == "charge_density":
        return charge_density(dens)
    lead = dens.shape[:-2]
    k = lead[1] if len(lead) > 1 else 1  # each member's S(z) from its own densities
    h = np.repeat(X[:, input_names.index("h")], k)
    sigma = np.repeat(X[:, input_names.index("sigma")], k)
    s = integrated_charge(dens.reshape(lead[0] * k, 2, -1), h, sigma, n_bins=n_bins)[:, bins]
    return s.reshape(*lead, -1)
