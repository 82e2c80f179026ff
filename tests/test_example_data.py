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
    # The same numbers, up to the last bit or two: rebinning sums floats, and NumPy releases
    # differ in the last ulp of a few of them (2.2e-16 in 51 of 1,512 values with NumPy 2.4).
    # Any real drift of the script or the importers is many orders of magnitude larger.
    xr.testing.assert_allclose(a, b, rtol=1e-13, atol=0)
    assert a.attrs == b.attrs and list(a.data_vars) == list(b.data_vars)
    for name in a.variables:
        assert a[name].attrs == b[name].attrs, name
