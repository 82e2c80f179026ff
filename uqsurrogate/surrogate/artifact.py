"""The model artifact: one directory, no pickles.

::

    model/
      model.keras      Keras 3 format (architecture as JSON plus weights; no pickled code),
                       self-contained since format 3: raw inputs in their units to densities
                       in mol/L, shape (batch, n_species, n_bins) — the min-max input scaling,
                       the output scale (zero where no training profile had an ion), and the
                       multiplication by an input such as c are standard Keras layers around
                       the trained network (named "network")
      metadata.json    inputs, units, training ranges, scaling, output layout, bins and the
                       z convention, loss, seeds, split, data hash, package version, and the
                       SHA-256 of model.keras; and (format 4) ``metadata_sha256``, the digest
                       of the metadata itself

So ``keras.saving.load_model("model/model.keras").predict(X)`` alone gives the densities;
uqsurrogate also reads the metadata and checks that the layers' scaling is the metadata's.
A model on another output representation than one per bin (format 5,
``outputs.representation``; :mod:`.representations`) may end in layers of this package,
such as the contact-aligned one's: register them first with
``uqsurrogate.surrogate.aligned.register_layers()`` (uqsurrogate's own loaders do).

Loading checks the format name and version (and that the file holds no field of a later
format than it claims: :data:`INTRODUCED_IN`), the hashes, and the metadata against what
model.keras holds (input and output counts, output scaling, layout, the representation's
head), and fails with a clear message on any mismatch.  :func:`save_artifact` writes into a temporary directory beside the
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

from .._atomic import atomic_directory, special_kind
from .._version import __version__
from ..errors import ArtifactError, InputError
from .representations import representation_of
from .scaling import minmax_scale, minmax_span
from .zgrid import Z_CONVENTIONS, z_for

__all__ = ["ArtifactError", "FORMAT", "FORMAT_VERSION", "Surrogate", "check_metadata", "load_artifact",
           "metadata_digest", "save_artifact", "self_contained", "sha256_file"]

logger = logging.getLogger(__name__)

FORMAT = "uqsurrogate-model"
FORMAT_VERSION = 5
#: Versions this code reads.  Version 2 added ``outputs.scale_by_input`` (absent in 1: no such scaling);
#: version 3 made model.keras self-contained (versions 1-2 hold the bare network, scaled to scaled);
#: version 4 added ``metadata_sha256``, the metadata's own digest (checked from 4 on); version 5 added
#: ``outputs.representation`` (absent: one output per bin), the contact-aligned profile of
#: :mod:`.aligned`, whose network ends in the ``uqsurrogate>AlignedBins`` layer (and, with a coordinate head,
#: holds a ``uqsurrogate>TrunkBasis``).
READABLE_VERSIONS = (1, 2, 3, 4, 5)
#: The format that introduced each field of the metadata (its path): a file that claims an older version must
#: not carry it.  A version's checks are only as good as its claim: ``format_version`` 3 written over a format-4
#: file switched off its digest, and the file loaded with its species swapped (#24, defect 7).  Every field here
#: was first written by a writer of that format, so a file that holds one was written with the digest.
INTRODUCED_IN: dict[tuple[str, ...], int] = {
    ("outputs", "scale_by_input"): 2,
    ("metadata_sha256",): 4,
    ("outputs", "representation"): 5,
    **{("training", key): 5 for key in ("representation", "activation", "output_activation", "optimizer",
                                        "weight_decay", "final_learning_rate", "head", "n_samples", "continued")},
}
#: Name of the trained network inside a self-contained model.keras.
NETWORK = "network"
MODEL_FILE = "model.keras"
METADATA_FILE = "metadata.json"


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
        The trained network: scaled inputs (batch, n_inputs) to scaled outputs (batch, 2 n_bins).
    metadata : dict
        The contents of ``metadata.json``.
    path : pathlib.Path or None
    keras_model : keras.Model or None
        The self-contained model of a format-3+ artifact (raw inputs to mol/L), else None.
    """

    model: Any
    metadata: dict
    path: Path | None = None
    keras_model: Any = None

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


def self_contained(network, metadata: dict):
    """The network wrapped in standard Keras layers: raw inputs to densities in mol/L.

    Parameters
    ----------
    network : keras.Model
        Scaled inputs (batch, n_inputs) to scaled outputs (batch, n_species n_bins).
    metadata : dict
        Its ``scaling`` (min, max) and ``outputs`` (scale, scale_by_input, species, n_bins).

    Returns
    -------
    keras.Model
        (batch, n_inputs) in the inputs' units -> (batch, n_species, n_bins) in mol/L.
    """
    from .._keras import import_keras

    keras = import_keras()
    layers = keras.layers
    lo, hi = (np.asarray(metadata["scaling"][k], dtype=float) for k in ("min", "max"))
    span = minmax_span(lo, hi)  # 1 for a zero-range feature, as scikit-learn's MinMaxScaler
    names = [i["name"] for i in metadata["inputs"]]
    out = metadata["outputs"]
    n_species, n_bins = len(out["species"]), int(out["n_bins"])
    inputs = keras.Input((len(names),), name="inputs")
    # (x - min) / (max - min), the min-max scaling of minmax_scale
    scaled = layers.Rescaling(scale=(1 / span).tolist(), offset=(-lo / span).tolist(), name="input_scaling")(inputs)
    config = network.get_config()
    config["name"] = NETWORK
    network = network.__class__.from_config(config)  # a renamed copy; the caller sets its weights
    y = network(scaled)
    scale = np.broadcast_to(np.asarray(out["scale"], dtype=float), (n_species * n_bins,)).copy()
    # outputs that were zero in every training profile (no ion reaches there) are pinned to 0, as the
    # model function pins them: a zero scale gives an exact 0
    scale[np.asarray(out.get("always_zero", []), dtype=int)] = 0.0
    y = layers.Rescaling(scale=scale.tolist(), name="output_scaling")(y)
    by = out.get("scale_by_input")
    if by is not None:  # densities over an input (c): multiply back by it, selected by a fixed Dense layer
        select = layers.Dense(n_species * n_bins, use_bias=False, trainable=False, name=f"select_{by}")
        column = select(inputs)
        kernel = np.zeros((len(names), n_species * n_bins), dtype="float32")
        kernel[names.index(by)] = 1.0
        select.set_weights([kernel])
        y = layers.Multiply(name=f"times_{by}")([y, column])
    y = layers.Reshape((n_species, n_bins), name="densities")(y)
    model = keras.Model(inputs, y, name="uqsurrogate_model")
    return model, network


def _check_embedded_scaling(full, metadata: dict, where: Path) -> None:
    """The layers' input scaling is the metadata's (the metadata keeps its checks)."""
    lo, hi = (np.asarray(metadata["scaling"][k], dtype=float) for k in ("min", "max"))
    span = minmax_span(lo, hi)
    cfg = full.get_layer("input_scaling").get_config()
    if not (np.allclose(cfg["scale"], 1 / span, rtol=1e-12) and
            np.allclose(cfg["offset"], -lo / span, rtol=1e-12, atol=1e-15)):
        raise ArtifactError(f"{where}: the input scaling inside {MODEL_FILE} differs from {METADATA_FILE}'s "
                            "training ranges; the artifact was assembled from different models")


def _check_embedded_outputs(full, metadata: dict, where: Path) -> None:
    """The output layout that a self-contained model.keras holds (format 3 on) is the metadata's.

    Its layers hold, under the hash of model.keras, what ``outputs`` says: the output scale with the pinned
    zeros (``output_scaling``), the shape (species, bins) (``densities``) and the input that multiplies
    every output (``select_<name>``), so an edit of these in an undigested metadata.json is refused too.
    """
    out = metadata["outputs"]
    names = [i["name"] for i in metadata["inputs"]]
    n_species, n_bins = len(out["species"]), int(out["n_bins"])
    scale = np.broadcast_to(np.asarray(out["scale"], dtype=float), (n_species * n_bins,)).copy()
    scale[np.asarray(out.get("always_zero", []), dtype=int)] = 0.0
    problems = []
    try:
        embedded = np.asarray(full.get_layer("output_scaling").get_config()["scale"], dtype=float).reshape(-1)
        if embedded.shape != scale.shape or not np.allclose(embedded, scale, rtol=1e-12, atol=0):
            problems.append("outputs.scale and outputs.always_zero differ from its output scaling")
        shape = tuple(full.get_layer("densities").get_config()["target_shape"])
        if shape != (n_species, n_bins):
            problems.append(f"it gives {shape[0]} x {shape[-1]} outputs, not {n_species} species x {n_bins} bins")
        by = out.get("scale_by_input")
        selects = sorted(layer.name for layer in full.layers if layer.name.startswith("select_"))
        if selects != ([] if by is None else [f"select_{by}"]):
            problems.append(f"it multiplies by {[s[7:] for s in selects] or 'no input'}, outputs.scale_by_input "
                            f"is {by!r}")
        elif by is not None:
            kernel = np.asarray(full.get_layer(f"select_{by}").get_weights()[0])
            if kernel.shape[0] != len(names) or not np.all(kernel[names.index(by)] == 1) or \
                    np.any(np.delete(kernel, names.index(by), axis=0)):
                problems.append(f"its select_{by} layer does not take input {by!r}")
    except (ValueError, KeyError, TypeError, IndexError):
        problems.append("its output layers (output_scaling, densities) are missing or malformed")
    if problems:
        raise ArtifactError(f"{where}: {MODEL_FILE} does not match {METADATA_FILE}: {'; '.join(problems)}; "
                            "one of them was edited after saving, or they come from different models")


def _head_width(model, meta: dict) -> tuple[int, int] | None:
    """(the width of the network's last layer before its map, the representation's head size), where it declares one."""
    rep = representation_of(meta["outputs"])
    if rep.head_width is None:
        return None
    n_outputs = len(meta["outputs"]["species"]) * int(meta["outputs"]["n_bins"])
    skip = ("InputLayer", "Dropout", "Activation", *rep.map_layers)
    last = next((layer for layer in reversed(model.layers) if type(layer).__name__ not in skip), None)
    width = None if last is None else int(last.output.shape[-1])
    return width, int(rep.head_width(meta["outputs"].get("representation"), n_outputs))


def _check_version_fields(meta: dict, where: Path) -> None:
    """A file carries no field introduced after the version it claims (:data:`INTRODUCED_IN`).

    So a version's own field cannot switch off a later version's checks (the digest, from 4): a file that
    holds a field of format 4 or later must say so, and is then checked against its digest.
    """
    version = meta["format_version"]
    for path, introduced in INTRODUCED_IN.items():
        node: Any = meta
        for key in path:
            node = node.get(key, _ABSENT) if isinstance(node, dict) else _ABSENT
        if node is not _ABSENT and version < introduced:
            raise ArtifactError(
                f"{where}: format_version {version}, but it holds {'.'.join(path)}, which format {introduced} "
                f"introduced: the version was changed after saving (it would skip the checks of later formats, "
                "the metadata's own SHA-256 from 4 on)")


_ABSENT = object()


def save_artifact(model, metadata: dict, path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Write a model directory atomically, with a self-contained ``model.keras`` (:func:`self_contained`).

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
        from .._keras import import_keras

        import_keras()
        # an uncompiled copy: the artifact holds the network, not the optimizer's state
        full, network = self_contained(model, metadata)
        network.set_weights(model.get_weights())
        full.save(tmp / MODEL_FILE)
        meta = {k: v for k, v in metadata.items() if k != "metadata_sha256"}
        meta.update(
            {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "uqsurrogate_version": __version__,
                "files": {MODEL_FILE: sha256_file(tmp / MODEL_FILE)},
            }
        )
        check_metadata(meta, tmp / METADATA_FILE)
        meta["metadata_sha256"] = metadata_digest(meta)
        (tmp / METADATA_FILE).write_text(json.dumps(meta, indent=1, allow_nan=False))
    logger.info("wrote model artifact %s", path)
    return path


def metadata_digest(meta: dict) -> str:
    """SHA-256 of the metadata's canonical JSON, without its own ``metadata_sha256``."""
    body = {k: v for k, v in meta.items() if k != "metadata_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _finite_list(value, n: int | None, what: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise ArtifactError(f"{what} is not a list of numbers") from None
    if n is not None and arr.size != n:
        raise ArtifactError(f"{what} has {arr.size} values; expected {n}")
    if not np.all(np.isfinite(arr)):
        raise ArtifactError(f"{what} is not finite")
    return arr


def check_metadata(meta: dict, where: str | os.PathLike) -> None:
    """The metadata's structure and values: present, finite and consistent (one line per problem found first).

    Raises
    ------
    ArtifactError
        Naming the file and the field.
    """
    try:
        inputs, scaling, outputs = meta["inputs"], meta["scaling"], meta["outputs"]
        names = [i["name"] for i in inputs]
        train_min = _finite_list([i["train_min"] for i in inputs], None, "inputs[].train_min")
        train_max = _finite_list([i["train_max"] for i in inputs], None, "inputs[].train_max")
        lo = _finite_list(scaling["min"], len(names), "scaling.min")
        hi = _finite_list(scaling["max"], len(names), "scaling.max")
        species, n_bins = list(outputs["species"]), outputs["n_bins"]
        scale = outputs["scale"]
        z_convention = outputs["z_convention"]
    except ArtifactError as err:
        raise ArtifactError(f"{where}: {err}") from None
    except (KeyError, TypeError) as err:
        raise ArtifactError(f"{where}: the field {err} is missing or malformed; not a complete uqsurrogate "
                            "model's metadata") from None
    if not names or len(set(names)) != len(names):
        raise ArtifactError(f"{where}: inputs must be non-empty with distinct names, got {names}")
    if not np.all(lo <= hi) or not np.allclose(lo, train_min) or not np.allclose(hi, train_max):
        raise ArtifactError(f"{where}: scaling.min <= max must hold and equal the inputs' training ranges")
    if not species or not isinstance(n_bins, int) or n_bins < 1:
        raise ArtifactError(f"{where}: outputs.species must be non-empty and outputs.n_bins an integer >= 1")
    try:
        s = _finite_list(scale, None, "outputs.scale")
    except ArtifactError as err:
        raise ArtifactError(f"{where}: {err}") from None
    if s.size not in (1, len(species) * n_bins):  # an edited n_bins or species list: name the counts
        raise ArtifactError(f"{where}: outputs.scale has {s.size} values, but outputs.species ({len(species)}) x "
                            f"outputs.n_bins ({n_bins}) make {len(species) * n_bins} outputs; one scale per output "
                            "(or one for all) is expected: the counts were edited, or come from another model")
    if not np.all(s > 0):
        raise ArtifactError(f"{where}: outputs.scale must be one number or one per output, all > 0")
    zero = outputs.get("always_zero", [])
    if not isinstance(zero, list) or not all(isinstance(k, (int, np.integer)) and not isinstance(k, bool)
                                             and 0 <= k < len(species) * n_bins for k in zero):
        raise ArtifactError(f"{where}: outputs.always_zero must be a list of output indices in "
                            f"[0, {len(species) * n_bins - 1}]")
    by = outputs.get("scale_by_input")
    if by is not None and by not in names:
        raise ArtifactError(f"{where}: outputs.scale_by_input {by!r} is not an input ({names})")
    try:  # the representation's own check (none for per-bin outputs)
        representation_of(outputs).check_metadata(outputs.get("representation"), names, n_bins, z_convention)
    except (KeyError, TypeError, AttributeError):
        raise ArtifactError(f"{where}: outputs.representation is malformed") from None
    except InputError as err:
        raise ArtifactError(f"{where}: outputs.representation: {err}") from None
    if z_convention not in (*Z_CONVENTIONS, "unknown"):
        raise ArtifactError(f"{where}: outputs.z_convention {z_convention!r} is not one of "
                            f"{', '.join(Z_CONVENTIONS)}, unknown")


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
        raise ArtifactError(f"{path}: no such model directory (the shipped ensemble is called 'default' on the "
                            "command line, uqsurrogate.study.default_model_path() in Python)")
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
    _check_version_fields(meta, meta_path)
    if meta["format_version"] >= 4 and meta.get("metadata_sha256") != metadata_digest(meta):
        raise ArtifactError(f"{meta_path}: its SHA-256 does not match the recorded metadata_sha256; the metadata "
                            "was edited or corrupted after saving")
    check_metadata(meta, meta_path)
    model_path = path / MODEL_FILE
    if not model_path.is_file():
        kind = "a folder" if model_path.is_dir() else special_kind(model_path)
        if kind is not None:  # present but no regular file: not "missing", and never read (a link to /dev/zero)
            raise ArtifactError(f"{model_path} is {kind}, not a regular file; the model directory was altered")
        raise ArtifactError(f"{path}: {MODEL_FILE} is missing" + (" (a broken link)" if model_path.is_symlink()
                                                                    else ""))
    expected = (meta.get("files") or {}).get(MODEL_FILE)
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
    from .._keras import import_keras

    meta = read_metadata(path)
    keras = import_keras()
    import zipfile

    if not zipfile.is_zipfile(Path(path) / MODEL_FILE):
        raise ArtifactError(f"{Path(path) / MODEL_FILE}: not a Keras archive (a .keras file is a zip); the file is "
                            "damaged")
    register = representation_of(meta["outputs"]).register_layers
    if register is not None:
        register()  # the layers the network ends in
    try:
        loaded = keras.saving.load_model(Path(path) / MODEL_FILE, compile=False, safe_mode=True)
    except Exception as err:  # noqa: BLE001 - any failure of Keras on a file whose hash matched: one clear line
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise ArtifactError(f"{Path(path) / MODEL_FILE}: Keras cannot read it ({type(err).__name__}: {first[:200]})") \
            from None
    full = None
    if meta["format_version"] >= 3:
        try:
            full, model = loaded, loaded.get_layer(NETWORK)
        except ValueError:
            raise ArtifactError(f"{path}: {MODEL_FILE} has no layer {NETWORK!r}; format 3 wraps the network in its "
                                "scaling layers") from None
        _check_embedded_scaling(full, meta, Path(path))
    elif any(layer.name == NETWORK for layer in loaded.layers):
        raise ArtifactError(f"{path}: format_version {meta['format_version']}, but {MODEL_FILE} is self-contained "
                            "(format 3 on): the version was changed after saving")
    else:
        model = loaded
    n_out = int(model.outputs[0].shape[-1])
    n_species = len(meta["outputs"]["species"])
    if n_out != n_species * int(meta["outputs"]["n_bins"]) or int(model.inputs[0].shape[-1]) != len(meta["inputs"]):
        raise ArtifactError(
            f"{path}: the network maps {model.inputs[0].shape[-1]} inputs to {n_out} outputs, but the metadata "
            f"lists {len(meta['inputs'])} inputs and {n_species} x {meta['outputs']['n_bins']} outputs"
        )
    if full is not None:
        _check_embedded_outputs(full, meta, Path(path))
    widths = _head_width(model, meta)
    if widths is not None and widths[0] != widths[1]:
        raise ArtifactError(f"{path}: the network's last layer gives {widths[0]} values, but the metadata's "
                            f"representation ({representation_of(meta['outputs']).name}) takes {widths[1]}; "
                            f"{METADATA_FILE} was edited after saving, or comes from another model")
    if meta["format_version"] < 4:  # every check above passed; what none can check is said once it loads
        import warnings

        from ..warnings import IntegrityWarning

        warnings.warn(
            f"{path}: format_version {meta['format_version']} predates the metadata's own digest (format 4), so an "
            "edit to metadata.json that model.keras cannot contradict (the species' order, say) goes unseen; "
            "upgrade it (python scripts/upgrade_artifacts.py DIR, in the uqsurrogate source) to add one",
            IntegrityWarning, stacklevel=2)
    return Surrogate(model=model, metadata=meta, path=Path(path), keras_model=full)
