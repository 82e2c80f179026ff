"""The training-data contract: every bad-input case is caught and named."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from conftest import synthetic

from uqsurrogate.data import DataContractError, check, make_dataset, validate


def test_valid_dataset_passes(small_ds):
    assert check(small_ds) == []
    assert validate(small_ds) is small_ds
    assert small_ds.attrs["inputs"] == "h c d_plus d_minus sigma"
    for name in small_ds.data_vars:
        assert small_ds[name].attrs["units"] and small_ds[name].attrs["long_name"]


def problems_of(ds) -> str:
    with pytest.raises(DataContractError) as info:
        validate(ds)
    return str(info.value)


@pytest.mark.parametrize("name", ["density", "density_sem", "z", "c"])
def test_missing_variable(small_ds, name):
    msg = problems_of(small_ds.drop_vars(name))
    assert f"{name!r} is missing" in msg


def test_missing_dim(small_ds):
    ds = small_ds.isel(species=0)  # drops the species dim
    msg = problems_of(ds)
    assert "dimension 'species' is missing" in msg
    assert "density has dims ('sample', 'bin')" in msg


def test_missing_inputs_attribute(small_ds):
    ds = small_ds.copy()
    del ds.attrs["inputs"]
    assert "attribute 'inputs' is missing" in problems_of(ds)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("name", ["density", "density_sem", "density_true", "z", "sigma"])
def test_nan_and_inf(small_ds, name, value):
    ds = small_ds.copy(deep=True)
    index = {"sample": 2, "species": 1, "bin": 7} if ds[name].ndim == 3 else {"sample": 2, "bin": 7}
    index = {k: v for k, v in index.items() if k in ds[name].dims}
    ds[name][index] = value
    msg = problems_of(ds)
    assert f"{name} has 1 NaN or inf value" in msg
    assert "sample=2" in msg


def test_negative_density_named_with_location(small_ds):
    ds = small_ds.copy(deep=True)
    ds["density"][1, 0, 3] = -0.5
    msg = problems_of(ds)
    assert "density has 1 negative density (first at sample=1, species='cation', bin=3: -0.5 mol/L)" in msg


def test_negative_error(small_ds):
    ds = small_ds.copy(deep=True)
    ds["density_sem"][0, 1, 0] = -1e-3
    ds["density_sem"][3, 1, 5] = -2e-3
    msg = problems_of(ds)
    assert "density_sem has 2 negative errors" in msg
    assert "species='anion'" in msg


def test_z_not_increasing(small_ds):
    ds = small_ds.copy(deep=True)
    ds["z"][2, 5] = ds["z"][2, 4]
    msg = problems_of(ds)
    assert "z is not strictly increasing along 'bin' in 1 sample (first at sample=2, bin=4)" in msg


@pytest.mark.parametrize("name", ["density", "z", "h", "density_sem"])
def test_missing_units(small_ds, name):
    ds = small_ds.copy()
    ds[name].attrs = {k: v for k, v in ds[name].attrs.items() if k != "units"}
    assert f"{name} has no 'units' attribute" in problems_of(ds)


def test_wrong_units(small_ds):
    ds = small_ds.copy()
    ds["z"].attrs["units"] = "angstrom"
    assert "z has units 'angstrom'; the contract requires 'nm'" in problems_of(ds)


def test_empty_dataset(small_ds):
    msg = problems_of(small_ds.isel(sample=slice(0, 0)))
    assert "the dataset is empty: dimension 'sample' has length 0" in msg


def test_all_problems_reported_at_once(small_ds):
    ds = small_ds.copy(deep=True)
    ds["density"][0, 0, 0] = np.nan
    ds["density_sem"][0, 0, 1] = -1.0
    ds["z"].attrs.pop("units")
    ds = ds.drop_vars("sigma")
    with pytest.raises(DataContractError) as info:
        validate(ds)
    assert len(info.value.problems) == 4
    assert "4 problems" in str(info.value)


def test_wrong_species_coordinate(small_ds):
    ds = small_ds.assign_coords(species=["anion", "cation"])
    assert "coordinate 'species' is ['anion', 'cation']" in problems_of(ds)


def test_not_a_dataset():
    with pytest.raises(TypeError, match="ds must be an xarray.Dataset, not DataArray"):
        check(xr.DataArray([1.0]))


def test_make_dataset_shape_errors():
    z = np.linspace(-1, 1, 5)
    d = np.ones((2, 2, 5))
    inputs = {"h": [2.0, 2.0]}
    with pytest.raises(ValueError, match=r"density has shape \(2, 5\)"):
        make_dataset(inputs, z, np.ones((2, 5)), np.ones((2, 5)))
    with pytest.raises(ValueError, match=r"z has shape \(2, 4\)"):
        make_dataset(inputs, np.ones((2, 4)), d, d)
    with pytest.raises(ValueError, match=r"density_sem has shape \(2, 2, 4\)"):
        make_dataset(inputs, z, d, np.ones((2, 2, 4)))
    with pytest.raises(ValueError, match="input 'temperature' has no units"):
        make_dataset({"temperature": [1.0, 2.0]}, z, d, d)
    with pytest.raises(ValueError, match=r"input 'h' has 3 values; expected one per sample \(2\)"):
        make_dataset({"h": [1.0, 2.0, 3.0]}, z, d, d)


def test_make_dataset_validates():
    z = np.linspace(-1, 1, 5)
    d = np.ones((1, 2, 5))
    sem = 0.1 * d
    sem[0, 0, 2] = -1.0
    with pytest.raises(DataContractError, match="density_sem has 1 negative error "):
        make_dataset({"h": [2.0]}, z, d, sem)
    assert check(make_dataset({"h": [2.0]}, z, d, 0.1 * d)) == []


def test_lazy_dataset_is_checked_chunkwise(small_ds):
    import dask  # noqa: F401  (in the test extra)
    ds = small_ds.copy(deep=True)
    ds["density"][3, 1, 2] = -1.0
    lazy = ds.chunk({"sample": 1})
    assert check(lazy) == check(ds)
    assert len(check(lazy)) == 1


def test_synthetic_seeds_differ():
    assert not synthetic(seed=1).equals(synthetic(seed=2))
