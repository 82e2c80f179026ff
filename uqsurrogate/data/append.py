"""Appending new samples to a training dataset, as active learning and warm starts need.

:func:`append_samples` checks both datasets against the contract, checks that they describe
the same system (inputs in the same order and units, species, bins), refuses an input that
is already in the data (or twice among the new samples), and returns the old samples
followed by the new ones, so that a model trained on the old data finds them as a prefix
(:func:`uqsurrogate.surrogate.warmstart.continue_training` relies on it).
"""

from __future__ import annotations

import logging

import numpy as np
import xarray as xr

from .._version import __version__
from ..errors import InputError
from .schema import input_names, validate, z_as_coordinate

__all__ = ["append_samples", "input_matrix"]

logger = logging.getLogger(__name__)


def input_matrix(ds: xr.Dataset) -> np.ndarray:
    """The inputs of a training dataset as one array, columns in ``input_names(ds)`` order.

    Parameters
    ----------
    ds : xarray.Dataset

    Returns
    -------
    numpy.ndarray, shape (n_samples, n_inputs), float64
    """
    return np.stack([np.asarray(ds[k].values, dtype=float) for k in input_names(ds)], axis=1)


def _first_repeats(X: np.ndarray) -> dict[int, int]:
    """For each row equal to an earlier row, that earlier row's index (exact float equality)."""
    _, first, inverse = np.unique(X, axis=0, return_index=True, return_inverse=True)
    earlier = first[np.ravel(inverse)]
    return {int(i): int(j) for i, j in enumerate(earlier) if j != i}


def _shared_sample_labels(ds: xr.Dataset, new: xr.Dataset) -> tuple[xr.Dataset, xr.Dataset]:
    """Per-sample text labels (``source``) that only one side has: the other side's are empty strings."""
    for a, b in ((ds, new), (new, ds)):
        for name, coord in a.coords.items():
            if coord.dims == ("sample",) and coord.dtype.kind in "OUS" and name not in b.coords:
                fill = xr.DataArray(np.full(b.sizes["sample"], "", dtype=object), dims="sample", attrs=coord.attrs)
                if b is ds:
                    ds = ds.assign_coords({name: fill})
                else:
                    new = new.assign_coords({name: fill})
    return ds, new


def append_samples(ds: xr.Dataset, new: xr.Dataset) -> xr.Dataset:
    """The samples of ``ds`` followed by those of ``new``, checked.

    Parameters
    ----------
    ds : xarray.Dataset
        A training dataset (the data contract of :mod:`uqsurrogate.data.schema`).
    new : xarray.Dataset
        Training data of the same system: the same inputs in the same order and units, the
        same species and number of bins.

    Returns
    -------
    xarray.Dataset
        ``n_old + n_new`` samples: ``ds``'s first, in their order, then ``new``'s.  Its
        attributes are ``ds``'s, with a line added to ``history``.  A variable that only one
        of the two has (``density_true`` of simulator data beside MD data, say) is dropped,
        with a warning in the log.

    Raises
    ------
    InputError
        If the datasets describe different systems, or a new sample's inputs equal those of
        a sample already in ``ds`` or of an earlier new sample (the message names both rows).
    """
    validate(ds)
    validate(new, what="new samples")
    ds, new = z_as_coordinate(ds), z_as_coordinate(new)  # either may come from a file of an earlier version
    names, new_names = input_names(ds), input_names(new)
    if names != new_names:
        raise InputError(f"the new samples have inputs {new_names}; the dataset has {names} (same names, same order)")
    for k in names:
        a, b = ds[k].attrs.get("units"), new[k].attrs.get("units")
        if a != b:
            raise InputError(f"input {k!r} is in {b!r} in the new samples and in {a!r} in the dataset")
    if ds.sizes["bin"] != new.sizes["bin"]:
        raise InputError(f"the new samples have {new.sizes['bin']} bins; the dataset has {ds.sizes['bin']}")
    if list(ds["species"].values) != list(new["species"].values):
        raise InputError(f"the new samples' species are {list(new['species'].values)}; the dataset's "
                         f"{list(ds['species'].values)}")
    n_old = ds.sizes["sample"]
    repeats = _first_repeats(np.concatenate([input_matrix(ds), input_matrix(new)]))
    repeats = {i: j for i, j in repeats.items() if i >= n_old}
    if repeats:
        i, j = min(repeats.items())
        where = f"dataset sample {j}" if j < n_old else f"new sample {j - n_old}"
        values = ", ".join(f"{k}={float(new[k].values[i - n_old]):g}" for k in names)
        raise InputError(f"new sample {i - n_old} ({values}) repeats the inputs of {where}"
                         + (f"; {len(repeats)} new samples repeat earlier inputs" if len(repeats) > 1 else "")
                         + ": run other inputs, or average the repeats into one sample first")
    only = sorted(set(ds.data_vars) ^ set(new.data_vars))
    if only:
        logger.warning("appending samples: dropped %s, which only one of the two datasets has", ", ".join(only))
    keep = [v for v in ds.data_vars if v in new.data_vars]
    ds, new = _shared_sample_labels(ds, new)
    out = xr.concat([ds[keep], new[keep]], dim="sample", data_vars="all", coords="different", compat="equals",
                    combine_attrs="override")
    line = f"uqsurrogate {__version__} append_samples: {n_old} + {new.sizes['sample']} samples"
    out.attrs["history"] = "\n".join(filter(None, [str(ds.attrs.get("history", "")), line]))
    validate(out)
    return out
