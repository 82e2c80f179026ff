"""The shipped model has a name on the command line (``default``, also ``shipped``): every command that takes
a model accepts it, and ``evaluate`` takes ensembles (their mean, and each member with ``--members``)."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import xarray as xr

from uqsurrogate.cli import build_parser, main
from uqsurrogate.cli._common import model_arg
from uqsurrogate.datasets import MODELS, model_path
from uqsurrogate.study import default_model_path

VARY = ["--vary", "d_plus=normal(0.4,0.01)", "--vary", "d_minus=normal(0.55,0.01)",
        "--fix", "h=4.5", "--fix", "c=0.3", "--fix", "sigma=-0.015"]


def _model_arguments() -> list[tuple[str, argparse.Action]]:
    """Every (subcommand, action) whose argument is a model, nested subcommands (active run/propose) included."""
    found = []

    def walk(parser, prefix):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, f"{prefix} {name}".strip())
            elif action.dest == "model":
                found.append((prefix, action))

    walk(build_parser(), "")
    return found


def test_every_model_argument_takes_the_names():
    found = _model_arguments()
    commands = {c for c, _ in found}
    assert {"evaluate", "calibrate", "info", "sensitivity", "sample", "propagate", "study", "active run",
            "active propose"} <= commands, commands
    wrong = [c for c, a in found if a.type is not model_arg]
    assert not wrong, f"model arguments that do not accept the shipped model's names: {wrong}"
    assert set(MODELS) == {"default", "shipped"}
    for name in MODELS:
        assert model_path(name) == default_model_path() and (model_path(name) / "ensemble.json").is_file()
    assert model_path("./default") == Path("default") and model_path(Path("default")) == Path("default")


def test_a_missing_model_names_the_shipped_one(tmp_path, capsys):
    from uqsurrogate.datasets import example_path

    assert main(["evaluate", str(tmp_path / "nosuch"), str(example_path()), "--out", str(tmp_path / "m.nc")]) == 2
    err = capsys.readouterr().err
    assert "nosuch" in err and "'default'" in err


def test_evaluate_an_ensemble_by_name_mean_and_members(tmp_path, capsys):
    """The mean's and each member's MSE against NumPy on each member loaded as a single network."""
    from uqsurrogate.surrogate import load_artifact

    assert main(["simulate", "--design", "random", "--n", "6", "--seed", "5", "--out", str(tmp_path / "d.nc"),
                 "--quiet"]) == 0
    assert main(["evaluate", "shipped", str(tmp_path / "d.nc"), "--out", str(tmp_path / "m.nc"), "--members"]) == 0
    out = capsys.readouterr().out
    assert "the mean of 5 members" in out and "member-04" in out
    with xr.open_dataset(tmp_path / "d.nc") as ds, xr.open_dataset(tmp_path / "m.nc") as m:
        X = np.stack([ds[k].values for k in ("h", "c", "d_plus", "d_minus", "sigma")], axis=1)
        every = np.stack([load_artifact(default_model_path() / f"member-{k:02d}").predict(X) for k in range(5)], axis=1)
        y = ds["density"].values
        mean_mse = float(((every.mean(axis=1) - y) ** 2).mean())
        member_mse = ((every - y[:, None]) ** 2).mean(axis=(0, 2, 3))
        assert m.attrs["members"] == 5 and m.attrs["split"] == "all"
        np.testing.assert_allclose(float(m["mse"].sel(reference="labels")), mean_mse, rtol=1e-9)
        np.testing.assert_allclose(m["mse_member"].sel(reference="labels").values, member_mse, rtol=1e-9)
        assert list(m["member"].values) == [f"member-{k:02d}" for k in range(5)]


def test_members_of_a_single_network_is_refused(tmp_path, capsys):
    assert main(["simulate", "--design", "random", "--n", "4", "--seed", "5", "--out", str(tmp_path / "d.nc"),
                 "--quiet"]) == 0
    single = default_model_path() / "member-00"
    assert main(["evaluate", str(single), str(tmp_path / "d.nc"), "--out", str(tmp_path / "m.nc"), "--members"]) == 2
    assert "--members" in capsys.readouterr().err and not (tmp_path / "m.nc").exists()


def test_the_name_in_propagate_sensitivity_sample_and_info(tmp_path, capsys):
    assert main(["propagate", "default", *VARY, "--output", "charge_density", "--n", "200",
                 "--out", str(tmp_path / "bands.nc")]) == 0
    assert main(["sensitivity", "default", "--method", "nested", *VARY, "--output", "charge_density",
                 "--z", "-1.0", "--samples", "16", "--out", str(tmp_path / "sens.nc")]) == 0
    assert main(["sample", "--method", "sobol", "--model", "default", *VARY, "--samples", "8",
                 "--out", str(tmp_path / "design.csv")]) == 0
    capsys.readouterr()
    with xr.open_dataset(tmp_path / "sens.nc") as ds:
        assert ds.attrs["model"] == str(default_model_path())
    assert main(["info", "--model", "default"]) == 0
    text = capsys.readouterr().out
    assert "an ensemble of 5 networks" in text and "d_minus  0.2 to 0.63 nm" in text and "Calibration: on 512" in text


def test_calibrate_refuses_to_write_into_the_installed_package(tmp_path, capsys):
    before = (default_model_path() / "ensemble.json").read_bytes()
    assert main(["calibrate", "default", str(tmp_path / "c.nc")]) == 2
    err = capsys.readouterr().err
    assert "cp -r" in err and str(default_model_path()) in err
    assert (default_model_path() / "ensemble.json").read_bytes() == before
