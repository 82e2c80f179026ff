"""The model artifact: one directory, no pickles.

::

    model/
      model.keras      Keras 3 format (architecture as JSON plus weights; no pickled code)
      metadata.json    inputs, units, training ranges, scaling, output layout, bins and the
                       z convention, loss, seeds, split, data hash, package version, and the
                       SHA-256 of model.keras

Loading checks the format name and version and the hash, and fails with a clear message
on any mismatch.  :func:`save_artifact` writes into a temporary directory beside the
target and renames it into place, so a crash never leaves a half-written artifact.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._atomic import atomic_directory
from .._version import __version__
from ..errors import InputError
from .scaling import minmax_scale
from .zgrid import z_for

__all__ = ["ArtifactError", "FORMAT", "FORMAT_VERSION", "Surrogate", "load_artifact", "save_artifact", "sha256_file"]

logger = logging.getLogger(__name__)

FORMAT = "uqsurrogate-model"
FORMAT_VERSION = 2
#: Versions this code reads.  Version 2 added ``outputs.scale_by_input`` (absent in 1: no such scaling).
READABLE_VERSIONS = (1, 2)
MODEL_FILE = "model.keras"
METADATA_FILE = "metadata.json"


class ArtifactError(InputError):
    """A model directory is missing, corrupted, or of another format version."""


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass
class Surrogate:
    """A loaded surrogate: the Keras model and its metadata.

    Attributes
    ----------
    model : keras.Model
        Maps scaled inputs (batch, n_inputs) to scaled outputs (batch, 2 n_bins).
    metadata : dict
        The contents of ``metadata.json``.
    path : pathlib.Path or None
    """

    model: Any
    metadata: dict
    path: Path | None = None

    @property
    def input_names(self) -> list[str]:
        return [i["name"] for i in self.metadata["inputs"]]

    @property
    def n_bins(self) -> int:
        return int(self.metadata["outputs"]["n_bins"])

    def scale_inputs(self, X: np.ndarray) -> np.ndarray:
        """Min-max scale physical inputs (n, n_inputs) with the training ranges."""
        s = self.metadata["scaling"]
        return minmax_scale(X, s["min"], s["max"])

    def predict(self, X: np.ndarray, batch_size: int = 8192, training: bool = False) -> np.ndarray:
        """Densities for physical inputs.

        Parameters
        ----------
        X : numpy.ndarray, shape (n, n_inputs)
            Inputs in the units of ``metadata["inputs"]``.
        batch_size : int, default 8192
        training : bool, default False
            Run the network in training mode: dropout active (for MC dropout).

        Returns
        -------
        numpy.ndarray, shape (n, n_species, n_bins)
            mol/L.
        """
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != len(self.input_names):
            raise InputError(f"X has shape {X.shape}; expected (n, {len(self.input_names)}) for {self.input_names}")
        xs = self.scale_inputs(X).astype("float32")
        out = np.concatenate(
            [np.asarray(self.model(xs[i : i + batch_size], training=training)) for i in range(0, len(xs), batch_size)]
            or [np.zeros((0, 2 * self.n_bins), "float32")]
        ).astype(float)
        out *= np.asarray(self.metadata["outputs"]["scale"], dtype=float)
        by = self.metadata["outputs"].get("scale_by_input")
        if by is not None:  # outputs in units of an input (e.g. densities over the concentration c)
            out *= X[:, self.input_names.index(by)][:, None]
        return out.reshape(len(X), len(self.metadata["outputs"]["species"]), self.n_bins)

    def z(self, X: np.ndarray) -> np.ndarray:
        """Bin centres (nm) for inputs X (n, n_inputs) under the recorded z convention, shape (n, n_bins)."""
        return z_for(self.metadata["outputs"], self.n_bins, X, self.input_names)


def save_artifact(model, metadata: dict, path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Write a model directory atomically.

    Parameters
    ----------
    model : keras.Model
    metadata : dict
        JSON-serialisable; the format fields and the model hash are added here.
    path : path-like
        The directory to create.
    overwrite : bool, default False
        Replace an existing directory.

    Returns
    -------
    pathlib.Path
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True (--force) to replace it")
    with atomic_directory(path) as tmp:
        from .network import import_keras

        import_keras()
        # an uncompiled copy: the artifact holds the network, not the optimizer's state
        bare = model.__class__.from_config(model.get_config())
        bare.set_weights(model.get_weights())
        bare.save(tmp / MODEL_FILE)
        meta = dict(metadata)
        meta.update(
            {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "uqsurrogate_version": __version__,
                "files": {MODEL_FILE: sha256_file(tmp / MODEL_FILE)},
            }
        )
        (tmp / METADATA_FILE).write_text(json.dumps(meta, indent=1, allow_nan=False))
    logger.info("wrote model artifact %s", path)
    return path


def read_metadata(path: str | os.PathLike) -> dict:
    """Read and check ``metadata.json`` of a model directory (no Keras needed).

    Raises
    ------
    ArtifactError
        If the directory or its files are missing, the JSON is broken, the format is
        another one or of another version, or ``model.keras`` does not match its hash.
    """
    path = Path(path)
    if not path.is_dir():
        raise ArtifactError(f"{path}: no such model directory")
    meta_path = path / METADATA_FILE
    if not meta_path.is_file():
        raise ArtifactError(f"{path}: {METADATA_FILE} is missing; not a uqsurrogate model directory")
    try:
        meta = json.loads(meta_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ArtifactError(f"{meta_path}: not valid JSON ({err}); the artifact is corrupted") from None
    if meta.get("format") != FORMAT:
        raise ArtifactError(f"{meta_path}: format is {meta.get('format')!r}, expected {FORMAT!r}")
    if meta.get("format_version") not in READABLE_VERSIONS:
        raise ArtifactError(
            f"{meta_path}: format version {meta.get('format_version')!r}; this uqsurrogate ({__version__}) reads "
            f"versions {', '.join(map(str, READABLE_VERSIONS))}. Re-export the model with a matching uqsurrogate version."
        )
    model_path = path / MODEL_FILE
    if not model_path.is_file():
        raise ArtifactError(f"{path}: {MODEL_FILE} is missing")
    expected = meta.get("files", {}).get(MODEL_FILE)
    actual = sha256_file(model_path)
    if expected != actual:
        raise ArtifactError(
            f"{model_path}: SHA-256 {actual[:16]}... does not match the recorded {str(expected)[:16]}...; "
            "the weights were changed or corrupted after saving"
        )
    return meta


def load_artifact(path: str | os.PathLike) -> Surrogate:
    """Load a model directory written by :func:`save_artifact`, after checking it.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    Surrogate
    """
    from .network import import_keras

    meta = read_metadata(path)
    keras = import_keras()
    model = keras.saving.load_model(Path(path) / MODEL_FILE, compile=False, safe_mode=True)
    n_out = int(model.outputs[0].shape[-1])
    n_species = len(meta["outputs"]["species"])
    if n_out != n_species * int(meta["outputs"]["n_bins"]) or int(model.inputs[0].shape[-1]) != len(meta["inputs"]):
        raise ArtifactError(
            f"{path}: the network maps {model.inputs[0].shape[-1]} inputs to {n_out} outputs, but the metadata "
            f"lists {len(meta['inputs'])} inputs and {n_species} x {meta['outputs']['n_bins']} outputs"
        )
    return Surrogate(model=model, metadata=meta, path=Path(path))
