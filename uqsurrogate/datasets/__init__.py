"""Small example datasets shipped inside the package.

``real-md``
    Real LAMMPS density profiles of ions between two planar walls: five runs from the
    public nanoconfinement-md project (Apache License 2.0, see ``LICENSE-nanoconfinement-md``
    beside this file) at h = 3 nm, c = 0.5 M, and one ``fix ave/chunk`` run at h = 4.5 nm,
    all rebinned onto 126 bins.  ``scripts/make_example_data.py`` rebuilds it from the raw
    files in ``tests/data``; README.md beside this file gives the provenance.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import xarray as xr

from ..errors import InputError

__all__ = ["EXAMPLES", "MODELS", "example_path", "load_example", "model_path"]

#: Name of each example dataset, and its file inside this package.
EXAMPLES = {"real-md": "real_md_profiles.nc"}

#: Names of the shipped model (the calibrated five-member soft-label ensemble), and its folder inside this
#: package: every command that takes a model accepts them (``uqsurrogate evaluate default grid.nc ...``).
MODELS = {"default": "modnn", "shipped": "modnn"}


def example_path(name: str = "real-md") -> Path:
    """Path of a shipped example dataset.

    Parameters
    ----------
    name : str, default "real-md"
        One of :data:`EXAMPLES`.

    Returns
    -------
    pathlib.Path
    """
    if name not in EXAMPLES:
        raise InputError(f"name = {name!r}; the example datasets are: {', '.join(EXAMPLES)}")
    return Path(str(resources.files(__name__).joinpath(EXAMPLES[name])))


def model_path(model: str | os.PathLike) -> Path:
    """A model or ensemble directory: the shipped model's for one of its names, else the path given.

    A name of :data:`MODELS` always means the shipped model; write ``./default`` for a
    folder of that name in the working directory.

    Parameters
    ----------
    model : str or path-like
        ``"default"`` or ``"shipped"``, or a model or ensemble directory.

    Returns
    -------
    pathlib.Path
        The directory (not checked: reading it checks it).

    Examples
    --------
    >>> model_path("default").name, model_path("model/").name
    ('modnn', 'model')
    """
    if isinstance(model, str) and model in MODELS:
        return Path(str(resources.files(__name__).joinpath(MODELS[model])))
    return Path(model)


def load_example(name: str = "real-md") -> xr.Dataset:
    """Load a shipped example dataset into memory.

    Parameters
    ----------
    name : str, default "real-md"
        One of :data:`EXAMPLES`.

    Returns
    -------
    xarray.Dataset
        A training dataset that follows the contract.
    """
    from ..data.io import load_dataset

    return load_dataset(example_path(name))
