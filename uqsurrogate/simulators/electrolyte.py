"""Classical DFT of a monovalent electrolyte between two charged planar walls.

The model (``docs/simulator.md`` gives the physics and the numerics in full):

* cations (+e, diameter d+) and anions (-e, diameter d-) as additive hard spheres in a
  continuum solvent of relative permittivity εr at temperature T;
* walls at z = ±h/2, each with surface charge density σ ≤ 0; the ions feel a purely
  repulsive Lennard-Jones 12-6 wall (LAMMPS ``wall/lj126``, ε = kT, σ_w = d_i/2, cut at
  2^(1/6) σ_w), or hard walls (centres within h/2 - d_i/2);
* F = F_id + F_hs (fundamental measure theory, White Bear II by default) + F_el (mean field);
* canonical: N-/A = c h N_A, N+/A = N-/A + 2|σ|/e.

Numerics: the slit is cut into equal cells; densities are cell averages, and the
weighted densities are exact convolutions of that piecewise-constant density with the
FMT kernels (cell-integrated kernels applied by FFT). The wall's Boltzmann factor is
averaged over each cell by Gauss-Legendre quadrature, so a hard wall inside a cell is
handled by the accessible fraction. The Poisson equation is integrated exactly for
piecewise-constant charge. The Euler-Lagrange equation is iterated for
x_i = ln(n_i / <e^{-V_i}>) with Anderson acceleration to a maximum change of ``tol``
(a relative change of the densities).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np
import scipy.fft

from ..constants import (
    BOLTZMANN,
    C_PER_M2_TO_E_PER_NM2,
    ELEMENTARY_CHARGE,
    MOLAR_TO_NM3,
    VACUUM_PERMITTIVITY,
)
from ..errors import ConvergenceError, InputError
from .fmt import FUNCTIONALS, derivatives

__all__ = ["SlitModel", "SlitSolution", "bjerrum_length", "solve_slit", "ConvergenceError"]

logger = logging.getLogger(__name__)

#: Wall potentials: soft (WCA, as in the MD) or hard.
WALLS = ("soft", "hard")
#: Hard-sphere functionals of the solver; "none" gives point ions.
SOLVER_FUNCTIONALS = (*FUNCTIONALS, "none")

CHARGES = np.array([1.0, -1.0])


def bjerrum_length(temperature: float = 298.0, permittivity: float = 80.0) -> float:
    """Bjerrum length l_B = e² / (4π ε0 εr kB T) in nm.

    Parameters
    ----------
    temperature : float, default 298.0
        Kelvin.
    permittivity : float, default 80.0
        Relative permittivity of the solvent.

    Returns
    -------
    float

    Examples
    --------
    >>> round(bjerrum_length(298.0, 80.0), 4)
    0.7009
    """
    return ELEMENTARY_CHARGE**2 / (4 * math.pi * VACUUM_PERMITTIVITY * permittivity * BOLTZMANN * temperature) * 1e9


@dataclass(frozen=True)
class SlitModel:
    """Physical model and numerical settings of the slit solver.

    Parameters
    ----------
    temperature : float, default 298.0
        K.
    permittivity : float, default 80.0
        Relative permittivity εr.
    wall : {"soft", "hard"}, default "soft"
        The MD's WCA wall (``wall/lj126``, ε = ``wall_epsilon`` kT, σ_w = d_i/2), or hard walls.
    wall_epsilon : float, default 1.0
        Wall ε in kT.
    functional : {"wbii", "rosenfeld", "none"}, default "wbii"
        Hard-sphere functional; ``"none"`` drops F_hs (point ions: Poisson-Boltzmann).
    electrostatics : bool, default True
        Include the mean-field Coulomb term.
    cells_per_nm : float, default 224
        Grid resolution (a cell of about 0.0045 nm).  With ``n_bins`` the number of cells is
        rounded to a multiple of it, so that each bin averages whole cells.
    tol : float, default 1e-8
        Convergence: the largest change of ln n in an iteration.
    max_iter : int, default 3000
    anderson_memory : int, default 6
    mixing : float, default 0.5
    """

    temperature: float = 298.0
    permittivity: float = 80.0
    wall: str = "soft"
    wall_epsilon: float = 1.0
    functional: str = "wbii"
    electrostatics: bool = True
    cells_per_nm: float = 224.0
    tol: float = 1e-8
    max_iter: int = 3000
    anderson_memory: int = 6
    mixing: float = 0.5

    def __post_init__(self) -> None:
        if self.wall not in WALLS:
            raise InputError(f"wall = {self.wall!r}; allowed: soft, hard")
        if self.functional not in SOLVER_FUNCTIONALS:
            raise InputError(f"functional = {self.functional!r}; allowed: {', '.join(FUNCTIONALS)}, none")
        for name, lo in (("temperature", 0), ("permittivity", 0), ("cells_per_nm", 0), ("tol", 0)):
            if not getattr(self, name) > lo:
                raise InputError(f"{name} = {getattr(self, name)!r}; it must be > {lo}")
        if not 0 < self.mixing <= 1:
            raise InputError(f"mixing = {self.mixing!r}; allowed: (0, 1]")

    @property
    def bjerrum_length(self) -> float:
        """l_B in nm."""
        return bjerrum_length(self.temperature, self.permittivity)


@dataclass(frozen=True)
class SlitSolution:
    """A converged density profile.

    Attributes
    ----------
    edges : numpy.ndarray, shape (n_cells + 1,)
        Cell edges in nm, from -h/2 to h/2.
    density : numpy.ndarray, shape (2, n_cells)
        Cell-averaged number densities of (cation, anion) in nm^-3.
    potential : numpy.ndarray, shape (n_cells,)
        Reduced electrostatic potential eψ/kT at the cell centres (zero at the left wall).
    iterations : int
    residual : float
    """

    edges: np.ndarray
    density: np.ndarray
    potential: np.ndarray
    iterations: int
    residual: float
    info: dict = field(default_factory=dict)

    @property
    def z(self) -> np.ndarray:
        """Cell centres in nm, shape (n_cells,)."""
        return 0.5 * (self.edges[1:] + self.edges[:-1])

    def bin_average(self, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
        """Average whole cells into ``n_bins`` equal bins.

        Returns
        -------
        z : numpy.ndarray, shape (n_bins,)
            Bin centres in nm.
        density : numpy.ndarray, shape (2, n_bins)
            In nm^-3.
        """
        n_cells = self.density.shape[1]
        if n_cells % n_bins:
            raise InputError(f"n_bins = {n_bins} does not divide the {n_cells} cells")
        k = n_cells // n_bins
        dens = self.density.reshape(2, n_bins, k).mean(axis=2)
        e = self.edges[::k]
        return 0.5 * (e[1:] + e[:-1]), dens


def _wall_boltzmann(z_edges: np.ndarray, h: float, radius: float, model: SlitModel, order: int = 8) -> np.ndarray:
    """Cell averages of exp(-V_wall) for one species, shape (n_cells,)."""
    x, w = np.polynomial.legendre.leggauss(order)
    lo, hi = z_edges[:-1, None], z_edges[1:, None]
    z = 0.5 * (lo + hi) + 0.5 * (hi - lo) * x[None, :]
    r = np.stack([z + h / 2, h / 2 - z])  # distance from each wall
    if model.wall == "hard":
        inside = np.all(r >= radius, axis=0)
        factor = inside.astype(float)
    else:
        sw = radius
        cut = 2 ** (1 / 6) * sw
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            s6 = (sw / np.maximum(r, 1e-300)) ** 6
            v = np.where(r < cut, 4 * model.wall_epsilon * (s6 * s6 - s6) + model.wall_epsilon, 0.0)
        v = np.where(r <= 0, np.inf, v).sum(axis=0)
        factor = np.exp(-np.minimum(v, 800.0))
        factor[v > 100.0] = 0.0  # e^-100: no ion reaches here (exact zeros, as in MD)
    return 0.5 * (factor * w[None, :]).sum(axis=1)


def _kernel(radius: float, dz: float, which: str) -> np.ndarray:
    """Cell-integrated planar FMT kernel K[m] = ∫_{(m-1/2)dz}^{(m+1/2)dz} w(s) ds, m = -M..M."""
    m_max = int(math.ceil(radius / dz + 0.5))
    m = np.arange(-m_max, m_max + 1)
    a = np.clip((m - 0.5) * dz, -radius, radius)
    b = np.clip((m + 0.5) * dz, -radius, radius)
    if which == "w3":  # π (R² - s²)
        f = lambda s: math.pi * (radius**2 * s - s**3 / 3)  # noqa: E731
    elif which == "w2":  # 2π R
        f = lambda s: 2 * math.pi * radius * s  # noqa: E731
    else:  # "wv2": 2π s
        f = lambda s: math.pi * s**2  # noqa: E731
    return f(b) - f(a)


#: The bulk packing fraction above which inputs are refused (the hard-sphere fluid freezes near 0.49).
MAX_PACKING = 0.5
#: The solver's peak memory per grid cell, bytes: the wall's Boltzmann factor at 8 quadrature points per
#: cell, the FMT weighted densities and their spectra, the Anderson history (tracemalloc measured 0.7 to
#: 1.3 kB per cell from 1e4 to 2e5 cells, with 6 and 10 Anderson steps; rounded up).
BYTES_PER_CELL = 1536
#: The largest grid one design row may ask for: 2**20 cells, about 1.5 GiB at the solver's peak (h up to
#: about 4,700 nm at the default 224 cells/nm, a thousand times the paper's slits).  A row beyond it (h = 1e6
#: nm asked for 2.2e8 cells and grew to 24 GB) is refused before any work.
MAX_CELLS = 2**20


def grid_cells(h: float, model: SlitModel, n_bins: int | None = None) -> int:
    """The number of cells of the solver's grid for a slit of width ``h`` (as :func:`solve_slit` sizes it).

    ``ceil(h * cells_per_nm)``; with ``n_bins``, the nearest multiple of it (at least ``n_bins``), so
    that each bin averages whole cells.  Huge widths are estimated in floating point (never an
    integer overflow).
    """
    wanted = h * model.cells_per_nm
    if not math.isfinite(wanted) or wanted > 2**62:
        return 2**62
    if n_bins is None:
        return math.ceil(wanted)
    return int(n_bins) * max(1, round(wanted / int(n_bins)))


def check_row(h: float, c: float, d_plus: float, d_minus: float, sigma: float, model: SlitModel | None = None,
              n_bins: int | None = None) -> None:
    """Check one design row before any solving: finite, physical, a fluid the solver can handle, and a
    grid within :data:`MAX_CELLS` (``n_bins``: the output bins the grid must divide into).

    Raises
    ------
    InputError
        Naming the input and the allowed range.
    """
    _check_inputs(h, c, d_plus, d_minus, sigma, model or SlitModel(), n_bins)


def _check_grid(h: float, model: SlitModel, n_bins: int | None) -> None:
    cells = grid_cells(h, model, n_bins)
    if cells <= MAX_CELLS:
        return
    bins = "" if n_bins is None else f" in {n_bins} bins"
    fix = (f"use fewer bins (at most {MAX_CELLS})" if n_bins is not None and n_bins > MAX_CELLS
           else f"h <= {MAX_CELLS / model.cells_per_nm:.0f} nm at {model.cells_per_nm:g} cells/nm")
    raise InputError(f"h = {h:g} nm{bins} needs a solver grid of {cells:.3g} cells, about "
                     f"{cells * BYTES_PER_CELL / 2**30:.3g} GiB; the solver is bounded to {MAX_CELLS} cells "
                     f"(about {MAX_CELLS * BYTES_PER_CELL / 2**30:.1f} GiB): {fix}")


def _check_inputs(h: float, c: float, d_plus: float, d_minus: float, sigma: float, model: SlitModel,
                  n_bins: int | None = None) -> None:
    values = {"h": h, "c": c, "d_plus": d_plus, "d_minus": d_minus, "sigma": sigma}
    for name, value in values.items():
        if not np.isfinite(value):
            raise InputError(f"{name} = {value!r} is not a finite number")
    if not h > 0:
        raise InputError(f"h = {h} nm; the wall separation must be > 0")
    if not c > 0:
        raise InputError(f"c = {c} mol/L; the salt concentration must be > 0 (the solver needs a bulk reservoir)")
    if sigma > 0:
        raise InputError(f"sigma = {sigma} C/m2; the model needs sigma <= 0 (its counterions are the cations)")
    hs = model.functional != "none"
    for name in ("d_plus", "d_minus"):
        d = values[name]
        if d < 0 or (hs and d == 0):
            raise InputError(f"{name} = {d} nm; ion diameters must be > 0 (or 0 with functional='none')")
        if d >= h:
            raise InputError(f"{name} = {d} nm does not fit between walls h = {h} nm apart; need {name} < h")
    # the 1:1 salt's bulk packing fraction: beyond about 0.5 there is no fluid to solve for
    eta = math.pi / 6 * c * MOLAR_TO_NM3 * (d_plus**3 + d_minus**3)
    if eta >= MAX_PACKING:
        raise InputError(f"c = {c} mol/L with d_plus = {d_plus}, d_minus = {d_minus} nm packs the bulk to "
                         f"{eta:.2f}; the fluid solver needs a packing fraction below {MAX_PACKING}")
    _check_grid(h, model, n_bins)


def solve_slit(
    h: float,
    c: float,
    d_plus: float,
    d_minus: float,
    sigma: float,
    model: SlitModel | None = None,
    n_bins: int | None = None,
) -> SlitSolution:
    """Solve for the equilibrium ion profiles in the slit.

    Parameters
    ----------
    h : float
        Wall separation, nm.
    c : float
        Salt concentration N-/V, mol/L.
    d_plus, d_minus : float
        Ion diameters, nm.
    sigma : float
        Surface charge density of each wall, C/m2 (<= 0).
    model : SlitModel, optional
        Physics and numerics; the defaults are the paper's MD model.
    n_bins : int, optional
        Output bins the solution will be averaged onto: the number of cells becomes a
        multiple of it (at least ``n_bins``).

    Returns
    -------
    SlitSolution

    Raises
    ------
    ValueError
        For inputs that make no physical sense, naming the input and the allowed range, or
        whose grid would exceed :data:`MAX_CELLS`.
    ConvergenceError
        If the iteration fails to converge.
    """
    model = model or SlitModel()
    _check_inputs(h, c, d_plus, d_minus, sigma, model, n_bins)
    radii = np.array([d_plus, d_minus]) / 2
    n_cells = grid_cells(h, model, n_bins)
    dz = h / n_cells
    edges = np.linspace(-h / 2, h / 2, n_cells + 1)
    boltz = np.stack([_wall_boltzmann(edges, h, r, model) for r in radii])
    sigma_e = sigma * C_PER_M2_TO_E_PER_NM2  # e per nm^2 (<= 0)
    n_minus = c * MOLAR_TO_NM3 * h
    totals = np.array([n_minus + 2 * abs(sigma_e), n_minus])  # ions per nm^2
    lb = model.bjerrum_length

    hs = model.functional != "none"
    pad = int(math.ceil(radii.max() / dz)) + 2 if hs else 0
    n_ext = n_cells + 2 * pad
    if hs:
        half = max(int(math.ceil(r / dz + 0.5)) for r in radii)
        n_fft = scipy.fft.next_fast_len(n_ext + 2 * half + 1, real=True)

        def spectrum(k: np.ndarray) -> np.ndarray:
            arr = np.zeros(n_fft)
            m = (k.size - 1) // 2
            arr[: m + 1] = k[m:]
            arr[n_fft - m :] = k[:m]
            return scipy.fft.rfft(arr)

        # per species: spectra of w3, w2, wv2
        kern = np.array([[spectrum(_kernel(r, dz, w)) for w in ("w3", "w2", "wv2")] for r in radii])

    accessible = boltz > 0
    log_boltz = np.where(accessible, np.log(np.where(accessible, boltz, 1.0)), -np.inf)
    log_totals = np.log(totals / dz)[:, None]

    def normalise(x: np.ndarray) -> np.ndarray:
        """Shift x per species so that sum(exp(x) * boltz) * dz = N/A."""
        y = x + log_boltz
        top = y.max(axis=1, keepdims=True)
        return x - top - np.log(np.exp(y - top).sum(axis=1, keepdims=True)) + log_totals

    def fixed_point_map(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rho = np.exp(x + log_boltz)  # x is normalised: this integrates to N/A per species
        field_ = np.zeros((2, n_cells))
        if hs:
            rho_hat = scipy.fft.rfft(np.pad(rho, ((0, 0), (pad, n_fft - n_cells - pad))), axis=1)
            per_species = rho_hat[:, None, :] * kern  # (species, [w3, w2, wv2], freq)
            weights = np.stack(
                [
                    (per_species[:, 1] / (4 * np.pi * radii[:, None] ** 2)).sum(axis=0),  # n0
                    (per_species[:, 1] / (4 * np.pi * radii[:, None])).sum(axis=0),  # n1
                    per_species[:, 1].sum(axis=0),  # n2
                    per_species[:, 0].sum(axis=0),  # n3
                    (per_species[:, 2] / (4 * np.pi * radii[:, None])).sum(axis=0),  # nv1
                    per_species[:, 2].sum(axis=0),  # nv2
                ]
            )
            n0, n1, n2, n3, nv1, nv2 = scipy.fft.irfft(weights, n_fft, axis=1)[:, :n_ext]
            if not np.all(n3 < 1):
                raise FloatingPointError("packing fraction n3 >= 1")
            d = derivatives(n0, n1, n2, n3, nv1, nv2, model.functional)
            spec = scipy.fft.rfft(np.stack([d.d0, d.d1, d.d2, d.d3, d.dv1, d.dv2]), n_fft, axis=1)
            r = radii[:, None]
            scalar2 = spec[0][None] / (4 * np.pi * r**2) + spec[1][None] / (4 * np.pi * r) + spec[2][None]
            vector = spec[4][None] / (4 * np.pi * r) + spec[5][None]
            # c1 = -Σ_α ∂Φ/∂n_α ⊛ w_α (scalar kernels even, the vector kernel odd)
            c1_hat = -(scalar2 * kern[:, 1] + spec[3][None] * kern[:, 0]) + vector * kern[:, 2]
            field_ += scipy.fft.irfft(c1_hat, n_fft, axis=1)[:, pad : pad + n_cells]
        psi = np.zeros(n_cells)
        if model.electrostatics:
            # Gauss: -dφ/dz = 4π l_B [σ/e + ∫_{-h/2}^z (n+ - n-) dz'], exact for piecewise-constant charge
            s_edge = sigma_e + dz * np.concatenate([[0.0], np.cumsum(CHARGES @ rho)])
            e_edge = 4 * np.pi * lb * s_edge
            before = np.concatenate([[0.0], np.cumsum(0.5 * dz * (e_edge[:-1] + e_edge[1:]))[:-1]])
            e_mid = 0.5 * (e_edge[:-1] + e_edge[1:])
            psi = -(before + 0.25 * dz * (e_edge[:-1] + e_mid))
            field_ -= CHARGES[:, None] * psi[None, :]
        return normalise(field_), rho, psi

    # x = ln(n / <e^-V>), normalised; start from uniform densities
    x = normalise(np.zeros((2, n_cells)))
    mask = accessible
    hist_x: list[np.ndarray] = []
    hist_r: list[np.ndarray] = []
    beta = model.mixing
    residual = np.inf
    for it in range(1, model.max_iter + 1):
        try:
            gx, rho, psi = fixed_point_map(x)
        except FloatingPointError:
            if not hist_x:
                raise ConvergenceError(f"packing too high at the start: h={h}, c={c}, d+={d_plus}, d-={d_minus}")
            x = hist_x[-1].reshape(2, n_cells)
            hist_x.clear()
            hist_r.clear()
            beta *= 0.5
            continue
        r = np.where(mask, gx - x, 0.0)
        residual = float(np.abs(r).max())
        if not np.isfinite(residual):
            raise ConvergenceError(f"non-finite residual at iteration {it}")
        if residual <= model.tol:
            break
        hist_x.append(x.ravel().copy())
        hist_r.append(r.ravel().copy())
        if len(hist_x) > model.anderson_memory + 1:
            hist_x.pop(0)
            hist_r.pop(0)
        step = beta * r.ravel()
        if len(hist_x) > 1:
            dx = np.diff(np.array(hist_x), axis=0).T
            dr = np.diff(np.array(hist_r), axis=0).T
            gamma, *_ = np.linalg.lstsq(dr, r.ravel(), rcond=None)
            x_new = x.ravel() + step - (dx + beta * dr) @ gamma
        else:
            x_new = x.ravel() + step
        x = normalise(np.where(mask, x_new.reshape(x.shape), x))
    else:
        raise ConvergenceError(
            f"no convergence in {model.max_iter} iterations (residual {residual:.2e} > tol {model.tol:.0e}) "
            f"for h={h}, c={c}, d_plus={d_plus}, d_minus={d_minus}, sigma={sigma}"
        )
    return SlitSolution(edges=edges, density=rho, potential=psi, iterations=it, residual=residual)
