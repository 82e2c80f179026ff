"""Import legacy surrogates: Keras-2 HDF5 models and old scikit-learn MinMaxScaler pickles.

Keras 3 cannot load a Keras-2 ``.h5`` model, and a current scikit-learn cannot unpickle a
0.19 ``MinMaxScaler`` (its module ``sklearn.preprocessing.data`` is gone).  Neither is
needed: the network's architecture is JSON in the file's ``model_config`` attribute and
its weights are plain HDF5 datasets (read with h5py), and the scaler's state is a few
numeric arrays.

The scaler is read by :class:`RestrictedUnpickler`, which resolves only an allow-list of
globals (the scaler class, joblib's array wrapper, numpy's ndarray and dtype) to inert
stand-ins that record state; any other global — ``os.system``, ``builtins.eval``, any
class — raises :class:`UnsafePickleError` before anything runs.  Arrays that joblib
stored inline after its ``NumpyArrayWrapper`` are read as raw bytes with
:func:`numpy.frombuffer` (object arrays are refused).
"""

from __future__ import annotations

import io
import json
import os
import pickle
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ..errors import InputError, UnsafePickleError
from .scaling import minmax_scale

__all__ = ["RestrictedUnpickler", "UnsafePickleError", "import_legacy_model", "read_keras2_h5",
           "read_minmax_scaler"]


class _State:
    """Inert stand-in for an allowed class: it only records the state pickle gives it."""

    kind = "object"

    def __init__(self, *args, **kwargs):
        self.args = args
        self.state: dict = {}

    def __setstate__(self, state):
        if not isinstance(state, dict):
            raise UnsafePickleError(f"unexpected state of type {type(state).__name__} for {self.kind}")
        self.state = state


class _Scaler(_State):
    kind = "MinMaxScaler"


class _ArrayWrapper(_State):
    kind = "NumpyArrayWrapper"


class _Dtype:
    def __init__(self, name, align=False, copy=False):
        if not isinstance(name, str):
            raise UnsafePickleError(f"dtype {name!r} is not a plain type name")
        self.dtype = np.dtype(name)
        if self.dtype.hasobject:
            raise UnsafePickleError("object dtypes are refused")

    def __setstate__(self, state):
        # (version, byteorder, subarray, names, fields, elsize, alignment, flags)
        if isinstance(state, tuple) and len(state) >= 2 and state[1] in ("<", ">", "|", "="):
            self.dtype = self.dtype.newbyteorder(state[1]) if state[1] in "<>" else self.dtype


_ALLOWED = {
    ("sklearn.preprocessing.data", "MinMaxScaler"): _Scaler,
    ("sklearn.preprocessing._data", "MinMaxScaler"): _Scaler,
    ("joblib.numpy_pickle", "NumpyArrayWrapper"): _ArrayWrapper,
    ("sklearn.externals.joblib.numpy_pickle", "NumpyArrayWrapper"): _ArrayWrapper,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): _Dtype,
}


class RestrictedUnpickler(pickle._Unpickler):  # noqa: SLF001 - the pure-Python unpickler, so BUILD can be hooked
    """Unpickle only a joblib-pickled ``MinMaxScaler``'s numeric state.

    Parameters
    ----------
    file : binary file object (seekable)
    """

    def __init__(self, file):
        super().__init__(file)
        self._file = file

    def find_class(self, module: str, name: str):
        cls = _ALLOWED.get((module, name))
        if cls is None:
            raise UnsafePickleError(
                f"refusing to load global {module}.{name}: only a scikit-learn MinMaxScaler's numeric state "
                "is allowed (a pickle can run code when loaded)"
            )
        return cls

    def load_build(self):  # BUILD opcode: joblib writes an array's raw bytes right after its wrapper
        pickle._Unpickler.load_build(self)  # noqa: SLF001
        obj = self.stack[-1]
        if isinstance(obj, _ArrayWrapper):
            st = obj.state
            dtype = st.get("dtype")
            dtype = dtype.dtype if isinstance(dtype, _Dtype) else None
            shape = st.get("shape")
            if dtype is None or not isinstance(shape, tuple) or not all(isinstance(s, int) and s >= 0 for s in shape):
                raise UnsafePickleError("malformed NumpyArrayWrapper (dtype or shape)")
            count = int(np.prod(shape))
            if st.get("allow_mmap"):
                # joblib >= 0.12 pads to a 16-byte boundary, announcing the padding length in one byte
                here = self._file.tell()
                pad = self._file.read(1)
                if not pad or pad[0] > 16 or (here + 1 + pad[0]) % 16:
                    self._file.seek(here)
                else:
                    self._file.read(pad[0])
            raw = self._file.read(count * dtype.itemsize)
            if len(raw) != count * dtype.itemsize:
                raise UnsafePickleError("truncated array data")
            arr = np.frombuffer(raw, dtype=dtype).reshape(shape, order=st.get("order", "C")).copy()
            self.stack[-1] = arr

    dispatch = dict(pickle._Unpickler.dispatch)  # noqa: SLF001
    dispatch[pickle.BUILD[0]] = load_build


def read_minmax_scaler(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read an old scikit-learn ``MinMaxScaler`` pickle without running code.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    dict
        ``data_min``, ``data_max``, ``scale``, ``min`` (arrays of shape (n_features,)) and
        ``feature_range`` (2,); ``transform(x) = x * scale + min``.

    Raises
    ------
    UnsafePickleError
        If the pickle asks for anything but the scaler's numeric state.
    """
    data = Path(path).read_bytes()
    try:
        obj = RestrictedUnpickler(io.BytesIO(data)).load()
    except UnsafePickleError as err:
        raise UnsafePickleError(f"{path}: {err}") from None
    except Exception as err:  # noqa: BLE001 - anything malformed is refused the same way
        raise UnsafePickleError(f"{path}: not a readable scaler pickle ({type(err).__name__}: {err})") from None
    if not isinstance(obj, _Scaler):
        raise UnsafePickleError(f"{path}: the pickle holds {type(obj).__name__}, not a MinMaxScaler")
    st = obj.state
    out = {}
    for key in ("data_min_", "data_max_", "scale_", "min_"):
        value = st.get(key)
        if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
            raise UnsafePickleError(f"{path}: scaler attribute {key} is missing or not a float array")
        out[key.rstrip("_")] = value.astype(float)
    fr = st.get("feature_range", (0, 1))
    out["feature_range"] = np.asarray(fr, dtype=float)
    return out


#: Activations accepted from a Keras-2 file: names only, and only those the model function runs.
ALLOWED_ACTIVATIONS = ("linear", "relu", "sigmoid", "softplus", "tanh")


def read_keras2_h5(path: str | os.PathLike) -> list[tuple[np.ndarray, np.ndarray, str]]:
    """Dense layers of a Keras-2 HDF5 Sequential model: (kernel, bias, activation) in order.

    Dropout layers are skipped (inactive at inference); any other layer is refused, and an
    activation must be a name in :data:`ALLOWED_ACTIVATIONS` (a dict or any other object is
    refused without being looked at).  Every malformation is an :class:`ArtifactError`
    naming the file.
    """
    import h5py

    from .artifact import ArtifactError

    path = Path(path)
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise ArtifactError(f"{path}: not an HDF5 file ({err}); expected a Keras-2 .h5 model") from None
    with f:
        try:
            if "model_config" not in f.attrs or "model_weights" not in f:
                raise ArtifactError(f"{path}: not a Keras HDF5 model (no model_config or model_weights)")
            raw = f.attrs["model_config"]
            config = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
            layers = config["config"]["layers"] if isinstance(config["config"], dict) else config["config"]
            out = []
            for layer in layers:
                kind, cfg = layer["class_name"], layer["config"]
                if kind in ("Dropout", "InputLayer"):
                    continue
                if kind != "Dense":
                    raise ArtifactError(f"{path}: layer {cfg.get('name')!r} is {kind}; only Dense and Dropout are "
                                        "supported")
                act = cfg.get("activation", "linear")
                if not isinstance(act, str) or act not in ALLOWED_ACTIVATIONS:
                    shown = act if isinstance(act, str) else f"a {type(act).__name__}"
                    raise ArtifactError(f"{path}: layer {cfg.get('name')!r} has activation {shown!r}; allowed: "
                                        f"{', '.join(ALLOWED_ACTIVATIONS)}")
                group = f["model_weights"][cfg["name"]]
                names = [n.decode() if isinstance(n, bytes) else n for n in group.attrs["weight_names"]]
                weights = {n.split("/")[-1].split(":")[0]: np.asarray(group[n]) for n in names}
                kernel = np.asarray(weights["kernel"], dtype=np.float64)
                bias = np.asarray(weights.get("bias", np.zeros(cfg["units"])), dtype=np.float64)
                if kernel.ndim != 2 or bias.shape != (kernel.shape[1],):
                    raise ArtifactError(f"{path}: layer {cfg['name']!r} has a kernel {kernel.shape} and a bias "
                                        f"{bias.shape} that do not fit")
                if not (np.all(np.isfinite(kernel)) and np.all(np.isfinite(bias))):
                    raise ArtifactError(f"{path}: layer {cfg['name']!r} has NaN or infinite weights")
                out.append((kernel, bias, act))
        except ArtifactError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, OSError) as err:
            what = f"missing {err}" if isinstance(err, KeyError) else f"{type(err).__name__}: {err}"
            raise ArtifactError(f"{path}: a damaged Keras-2 model ({what})") from None
    if not out:
        raise ArtifactError(f"{path}: the model has no Dense layer")
    for (w0, _, _), (w1, _, _) in zip(out, out[1:]):
        if w0.shape[1] != w1.shape[0]:
            raise ArtifactError(f"{path}: consecutive layers do not fit ({w0.shape} then {w1.shape})")
    return out


def import_legacy_model(
    h5_path: str | os.PathLike,
    scaler_path: str | os.PathLike,
    out: str | os.PathLike,
    *,
    input_names: Sequence[str],
    input_units: Sequence[str],
    species: Sequence[str] = ("cation",),
    z_affine: Mapping[str, Mapping[str, float]] | None = None,
    overwrite: bool = False,
    description: str = "",
) -> Path:
    """Convert a Keras-2 model and its MinMaxScaler pickle into a uqsurrogate model directory.

    Parameters
    ----------
    h5_path, scaler_path : path-like
    out : path-like
        The model directory to write.
    input_names, input_units : sequence of str
        One per input column, in the network's order.
    species : sequence of str, default ("cation",)
        What the outputs are, in blocks of equal size.
    z_affine : mapping, optional
        The bin centres as z_k = start + (k + 1/2) width, with ``start`` and ``width``
        linear in the inputs: ``{"start": {"h": -0.5}, "width": {"d": 0.02}}`` (nm).
    overwrite : bool, default False
    description : str, optional

    Returns
    -------
    pathlib.Path
    """
    from .artifact import save_artifact
    from .._keras import import_keras

    keras = import_keras()
    dense = read_keras2_h5(h5_path)
    scaler = read_minmax_scaler(scaler_path)
    n_in = dense[0][0].shape[0]
    if len(input_names) != n_in or len(input_units) != n_in:
        raise InputError(f"the network takes {n_in} inputs; give {n_in} input_names and input_units")
    if scaler["data_min"].shape != (n_in,):
        raise InputError(f"the scaler has {scaler['data_min'].size} features; the network takes {n_in}")
    if not np.allclose(scaler["feature_range"], [0, 1]):
        raise InputError(f"feature_range {scaler['feature_range'].tolist()} is not (0, 1); not supported")
    n_out = dense[-1][0].shape[1]
    if n_out % len(species):
        raise InputError(f"{n_out} outputs do not split into {len(species)} species")
    # check our min-max rule reproduces sklearn's transform, including zero-range features
    lo, hi = scaler["data_min"], scaler["data_max"]
    probe = np.linspace(lo - 1, hi + 1, 3)
    ours = minmax_scale(probe, lo, hi)
    if not np.allclose(ours, probe * scaler["scale"] + scaler["min"], rtol=1e-12, atol=1e-12):
        raise InputError("the scaler's scale_/min_ are not those of a (0, 1) MinMaxScaler of its data_min_/data_max_")
    model = keras.Sequential([keras.Input(shape=(n_in,))] + [
        keras.layers.Dense(w.shape[1], activation=act, name=f"dense_{k}") for k, (w, _, act) in enumerate(dense)
    ])
    model.set_weights([a.astype("float32") for w, b, _ in dense for a in (w, b)])
    n_bins = n_out // len(species)
    metadata = {
        "inputs": [{"name": n, "units": u, "long_name": n, "train_min": float(a), "train_max": float(b)}
                   for n, u, a, b in zip(input_names, input_units, lo, hi)],
        "scaling": {"kind": "minmax", "min": lo.tolist(), "max": hi.tolist()},
        "outputs": {"species": list(species), "n_bins": n_bins, "layout": "species-major", "units": "mol/L",
                    "scale": 1.0, "always_zero": [],
                    "z_convention": "affine" if z_affine else "unknown", "z": None, "affine": dict(z_affine or {})},
        "training": {"imported_from": {"model": Path(h5_path).name, "scaler": Path(scaler_path).name},
                     "description": description, "loss": "unknown", "split": None, "data_sha256": None},
    }
    return save_artifact(model, metadata, out, overwrite=overwrite)
