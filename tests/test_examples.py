"""The scripts in examples/ run as written and print what their docstrings promise."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from uqsurrogate.testing import ishigami_indices

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(name: str, *args: str, cwd: Path) -> str:
    result = subprocess.run([sys.executable, str(EXAMPLES / name), *args], cwd=cwd, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_custom_function_sobol_matches_the_closed_form(tmp_path):
    out = run("custom_function_sobol.py", cwd=tmp_path)
    s1, st, _, _ = ishigami_indices()
    line = next(ln for ln in out.splitlines() if ln.strip().startswith("y:"))
    m = re.search(r"S1 \[(.*?)\] ± \[(.*?)\], ST \[(.*?)\] ± \[(.*?)\]", line)
    got_s1, half_s1, got_st, half_st = (np.array(g.split(), dtype=float) for g in m.groups())
    # the error's spread over scrambles is <= 6e-4 at n = 2^14 (test_sensitivity); 1e-3 more for rounding
    assert np.all(np.abs(got_s1 - s1) <= 6e-3) and np.all(np.abs(got_st - st) <= 6e-3)
    assert np.all(half_s1 < 0.05) and np.all(half_st < 0.05)
    pce_line = next(ln for ln in out.splitlines() if ln.startswith("PCE"))
    m = re.search(r"S1 \[(.*?)\], ST \[(.*?)\]", pce_line)
    np.testing.assert_allclose(np.array(m.group(1).split(), dtype=float), s1, atol=1e-3)
    np.testing.assert_allclose(np.array(m.group(2).split(), dtype=float), st, atol=1e-3)
    assert (tmp_path / "ishigami_sobol.nc").is_file()


def test_bring_your_own_md(tmp_path):
    from uqsurrogate.data import check

    out = run("bring_your_own_md.py", str(tmp_path / "md.nc"), cwd=tmp_path)
    ds = xr.load_dataset(tmp_path / "md.nc")
    assert check(ds) == [] and ds.sizes["sample"] == 6 and ds.sizes["bin"] == 126
    assert "6 samples x 126 bins" in out and "cation_density.lmp.dat" in out


def test_legacy_model_sensitivity(tmp_path):
    out = run("legacy_model_sensitivity.py", cwd=tmp_path)
    assert "-> density (1, 149)" in out
    rows = [ln for ln in out.splitlines() if ln.startswith("bin")]
    assert [int(ln.split()[1].rstrip(":")) for ln in rows] == [5, 20, 60, 140]
    res = xr.load_dataset(tmp_path / "legacy_sobol.nc")
    # the printed numbers are the file's, and S1 <= ST (up to estimator noise) for both inputs
    assert np.all(res["S1"].values <= res["ST"].values + 0.05)
    assert res["S1"].attrs["units"] == "1"


def test_paper_example_gives_the_study_numbers(tmp_path):
    """The example, assembled from ModelFunction, Problem and nested, equals study's table."""
    from uqsurrogate.model_function import ModelFunction
    from uqsurrogate.study import (
        PAPER_CASES,
        PAPER_Z,
        default_model_path,
        paper_sensitivity,
    )
    from uqsurrogate.warnings import ExtrapolationWarning

    out = run("paper_sensitivity.py", "--quick", cwd=tmp_path)
    printed = {}
    for ln in out.splitlines():
        parts = ln.split()
        if len(parts) == 9 and re.fullmatch(r"[\d.]+", parts[0]):
            printed[(float(parts[0]), float(parts[1]))] = [float(v) for v in parts[2:7]] + [parts[7]]
    assert len(printed) == 10
    with pytest.warns(ExtrapolationWarning):
        sens = paper_sensitivity(ModelFunction.from_artifact(default_model_path()), n_z=300, n_bins=8, seed=0,
                                 progress=False)
    for c in PAPER_CASES:
        for z in PAPER_Z:
            s = sens.sel(c=c, z=z)
            sp, sm = 100 * s["S1_z"].values
            cp, cm = 100 * s["S1_z_corrected"].values
            expected = [round(v, 1) for v in (sp, sm, 100 - sp - sm, cp, cm)]
            assert printed[(c, z)][:5] == pytest.approx(expected, abs=0.051), (c, z)
            low, high = (float(v) for v in printed[(c, z)][5].split("-"))
            np.testing.assert_allclose([low, high], 100 * np.array([s["S1_z_corrected_low"].values[0],
                                                                    s["S1_z_corrected_high"].values[0]]), atol=0.051)


def test_paper_study_on_the_simulator_itself(tmp_path):
    """The simulator, wrapped as a plain callable, goes through ``nested`` like the surrogate."""
    out = run("paper_sensitivity_vs_simulator.py", "6", cwd=tmp_path)
    rows = {}
    for ln in out.splitlines():
        parts = ln.replace("|", " ").split()
        if len(parts) == 6 and re.fullmatch(r"[\d.]+", parts[0]):
            rows[(float(parts[0]), float(parts[1]))] = [float(v) for v in parts[2:]]
    assert len(rows) == 10
    for (c, z), (sim_p, sim_m, sur_p, sur_m) in rows.items():
        assert -5 <= min(sim_p, sim_m, sur_p, sur_m) and max(sim_p, sim_m, sur_p, sur_m) <= 105
        if z == -2.05:  # the cation contact: d+ alone moves it, in the simulator and the surrogate
            assert sim_p > 95 and sur_p > 95, (c, z)


def test_external_simulator_through_files_equals_the_callable(tmp_path):
    """run.sh (sample -> job folders -> external program -> collect -> analyze) equals pce on the same function,
    and its 256 runs give a useful answer: every interval narrower than 0.1, printed as an interval."""
    import os

    from uqsurrogate.constants import AVOGADRO
    from uqsurrogate.problem import Problem
    from uqsurrogate.sensitivity import pce
    from uqsurrogate.simulators.electrolyte import solve_slit

    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(["bash", str(EXAMPLES / "external_simulator" / "run.sh"), str(tmp_path / "work")],
                            capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "collected 256 runs" in result.stdout
    got = xr.load_dataset(tmp_path / "work" / "sobol.nc")

    def contact(X):  # the same computation, in process: inputs in the design's order d_plus, d_minus, h, c, sigma
        out = []
        for dp, dm, h, c, s in X:
            _, n = solve_slit(h, c, dp, dm, s, n_bins=126).bin_average(126)
            out.append((1e24 / AVOGADRO * n).max(axis=1))
        return np.array(out)

    p = Problem({"d_plus": "uniform(0.3,0.5)", "d_minus": "uniform(0.4,0.6)", "h": 4.5, "c": 0.5, "sigma": -0.015})
    direct = pce(contact, p, 256, seed=1)
    # the profiles went through text files with 18 significant digits (np.savetxt): round-off only
    np.testing.assert_allclose(got["S1"].values, direct["S1"].values, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(got["S1_low"].values, direct["S1_low"].values, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(got["S1_high"].values, direct["S1_high"].values, rtol=1e-6, atol=1e-9)
    assert list(got["output"].values) == ["contact_cation", "contact_anion"]
    assert float((got["S1_high"] - got["S1_low"]).max()) < 0.1  # a useful answer from 256 runs
    assert "±" not in result.stdout
    low, high = (float(got[v].sel(input="d_plus", output="contact_cation")) for v in ("S1_low", "S1_high"))
    assert f"| d_plus | {float(got['S1'].sel(input='d_plus', output='contact_cation')):.3f} | {low:.3f} to {high:.3f} |" \
        in result.stdout


@pytest.mark.slow
def test_active_learning_with_external_md_jobs(tmp_path):
    """Two rounds of propose, the stand-in MD engine on every job folder, and ingest."""
    out = run("active_learning_md/run.py", "--workdir", str(tmp_path / "w"), cwd=tmp_path)
    lines = [ln for ln in out.splitlines() if ln.startswith("round")]
    assert [ln.split(":")[0] for ln in lines] == ["round 1", "round 2"]
    assert "52 samples" in lines[0] and "56 samples" in lines[1]
    jobs = sorted((tmp_path / "w" / "run" / "round-002" / "jobs").glob("job-*"))
    assert len(jobs) == 4 and all((j / "p_density_profile.dat").is_file() for j in jobs)
