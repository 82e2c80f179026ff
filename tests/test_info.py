"""``uqsurrogate info`` recognises each kind of file and summarises it in its own terms; a result file is never
called broken training data."""

from __future__ import annotations

import re

import numpy as np
import pytest
import xarray as xr

from uqsurrogate.cli import main
from uqsurrogate.info import kind_of

VARY = ["--vary", "d_plus=normal(0.4,0.01)", "--vary", "d_minus=normal(0.55,0.01)",
        "--fix", "h=4.5", "--fix", "c=0.3", "--fix", "sigma=-0.015"]


def _info(capsys, *argv) -> tuple[int, str]:
    code = main(["info", *map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """One file of each kind the command line writes, small."""
    path = tmp_path_factory.mktemp("results")
    for argv in (["simulate", "--design", "random", "--n", "5", "--seed", "1", "--out", path / "data.nc", "--quiet"],
                 ["sensitivity", "default", "--method", "sobol", *VARY, "--output", "charge_density",
                  "--z", "-2.05", "-1.0", "--samples", "64", "--out", path / "sobol.nc"],
                 ["sensitivity", "default", "--method", "nested", *VARY, "--output", "charge_density",
                  "--samples", "8", "--out", path / "every_bin.nc"],
                 ["propagate", "default", *VARY, "--output", "charge_density", "--n", "300",
                  "--out", path / "bands.nc"],
                 ["sample", "--method", "pce", "--model", "default", *VARY, "--samples", "16",
                  "--out", path / "design.nc"],
                 ["evaluate", "default", path / "data.nc", "--out", path / "metrics.nc"]):
        assert main([str(a) for a in argv]) == 0
    return path


@pytest.mark.parametrize("name, kind", [("data.nc", "training data"), ("sobol.nc", "sensitivity result"),
                                        ("every_bin.nc", "sensitivity result"), ("bands.nc", "propagation bands"),
                                        ("design.nc", "design"), ("metrics.nc", "accuracy metrics")])
def test_each_kind_is_recognised(results, name, kind):
    with xr.open_dataset(results / name) as ds:
        assert kind_of(ds) == kind


def test_a_sensitivity_result_in_its_own_terms(results, capsys):
    code, text = _info(capsys, results / "sobol.nc")
    assert code == 0 and "contract" not in text
    assert "sensitivity result" in text and "method sobol" in text and "d_plus   normal(mean=0.4, sd=0.01) nm" in text
    with xr.open_dataset(results / "sobol.nc") as ds:
        for k, z in enumerate(ds["z"].values):  # the file's own numbers, one line per output
            line = next(l for l in text.splitlines() if f"z={z:g}" in l)
            s1, conf = ds["S1"].isel(bin=k).sel(input="d_minus"), ds["S1_conf"].isel(bin=k).sel(input="d_minus")
            assert f"d_minus {float(s1):.3f} [{float(s1 - conf):.3f}, {float(s1 + conf):.3f}]" in line
    assert "seed:" in text and "uqsurrogate_version" in text


def test_many_outputs_are_summarised_by_their_range(results, capsys):
    code, text = _info(capsys, results / "every_bin.nc")
    with xr.open_dataset(results / "every_bin.nc") as ds:
        s1 = ds["S1_corrected"].sel(input="d_plus")
        n = ds.sizes["bin"]
    assert code == 0 and f"over {n} outputs" in text
    assert f"d_plus: from {float(s1.min()):.3f} to {float(s1.max()):.3f}" in text


def test_bands_design_metrics(results, capsys):
    code, text = _info(capsys, results / "bands.nc")
    with xr.open_dataset(results / "bands.nc") as ds:
        width = (ds["quantile_value"].isel(quantile=-1) - ds["quantile_value"].isel(quantile=0)).max()
    assert code == 0 and "propagation bands" in text and "300 draws" in text and f"widest {float(width):.4g} C/m3" in text
    code, text = _info(capsys, results / "design.nc")
    assert code == 0 and "for method pce" in text and "rows to run" in text and "design_sha256" in text
    code, text = _info(capsys, results / "metrics.nc")
    with xr.open_dataset(results / "metrics.nc") as ds:
        mse = float(ds["mse"].sel(reference="truth"))
    assert code == 0 and f"truth: MSE {mse:.3g}" in text and "members 5" in text


def test_training_data_and_its_violations(results, tmp_path, capsys):
    code, text = _info(capsys, results / "data.nc")
    assert code == 0 and "5 samples x 2 species x 502 bins" in text
    with xr.open_dataset(results / "data.nc") as ds:
        bad = ds.load().drop_vars("density_sem")
    bad["density"][0, 0, 0] = -1.0
    bad.to_netcdf(tmp_path / "bad.nc")
    code, text = _info(capsys, tmp_path / "bad.nc")
    assert code == 1 and "breaks the training-data contract" in text
    assert "density_sem' is missing" in text and "negative" in text


def test_a_model_directory_and_an_unknown_file(tmp_path, capsys):
    from uqsurrogate.study import default_model_path

    code, text = _info(capsys, default_model_path() / "member-02")
    assert code == 0 and "a single network" in text and "seeds 2" in text
    xr.Dataset({"t": ("x", np.arange(3.0))}).to_netcdf(tmp_path / "other.nc")
    code, text = _info(capsys, tmp_path / "other.nc")
    assert code == 0 and "not a file uqsurrogate recognises" in text and "contract" not in text
    assert main(["info"]) == 2 and main(["info", "--model", "default", "--example", "real-md"]) == 2


@pytest.mark.slow
def test_the_study_result_is_a_sensitivity_result(quick_study, capsys):
    """The issue's case: ``study/paper_sensitivity.nc`` is summarised, with each cell's flag from the file."""
    code, text = _info(capsys, quick_study / "paper_sensitivity.nc")
    assert code == 0 and "contract" not in text and "sensitivity result" in text
    with xr.open_dataset(quick_study / "paper_sensitivity.nc") as ds:
        flags = ds["resolved_z"]
        assert len(re.findall(r"UNRESOLVED$", text, flags=re.M)) == int((flags == 0).sum())
        assert len(re.findall(r" resolved$", text, flags=re.M)) == int((flags == 1).sum())
        lo = ds["S1_z_corrected_member_min"].sel(c=0.3, input="d_plus").isel(z=-1)
        assert f"members {float(lo):.3f}-" in next(l for l in text.splitlines() if l.strip().startswith("c=0.3 z=-1:"))
    for name in ("accuracy_metrics.nc", "accuracy_check.nc"):
        assert _info(capsys, quick_study / name)[0] == 0
