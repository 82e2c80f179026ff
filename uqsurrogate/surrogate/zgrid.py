"""The z grid of a sample's bins, defined once (training records it, the artifact and the
model function read it).

A model records one of three conventions in ``metadata.json`` (``outputs``):

* ``uniform-slit``: ``n_bins`` equal bins across (-h/2, h/2), centres
  z_k = -h/2 + (k + 1/2) h / n_bins (the simulator and the importers write this);
* ``fixed``: one grid ``z`` (nm) for every sample;
* ``affine``: z_k = start + (k + 1/2) width, with ``start`` and ``width`` linear in the
  inputs (legacy models; ``affine = {"start": {name: coef}, "width": {name: coef}}``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..errors import InputError

__all__ = ["Z_CONVENTIONS", "detect_z_convention", "uniform_slit_centres", "z_for", "z_grid"]

Z_CONVENTIONS = ("uniform-slit", "fixed", "affine")


def uniform_slit_centres(h: np.ndarray | float, n_bins: int) -> np.ndarray:
    """Bin centres (nm) of ``n_bins`` equal bins across (-h/2, h/2); shape h.shape + (n_bins,).

    Examples
    --------
    >>> uniform_slit_centres(4.0, 4)
    array([-1.5, -0.5,  0.5,  1.5])
    """
    h = np.asarray(h, dtype=float)[..., None]
    k = np.arange(n_bins) + 0.5
    return -h / 2 + k * h / n_bins


def detect_z_convention(z: np.ndarray, h: np.ndarray | None) -> dict:
    """The convention that describes a dataset's z (n, n_bins), given its h (n,) if any.

    Returns
    -------
    dict
        ``{"z_convention": ..., "z": ...}`` as recorded in ``metadata.json``.
    """
    z = np.asarray(z, dtype=float)
    if h is not None:
        h = np.asarray(h, dtype=float)
        if np.allclose(z, uniform_slit_centres(h, z.shape[1]), rtol=0, atol=1e-9 * max(1.0, float(np.abs(h).max()))):
            return {"z_convention": "uniform-slit", "z": None}
    if np.allclose(z, z[:1], rtol=0, atol=1e-12):
        return {"z_convention": "fixed", "z": z[0].tolist()}
    raise InputError(
        "z differs between samples in a way the model cannot record: it must be equal bins across "
        "(-h/2, h/2) (as the simulator and the importers write) or one grid for all samples"
    )


def z_for(outputs: Mapping, n_bins: int, X: np.ndarray, input_names: Sequence[str]) -> np.ndarray:
    """Bin centres (nm) for inputs X (n, n_inputs) under a recorded convention; shape (n, n_bins).

    Parameters
    ----------
    outputs : mapping
        ``z_convention`` and, as it needs, ``z`` or ``affine`` (the artifact's ``outputs``).
    n_bins : int
    X : numpy.ndarray, shape (n, n_inputs)
    input_names : sequence of str
    """
    conv = outputs.get("z_convention")
    X = np.atleast_2d(np.asarray(X, dtype=float))
    column = {name: X[:, i] for i, name in enumerate(input_names)}
    if conv == "uniform-slit":
        return uniform_slit_centres(column["h"], n_bins)
    if conv == "affine":
        k = np.arange(n_bins) + 0.5
        lin = lambda terms: sum(c * column[name] for name, c in terms.items())  # noqa: E731
        start = lin(outputs["affine"].get("start", {})) + np.zeros(len(X))
        width = lin(outputs["affine"].get("width", {})) + np.zeros(len(X))
        return start[:, None] + k[None, :] * width[:, None]
    if conv == "fixed":
        z = np.asarray(outputs["z"], dtype=float)
        return np.broadcast_to(z, (len(X), z.size)).copy()
    raise InputError(f"the model records no z grid (z_convention = {conv!r})")


def z_grid(outputs: Mapping, n_bins: int, h: float | None = None) -> np.ndarray:
    """Bin centres (nm) under a recorded convention that needs no input but h (given where needed); shape (n_bins,).

    Parameters
    ----------
    outputs : mapping
        ``z_convention`` and, for ``fixed``, ``z``.
    n_bins : int
    h : float, optional
        The slit width, for ``uniform-slit``.
    """
    conv = outputs["z_convention"]
    if conv == "fixed":
        return np.asarray(outputs["z"], dtype=float)
    if conv == "uniform-slit":
        if h is None:
            raise InputError(f"the z grid ({conv}) depends on the inputs; pass h")
        return uniform_slit_centres(h, n_bins)
    raise InputError(f"the z grid ({conv}) depends on several inputs; use ModelFunction.z_for(X)")
