"""Physics of the reference simulator, against exact relations and independent solutions."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.integrate import solve_bvp
from scipy.signal import argrelmax

from uqsurrogate.constants import C_PER_M2_TO_E_PER_NM2, MOLAR_TO_NM3
from uqsurrogate.errors import InputError
from uqsurrogate.simulators import (
    PAPER_BOUNDS,
    SlitModel,
    bjerrum_length,
    random_design,
    solve_slit,
)
from uqsurrogate.simulators.fmt import bulk_thermodynamics, derivatives

CASES = [  # h, c, d+, d-, sigma: corners and middle of the paper's box, and the real MD's h = 3 nm
    (4.5, 0.5, 0.4, 0.6, -0.015),
    (4.0, 2.0, 0.63, 0.63, -0.02),
    (5.0, 0.1, 0.2, 0.2, -0.01),
    (4.0, 2.0, 0.2, 0.63, -0.02),
    (3.0, 0.5, 0.714, 0.714, -0.01),
]


def test_bjerrum_length_from_codata():
    # e^2/(4 pi eps0 kB T) = 56.0 nm at 298 K; over 80 -> 0.70 nm (and 0.714 nm at eps_r = 78.5)
    assert bjerrum_length(298.0, 80.0) == pytest.approx(0.7008, abs=2e-4)
    assert bjerrum_length(298.0, 78.5) == pytest.approx(0.714, abs=1e-3)


@pytest.mark.parametrize("eta", [0.005, 0.05, 0.2, 0.35, 0.45])
def test_white_bear_ii_bulk_is_carnahan_starling(eta):
    r = 0.25
    rho = eta / (4 / 3 * np.pi * r**3)
    mu, p = bulk_thermodynamics(np.array([rho]), np.array([r]))
    assert p == pytest.approx(rho * (1 + eta + eta**2 - eta**3) / (1 - eta) ** 3, rel=1e-12)
    assert mu[0] == pytest.approx((8 * eta - 9 * eta**2 + 3 * eta**3) / (1 - eta) ** 3, rel=1e-12)


@pytest.mark.parametrize("functional", ["wbii", "rosenfeld"])
def test_fmt_derivatives_match_finite_differences(functional):
    rng = np.random.default_rng(1)
    args = [rng.uniform(0.1, 1, 7) * s for s in (1, 0.5, 3, 0.3)] + [rng.uniform(-0.1, 0.1, 7),
                                                                      rng.uniform(-0.3, 0.3, 7)]
    d = derivatives(*args, functional=functional)
    for k, name in enumerate(["d0", "d1", "d2", "d3", "dv1", "dv2"]):
        step = 1e-6
        up, down = list(args), list(args)
        up[k], down[k] = args[k] + step, args[k] - step
        fd = (derivatives(*up, functional=functional).phi - derivatives(*down, functional=functional).phi) / (2 * step)
        np.testing.assert_allclose(getattr(d, name), fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("case", CASES)
def test_electroneutrality_normalisation_symmetry(case):
    h, c, dp, dm, sigma = case
    sol = solve_slit(*case)
    dz = np.diff(sol.edges)
    per_area = sol.density @ dz
    n_minus = c * MOLAR_TO_NM3 * h
    sigma_e = sigma * C_PER_M2_TO_E_PER_NM2
    np.testing.assert_allclose(per_area, [n_minus + 2 * abs(sigma_e), n_minus], rtol=1e-13)
    assert abs(per_area[0] - per_area[1] + 2 * sigma_e) < 1e-13 * per_area.sum()
    # mirror symmetry, to the solver tolerance (1e-8 in ln n)
    np.testing.assert_allclose(sol.density, sol.density[:, ::-1], rtol=1e-7, atol=1e-12 * sol.density.max())
    assert sol.residual <= 1e-8
    assert np.all(np.isfinite(sol.density)) and np.all(sol.density >= 0)


def test_point_ion_limit_is_poisson_boltzmann():
    """d -> 0 with the hard-sphere term off: the canonical PB problem, solved independently by solve_bvp."""
    h, c, sigma = 3.0, 0.2, -0.02
    lb = bjerrum_length()
    sigma_e = sigma * C_PER_M2_TO_E_PER_NM2
    n_minus = c * MOLAR_TO_NM3 * h
    n_plus = n_minus + 2 * abs(sigma_e)
    sol = solve_slit(h, c, 0.0, 0.0, sigma, SlitModel(functional="none", wall="hard", cells_per_nm=600))

    def rhs(z, y, p):  # y = (phi, phi', ions+ from the wall, ions- from the wall); p = prefactors
        n_p, n_m = p[0] * np.exp(-y[0]), p[1] * np.exp(y[0])
        return np.vstack([y[1], -4 * np.pi * lb * (n_p - n_m), n_p, n_m])

    def bc(ya, yb, p):  # Gauss at the wall, gauge at the midplane, half the ions in each half
        return np.array([ya[1] + 4 * np.pi * lb * sigma_e, yb[0], ya[2], ya[3], yb[2] - n_plus / 2,
                         yb[3] - n_minus / 2])

    z = np.linspace(-h / 2, 0, 200)
    guess = np.vstack([0 * z, 0 * z, (z + h / 2) * n_plus / h, (z + h / 2) * n_minus / h])
    ref = solve_bvp(rhs, bc, z, guess, p=[n_plus / h, n_minus / h], tol=1e-10, max_nodes=100_000)
    assert ref.status == 0
    left = sol.z < 0
    phi = ref.sol(sol.z[left])[0]
    pb = np.stack([ref.p[0] * np.exp(-phi), ref.p[1] * np.exp(phi)])
    # cell averages vs point values differ by O(dz^2 n''), about 1e-6 here
    np.testing.assert_allclose(sol.density[:, left], pb, rtol=2e-6)


@pytest.mark.parametrize("c, d", [(4.0, 0.4), (7.0, 0.4)])
def test_hard_sphere_contact_theorem(c, d):
    """Uncharged wide slit, hard walls: kT sum_i n_i(contact) = P_bulk (the functional's own EOS)."""
    h = 15 * d
    sol = solve_slit(h, c, d, d, 0.0, SlitModel(wall="hard", electrostatics=False))
    total = sol.density.sum(axis=0)
    mid = sol.density[:, sol.z.size // 2]
    eta = np.pi / 6 * d**3 * mid.sum()
    _, pressure = bulk_thermodynamics(mid, np.array([d, d]) / 2)
    contact_z = -h / 2 + d / 2
    dz = np.diff(sol.edges)[0]
    first = np.flatnonzero(sol.edges[:-1] >= contact_z - 1e-12)[:3]  # cells wholly inside
    fit = np.polyfit(sol.z[first] - contact_z, np.log(total[first]), 2)  # ln n is smooth: extrapolate
    contact = np.exp(fit[-1])
    assert eta > (0.15 if c < 5 else 0.28)
    assert contact == pytest.approx(pressure, rel=0.01)
    assert dz < 0.005


def test_layering_at_high_packing():
    d, h = 0.5, 5.0
    sol = solve_slit(h, 4.5, d, d, 0.0, SlitModel(wall="hard", electrostatics=False))
    total = sol.density.sum(axis=0)
    mid = total[sol.z.size // 2]
    eta = np.pi / 6 * d**3 * mid
    assert eta > 0.3
    left = sol.z < -0.5
    peaks = argrelmax(total[left], order=5)[0]
    peaks = peaks[total[left][peaks] > mid * 1.02]
    assert len(peaks) >= 3, "expected at least three layers near the wall"
    spacing = np.diff(sol.z[left][peaks])
    np.testing.assert_allclose(spacing[:2], d, rtol=0.15)
    assert total[left][peaks[0]] > 2 * mid  # a strong contact layer


def test_grid_convergence():
    """The default grid agrees with a 4x finer one on 502 output bins to well below MD noise."""
    coarse = solve_slit(*CASES[1], n_bins=502).bin_average(502)[1]
    fine = solve_slit(*CASES[1], SlitModel(cells_per_nm=900), n_bins=502).bin_average(502)[1]
    assert np.abs(coarse - fine).max() < 1e-3 * fine.max()


def test_corners_of_the_paper_box_converge():
    for corner in itertools.product(*PAPER_BOUNDS.values()):
        sol = solve_slit(*corner)
        assert np.all(np.isfinite(sol.density)) and sol.residual <= 1e-8


def test_random_sample_of_the_box_converges():  # about 4 s: 200 inputs at ~20 ms each
    design = random_design(200, seed=2024)
    for i in range(200):
        sol = solve_slit(*(float(design[k][i]) for k in design))
        assert np.all(np.isfinite(sol.density)) and sol.residual <= 1e-8


@pytest.mark.parametrize(
    "args, match",
    [
        ((0, 0.5, 0.4, 0.6, -0.01), "h = 0 nm; the wall separation must be > 0"),
        ((4, -0.1, 0.4, 0.6, -0.01), "c = -0.1 mol/L"),
        ((4, 0.5, 0.4, 0.6, 0.01), "sigma = 0.01 C/m2; the model needs sigma <= 0"),
        ((4, 0.5, 0.0, 0.6, -0.01), "d_plus = 0.0 nm; ion diameters must be > 0"),
        ((4, 0.5, 0.4, 4.5, -0.01), "d_minus = 4.5 nm does not fit between walls h = 4 nm apart"),
        ((4, 0, 0.4, 0.6, 0), "c = 0 mol/L; the salt concentration must be > 0"),
        ((4, 0, 0.4, 0.6, -0.01), "c = 0 mol/L; the salt concentration must be > 0"),
        ((4, np.nan, 0.4, 0.6, -0.01), "c = nan is not a finite number"),
    ],
)
def test_unphysical_inputs_are_refused(args, match):
    with pytest.raises(ValueError, match=match):
        solve_slit(*args)


def test_overpacked_input_fails_clearly():
    """Refused before any solving, with the bulk packing fraction pi/6 c N_A (d+^3 + d-^3) it would have."""
    eta = np.pi / 6 * 20.0 * 0.602214076 * 2 * 0.63**3
    with pytest.raises(InputError, match=rf"c = 20.0 mol/L with d_plus = 0.63, d_minus = 0.63 nm packs the bulk to "
                                         rf"{eta:.2f}; the fluid solver needs a packing fraction below 0.5"):
        solve_slit(4.0, 20.0, 0.63, 0.63, -0.01)
