"""Accuracy metrics of the paper (Eqs. 7-10), against the labels and against the truth.

For predictions ŷ (sample j, species, bin k) and references y:

* ``mse`` — Eq. 7, the mean of (y - ŷ)² over every sample and all P = 2 n_bins outputs;
* ``rmse_bin`` — Eq. 8, RMSE_k per species and bin, over samples;
* ``rmse_mean`` — the paper's average RMSE± = mean over bins of RMSE_k, per species;
* ``rmse_sample`` — Eq. 9, RMSE_j per sample and species, over bins;
* ``success_rate`` — Eq. 10, A_j: the fraction of a sample's P outputs with
  ``|y - ŷ| < ε`` (ε = ``density_sem``; the step function is strict, so a bin with ε = 0
  never counts as a success, as in the paper's definition); ``success_rate_mean``
  averages it;
* ``success_rate_measured`` — A_j over the bins the MD run measured (ε > 0) only.  Bins
  no ion reached (y = 0, ε = 0) can never pass the strict test, so the strict A_j is
  capped by their share: 8 % of the simulator's paper grid, 10-20 % of the real MD
  profiles in ``tests/data``.  The paper's own success rates of 0.93-0.98 on such data
  suggest those bins were not counted as failures there; we report both and say which;
  ``success_rate_measured_mean`` averages it;
* ``mse_interface`` and ``mse_bulk`` — the MSE over bins within ``interface`` nm of either
  wall, and over bins within ``bulk`` nm of the midplane (the paper's Fig. 3 inset).

Every metric has a ``reference`` dim: ``labels`` (the noisy ``density``, as the paper could
measure) and, where the data have it, ``truth`` (``density_true``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import xarray as xr

from .._validation import check_choice
from .._version import __version__
from ..conventions import CONVENTIONS, SPECIES
from ..errors import InputError

__all__ = ["evaluate_model", "surrogate_metrics"]

#: Which samples :func:`evaluate_model` scores (``uqsurrogate evaluate --split``).
SPLITS = ("auto", "test", "all")


def surrogate_metrics(
    prediction: np.ndarray, ds: xr.Dataset, *, interface: float = 0.2, bulk: float = 0.1
) -> xr.Dataset:
    """Compute the paper's accuracy metrics.

    Parameters
    ----------
    prediction : numpy.ndarray, shape (n_samples, 2, n_bins)
        Predicted densities, mol/L, for the samples of ``ds`` in order.
    ds : xarray.Dataset
        A training dataset (the test split, usually).
    interface : float, default 0.2
        nm from either wall that count as the interface.
    bulk : float, default 0.1
        nm from the midplane that count as the bulk.

    Returns
    -------
    xarray.Dataset
        Dims ``reference``, ``sample``, ``species``, ``bin``; units mol/L (rates are
        dimensionless).
    """
    pred = np.asarray(prediction, dtype=float)
    y = np.asarray(ds["density"].values, dtype=float)
    if pred.shape != y.shape:
        raise InputError(f"prediction has shape {pred.shape}; expected {y.shape} to match the dataset")
    refs = {"labels": y}
    if "density_true" in ds:
        refs["truth"] = np.asarray(ds["density_true"].values, dtype=float)
    eps = np.asarray(ds["density_sem"].values, dtype=float)
    z = np.asarray(ds["z"].values, dtype=float)
    if "h" in ds:
        to_wall = np.asarray(ds["h"].values, dtype=float)[:, None] / 2 - np.abs(z)
    else:
        to_wall = (z.max(axis=1, keepdims=True) - z.min(axis=1, keepdims=True)) / 2 - np.abs(z)
    near = np.broadcast_to((to_wall <= interface)[:, None, :], y.shape)
    middle = np.broadcast_to((np.abs(z) <= bulk)[:, None, :], y.shape)

    out = {k: [] for k in ("mse", "rmse_bin", "rmse_mean", "rmse_sample", "success_rate", "success_rate_mean",
                           "success_rate_measured", "success_rate_measured_mean", "mse_interface", "mse_bulk")}
    for ref in refs.values():
        sq = (ref - pred) ** 2
        rmse_bin = np.sqrt(sq.mean(axis=0))
        inside = np.abs(ref - pred) < eps
        success = inside.mean(axis=(1, 2))
        with np.errstate(invalid="ignore", divide="ignore"):
            measured = inside.sum(axis=(1, 2)) / (eps > 0).sum(axis=(1, 2))  # NaN: a sample with no measured bin
        out["mse"].append(sq.mean())
        out["rmse_bin"].append(rmse_bin)
        out["rmse_mean"].append(rmse_bin.mean(axis=1))
        out["rmse_sample"].append(np.sqrt(sq.mean(axis=2)))
        out["success_rate"].append(success)
        out["success_rate_mean"].append(success.mean())
        out["success_rate_measured"].append(measured)
        out["success_rate_measured_mean"].append(np.nanmean(measured) if np.isfinite(measured).any() else np.nan)
        out["mse_interface"].append(sq[near].mean() if near.any() else np.nan)
        out["mse_bulk"].append(sq[middle].mean() if middle.any() else np.nan)
    sq_units = "mol2 L-2"
    variables = {
        "mse": (("reference",), out["mse"], {"units": sq_units, "long_name": "test MSE over all outputs (Eq. 7)"}),
        "rmse_bin": (("reference", "species", "bin"), out["rmse_bin"],
                     {"units": "mol/L", "long_name": "RMSE per bin over samples (Eq. 8)"}),
        "rmse_mean": (("reference", "species"), out["rmse_mean"],
                      {"units": "mol/L", "long_name": "average RMSE over bins"}),
        "rmse_sample": (("reference", "sample", "species"), out["rmse_sample"],
                        {"units": "mol/L", "long_name": "RMSE per sample over bins (Eq. 9)"}),
        "success_rate": (("reference", "sample"), out["success_rate"],
                         {"units": "1", "long_name": "fraction of outputs within the MD error bar (Eq. 10)"}),
        "success_rate_mean": (("reference",), out["success_rate_mean"],
                              {"units": "1", "long_name": "mean success rate"}),
        "success_rate_measured": (("reference", "sample"), out["success_rate_measured"],
                                  {"units": "1", "long_name": "fraction of measured outputs (error > 0) within "
                                                              "the MD error bar"}),
        "success_rate_measured_mean": (("reference",), out["success_rate_measured_mean"],
                                       {"units": "1", "long_name": "mean success rate over measured outputs"}),
        "mse_interface": (("reference",), out["mse_interface"],
                          {"units": sq_units, "long_name": f"MSE within {interface} nm of a wall"}),
        "mse_bulk": (("reference",), out["mse_bulk"],
                     {"units": sq_units, "long_name": f"MSE within {bulk} nm of the midplane"}),
    }
    coords = {
        "reference": ("reference", list(refs), {"long_name": "what the prediction is compared with"}),
        "species": ("species", list(SPECIES), {"long_name": "ion species"}),
        "bin": ("bin", np.arange(y.shape[2]), {"units": "1", "long_name": "bin index along z"}),
    }
    return xr.Dataset(
        variables,
        coords=coords,
        attrs={
            "Conventions": CONVENTIONS,
            "title": "surrogate accuracy (Kadupitiya et al., Eqs. 7-10)",
            "n_samples": int(y.shape[0]),
            "interface_nm": interface,
            "bulk_nm": bulk,
            "uqsurrogate_version": __version__,
        },
    )


def evaluate_model(model: str | os.PathLike, ds: xr.Dataset, *, split: str = "auto",
                   members: bool = False) -> xr.Dataset:
    """The paper's metrics of a model or an ensemble's member mean on a training dataset.

    Parameters
    ----------
    model : path-like
        A model directory, or an ensemble directory (its members' predictions are averaged).
    ds : xarray.Dataset
        A training dataset with the model's inputs.
    split : {"auto", "test", "all"}, default "auto"
        ``test``: the model's held-out samples (``ds`` must be its training data; an
        ensemble's members share one split); ``all``: every sample; ``auto``: ``test`` if
        ``ds`` is the training data, else ``all``.
    members : bool, default False
        For an ensemble, also each member's metrics: every variable again as
        ``NAME_member`` with a leading ``member`` dim.

    Returns
    -------
    xarray.Dataset
        :func:`surrogate_metrics` of the (mean) prediction; attributes ``split`` and
        ``members`` (how many networks were averaged).

    Raises
    ------
    InputError
        If the inputs differ from the model's, ``split="test"`` is asked of other data, or
        ``members`` of a single network.
    """
    from ..data.schema import input_names
    from .artifact import load_artifact
    from .ensemble import is_ensemble, read_ensemble
    from .training import data_digest

    check_choice(split, "split", SPLITS)
    model = Path(model)
    names = read_ensemble(model)["members"] if is_ensemble(model) else None
    if members and names is None:
        raise InputError(f"members=True (command line: --members) gives each ensemble member's metrics; {model} is "
                         "a single network")
    networks = [load_artifact(model / m) for m in names] if names else [load_artifact(model)]
    if input_names(ds) != networks[0].input_names:
        raise InputError(f"the data's inputs {input_names(ds)} differ from the model's {networks[0].input_names}")
    training = [n.metadata["training"] for n in networks]
    same = all(t["data_sha256"] == data_digest(ds) for t in training)
    if split == "auto":
        split = "test" if same else "all"
    if split == "test":
        if not same:
            raise InputError("split = 'test' (command line: --split test) needs the model's own training data (its "
                             "hash differs); use split 'all'")
        ds = ds.isel(sample=np.asarray(training[0]["split"]["test_index"], dtype=int))
    X = np.stack([ds[k].values for k in input_names(ds)], axis=1)
    predictions = [n.predict(X) for n in networks]
    metrics = surrogate_metrics(np.mean(predictions, axis=0), ds)
    metrics.attrs.update({"split": split, "members": len(networks)})
    if members:
        each = xr.concat([surrogate_metrics(p, ds) for p in predictions], dim="member", combine_attrs="override")
        for name, var in each.data_vars.items():
            metrics[f"{name}_member"] = var.assign_attrs(long_name=f"{var.attrs['long_name']}, per member")
        metrics = metrics.assign_coords(member=("member", list(names), {"long_name": "ensemble member"}))
    return metrics
