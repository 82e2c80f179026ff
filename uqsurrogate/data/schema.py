"""The training-data contract: build a conforming Dataset, and check one.

A training dataset is an :class:`xarray.Dataset` with

* dims ``sample``, ``species`` (coordinate ``["cation", "anion"]``) and ``bin``;
* one variable per input along ``sample`` (by default ``h`` in nm, ``c`` in mol/L,
  ``d_plus`` and ``d_minus`` in nm, ``sigma`` in C/m2), their names listed, separated by
  spaces, in the dataset attribute ``inputs``;
* ``z`` (sample, bin): bin centres in nm, strictly increasing along ``bin``, a non-index
  coordinate, so that ``ds["density"].plot(x="z")`` works (files of earlier versions
  store it as a data variable; :func:`z_as_coordinate` reads them the same way);
* ``density`` and ``density_sem`` (sample, species, bin) in mol/L, and optionally
  ``density_true`` (the exact answer, where the source knows it);
* CF attributes ``units`` and ``long_name`` on every variable, ``Conventions = "CF-1.10"``.

:func:`make_dataset` is the one place that builds such a Dataset; :func:`check` lists
every way a Dataset breaks the contract and :func:`validate` raises them all at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
import xarray as xr

from .._version import __version__
from ..conventions import CONVENTIONS, DENSITY_UNITS, INPUTS, SPECIES, Z_UNITS, InputSpec
from ..errors import DataContractError, InputError, InputTypeError

__all__ = [
    "CONVENTIONS",
    "DENSITY_UNITS",
    "INPUTS",
    "SPECIES",
    "Z_UNITS",
    "DataContractError",
    "InputSpec",
    "check",
    "input_names",
    "make_dataset",
    "validate",
    "z_as_coordinate",
]

_PROFILE_VARS = MappingProxyType(
    {
        "density": "number density",
        "density_sem": "statistical error of the number density",
        "density_true": "exact number density (bin average)",
    }
)

#: long_name of the per-sample labels that the importers write.
_SAMPLE_COORDS = MappingProxyType({"source": "where the sample came from"})


def input_names(ds: xr.Dataset) -> list[str]:
    """Return the input names listed in ``ds.attrs["inputs"]``, in order.

    Parameters
    ----------
    ds : xarray.Dataset
        A training dataset.

    Returns
    -------
    list of str
    """
    raw = ds.attrs.get("inputs")
    if not isinstance(raw, str) or not raw.split():
        raise DataContractError(["attribute 'inputs' is missing or empty: it must list the input variables"])
    return raw.split()


def make_dataset(
    inputs: Mapping[str, Any],
    z: Any,
    density: Any,
    density_sem: Any,
    *,
    density_true: Any = None,
    input_specs: Mapping[str, InputSpec] | None = None,
    sample_coords: Mapping[str, Any] | None = None,
    attrs: Mapping[str, Any] | None = None,
    validate_result: bool = True,
) -> xr.Dataset:
    """Build a training dataset that follows the contract.

    Parameters
    ----------
    inputs : mapping of str to array_like, each of shape (n_samples,)
        Input values in their physical units, in the order they should be listed.
    z : array_like, shape (n_samples, n_bins) or (n_bins,)
        Bin centres in nm; a 1-D grid is shared by every sample.
    density, density_sem : array_like, shape (n_samples, 2, n_bins)
        Mean density and its statistical error in mol/L; axis 1 is (cation, anion).
    density_true : array_like, shape (n_samples, 2, n_bins), optional
        The exact density, where the source knows it.
    input_specs : mapping of str to InputSpec, optional
        Units and descriptions of inputs that are not among :data:`INPUTS`.
    sample_coords : mapping of str to array_like of shape (n_samples,), optional
        Extra per-sample labels (for example the run name), stored as coordinates.
    attrs : mapping, optional
        Extra global attributes (``title``, ``source``, ...).
    validate_result : bool, default True
        Run :func:`validate` on the result.

    Returns
    -------
    xarray.Dataset
    """
    specs = dict(INPUTS)
    specs.update(input_specs or {})
    density = np.asarray(density, dtype=float)
    if density.ndim != 3 or density.shape[1] != len(SPECIES):
        raise InputError(
            f"density has shape {density.shape}; expected (n_samples, 2, n_bins) with axis 1 = (cation, anion)"
        )
    n, _, n_bins = density.shape
    z = np.asarray(z, dtype=float)
    if z.ndim == 1:
        z = np.broadcast_to(z, (n, z.shape[0])).copy()
    if z.shape != (n, n_bins):
        raise InputError(f"z has shape {z.shape}; expected ({n}, {n_bins}) or ({n_bins},) to match density")
    for name, arr in (("density_sem", density_sem), ("density_true", density_true)):
        if arr is not None and np.shape(arr) != density.shape:
            raise InputError(f"{name} has shape {np.shape(arr)}; expected {density.shape} like density")

    data_vars: dict[str, Any] = {}
    for name, values in inputs.items():
        if name not in specs:
            raise InputError(
                f"input {name!r} has no units: pass input_specs={{{name!r}: InputSpec(...)}}; "
                f"known inputs are {sorted(specs)}"
            )
        values = np.asarray(values, dtype=float).reshape(-1)
        if values.shape != (n,):
            raise InputError(f"input {name!r} has {values.size} values; expected one per sample ({n})")
        spec = specs[name]
        data_vars[name] = ("sample", values, {"units": spec.units, "long_name": spec.long_name})
    profiles = {"density": density, "density_sem": density_sem, "density_true": density_true}
    for name, arr in profiles.items():
        if arr is not None:
            data_vars[name] = (
                ("sample", "species", "bin"),
                np.asarray(arr, dtype=float),
                {"units": DENSITY_UNITS, "long_name": _PROFILE_VARS[name]},
            )
    coords: dict[str, Any] = {
        "species": ("species", list(SPECIES), {"long_name": "ion species"}),
        "z": (("sample", "bin"), z,
              {"units": Z_UNITS, "long_name": "bin centre, distance from the slit midplane", "axis": "Z"}),
    }
    for name, values in (sample_coords or {}).items():
        values = np.asarray(values)
        if values.shape != (n,):
            raise InputError(f"sample coordinate {name!r} has shape {values.shape}; expected ({n},)")
        coords[name] = ("sample", values, {"long_name": _SAMPLE_COORDS.get(name, name)})
    global_attrs = {
        "Conventions": CONVENTIONS,
        "inputs": " ".join(inputs),
        "uqsurrogate_version": __version__,
    }
    global_attrs.update(attrs or {})
    ds = xr.Dataset(data_vars, coords=coords, attrs=global_attrs)
    if validate_result:
        validate(ds)
    return ds


def z_as_coordinate(ds: xr.Dataset) -> xr.Dataset:
    """Return ``ds`` with ``z`` as a (non-index) coordinate.

    Files written before ``z`` became a coordinate store it as a data variable; this
    reads them the same way as new ones.

    Parameters
    ----------
    ds : xarray.Dataset
        A training dataset, ``z`` a data variable or a coordinate (or missing).

    Returns
    -------
    xarray.Dataset
        ``ds`` itself when there is nothing to change.

    Examples
    --------
    >>> import xarray as xr
    >>> old = xr.Dataset({"z": (("sample", "bin"), [[0.0, 1.0]])})
    >>> "z" in z_as_coordinate(old).coords
    True
    """
    if "z" in ds.data_vars:
        return ds.set_coords("z")
    return ds


def _index_of(mask: xr.DataArray) -> dict[str, int]:
    """Index of the first position where ``mask`` is True, per dim."""
    flat = int(np.asarray(mask.data.reshape(-1).argmax()))
    return dict(zip(mask.dims, (int(i) for i in np.unravel_index(flat, mask.shape))))


def _where(mask: xr.DataArray) -> str:
    """Describe the first position where ``mask`` is True, as ``dim=label, ...``."""
    parts = []
    for dim, i in _index_of(mask).items():
        label = mask[dim].values[i] if dim in mask.coords else i
        parts.append(f"{dim}={str(label)!r}" if isinstance(label, str) else f"{dim}={i}")
    return ", ".join(parts)


def _count(mask: xr.DataArray) -> int:
    return int(mask.sum().values)


def check(ds: xr.Dataset) -> list[str]:
    """List every way ``ds`` breaks the training-data contract.

    Parameters
    ----------
    ds : xarray.Dataset
        The dataset to check.  Lazy (dask-backed) datasets are checked chunk by chunk.

    Returns
    -------
    list of str
        One message per problem, each naming the variable and what is wrong; empty if
        the dataset conforms.
    """
    if not isinstance(ds, xr.Dataset):
        raise InputTypeError(f"ds must be an xarray.Dataset, not {type(ds).__name__}")
    problems: list[str] = []

    for dim in ("sample", "species", "bin"):
        if dim not in ds.dims:
            problems.append(f"dimension {dim!r} is missing (dims are {sorted(map(str, ds.dims))})")
    if "species" in ds.dims:
        species = ds["species"].values.tolist() if "species" in ds.coords else None
        if species != list(SPECIES):
            problems.append(f"coordinate 'species' is {species}; it must be {list(SPECIES)}")
    empty = [d for d in ("sample", "bin") if d in ds.dims and ds.sizes[d] == 0]
    for d in empty:
        problems.append(f"the dataset is empty: dimension {d!r} has length 0")

    try:
        inputs = input_names(ds)
    except DataContractError as err:
        problems.extend(err.problems)
        inputs = []

    expected = {name: ("sample",) for name in inputs}
    expected["z"] = ("sample", "bin")
    for name in ("density", "density_sem"):
        expected[name] = ("sample", "species", "bin")
    if "density_true" in ds:
        expected["density_true"] = ("sample", "species", "bin")

    present = []
    for name, dims in expected.items():
        if name not in ds.variables:
            kind = "input" if name in inputs else "variable"
            problems.append(f"{kind} {name!r} is missing")
            continue
        var = ds[name]
        if var.dims != dims:
            problems.append(f"{name} has dims {var.dims}; expected {dims}")
            continue
        if not np.issubdtype(var.dtype, np.number):
            problems.append(f"{name} has dtype {var.dtype}; expected a number type")
            continue
        present.append(name)
        units = var.attrs.get("units")
        if not units:
            problems.append(f"{name} has no 'units' attribute")
        else:
            want = {"z": Z_UNITS}.get(name, DENSITY_UNITS if name.startswith("density") else None)
            if want is None and name in INPUTS:
                want = INPUTS[name].units
            if want is not None and units != want:
                problems.append(f"{name} has units {units!r}; the contract requires {want!r}")
        if not var.attrs.get("long_name"):
            problems.append(f"{name} has no 'long_name' attribute")

    if empty:
        return problems
    for name in present:
        var = ds[name]
        bad = ~np.isfinite(var)
        n_bad = _count(bad)
        if n_bad:
            problems.append(f"{name} has {n_bad} NaN or inf value{'s' * (n_bad > 1)} (first at {_where(bad)})")
        if name.startswith("density"):
            neg = var < 0
            n_neg = _count(neg)
            if n_neg:
                what = ("error", "errors") if name == "density_sem" else ("density", "densities")
                first = _where(neg)
                problems.append(
                    f"{name} has {n_neg} negative {what[n_neg > 1]} (first at {first}: "
                    f"{float(var.isel(_index_of(neg)).values):.6g} {var.attrs.get('units', '')})"
                )
    # the physics the docs state: walls apart (h > 0), like-charged walls sigma <= 0, c >= 0,
    # ion sizes >= 0, and bins inside the slit, z centred on its midplane
    for name, ok, rule in (("h", lambda v: v > 0, "> 0 nm"), ("sigma", lambda v: v <= 0, "<= 0 C/m2"),
                           ("c", lambda v: v >= 0, ">= 0 mol/L"), ("d_plus", lambda v: v >= 0, ">= 0 nm"),
                           ("d_minus", lambda v: v >= 0, ">= 0 nm")):
        if name in present:
            var = ds[name]
            bad = np.isfinite(var) & ~ok(var)
            if _count(bad):
                problems.append(f"{name} must be {rule}; {_count(bad)} sample(s) are not (first at {_where(bad)}: "
                                f"{float(var.isel(_index_of(bad)).values):g})")
    if "z" in present and "h" in present:
        outside = np.abs(ds["z"]) > ds["h"] / 2 * (1 + 1e-9)
        if _count(outside):
            problems.append(f"z lies outside the slit [-h/2, h/2] at {_count(outside)} bin(s) (first at "
                            f"{_where(outside)}); z is measured from the slit's midplane")
    if "z" in present:
        step = ds["z"].diff("bin")
        bad = ~(step > 0)
        n_bad_samples = _count(bad.any("bin"))
        if n_bad_samples:
            problems.append(
                f"z is not strictly increasing along 'bin' in {n_bad_samples} "
                f"sample{'s' * (n_bad_samples > 1)} (first at {_where(bad)})"
            )
    return problems


def validate(ds: xr.Dataset, what: str = "dataset") -> xr.Dataset:
    """Check ``ds`` against the contract; raise every problem at once.

    Parameters
    ----------
    ds : xarray.Dataset
        The dataset to check.
    what : str, default "dataset"
        How to name ``ds`` in the message (for example its file name).

    Returns
    -------
    xarray.Dataset
        ``ds`` itself, so that calls can be chained.

    Raises
    ------
    DataContractError
        Listing every problem found by :func:`check`.
    """
    problems = check(ds)
    if problems:
        raise DataContractError(problems, what)
    return ds
