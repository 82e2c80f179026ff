"""The figures of uqsurrogate.plotting: what they draw, where they draw it, and how they label it.

Every Dataset here comes from the package's own producers where that is cheap: the
simulator and :func:`uqsurrogate.study.accuracy_check` for training data and metrics,
:func:`~uqsurrogate.sensitivity.sobol`, :func:`~uqsurrogate.sensitivity.nested`,
:func:`~uqsurrogate.sensitivity.pce`, :func:`~uqsurrogate.uncertainty.propagate` and
:func:`uqsurrogate.study.paper_sensitivity` on a small analytic stand-in for the surrogate
(:class:`AnalyticSurrogate`, the part of the ModelFunction protocol those producers use),
and the calibration that :func:`~uqsurrogate.uncertainty.fit.calibrate_ensemble` stored in the
shipped ensemble.  The tests check what is drawn (the data of the lines, meshes, bars and
wedges against the Dataset), that ``ax=``/``axes=`` is honoured, and that axis labels carry
the Dataset's CF units.
"""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.collections import PolyCollection, QuadMesh  # noqa: E402
from matplotlib.container import BarContainer  # noqa: E402
from matplotlib.patches import Rectangle, Wedge  # noqa: E402

from uqsurrogate import plotting  # noqa: E402
from uqsurrogate.data.io import save_results  # noqa: E402
from uqsurrogate.errors import InputError  # noqa: E402
from uqsurrogate.observables import charge_density, integrated_charge  # noqa: E402
from uqsurrogate.plotting import (  # noqa: E402
    plot_charge,
    plot_file,
    plot_indices,
    plot_paper_indices,
    plot_profiles,
    plot_propagation,
    plot_reliability,
    plot_response_surfaces,
    plot_rmse_per_bin,
)
from uqsurrogate.problem import Problem, Uniform  # noqa: E402
from uqsurrogate.study import PAPER_CASES, PAPER_Z, accuracy_check, default_model_path, paper_sensitivity  # noqa: E402
from uqsurrogate.surrogate.zgrid import uniform_slit_centres  # noqa: E402
from uqsurrogate.testing import ishigami, ishigami_problem  # noqa: E402


# --------------------------------------------------------------------------- helpers and data


@pytest.fixture(autouse=True)
def _close_figures():
    plt.close("all")
    yield
    plt.close("all")


class AnalyticSurrogate:
    """A cheap, deterministic stand-in for a ModelFunction of the confined electrolyte.

    It has what :func:`accuracy_check`, :func:`paper_sensitivity` and the estimators use of a
    ModelFunction: ``input_names``, the training box, ``n_members``, ``calibration``,
    ``with_options``, ``z_grid``, ``restrict`` (by output, z or bins) and the model protocol
    (``output_dims``, ``output_coords``, ``output_attrs``).  The densities are the bulk
    concentration plus a contact peak one ion diameter from the left wall, so the charge
    density near the wall depends on both diameters and the response surfaces are not flat.
    """

    input_names = ["h", "c", "d_plus", "d_minus", "sigma"]
    train_min = np.array([4.0, 0.1, 0.2, 0.2, -0.02])
    train_max = np.array([5.0, 2.0, 1.0, 1.0, -0.01])  # wide: the paper's size laws stay inside (no warning)
    n_members = 1
    calibration: dict = {}
    n_bins = 40
    _UNITS = {"density": "mol/L", "charge_density": "C/m3"}

    def __init__(self, output: str = "density", bins=None):
        self.output = output
        self.bin_index = np.arange(self.n_bins) if bins is None else np.asarray(bins, dtype=int)

    def with_options(self, **_):
        return self

    def z_grid(self, h: float | None = None) -> np.ndarray:
        return uniform_slit_centres(4.5 if h is None else h, self.n_bins)

    def restrict(self, output: str | None = None, *, z=None, h=None, bins=None):
        if z is not None:
            grid = self.z_grid(h)
            bins = [int(np.argmin(np.abs(grid - v))) for v in z]
        return AnalyticSurrogate(output or self.output, self.bin_index if bins is None else bins)

    @property
    def output_dims(self) -> list[str]:
        return ["species", "bin"] if self.output == "density" else ["bin"]

    def output_coords(self, fixed=None) -> dict:
        coords = {"bin": ("bin", self.bin_index)}
        if self.output == "density":
            coords["species"] = ("species", ["cation", "anion"])
        h = (fixed or {}).get("h")
        if h is not None:
            coords["z"] = ("bin", self.z_grid(h)[self.bin_index],
                           {"units": "nm", "long_name": "bin centre, distance from the slit midplane"})
        return coords

    @property
    def output_attrs(self) -> dict:
        return {"units": self._UNITS[self.output], "long_name": self.output.replace("_", " ")}

    def __call__(self, X) -> np.ndarray:
        h, c, d_plus, d_minus, _ = np.asarray(X, dtype=float).T
        z = uniform_slit_centres(h, self.n_bins)[:, self.bin_index]
        wall = -h[:, None] / 2

        def peak(d):
            return 1 + 2 * np.exp(-(((z - wall - d[:, None]) / 0.08) ** 2))

        dens = c[:, None, None] * np.stack([peak(d_plus), peak(d_minus)], axis=1)
        dens[:, 0] += 1e-3 * c[:, None] * (d_plus[:, None] - 0.4) / 0.01  # a little everywhere: no flat output
        return dens if self.output == "density" else charge_density(dens)


def _fixed_h_problem() -> Problem:
    return Problem({"h": 4.5, "c": 1.0, "d_plus": Uniform(0.35, 0.45), "d_minus": Uniform(0.55, 0.65),
                    "sigma": -0.015})


EVERY_4TH_BIN = np.arange(0, AnalyticSurrogate.n_bins, 4)


@pytest.fixture(scope="module")
def accuracy():
    """(data, metrics) of the real accuracy check: simulator runs with a density_surrogate, and metrics."""
    return accuracy_check(AnalyticSurrogate(), n=3, seed=0)


@pytest.fixture(scope="module")
def paper():
    """The real paper_sensitivity on the analytic stand-in, small."""
    return paper_sensitivity(AnalyticSurrogate(), n_z=12, n_bins=10, seed=0, resamples=20, progress=False)


@pytest.fixture(scope="module")
def sobol_species():
    """sobol over (species, bin) with a z coordinate in nm (h fixed)."""
    from uqsurrogate.sensitivity import sobol

    f = AnalyticSurrogate().restrict("density", bins=EVERY_4TH_BIN)
    return sobol(f, _fixed_h_problem(), 64, seed=0, resamples=20, progress=False)


@pytest.fixture(scope="module")
def propagated():
    from uqsurrogate.uncertainty import propagate

    f = AnalyticSurrogate().restrict("density", bins=EVERY_4TH_BIN)
    return propagate(f, _fixed_h_problem(), 200, seed=0, progress=False)


@pytest.fixture(scope="module")
def shipped_calibration() -> dict:
    """What calibrate_ensemble returned for the shipped ensemble (stored in ensemble.json)."""
    return json.loads((default_model_path() / "ensemble.json").read_text())["calibration"]


def _units(da: xr.DataArray) -> str:
    units = da.attrs["units"]
    assert units and units != "1"
    return units


def _by_label(handles, label):
    found = [h for h in handles if h.get_label() == label]
    assert len(found) == 1, f"{label!r}: {[h.get_label() for h in handles]}"
    return found[0]


def _curves(ax) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(np.asarray(ln.get_xdata(), float), np.asarray(ln.get_ydata(), float)) for ln in ax.lines]


def _drawn(ax, x, y) -> bool:
    """Whether a line of ax has exactly these data (NaN where y is NaN)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    return any(cx.shape == x.shape and np.allclose(cx, x) and np.allclose(cy, y, equal_nan=True)
               for cx, cy in _curves(ax))


def _legend_texts(ax) -> list[str]:
    legend = ax.get_legend()
    assert legend is not None, "no legend"
    return [t.get_text() for t in legend.get_texts()]


def _bands(ax) -> list[PolyCollection]:
    """fill_between areas (FillBetweenPolyCollection in matplotlib >= 3.10 is a PolyCollection)."""
    return [c for c in ax.collections if isinstance(c, PolyCollection)]


# --------------------------------------------------------------------------- plot_profiles


def test_plot_profiles_draws_the_data_the_truth_and_the_surrogate(accuracy):
    data, _ = accuracy
    fig = plot_profiles(data)
    axes = fig.axes
    assert len(axes) == data.sizes["sample"] == 3
    for i, ax in enumerate(axes):
        s = data.isel(sample=i)
        z = s["z"].values
        assert len(ax.containers) == 2  # one errorbar per species
        for k, sp in enumerate(("cation", "anion")):
            bars = _by_label(ax.containers, f"{sp}: MD-like ± error")
            np.testing.assert_allclose(bars.lines[0].get_xdata(), z)
            np.testing.assert_allclose(bars.lines[0].get_ydata(), s["density"].values[k])
            assert _drawn(ax, z, s["density_true"].values[k])
            assert _drawn(ax, z, s["density_surrogate"].values[k])
        # panel titles: the sample's inputs, with their units
        assert f"h = {float(s['h']):.3g} nm" in ax.get_title()
        assert f"σ = {float(s['sigma']):.3g} C/m²" in ax.get_title() and data["sigma"].attrs["units"] == "C/m2"
        assert f"d− = {float(s['d_minus']):.3g} {data['d_minus'].attrs['units']}" in ax.get_title()
        assert _units(data["z"]) in ax.get_xlabel()
    assert "(" + _units(data["density"]) + ")" in axes[0].get_ylabel()
    assert {"cation: MD-like ± error", "exact", "cation: surrogate", "anion: surrogate"} <= set(_legend_texts(axes[0]))
    assert "surrogate against simulator runs (as paper Fig. 5)" in fig._suptitle.get_text()


def test_plot_profiles_without_the_exact_answer_calls_the_data_md():
    from conftest import synthetic

    ds = synthetic(n=2, n_bins=10, with_true=False)
    fig = plot_profiles(ds)
    assert len(fig.axes) == 2
    assert _legend_texts(fig.axes[0]) == ["cation: MD ± error", "anion: MD ± error"]
    for ax in fig.axes:  # only the data: no exact line, no surrogate
        assert [ln for ln in ax.lines if ln.get_linestyle() != "None"] == []
    assert "Fig. 5" not in fig._suptitle.get_text()  # a user's own data are not the paper's figure


def test_plot_profiles_draws_into_the_given_axes(accuracy):
    data, _ = accuracy
    fig, axs = plt.subplots(1, 3)
    assert plot_profiles(data, axes=axs) is fig
    assert plt.get_fignums() == [fig.number]
    assert all(len(ax.containers) == 2 for ax in axs)
    with pytest.raises(InputError, match="axes has 2 Axes; this figure needs 1 x 3"):
        plot_profiles(data, axes=axs[:2])


# --------------------------------------------------------------------------- plot_charge


def test_plot_charge_draws_rho_and_s_over_the_left_half(accuracy):
    data, _ = accuracy
    fig = plot_charge(data)
    assert len(fig.axes) == 2 * 3
    grid = np.asarray(fig.axes).reshape(2, 3)
    for i in range(3):
        s = data.isel(sample=i)
        z = s["z"].values
        left = z <= 0
        assert left.sum() < z.size
        for var in ("density_true", "density_surrogate"):
            dens = s[var].values[None]
            rho = charge_density(dens)[0]
            S = integrated_charge(dens, [float(s["h"])], [float(s["sigma"])])[0]
            assert _drawn(grid[0, i], z[left], rho[left] / 1e6)
            assert _drawn(grid[1, i], z[left], S[left] * 1e3)
        assert len(grid[0, i].lines) == len(grid[1, i].lines) == 2
        assert "(" + _units(data["z"]) + ")" in grid[1, i].get_xlabel()
        assert f"c = {float(s['c']):.3g} mol/L" in grid[0, i].get_title()  # each column says its inputs
    assert "MC/m³" in grid[0, 0].get_ylabel()  # rho in C/m3, drawn in units of 1e6
    assert "(mC/m²)" in grid[1, 0].get_ylabel()  # S in C/m2, drawn in units of 1e-3
    assert _legend_texts(grid[0, 0]) == ["exact", "surrogate"]


def test_plot_charge_draws_into_the_given_axes_and_needs_h_and_sigma(accuracy):
    data, _ = accuracy
    fig, axs = plt.subplots(2, 3)
    assert plot_charge(data, axes=axs) is fig
    assert plt.get_fignums() == [fig.number]
    assert all(len(ax.lines) == 2 for ax in axs.ravel())
    with pytest.raises(InputError, match="needs the inputs h and sigma"):
        plot_charge(data.drop_vars("sigma"))


# --------------------------------------------------------------------------- plot_rmse_per_bin


def test_plot_rmse_per_bin_draws_every_reference_and_species(accuracy):
    _, metrics = accuracy
    assert list(metrics["reference"].values) == ["labels", "truth"]
    fig = plot_rmse_per_bin(metrics)
    (ax,) = fig.axes
    assert len(ax.lines) == 4
    for ref in ("labels", "truth"):
        for sp in ("cation", "anion"):
            line = _by_label(ax.lines, f"{sp}, vs {ref}")
            np.testing.assert_allclose(line.get_xdata(), metrics["bin"].values)
            np.testing.assert_allclose(line.get_ydata(), metrics["rmse_bin"].sel(reference=ref, species=sp).values)
            assert line.get_linestyle() == ("-" if ref == "truth" else ":")
    assert "(" + _units(metrics["rmse_bin"]) + ")" in ax.get_ylabel()
    assert "bin" in ax.get_xlabel()  # the bin index is dimensionless
    assert ax.get_yscale() == "log"
    assert "Fig. 4" in ax.get_title()
    assert len(_legend_texts(ax)) == 4


def test_plot_rmse_per_bin_draws_into_the_given_axes(accuracy):
    _, metrics = accuracy
    fig, (left, right) = plt.subplots(1, 2)
    assert plot_rmse_per_bin(metrics, ax=right) is fig
    assert plt.get_fignums() == [fig.number]
    assert len(right.lines) == 4 and len(left.lines) == 0


# --------------------------------------------------------------------------- plot_response_surfaces


def test_paper_sensitivity_fixture_has_the_layout_the_plots_read(paper):
    """The stand-in produced the study's layout (so the plots below see the real variable names)."""
    assert list(paper["c"].values) == list(PAPER_CASES) and list(paper["z"].values) == list(PAPER_Z)
    assert paper["response_surface"].dims == ("c", "z", "d_plus_sample", "d_minus_sample")
    assert paper["S1_bin_corrected"].dims == ("c", "input", "bin")
    assert paper["z_of_bin"].attrs["units"] == "nm" and paper["d_minus_sample"].attrs["units"] == "nm"
    assert float(paper["variance_bin"].max()) > 0


@pytest.mark.parametrize("c", PAPER_CASES)
def test_plot_response_surfaces_draws_every_surface_and_pie(paper, c):
    fig = plot_response_surfaces(paper, c)
    nz = paper.sizes["z"]
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    colorbars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    assert len(panels) == 2 * nz and len(colorbars) == nz
    surfaces, pies = panels[:nz], panels[nz:]
    s = paper.sel(c=c)
    for j in range(nz):
        ax = surfaces[j]
        (mesh,) = [m for m in ax.collections if isinstance(m, QuadMesh)]
        expected = s["response_surface"].isel(z=j).values / 1e6  # (d_plus, d_minus): rows are d+
        np.testing.assert_allclose(np.asarray(mesh.get_array()).reshape(expected.shape), expected)
        assert ax.get_title() == f"z = {float(s['z'][j]):g} {s['z'].attrs['units']}"
        assert "(" + _units(paper["d_minus_sample"]) + ")" in ax.get_xlabel() and "d-" in ax.get_xlabel()
        if j == 0:
            assert "(" + _units(paper["d_plus_sample"]) + ")" in ax.get_ylabel() and "d+" in ax.get_ylabel()
        assert "MC/m³" in colorbars[j].get_ylabel()  # rho in C/m3, drawn in units of 1e6
        wedges = [p for p in pies[j].patches if isinstance(p, Wedge)]
        assert len(wedges) == 3
        sp, sm = np.clip(s["S1_z"].isel(z=j).values, 0, None)
        lines = pies[j].get_xlabel().split("\n")  # the shares under the pie, not on it: no labels to collide
        lo, hi = (100 * s[v].isel(z=j).values[0] for v in ("S1_z_low", "S1_z_high"))
        assert lines[0] == f"S+ {100 * sp:.0f}%, sampling {round(lo)}–{round(hi)}"  # whole percent, never "-0"
        assert lines[1].startswith(f"S− {100 * sm:.0f}%, sampling")
        assert [t.get_text() for t in pies[j].texts] == ["", "", ""]
    assert f"c = {c:g} mol/L" in fig._suptitle.get_text()


def test_plot_response_surfaces_survives_a_z_where_rho_does_not_vary(paper):
    """Where rho is constant, nested's indices are 0/0 = NaN (plot_paper_indices hides such bins):
    the figure should still be drawn, with every surface, rather than fail on the pie chart."""
    from uqsurrogate.sensitivity import nested

    flat = nested(lambda X: np.ones((len(X), 1)), Problem({"a": Uniform(0, 1), "b": Uniform(0, 1)}), 4, 4,
                  resamples=0, seed=0)
    assert np.isnan(flat["S1"].values).all()  # what the producer gives for a flat output
    ds = paper.copy(deep=True)
    ds["S1_z"][:, :, -1] = flat["S1"].values[:, 0]
    fig, axs = plt.subplots(2, ds.sizes["z"])
    plot_response_surfaces(ds, PAPER_CASES[0], axes=axs)
    assert all(any(isinstance(m, QuadMesh) for m in ax.collections) for ax in axs[0])  # every surface
    pies = list(axs[1])
    assert [len(ax.patches) for ax in pies] == [3] * (ds.sizes["z"] - 1) + [0]  # no wedge where rho is flat
    assert "no indices" in pies[-1].texts[0].get_text()


def test_plot_response_surfaces_draws_into_the_given_axes(paper):
    fig, axs = plt.subplots(2, paper.sizes["z"])
    assert plot_response_surfaces(paper, PAPER_CASES[0], axes=axs) is fig
    assert plt.get_fignums() == [fig.number]
    assert all(any(isinstance(m, QuadMesh) for m in ax.collections) for ax in axs[0])
    assert all(len(ax.patches) == 3 for ax in axs[1])


# --------------------------------------------------------------------------- plot_paper_indices


def test_plot_paper_indices_draws_every_bin_and_the_five_z(paper):
    fig = plot_paper_indices(paper)
    assert len(fig.axes) == paper.sizes["c"] == 2
    for ax, c in zip(fig.axes, paper["c"].values):
        s = paper.sel(c=c)
        z = s["z_of_bin"].values
        sd = np.sqrt(s["variance_bin"].values)
        hide = sd < 0.02 * sd.max()
        assert hide.any() and not hide.all()  # the flat bulk is left out, the wall region shown
        for k, name in enumerate(("S+", "S-")):
            line = _by_label(ax.lines, f"{name}, every bin")
            np.testing.assert_allclose(line.get_xdata(), z)
            np.testing.assert_allclose(line.get_ydata(), np.where(hide, np.nan, s["S1_bin_corrected"].values[k]))
            marks = _by_label(ax.containers, f"{name} at the paper's z, sampling interval")
            np.testing.assert_allclose(marks.lines[0].get_xdata(), s["z_bin"].values)
            np.testing.assert_allclose(marks.lines[0].get_ydata(), s["S1_z_corrected"].values[k])
            assert marks.has_yerr
        assert "(" + _units(paper["z_of_bin"]) + ")" in ax.get_xlabel()
        assert ax.get_title() == f"c = {c:g} M"
        assert ax.get_ylim() == (-0.05, 1.05)
    assert "first-order index" in fig.axes[0].get_ylabel()
    assert "S+, every bin" in _legend_texts(fig.axes[0])


def test_plot_paper_indices_shows_member_ranges_and_unresolved_z(paper):
    """An ensemble with a calibration adds member bounds and the resolution check (hand-added here)."""
    ds = paper.copy()
    spread = 0.05 * xr.ones_like(ds["S1_bin_corrected"])
    ds["S1_bin_corrected_member_min"] = ds["S1_bin_corrected"] - spread
    ds["S1_bin_corrected_member_max"] = ds["S1_bin_corrected"] + spread
    resolved = np.ones((ds.sizes["c"], ds.sizes["z"]), dtype=np.int8)
    resolved[:, -1] = 0  # z = -1 nm: rho barely varies there
    ds["resolved_z"] = (("c", "z"), resolved, {"long_name": "1 where rho varies by more than the surrogate's error"})
    fig = plot_paper_indices(ds)
    for ax, c in zip(fig.axes, ds["c"].values):
        assert len(_bands(ax)) == 2
        _by_label(_bands(ax), "S+, member range")
        hollow = _by_label(ax.containers, "S-, unresolved")
        assert hollow.lines[0].get_markerfacecolor() == "white"
        np.testing.assert_allclose(hollow.lines[0].get_xdata(), ds["z_bin"].values[-1:])
        full = _by_label(ax.containers, "S- at the paper's z, sampling interval")
        assert len(full.lines[0].get_xdata()) == ds.sizes["z"] - 1


def test_plot_paper_indices_draws_into_the_given_axes(paper):
    fig, axs = plt.subplots(1, 2)
    assert plot_paper_indices(paper, axes=axs) is fig
    assert plt.get_fignums() == [fig.number]
    assert all(len(ax.containers) >= 2 for ax in axs)
    with pytest.raises(InputError, match="this figure needs 1 x 2"):
        plot_paper_indices(paper, axes=axs[:1])


# --------------------------------------------------------------------------- plot_reliability


def test_plot_reliability_draws_the_stored_calibration(shipped_calibration):
    fig = plot_reliability(shipped_calibration)
    kinds = ("density", "charge_density", "integrated_charge")
    assert len(fig.axes) == 3
    for ax, kind in zip(fig.axes, kinds):
        m = shipped_calibration[kind]["measured"]
        method = shipped_calibration[kind]["method"]
        assert method != "none"
        assert len(ax.lines) == 3
        diag = _by_label(ax.lines, "calibrated")
        np.testing.assert_allclose(diag.get_xydata(), [[0, 0], [1, 1]])
        before = _by_label(ax.lines, f"member spread (area {m['miscalibration_area_before']:.3f})")
        np.testing.assert_allclose(before.get_xdata(), m["reliability_levels"])
        np.testing.assert_allclose(before.get_ydata(), m["reliability_before"])
        after = _by_label(ax.lines, f"{method} map (area {m['miscalibration_area_' + method]:.3f})")
        np.testing.assert_allclose(after.get_ydata(), m["reliability_after"])
        assert ax.get_title() == kind.replace("_", " ")
        assert "nominal coverage" in ax.get_xlabel()
        assert len(_legend_texts(ax)) == 3
    assert "observed coverage" in fig.axes[0].get_ylabel()


def test_plot_reliability_without_a_map_and_in_given_axes(shipped_calibration):
    cal = {"density": {**shipped_calibration["density"], "method": "none"}}
    fig, ax = plt.subplots()
    assert plot_reliability(cal, axes=[ax]) is fig
    assert plt.get_fignums() == [fig.number]
    assert len(ax.lines) == 2  # the diagonal and the raw spread: no map was kept
    with pytest.raises(InputError, match="no reliability curves"):
        plot_reliability({"reference": "density_true", "n": 3})


# --------------------------------------------------------------------------- plot_indices


def _markers(ax, label):
    """(x, y, yerr low, yerr high) of the errorbar container with this label."""
    c = _by_label(ax.containers, label)
    x, y = np.asarray(c.lines[0].get_xdata(), float), np.asarray(c.lines[0].get_ydata(), float)
    if not c.has_yerr:
        return x, y, None
    segs = c.lines[2][0].get_segments()  # an empty segment where the index is NaN (an output that never varies)
    return (x, y, np.array([seg[0][1] if len(seg) else np.nan for seg in segs]),
            np.array([seg[1][1] if len(seg) else np.nan for seg in segs]))


def test_plot_indices_a_few_z_as_markers_with_intervals(sobol_species):
    """Ten z values per species: markers at each z (inputs side by side), bars from S1_conf, ST as crosses."""
    ds = sobol_species
    assert ds.sizes["bin"] <= plotting.FEW_OUTPUTS
    fig = plot_indices(ds)
    assert len(fig.axes) == 2
    z = ds["z"].values
    step = np.diff(z).min()
    for ax, sp in zip(fig.axes, ("cation", "anion")):
        s = ds.sel(species=sp)
        assert [ln for ln in ax.lines if ln.get_linestyle() not in ("None", "none", "")] == []  # no lines
        for k, name in enumerate(ds["input"].values):
            x, y, low, high = _markers(ax, f"S1 {name}")
            assert np.all(np.abs(x - z) < step / 2)  # beside its z, closer to it than to the next one
            np.testing.assert_allclose(y, s["S1"].isel(input=k).values)
            conf = s["S1_conf"].isel(input=k).values
            np.testing.assert_allclose(low, y - conf, equal_nan=True)
            np.testing.assert_allclose(high, y + conf, equal_nan=True)
            st = _by_label(ax.lines, f"ST {name}")
            np.testing.assert_allclose(st.get_xdata(), x)
            np.testing.assert_allclose(st.get_ydata(), s["ST"].isel(input=k).values)
        assert ax.get_title() == f"species = {sp}"
        assert "(" + _units(ds["z"]) + ")" in ax.get_xlabel()
    assert fig.axes[0].get_ylabel() == "Sobol' index"
    title = fig._suptitle.get_text()
    assert "sobol" in title and "h = 4.5 nm" in title and "c = 1 mol/L" in title and "σ = -0.015 C/m²" in title


def test_plot_indices_shows_the_member_range_and_the_unresolved_outputs(sobol_species):
    """A sensitivity --members result: the member range beside the sampling bars, hollow markers where unresolved."""
    ds = sobol_species.sel(species="cation", drop=True)
    spread = 0.1 * xr.ones_like(ds["S1"])
    ds["S1_member_min"], ds["S1_member_max"] = ds["S1"] - spread, ds["S1"] + 2 * spread
    resolved = np.ones(ds.sizes["bin"], np.int8)
    resolved[[2, 7]] = 0
    ds["resolved"] = ("bin", resolved)
    ds["resolution_ratio"] = ("bin", np.where(resolved, 5.0, 1.5))
    (ax,) = plot_indices(ds).axes
    for k, name in enumerate(ds["input"].values):
        ranges = _by_label(ax.collections, f"{name}: member range")
        segs = ranges.get_segments()
        np.testing.assert_allclose([seg[0][1] for seg in segs], ds["S1_member_min"].isel(input=k).values)
        np.testing.assert_allclose([seg[1][1] for seg in segs], ds["S1_member_max"].isel(input=k).values)
        _, y, *_ = _markers(ax, f"S1 {name}, unresolved")
        np.testing.assert_allclose(y, ds["S1"].isel(input=k).values[[2, 7]])
        assert _by_label(ax.containers, f"S1 {name}, unresolved").lines[0].get_markerfacecolor() == "white"
        assert len(_markers(ax, f"S1 {name}")[0]) == ds.sizes["bin"] - 2
    assert "member" in ax.figure._suptitle.get_text()


def test_plot_indices_many_bins_as_lines_with_bands_and_unresolved_stretches():
    from uqsurrogate.sensitivity import sobol

    f = AnalyticSurrogate().restrict("charge_density")
    ds = sobol(f, _fixed_h_problem(), 64, seed=0, resamples=20, progress=False)
    assert ds.sizes["bin"] > plotting.FEW_OUTPUTS
    ds["S1_member_min"], ds["S1_member_max"] = ds["S1"] - 0.05, ds["S1"] + 0.05
    resolved = (np.arange(ds.sizes["bin"]) % 10 != 0).astype(np.int8)
    ds["resolved"] = ("bin", resolved)
    (ax,) = plot_indices(ds).axes
    z = ds["z"].values
    for k, name in enumerate(ds["input"].values):
        line = _by_label(ax.lines, f"S1 {name}")
        np.testing.assert_allclose(line.get_xdata(), z)
        np.testing.assert_allclose(line.get_ydata(), ds["S1"].isel(input=k).values)
        assert _by_label(ax.lines, f"ST {name}").get_linestyle() == "--"
        _by_label(_bands(ax), f"{name}: member range")
    shaded = [p for p in ax.patches if isinstance(p, Rectangle) or p.get_label() == "unresolved: trust no index"]
    assert len(shaded) == int((resolved == 0).sum())  # one grey stretch per unresolved bin
    assert "unresolved: trust no index" in _legend_texts(ax)


@pytest.mark.parametrize("method", ["nested", "pce"])
def test_plot_indices_nested_and_pce_against_z(method):
    from uqsurrogate.sensitivity import nested, pce

    f = AnalyticSurrogate().restrict("charge_density", bins=EVERY_4TH_BIN)
    p = _fixed_h_problem()
    if method == "nested":  # two varied inputs, as nested needs
        ds = nested(f, p, 16, 16, seed=0, resamples=20, progress=False)
    else:
        ds = pce(f, p, 64, order=2, seed=0, resamples=20)
    fig = plot_indices(ds)
    (ax,) = fig.axes
    assert ("ST" in ds) == (method == "pce")
    index = "S1_corrected" if method == "nested" else "S1"  # what the result reports, as its table
    for k, name in enumerate(ds["input"].values):
        _, y, low, high = _markers(ax, f"S1 {name}")
        np.testing.assert_allclose(y, ds[index].isel(input=k).values)
        np.testing.assert_allclose(low, ds[f"{index}_low"].isel(input=k).values)
        np.testing.assert_allclose(high, ds[f"{index}_high"].isel(input=k).values)
    assert method in fig._suptitle.get_text()
    assert "(" + _units(ds["z"]) + ")" in ax.get_xlabel()
    assert ("two-way ANOVA" in ax.get_ylabel()) == (method == "nested")


def test_plot_indices_without_z_uses_the_bin():
    from uqsurrogate.sensitivity import sobol

    f = AnalyticSurrogate().restrict("charge_density", bins=EVERY_4TH_BIN)
    ds = sobol(f, _fixed_h_problem(), 32, seed=0, ci="none", progress=False).drop_vars("z")
    (ax,) = plot_indices(ds).axes
    assert ax.get_xlabel() == "bin"
    x, _, err = _markers(ax, "S1 d_plus")
    assert err is None  # ci="none": no S1_conf
    assert np.all(np.abs(x - EVERY_4TH_BIN) < 1)


def test_plot_indices_bars_for_a_scalar_output():
    from uqsurrogate.sensitivity import sobol

    ds = sobol(ishigami, ishigami_problem(), 256, seed=0, resamples=20, progress=False)
    assert ds["S1"].dims == ("input",)
    fig = plot_indices(ds)
    (ax,) = fig.axes
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(bars) == 2 * 3
    heights = sorted(b.get_height() for b in bars)
    np.testing.assert_allclose(heights, sorted([*ds["S1"].values, *ds["ST"].values]))
    assert [t.get_text() for t in ax.get_xticklabels()] == ["x1", "x2", "x3"]
    assert ax.get_ylabel() == "Sobol' index"
    assert _legend_texts(ax) == ["S1", "ST"]
    bar_sets = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert len(bar_sets) == 2 and all(c.errorbar is not None for c in bar_sets)  # with confidence bars
    for c, key in zip(bar_sets, ("S1", "ST")):
        np.testing.assert_allclose([b.get_height() for b in c.patches], ds[key].values)
        np.testing.assert_allclose(c.errorbar.lines[2][0].get_segments()[0][:, 1],
                                   ds[key].values[0] + np.array([-1, 1]) * ds[f"{key}_conf"].values[0])


def test_plot_indices_draws_into_the_given_axes(sobol_species):
    fig, axs = plt.subplots(1, 2)
    assert plot_indices(sobol_species, axes=axs) is fig
    assert plt.get_fignums() == [fig.number]
    assert all(len(ax.containers) == sobol_species.sizes["input"] for ax in axs)
    with pytest.raises(InputError, match="axes has 1 Axes; this figure needs 1 x 2"):
        plot_indices(sobol_species, axes=axs[:1])


# --------------------------------------------------------------------------- plot_propagation


def test_plot_propagation_draws_the_mean_and_the_quantile_band(propagated):
    ds = propagated
    fig = plot_propagation(ds)
    (ax,) = fig.axes
    assert len(ax.lines) == 2 and len(_bands(ax)) == 2  # per species
    z = ds["z"].values
    for sp in ("cation", "anion"):
        line = _by_label(ax.lines, f"{sp}: mean")
        np.testing.assert_allclose(line.get_xdata(), z)
        np.testing.assert_allclose(line.get_ydata(), ds["mean"].sel(species=sp).values)
    for band, sp in zip(_bands(ax), ("cation", "anion")):
        q = ds["quantile_value"].sel(species=sp)
        ys = band.get_paths()[0].vertices[:, 1]
        assert np.isclose(ys.min(), float(q.isel(quantile=0).min()))
        assert np.isclose(ys.max(), float(q.isel(quantile=-1).max()))
    assert "(" + _units(ds["z"]) + ")" in ax.get_xlabel()
    assert "(" + _units(ds["mean"]) + ")" in ax.get_ylabel()
    assert "0.05-0.95 quantiles" in _legend_texts(ax)
    assert ax.get_title() == "forward propagation, n = 200; h = 4.5 nm, c = 1 mol/L, σ = -0.015 C/m²"


def test_plot_propagation_magnifies_the_widest_band():
    """Over the whole slit the band at a contact peak is thinner than the line: an inset shows it magnified."""
    from uqsurrogate.uncertainty import propagate

    ds = propagate(AnalyticSurrogate().restrict("charge_density"), _fixed_h_problem(), 200, seed=0, progress=False)
    (ax,) = plot_propagation(ds).axes
    (inset,) = ax.child_axes
    q = ds["quantile_value"].values / 1e6
    widest = int(np.argmax(q[-1] - q[0]))
    z = ds["z"].values
    lo, hi = inset.get_xlim()
    assert lo <= z[widest] <= hi and hi - lo < 0.5 * (z.max() - z.min())  # a few bins around the widest
    ylo, yhi = inset.get_ylim()
    assert ylo <= q[0, widest] and q[-1, widest] <= yhi
    assert len(inset.lines) == 1 and len(_bands(inset)) == 1
    np.testing.assert_allclose(inset.lines[0].get_ydata(), ds["mean"].values / 1e6)


def test_plot_propagation_draws_into_the_given_axes(propagated):
    fig, (left, right) = plt.subplots(1, 2)
    assert plot_propagation(propagated, ax=left) is fig
    assert plt.get_fignums() == [fig.number]
    assert len(left.lines) == 2 and len(right.lines) == 0


def test_plot_propagation_one_output_over_bins_and_refuses_other_outputs():
    from uqsurrogate.uncertainty import propagate

    f = AnalyticSurrogate().restrict("charge_density", bins=EVERY_4TH_BIN)
    ds = propagate(f, _fixed_h_problem(), 50, quantiles=(), seed=0, progress=False)
    (ax,) = plot_propagation(ds).axes
    assert len(ax.lines) == 1 and len(_bands(ax)) == 0  # no quantiles, no band
    np.testing.assert_allclose(ax.lines[0].get_ydata(), ds["mean"].values / 1e6)
    assert ds["mean"].attrs["units"] == "C/m3" and "(MC/m³)" in ax.get_ylabel()  # no 1e7 offset in C/m3
    scalar = propagate(ishigami, ishigami_problem(), 50, seed=0, progress=False)
    with pytest.raises(InputError, match="draws outputs over bins"):
        plot_propagation(scalar)


# --------------------------------------------------------------------------- plot_file


def _check_written(paths, names, formats=("png",)):
    magic = {"png": b"\x89PNG", "pdf": b"%PDF"}
    assert sorted(p.name for p in paths) == sorted(f"{n}.{fmt}" for n in names for fmt in formats)
    for p in paths:
        assert p.is_file() and p.stat().st_size > 1000
        assert p.read_bytes()[:4] == magic[p.suffix[1:]]


def test_plot_file_training_data_with_pdf(accuracy, tmp_path):
    data, _ = accuracy
    path = save_results(data, tmp_path / "acc.nc")
    paths = plot_file(path, tmp_path / "fig", pdf=True)
    _check_written(paths, ["acc_profiles", "acc_charge"], ("png", "pdf"))
    assert plt.get_fignums() == []  # every figure closed once saved


@pytest.mark.parametrize("kind", ["metrics", "paper", "propagation", "sobol"])
def test_plot_file_results(kind, accuracy, paper, propagated, sobol_species, tmp_path):
    ds, names = {
        "metrics": (accuracy[1], ["rmse_per_bin"]),
        "paper": (paper, [f"surfaces_c{c:g}" for c in PAPER_CASES] + ["indices_vs_z"]),
        "propagation": (propagated, ["bands"]),
        "sobol": (sobol_species, ["indices"]),
    }[kind]
    path = save_results(ds, tmp_path / f"{kind}.nc")
    paths = plot_file(path, tmp_path / "fig")
    _check_written(paths, [f"{kind}_{n}" for n in names])
    assert plt.get_fignums() == []


def test_plot_file_refuses_what_it_cannot_draw(tmp_path):
    junk = save_results(xr.Dataset({"x": ("t", [1.0, 2.0])}), tmp_path / "junk.nc")
    with pytest.raises(InputError, match="not a file uqsurrogate knows how to plot"):
        plot_file(junk, tmp_path / "fig")
    assert not (tmp_path / "fig").exists()  # nothing drawn, no folder
    with pytest.raises(InputError, match="no such file"):
        plot_file(tmp_path / "missing.nc", tmp_path / "fig")
    text = tmp_path / "text.nc"
    text.write_text("not netCDF")
    with pytest.raises(InputError, match="not a netCDF file"):
        plot_file(text, tmp_path / "fig")


def test_every_public_plot_function_is_tested():
    """A new plot_* function must come with tests here."""
    tested = {"plot_charge", "plot_file", "plot_reliability", "plot_indices", "plot_paper_indices",
              "plot_profiles", "plot_propagation", "plot_response_surfaces", "plot_rmse_per_bin"}
    public = {n for n in dir(plotting) if n.startswith("plot_") and callable(getattr(plotting, n))}
    assert set(plotting.__all__) == public == tested


# --------------------------------------------------------------------------- every figure, as saved: readable


def _tick_boxes(ax, renderer):
    """(text, window extent) of every tick label that is drawn: visible, not empty, its tick inside the view."""
    boxes = []
    for axis in (ax.xaxis, ax.yaxis):
        lo, hi = sorted(axis.get_view_interval())
        eps = 1e-9 * max(1.0, abs(hi - lo))
        for tick, loc in zip(axis.get_major_ticks(), axis.get_majorticklocs()):
            if not lo - eps <= loc <= hi + eps:
                continue
            for label in (tick.label1, tick.label2):
                if label.get_visible() and label.get_text():
                    boxes.append((label.get_text(), label.get_window_extent(renderer)))
    return boxes


def overlapping_tick_labels(fig) -> list[str]:
    """Tick labels of one Axes that run into another Axes' tick labels or its frame (at the figure's own size).

    An inset and its parent, and a colorbar and the Axes it belongs to, are allowed to touch.
    """
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    axes = [ax for ax in fig.axes if ax.get_visible()]
    axes += [child for ax in axes for child in ax.child_axes]
    found = []
    for a in axes:
        for b in axes:
            if a is b or b in a.child_axes or a in b.child_axes:
                continue
            frame = b.get_window_extent(renderer) if b.axison and b.get_frame_on() else None
            others = [box for _, box in _tick_boxes(b, renderer)] + ([frame] if frame is not None else [])
            for text, box in _tick_boxes(a, renderer):
                if any(box.overlaps(o) for o in others):
                    found.append(f"{text!r} of {a.get_label() or a.get_title() or 'an Axes'} "
                                 f"into {b.get_label() or b.get_title() or 'an Axes'}")
    return found


#: Axis labels that name a dimensionless quantity (everything else must say its units).
_DIMENSIONLESS = ("index", "bin", "coverage")


def labels_without_units(fig) -> list[str]:
    missing = []
    for ax in [*fig.axes, *(c for a in fig.axes for c in a.child_axes)]:
        if not ax.get_frame_on():  # a pie: its text is a legend, not an axis label
            continue
        for label in (ax.get_xlabel(), ax.get_ylabel()):
            first = label.split("\n")[0]
            if first and not ("(" in first and first.rstrip().endswith(")")) and not any(w in first for w in _DIMENSIONLESS):
                missing.append(label)
    return missing


def _every_figure(accuracy, paper, propagated, sobol_species):
    from uqsurrogate.sensitivity import sobol
    from uqsurrogate.uncertainty import propagate

    data, metrics = accuracy
    many = sobol(AnalyticSurrogate().restrict("charge_density"), _fixed_h_problem(), 64, seed=0, resamples=20,
                 progress=False)
    rho = propagate(AnalyticSurrogate().restrict("charge_density"), _fixed_h_problem(), 200, seed=0, progress=False)
    yield "profiles", plot_profiles(data)
    yield "charge", plot_charge(data)
    yield "rmse", plot_rmse_per_bin(metrics)
    for c in PAPER_CASES:
        yield f"surfaces {c}", plot_response_surfaces(paper, c)
    yield "paper indices", plot_paper_indices(paper)
    yield "indices, few z", plot_indices(sobol_species)
    yield "indices, every bin", plot_indices(many)
    yield "bands", plot_propagation(propagated)
    yield "bands of rho", plot_propagation(rho)


def test_no_tick_label_runs_into_a_neighbouring_panel(accuracy, paper, propagated, sobol_species):
    for name, fig in _every_figure(accuracy, paper, propagated, sobol_species):
        assert overlapping_tick_labels(fig) == [], name
        plt.close(fig)


def test_every_axis_label_of_a_quantity_has_units(accuracy, paper, propagated, sobol_species):
    for name, fig in _every_figure(accuracy, paper, propagated, sobol_species):
        assert labels_without_units(fig) == [], name
        plt.close(fig)


def test_the_overlap_check_can_fail():
    """Two panels squeezed together with long tick labels are caught; spaced out, they are not."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(3, 2))
    fig.subplots_adjust(wspace=0.0)
    for ax in (a, b):
        ax.plot([0, 1], [-0.0125, 0.0])
    assert overlapping_tick_labels(fig)
    fig.set_size_inches(9, 3)
    fig.tight_layout()
    assert overlapping_tick_labels(fig) == []
    fig.axes[0].set_xlabel("z")
    assert labels_without_units(fig) == ["z"]


def test_pies_show_the_member_range_and_mark_an_unresolved_cell(paper):
    ds = paper.copy()
    ds["S1_z_member_min"] = ds["S1_z"] - 0.05
    ds["S1_z_member_max"] = ds["S1_z"] + 0.05
    resolved = np.ones((ds.sizes["c"], ds.sizes["z"]), dtype=np.int8)
    resolved[:, 1] = 0
    ds["resolved_z"] = (("c", "z"), resolved)
    ds["resolution_ratio_z"] = (("c", "z"), np.where(resolved, 8.0, 2.5))
    fig = plot_response_surfaces(ds, PAPER_CASES[0])
    pies = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"][ds.sizes["z"]:]
    s = ds.sel(c=PAPER_CASES[0])
    for j, pie in enumerate(pies):
        text = pie.get_xlabel()
        lo, hi = (100 * s[v].values[0, j] for v in ("S1_z_member_min", "S1_z_member_max"))
        assert f"members {lo:.0f}–{hi:.0f}" in text.split("\n")[0]
        wedges = [p for p in pie.patches if isinstance(p, Wedge)]
        if j == 1:
            assert "UNRESOLVED (2.5×)" in text and all(w.get_hatch() == "//" for w in wedges)
        else:
            assert "resolved (8.0×)" in text and not any(w.get_hatch() for w in wedges)
