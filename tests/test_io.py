"""netCDF I/O: round trips, atomic writes, lazy opening."""

from __future__ import annotations

import os

import numpy as np
import pytest
import xarray as xr

from uqsurrogate.data import DataContractError, load_dataset, save_dataset
from uqsurrogate.data import io as data_io
from uqsurrogate.errors import InputError


def test_round_trip_identical(tmp_path, small_ds):
    path = save_dataset(small_ds, tmp_path / "d.nc")
    back = load_dataset(path)
    xr.testing.assert_identical(back, small_ds)
    # the file is closed after an eager load: it can be replaced at once
    save_dataset(back, path)


def test_save_refuses_invalid(tmp_path, small_ds):
    bad = small_ds.copy(deep=True)
    bad["density"][0, 0, 0] = np.nan
    with pytest.raises(DataContractError, match="NaN"):
        save_dataset(bad, tmp_path / "bad.nc")
    assert not (tmp_path / "bad.nc").exists()


def _crashing_to_netcdf(self, path, *args, **kwargs):
    """Write a partial file under the given (temporary) name, then die like a crash."""
    with open(path, "wb") as fh:
        fh.write(b"CDF\x01 half a file")
    raise KeyboardInterrupt("simulated crash mid-write")


def test_crash_mid_write_keeps_old_file(tmp_path, small_ds, monkeypatch):
    path = save_dataset(small_ds, tmp_path / "d.nc")
    before = path.read_bytes()
    changed = small_ds.copy(deep=True)
    changed["density"] = changed["density"] * 2
    monkeypatch.setattr(xr.Dataset, "to_netcdf", _crashing_to_netcdf)
    with pytest.raises(KeyboardInterrupt):
        save_dataset(changed, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["d.nc"]  # no temporary file left behind


def test_crash_mid_write_leaves_no_file(tmp_path, small_ds, monkeypatch):
    monkeypatch.setattr(xr.Dataset, "to_netcdf", _crashing_to_netcdf)
    with pytest.raises(KeyboardInterrupt):
        save_dataset(small_ds, tmp_path / "new.nc")
    assert os.listdir(tmp_path) == []


def test_write_into_missing_directory(tmp_path, small_ds):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_dataset(small_ds, tmp_path / "no" / "d.nc")


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_dataset(tmp_path / "missing.nc")
    junk = tmp_path / "junk.nc"
    junk.write_text("not netcdf")
    with pytest.raises(InputError, match="junk.nc' is not a readable netCDF file"):
        load_dataset(junk)


def test_truncated_netcdf_is_refused(tmp_path, small_ds):
    path = save_dataset(small_ds, tmp_path / "d.nc")
    cut = tmp_path / "cut.nc"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(InputError, match="cut.nc' is not a readable netCDF file"):
        load_dataset(cut)


@pytest.mark.filterwarnings("ignore:The specified chunks separate")
def test_lazy_open_chunked_along_sample(tmp_path, small_ds):
    import dask  # noqa: F401  (in the test extra)
    path = save_dataset(small_ds, tmp_path / "d.nc")
    ds = load_dataset(path, lazy=True, chunks=3)
    try:
        assert ds["density"].chunks[0] == (3, 1)
        assert ds["density"].chunks[1:] == ((2,), (small_ds.sizes["bin"],))
        xr.testing.assert_identical(ds.load(), small_ds)
    finally:
        ds.close()


def test_large_file_opens_lazily(tmp_path, small_ds, monkeypatch):
    import dask  # noqa: F401  (in the test extra)
    path = save_dataset(small_ds, tmp_path / "d.nc")
    monkeypatch.setattr(data_io, "memory_budget", lambda: 1000)  # "larger than memory"
    ds = load_dataset(path)
    try:
        assert ds["density"].chunks is not None
        per_sample = 2 * small_ds.sizes["bin"] * 8
        expected = data_io._CHUNK_BYTES // per_sample // data_io._STORED_CHUNK * data_io._STORED_CHUNK
        assert ds["density"].chunks[0][0] == min(small_ds.sizes["sample"], expected)
    finally:
        ds.close()


def test_bad_chunks(tmp_path, small_ds):
    import dask  # noqa: F401  (in the test extra)
    path = save_dataset(small_ds, tmp_path / "d.nc")
    with pytest.raises(ValueError, match="chunks = 0"):
        load_dataset(path, lazy=True, chunks=0)


def test_z_is_a_coordinate_that_plots(tmp_path, small_ds):
    """z is a non-index coordinate along (sample, bin): xarray's plot takes x="z" (the README's line)."""
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    back = load_dataset(save_dataset(small_ds, tmp_path / "d.nc"))
    assert "z" in back.coords and "z" not in back.indexes and back["z"].dims == ("sample", "bin")
    assert "z" in back["density"].coords
    (line,) = back["density"].sel(species="cation").isel(sample=0).plot(x="z")
    np.testing.assert_array_equal(line.get_xdata(), small_ds["z"].isel(sample=0).values)
    matplotlib.pyplot.close("all")


def test_old_files_with_z_as_a_data_variable_read_the_same(tmp_path, small_ds):
    """A file of an earlier version (z a data variable) loads with z as a coordinate and passes the contract."""
    old = small_ds.reset_coords("z")
    assert "z" in old.data_vars
    path = tmp_path / "old.nc"
    old.to_netcdf(path)
    with xr.open_dataset(path) as raw:
        assert "z" in raw.data_vars  # stored the old way
    xr.testing.assert_identical(load_dataset(path), small_ds)
    xr.testing.assert_identical(load_dataset(path, lazy=True, chunks=2).load(), small_ds)
