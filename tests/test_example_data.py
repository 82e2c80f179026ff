"""The shipped example dataset is valid, attributed, and equal to a fresh import of tests/data."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import xarray as xr

from uqsurrogate.data import check
from uqsurrogate.datasets import example_path, load_example

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "make_example_data.py"


def _script():
    spec = importlib.util.spec_from_file_location("make_example_data", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shipped_example_is_valid_and_attributed():
    ds = load_example("real-md")
    assert check(ds) == []
    assert "nanoconfinement-md" in ds.attrs["source"] and "Apache" in ds.attrs["license"]
    assert (example_path().parent / "LICENSE-nanoconfinement-md").is_file()


def test_shipped_example_equals_fresh_import(tmp_path):
    fresh = _script().build(out=tmp_path / "fresh.nc")
    a, b = load_example("real-md"), xr.load_dataset(fresh)
    del a.attrs["history"], b.attrs["history"]
    xr.testing.assert_identical(a, b)
