"""netCDF input and output of training datasets.

Writes are atomic (:func:`uqsurrogate.results.save_results`, which writes any result and is
importable from here too); reads load small files into
memory and open large ones lazily, chunked along ``sample`` (this needs the ``dask``
extra).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import xarray as xr

from ..errors import InputError, MissingDependencyError
from ..results import _STORED_CHUNK, save_results
from .schema import validate as _validate
from .schema import z_as_coordinate

__all__ = ["load_dataset", "memory_budget", "save_dataset", "save_results"]

logger = logging.getLogger(__name__)

#: Target size in bytes of one lazy chunk of the largest variable.
_CHUNK_BYTES = 128 * 2**20


def memory_budget() -> int:
    """Bytes of data that :func:`load_dataset` reads eagerly: a quarter of physical memory.

    Returns
    -------
    int
    """
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 4
    except (ValueError, OSError, AttributeError):  # not POSIX: assume 8 GiB of memory
        return 2 * 2**30


def save_dataset(ds: xr.Dataset, path: str | os.PathLike, *, validate: bool = True) -> Path:
    """Write a training dataset to netCDF-4, atomically.

    Parameters
    ----------
    ds : xarray.Dataset
        A dataset that follows the contract (see :mod:`uqsurrogate.data.schema`).
    path : path-like
        Target file.  It is replaced only once the new file is complete.
    validate : bool, default True
        Check the contract first and refuse to write a dataset that breaks it.

    Returns
    -------
    pathlib.Path
        The written path.
    """
    path = Path(path)
    if validate:
        _validate(ds, what=f"dataset for {path}")
    return save_results(ds, path)


def load_dataset(
    path: str | os.PathLike,
    *,
    chunks: int | None = None,
    lazy: bool | None = None,
    validate: bool = True,
) -> xr.Dataset:
    """Read a training dataset from netCDF.

    Parameters
    ----------
    path : path-like
        A netCDF file written by :func:`save_dataset` or any tool that follows the contract.
    chunks : int, optional
        Samples per chunk when the file is opened lazily.  By default about 128 MiB of
        the largest variable per chunk.
    lazy : bool, optional
        ``True`` opens the file lazily with dask, chunked along ``sample``; ``False`` reads
        it into memory.  By default it is read into memory when its variables take less
        than :func:`memory_budget` bytes, and opened lazily otherwise.
    validate : bool, default True
        Check the contract (for a lazy dataset this makes one pass over the data).

    Returns
    -------
    xarray.Dataset
        In memory (the file is closed), or dask-backed (the file stays open; close the
        dataset when done).  ``z`` is a coordinate, also when the file stores it as a
        data variable (files written before it became one).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path = {str(path)!r}: no such file")
    try:
        with xr.open_dataset(path, engine="netcdf4") as probe:
            nbytes = probe.nbytes
            per_sample = max(
                (v.nbytes // max(v.sizes.get("sample", 1), 1) for v in probe.variables.values()), default=1
            )
            if lazy is None:
                lazy = nbytes > memory_budget()
            if not lazy:
                ds = probe.load()
    except (OSError, ValueError, RuntimeError) as err:  # what netCDF4 and xarray raise for a damaged file
        raise InputError(f"path = {str(path)!r} is not a readable netCDF file: {err}") from err
    if lazy:
        try:
            import dask  # noqa: F401
        except ImportError as err:
            raise MissingDependencyError(
                f"{path} holds {nbytes / 2**30:.1f} GiB, too much to read into memory; "
                "opening it lazily needs dask: pip install 'uqsurrogate[dask]'"
            ) from err
        if chunks is None:  # whole stored chunks (save_dataset stores 64 samples per chunk)
            chunks = max(_STORED_CHUNK, _CHUNK_BYTES // max(per_sample, 1) // _STORED_CHUNK * _STORED_CHUNK)
        if not isinstance(chunks, (int, np.integer)) or chunks < 1:
            raise InputError(f"chunks = {chunks!r}; expected a positive number of samples per chunk")
        ds = xr.open_dataset(path, engine="netcdf4", chunks={"sample": int(chunks)})
        logger.info("opened %s lazily, %d samples per chunk", path, chunks)
    ds = z_as_coordinate(ds)  # files from before z became a coordinate
    if validate:
        _validate(ds, what=str(path))
    return ds
