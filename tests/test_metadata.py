"""Every variable and coordinate of every result type says what it is and in which units (CF).

Walked on the files as written: ``long_name`` everywhere; ``units`` on every numeric variable, or
``flag_values`` with ``flag_meanings`` on a flag; labels (strings: species, input names) need no units.
The study's outputs are walked with the slow checks (they need ``uqsurrogate study --quick``).
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from uqsurrogate.cli import main
from uqsurrogate.results import save_results

VARY = ["--vary", "d_plus=normal(0.4,0.01)", "--vary", "d_minus=normal(0.55,0.01)",
        "--fix", "h=4.5", "--fix", "c=0.3", "--fix", "sigma=-0.015"]


def missing_metadata(path) -> list[str]:
    """What the file at ``path`` lacks, one line per variable or coordinate."""
    out = []
    with xr.open_dataset(path) as ds:
        for name, var in ds.variables.items():
            attrs = var.attrs
            if not str(attrs.get("long_name", "")).strip():
                out.append(f"{path.name}: {name} has no long_name")
            if var.dtype.kind in "biuf":
                flags = "flag_values" in attrs and "flag_meanings" in attrs
                if not str(attrs.get("units", "")).strip() and not flags:
                    out.append(f"{path.name}: {name} has no units (nor flag_values and flag_meanings)")
                if "units" in attrs and "(1)" in str(attrs["units"]):
                    out.append(f"{path.name}: {name} has units {attrs['units']!r}; a dimensionless square is '1'")
    return out


def test_the_walk_finds_what_is_missing(tmp_path):
    """The check itself: a bare file fails it on every count."""
    bare = xr.Dataset({"a": ("x", [1.0, 2.0]), "flag": ("x", np.array([0, 1], dtype=np.int8), {"long_name": "f"}),
                       "v": ("x", [1.0, 2.0], {"units": "(1)2", "long_name": "v"})},
                      coords={"x": [0, 1], "label": ("x", ["p", "q"], {"long_name": "a label"})})
    bare.to_netcdf(tmp_path / "bare.nc")
    found = missing_metadata(tmp_path / "bare.nc")
    assert any("a has no long_name" in m for m in found) and any("a has no units" in m for m in found)
    assert any("flag has no units" in m for m in found) and any("x has no long_name" in m for m in found)
    assert any("'(1)2'" in m for m in found) and not any("label" in m for m in found)


def _library_results(path):
    """nested, sobol, pce (on the shipped surrogate and on a plain function), propagate, a design, its analysis."""
    from uqsurrogate import ModelFunction, Problem
    from uqsurrogate.sensitivity import (
        nested,
        pce,
        save_design,
        sobol,
        sobol_analyze,
        sobol_sample,
    )
    from uqsurrogate.study import default_model_path
    from uqsurrogate.testing import ishigami, ishigami_problem
    from uqsurrogate.uncertainty import propagate

    f = ModelFunction.from_artifact(default_model_path())
    g = f.restrict(output="charge_density", z=[-2.05, -1.0], h=4.5)
    p = Problem({"h": 4.5, "c": 0.3, "d_plus": "normal(0.4, 0.01)", "d_minus": "normal(0.55, 0.01)", "sigma": -0.015})
    save_results(nested(g, p, 16, 16, surfaces=[0], resamples=20, progress=False), path / "nested.nc")
    save_results(sobol(g, p, 64, second_order=True, resamples=20, progress=False), path / "sobol.nc")
    save_results(pce(g, p, 64, order=2, resamples=20, progress=False), path / "pce.nc")
    save_results(propagate(f.restrict(output="density", bins=[100, 200]), p, 200, progress=False),
                 path / "propagate.nc")
    ip = ishigami_problem()
    design = sobol_sample(ip, 64, seed=0)
    save_design(design, path / "design.nc")
    X = design[["x1", "x2", "x3"]].to_array("input").T.values
    save_results(sobol_analyze(ip, design, ishigami(X)), path / "sobol_plain.nc")  # a function with no units
    save_results(pce(ishigami, ip, 64, order=2, resamples=0, progress=False), path / "pce_plain.nc")


def test_every_result_type_has_units_and_long_names(tmp_path, capsys):
    _library_results(tmp_path)
    # the command line's own: simulate, import-md, evaluate (members), sensitivity --members (trust), propagate
    from conftest import ANION_LMP, CATION_LMP

    for argv in (["simulate", "--design", "random", "--n", "6", "--seed", "3", "--out", str(tmp_path / "sim.nc"),
                  "--quiet"],
                 ["import-md", "--lammps", str(CATION_LMP), str(ANION_LMP),
                  "h=4.5,c=0.5,d_plus=0.4,d_minus=0.6,sigma=-0.015", "--units", "real",
                  "--out", str(tmp_path / "md.nc")],
                 ["evaluate", "default", str(tmp_path / "sim.nc"), "--out", str(tmp_path / "metrics.nc"), "--members"],
                 ["sensitivity", "default", "--method", "nested", *VARY, "--output", "charge_density",
                  "--z", "-2.05", "-1.0", "--samples", "16", "--members", "--extrapolation", "warn",
                  "--out", str(tmp_path / "members.nc")]):
        assert main(argv) == 0, capsys.readouterr().err
    files = sorted(tmp_path.glob("*.nc"))
    assert len(files) == 11
    missing = [m for path in files for m in missing_metadata(path)]
    assert not missing, "\n".join(missing)


@pytest.mark.slow
def test_the_study_outputs_have_units_and_long_names(quick_study):
    files = sorted(quick_study.glob("*.nc"))
    assert {p.name for p in files} >= {"paper_sensitivity.nc", "accuracy_check.nc", "accuracy_metrics.nc"}
    missing = [m for path in files for m in missing_metadata(path)]
    assert not missing, "\n".join(missing)
    with xr.open_dataset(quick_study / "paper_sensitivity.nc") as ds:
        assert ds["resolved_z"].attrs["flag_meanings"] == "unresolved resolved"


def test_the_written_log_line_gives_the_sizes(tmp_path, caplog):
    """Not "(0 samples)" for a result that has no sample dim: its own dims and sizes."""
    import logging

    ds = xr.Dataset({"S1": (("c", "input", "z"), np.zeros((2, 2, 5)), {"units": "1", "long_name": "S1"})})
    with caplog.at_level(logging.INFO, logger="uqsurrogate.results"):
        save_results(ds, tmp_path / "r.nc")
    assert "r.nc (c 2, input 2, z 5)" in caplog.text and "samples" not in caplog.text


def test_the_refinement_record_has_units_and_long_names(tmp_path, capsys):
    """``study --refine``'s record of rounds (on a study folder with the paper's layout, two cells unresolved)."""
    from conftest import paper_study_dir

    out = paper_study_dir(tmp_path, [[1, 0], [1, 1]])
    assert main(["study", "--out", str(out), "--refine", "40", "--max-rounds", "1", "--no-figures"]) == 0, \
        capsys.readouterr().err
    assert not missing_metadata(out / "refinement.nc"), "\n".join(missing_metadata(out / "refinement.nc"))
    with xr.open_dataset(out / "paper_sensitivity_refined.nc") as ds:
        assert ds["refined_z"].attrs["flag_meanings"] == "surrogate direct"
