"""The main job, the paper's sensitivity table, and the figures."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from uqsurrogate.cli import main
from uqsurrogate.data import check
from uqsurrogate.model_function import ModelFunction
from uqsurrogate.study import (
    PAPER_Z,
    default_model_path,
    paper_sensitivity,
    paper_table,
)
from uqsurrogate.warnings import ExtrapolationWarning


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    from uqsurrogate.simulators import ElectrolyteSimulator, sobol_design
    from uqsurrogate.surrogate import SurrogateTrainer, TrainingConfig

    design = sobol_design(32, seed=9)
    design["h"][:2] = [4.0, 5.0]  # the paper study's h = 4.5 inside the training range
    ds = ElectrolyteSimulator(n_bins=40).run(design, seed=9)
    cfg = TrainingConfig(loss="soft-label", epochs=3, hidden=(16, 16), dropout=0.0, learning_rate=3e-3,
                         batch_size=8)
    return SurrogateTrainer(cfg, progress=False).fit(ds).save(tmp_path_factory.mktemp("study") / "model")


def test_shipped_model_loads():
    f = ModelFunction.from_artifact(default_model_path())
    assert f.input_names == ["h", "c", "d_plus", "d_minus", "sigma"] and f.n_bins == 502
    meta = f.z_convention
    assert meta["z_convention"] == "uniform-slit"


@pytest.mark.filterwarnings("default::uqsurrogate.warnings.ExtrapolationWarning")  # as a user's shell shows them
def test_study_command_outputs(model, tmp_path, capsys):
    out = tmp_path / "study"
    assert main(["study", "--out", str(out), "--quick", "--model", str(model), "--quiet"]) == 0
    captured = capsys.readouterr()
    text = captured.out
    # the command shows warnings as one line each, on stderr
    assert "uqsurrogate study: warning: the paper's size distributions put" in captured.err
    assert "outside the surrogate's training range" in captured.err
    assert "| c (M) | z (nm) |" in text
    data = xr.load_dataset(out / "accuracy_check.nc")
    assert check(data) == []  # the simulator runs of the accuracy check follow the data contract
    sens = xr.load_dataset(out / "paper_sensitivity.nc")
    assert sens.attrs["method"] == "nested" and list(sens["c"].values) == [0.3, 1.9]
    # every printed S+ and S- is the netCDF's value
    rows = [ln.split("|") for ln in text.splitlines() if ln.startswith("| 0.3 ") or ln.startswith("| 1.9 ")]
    assert len(rows) == 2 * len(PAPER_Z)
    for row in rows:
        c, z, sp, sm = float(row[1]), float(row[2]), float(row[4]), float(row[8])
        np.testing.assert_allclose([sp, sm], 100 * sens["S1_z_corrected"].sel(c=c, z=z).values, atol=0.051)
        low, high = (float(v) for v in row[6].split("–"))  # the sampling interval, from the netCDF too
        np.testing.assert_allclose([low, high], 100 * np.array([sens["S1_z_corrected_low"].sel(c=c, z=z).values[0],
                                                                sens["S1_z_corrected_high"].sel(c=c, z=z).values[0]]),
                                   atol=0.051)
    # the table explains itself, in the terminal and in the Markdown file
    table_md = (out / "paper_sensitivity_table.md").read_text()
    for shown in (text, table_md):
        assert "* sampling: the 95 % interval of the estimator" in shown and "* paper: the paper's number" in shown
    assert ("**differs**†" in _paper_verdicts(sens)) == ("* † differs from the paper" in table_md)
    for name in ("S1_z", "S1_z_corrected", "S1_bin"):
        assert sens[name].attrs["units"] == "1"
    assert sens["z"].attrs["units"] == "nm" and sens["mean_bin"].attrs["units"] == "C/m3"
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert any("surfaces_c0.3" in p for p in pngs) and any("profiles" in p for p in pngs)
    assert any("rmse_per_bin" in p for p in pngs) and any("charge" in p for p in pngs)


def _paper_verdicts(sens) -> set[str]:
    rows = [ln.split("|") for ln in paper_table(sens).splitlines() if ln.startswith(("| 0.3 ", "| 1.9 "))]
    return {row[-2].strip() for row in rows}


def test_paper_table_sets_the_papers_value_beside_ours_and_says_where_they_differ(model):
    """The verdict follows the paper's numbers against ours, cell by cell, and the note appears only when needed."""
    with pytest.warns(ExtrapolationWarning):
        sens = paper_sensitivity(ModelFunction.from_artifact(model), n_z=20, n_bins=8, seed=0, resamples=10,
                                 progress=False)

    def put(ds, c, z, plus, width):
        for name, value in (("S1_z_corrected", plus), ("S1_z_corrected_low", plus - width),
                            ("S1_z_corrected_high", plus + width)):
            ds[name].loc[{"c": c, "z": z}] = [value, 1 - value]

    ds = sens.copy(deep=True)
    for c in (0.3, 1.9):
        for z in PAPER_Z:  # everywhere the paper's value, or what its statement allows
            put(ds, c, z, {(0.3, -2.05): 0.999, (1.9, -2.05): 0.999, (0.3, -1.95): 0.225, (1.9, -1.95): 0.45,
                           (0.3, -1.85): 0.83, (1.9, -1.85): 0.1, (0.3, -1.55): 0.5}.get((c, z), 0.5), 0.005)
    table = paper_table(ds)
    rows = {(float(r[1]), float(r[2])): r for r in (ln.split("|") for ln in table.splitlines()
                                                    if ln.startswith(("| 0.3 ", "| 1.9 ")))}
    assert rows[(0.3, -1.95)][5].strip() == "22.5" and rows[(0.3, -1.95)][9].strip() == "77"  # beside ours
    assert {r[-2].strip() for r in rows.values()} == {"agrees", "–"} and "†" not in table
    put(ds, 0.3, -1.85, 0.45, 0.05)  # the paper's 83 % is far outside 40-50 %
    table = paper_table(ds)
    (row,) = [ln for ln in table.splitlines() if ln.startswith("| 0.3 | -1.85 |")]
    assert row.endswith("| **differs**† |")
    assert "† differs from the paper: docs/paper_comparison.md says why" in table
    assert (Path(__file__).parents[1] / "docs" / "paper_comparison.md").is_file()  # the pointer leads somewhere


def test_study_equals_the_public_pieces_for_the_same_seed(model):
    """paper_sensitivity is the nested estimator on the restricted model function: rebuild it from the API."""
    from uqsurrogate.problem import Normal, Problem
    from uqsurrogate.sensitivity import nested

    f = ModelFunction.from_artifact(model)
    with pytest.warns(ExtrapolationWarning):
        a = paper_sensitivity(f, n_z=40, n_bins=20, seed=3, progress=False)
    assert a.sizes["z"] == len(PAPER_Z)
    g = f.with_options(extrapolation="warn").restrict(output="charge_density", z=list(PAPER_Z), h=4.5)
    for c in (0.3, 1.9):
        p = Problem({"h": 4.5, "c": c, "d_plus": Normal(0.4, 0.01), "d_minus": Normal(0.6, 0.015), "sigma": -0.015})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExtrapolationWarning)
            ref = nested(g, p, 40, 40, seed=3, progress=False)
        np.testing.assert_array_equal(a["S1_z"].sel(c=c).values, ref["S1"].values)
        np.testing.assert_array_equal(a["S1_z_corrected"].sel(c=c).values, ref["S1_corrected"].values)
        np.testing.assert_array_equal(a["S1_z_corrected_low"].sel(c=c).values, ref["S1_corrected_low"].values)
    lines = paper_table(a).splitlines()
    assert any(line.startswith("* sampling: the 95 % interval") and f"({ref.attrs['ci_method']})" in line
               for line in lines)  # the table says which interval its cells hold
    assert lines[2].startswith(f"| 0.3 | {PAPER_Z[0]:g} | I | {100 * a['S1_z_corrected'].values[0, 0, 0]:.1f} |")


def test_plot_command(model, tmp_path, capsys):
    from uqsurrogate.data.io import save_results
    from uqsurrogate.problem import Normal, Problem
    from uqsurrogate.sensitivity import sobol

    f = ModelFunction.from_artifact(model, extrapolation="clip")
    p = Problem({"h": 4.5, "c": 1.0, "d_plus": Normal(0.4, 0.01), "d_minus": Normal(0.5, 0.01), "sigma": -0.015})
    res = save_results(sobol(f.restrict(output="charge_density"), p, 64, seed=0, progress=False), tmp_path / "s.nc")
    assert main(["plot", str(res), "--out", str(tmp_path / "fig"), "--pdf"]) == 0
    assert (tmp_path / "fig" / "s_indices.png").is_file() and (tmp_path / "fig" / "s_indices.pdf").is_file()
    # outputs without bins (named quantities): bars per input
    ishigami = lambda X: np.stack([np.sin(X[:, 0]) + 7 * np.sin(X[:, 1]) ** 2, X[:, 2]], axis=1)  # noqa: E731
    from uqsurrogate.problem import Uniform

    q = Problem({"x1": Uniform(-np.pi, np.pi), "x2": Uniform(-np.pi, np.pi), "x3": Uniform(0, 1)})
    bars = save_results(sobol(ishigami, q, 256, seed=0, progress=False), tmp_path / "bars.nc")
    assert main(["plot", str(bars), "--out", str(tmp_path / "fig")]) == 0
    assert (tmp_path / "fig" / "bars_indices.png").stat().st_size > 10_000
    junk = tmp_path / "junk.nc"
    xr.Dataset({"x": ("t", [1.0])}).to_netcdf(junk)
    assert main(["plot", str(junk), "--out", str(tmp_path / "fig")]) == 2
    assert "not a file uqsurrogate knows how to plot" in capsys.readouterr().err


@pytest.mark.filterwarnings("default::uqsurrogate.warnings.ExtrapolationWarning")
def test_study_from_scratch(tmp_path, capsys, monkeypatch):
    """``--from-scratch`` simulates, trains, saves and studies (on the grid's 32 corners here)."""
    import itertools

    import uqsurrogate.simulators as simulators
    from uqsurrogate.simulators.design import PAPER_LEVELS

    corners = np.array(list(itertools.product(*[(v[0], v[-1]) for v in PAPER_LEVELS.values()])))
    monkeypatch.setattr(simulators, "shipped_design", lambda: {k: corners[:, i] for i, k in enumerate(PAPER_LEVELS)})
    out = tmp_path / "scratch"
    assert main(["study", "--from-scratch", "--epochs", "2", "--out", str(out), "--quick", "--quiet",
                 "--no-figures"]) == 0
    captured = capsys.readouterr()
    text = captured.out
    assert "warning:" in captured.err
    assert "(32 inputs;" in text and "training" in text and "| c (M) | z (nm) |" in text
    grid = xr.load_dataset(out / "training_data.nc")
    assert check(grid) == [] and grid.sizes["sample"] == 32
    from uqsurrogate.surrogate import load_artifact

    meta = load_artifact(out / "model").metadata
    assert meta["training"]["epochs_run"] == 2 and meta["training"]["loss"] == "soft-label"
    assert not (out / "model.checkpoint").exists()
    assert (out / "paper_sensitivity.nc").is_file()


def test_study_says_its_model_at_once_and_reports_stages_when_not_on_a_terminal(model, tmp_path):
    """Output redirected (pipes, no terminal): the model line arrives while the study still runs, and stderr
    gets one line per stage with its time, in order, instead of progress bars."""
    import os
    import re
    import subprocess
    import sys

    out = tmp_path / "study"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # stdout to a pipe: block-buffered
    proc = subprocess.Popen([sys.executable, "-m", "uqsurrogate.cli", "study", "--out", str(out), "--quick",
                             "--model", str(model), "--no-figures"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    first = proc.stdout.readline()
    running = proc.poll() is None
    rest, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert first == f"model: {model}\n" and running  # flushed before the work, not at the end
    stages = [ln[len("uqsurrogate study: "):] for ln in err.splitlines()
              if ln.startswith("uqsurrogate study: ") and "warning" not in ln]
    assert len(stages) == 4, err
    for line, start in zip(stages, ("model loaded", "accuracy check (4 fresh simulator runs)",
                                    "sensitivity at c = 0.3 mol/L", "sensitivity at c = 1.9 mol/L")):
        assert line.startswith(start), line
    so_far = [int(re.search(r"\((\d+) s so far\)$", ln).group(1)) for ln in stages]
    total = float(re.search(r"in (\d+) s$", rest.splitlines()[-1]).group(1))
    assert so_far == sorted(so_far) and so_far[-1] <= total + 1
    assert "it/s" not in err and "%|" not in err  # no progress bars off a terminal
