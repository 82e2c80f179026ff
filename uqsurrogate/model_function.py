"""The surrogate as a fast, vectorised model function.

:class:`ModelFunction` is a plain callable: ``f(X)`` maps inputs X of shape
(n, n_inputs), in physical units, to densities of shape (n, n_species, n_bins) in mol/L,
or to a chosen observable (:mod:`uqsurrogate.observables`).  It runs the network's dense
layers as one compiled TensorFlow function on batches of ``batch_size`` rows (not
``Model.predict`` per call), with the input scaling folded into the first layer.
``restrict`` builds a function that computes only the outputs asked for, by slicing the
last layer's weights; ``with_options`` a copy with other settings.  An ensemble's members
run together: ``ensemble="members"`` returns each, :meth:`ModelFunction.mean_std` their mean
and spread, :meth:`ModelFunction.calibrated_std` the spread calibrated.

It follows the model protocol of the sensitivity layer: ``input_names``, and
``output_dims``, ``output_coords``, ``output_attrs`` that label one sample's output.
Streaming over many samples is :func:`uqsurrogate.evaluation.stream`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ._validation import check_choice, check_int, check_model_inputs
from .errors import InputError
from .observables import OBSERVABLES, UNITS, from_densities
from .surrogate.calibration_map import stored_calibration
from .surrogate.compiled import compile_forward, output_columns, run_batches
from .surrogate.description import Layer
from .surrogate.zgrid import z_for, z_grid

__all__ = ["ENSEMBLE_OUTPUTS", "EXTRAPOLATION", "Layer", "ModelFunction"]

logger = logging.getLogger(__name__)

#: What an ensemble's model function returns: the member mean, or every member.
ENSEMBLE_OUTPUTS = ("mean", "members")
#: What to do with inputs outside the training ranges.
EXTRAPOLATION = ("raise", "warn", "clip")


def _seen_h(f: ModelFunction, h: float | None) -> float | None:
    """The slit width the model runs at for a requested ``h``: clipped to the training range under
    ``extrapolation="clip"`` (as :func:`~uqsurrogate._validation.check_model_inputs` clips the inputs), else ``h``.

    The bins' z follow the h the model saw, so the z grid, the bins selected by z and the z labels
    all use this one (#24, defect 4: they used the requested h, labelling bins of h = 5 with z of h = 6).
    """
    if h is None or f.extrapolation != "clip" or "h" not in f.input_names:
        return h
    i = f.input_names.index("h")
    return float(np.clip(h, f.train_min[i], f.train_max[i]))


def _clipped(h: float | None, seen: float | None) -> str:
    """What a message or label adds where h was clipped: the requested h and why the bins are another slit's."""
    if h is None or seen == h:
        return ""
    return (f" (h = {h:g} is outside the training range: under extrapolation='clip' the model runs at "
            f"h = {seen:g}, and its bins span that slit)")


def _z_coord(f: ModelFunction, fixed: Mapping[str, float] | None) -> tuple | None:
    """The ``z`` coordinate of :meth:`ModelFunction.output_coords`: the bin centres at the h the model runs at."""
    h = (fixed or {}).get("h")
    conv = f.z_convention["z_convention"]
    if not (conv == "fixed" or (conv == "uniform-slit" and h is not None)):
        return None
    seen = _seen_h(f, h)
    attrs = {"units": "nm", "long_name": "bin centre, distance from the slit midplane"}
    if seen != h:
        attrs["comment"] = f"bin centres of h = {seen:g} nm{_clipped(h, seen)}"
    return ("bin", f.z_grid(seen)[f.bin_index], attrs)


def _once(selected: list | None, name: str, given: list | None = None, why: str = "") -> None:
    """Refuse a selection that names one output twice: the result would hold one coordinate twice."""
    if selected is None:
        return
    twice = [v for k, v in enumerate(selected) if v in selected[:k]]
    if twice:
        shown = " ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in (given or selected))
        what = repr(twice[0]) if name == "species" else f"bin {twice[0]}"
        raise InputError(f"{name} = {shown}: selects {what} more than once{f' ({why})' if why else ''}; "
                         f"give each {name} once")


def _selection(f: ModelFunction, output: str, species, bins, z, h) -> tuple[np.ndarray, np.ndarray]:
    """(species_index, bin_index) of :meth:`ModelFunction.restrict`'s arguments, checked."""
    if z is not None and bins is not None:
        raise InputError("give bins or z, not both")
    if z is not None:
        if h is None and f.z_convention["z_convention"] == "uniform-slit":
            raise InputError("z needs a fixed h (the bins' z depend on it); or give bins")
        z = np.atleast_1d(np.asarray(z, dtype=float))
        seen = _seen_h(f, h)
        if seen is not None:
            outside = z[np.abs(z) > seen / 2]
            if outside.size:
                raise InputError(f"z = {' '.join(f'{v:g}' for v in outside)}: outside the slit "
                                 f"[{-seen / 2:g}, {seen / 2:g}] nm of h = {seen:g}{_clipped(h, seen)}")
        grid = f.z_grid(seen)
        bins = np.abs(grid[None, :] - z[:, None]).argmin(axis=1)
        _once(bins.tolist(), "z", z.tolist(), "each z selects the bin nearest it")
    else:
        _once(None if bins is None else np.atleast_1d(np.asarray(bins)).tolist(), "bins")
    bin_index = np.arange(f.n_bins) if bins is None else np.atleast_1d(np.asarray(bins, dtype=int))
    if bin_index.size == 0 or bin_index.min() < 0 or bin_index.max() >= f.n_bins:
        raise InputError(f"bins = {bins!r}; allowed: indices in [0, {f.n_bins - 1}]")
    if output == "density":
        names = f.species if species is None else ([species] if isinstance(species, str) else list(species))
        unknown = [s for s in names if s not in f.species]
        if unknown:
            raise InputError(f"species {unknown} not in the model's {f.species}")
        _once(names, "species")
        return np.array([f.species.index(s) for s in names]), bin_index
    if species is not None:
        raise InputError(f"species does not apply to output = {output!r} (it combines both species)")
    if f.species != ["cation", "anion"]:
        raise InputError(f"output = {output!r} needs cation and anion densities; the model has {f.species}")
    if output == "integrated_charge" and not {"h", "sigma"} <= set(f.input_names):
        raise InputError("integrated_charge needs the inputs h and sigma")
    return np.arange(2), bin_index


def _check_out(out: Any, shape: tuple[int, ...], output: str) -> None:
    """``out=`` of a call: None, or a C-contiguous float array of the output's shape, for densities only."""
    if out is None:
        return
    if output != "density":
        raise InputError(f"out= is for density output; this model function gives {output}")
    if not isinstance(out, np.ndarray) or out.shape != shape or not out.flags.c_contiguous \
            or not np.issubdtype(out.dtype, np.floating):
        got = f"{type(out).__name__} {getattr(out, 'shape', '')} {getattr(out, 'dtype', '')}"
        raise InputError(f"out is {got}; expected a C-contiguous float array of shape {shape}")


@dataclass
class ModelFunction:
    """A trained surrogate as a vectorised callable (see the module docstring); build one with :meth:`from_artifact`.

    Attributes
    ----------
    layers : list of Layer
        Dense layers, the input scaling folded into the first.
    input_names, input_units : list of str
    train_min, train_max : numpy.ndarray, shape (n_inputs,)
    species : list of str
    n_bins : int
    output_scale, zero_outputs : numpy.ndarray, shape (n_species n_bins,)
        Scale of each output, and where it is pinned to 0 (never occupied in training).
    z_convention : dict
        ``z_convention``, ``z``, ``affine`` (:mod:`uqsurrogate.surrogate.zgrid`).
    output : {"density", "charge_density", "integrated_charge"}
    scale_by_input : int or None
        Input that multiplies every output (the concentration, for a model trained on n(z)/c).
    species_index, bin_index : numpy.ndarray
        Which species and bins are computed.
    batch_size : int
    extrapolation : {"raise", "warn", "clip"}
        Inputs outside the training ranges: an error, a warning, or clipped to the range.
    dtype : numpy dtype, default float32
        Of density outputs (the network computes in float32: float64 would only double the
        memory); observables are float64 (n+ - n- cancels).
    member_layers : list of list of Layer, optional
        An ensemble's members (``layers`` is the first one's), run as one batched computation
        (about the cost of K single evaluations).
    ensemble : {"mean", "members"}
        An ensemble returns the member mean, or every member (a ``member`` axis after the samples).
    calibration : dict, optional
        An ensemble's calibration of its spread per output kind
        (:func:`uqsurrogate.uncertainty.fit.calibrate_ensemble`), for :meth:`calibrated_std`.
    representation : str, default "bins"
        What the last layer gives (:mod:`uqsurrogate.surrogate.representations`): the bins,
        or (``aligned``, ``hybrid``) values its map takes to them before outputs are selected.
    representation_settings : dict, optional
        The map's settings, also ``aligned``: for ``aligned`` and ``hybrid``, ``grid`` (the
        knot grid), ``columns`` (positions of h, d_plus, d_minus in X), ``residual``.
    """

    layers: list[Layer]
    input_names: list[str]
    input_units: list[str]
    train_min: np.ndarray
    train_max: np.ndarray
    species: list[str]
    n_bins: int
    output_scale: np.ndarray
    zero_outputs: np.ndarray
    z_convention: dict
    output: str = "density"
    scale_by_input: int | None = None
    species_index: np.ndarray | None = None
    bin_index: np.ndarray | None = None
    batch_size: int = 16384
    extrapolation: str = "raise"
    dtype: Any = np.float32
    member_layers: list[list[Layer]] | None = field(default=None, repr=False)
    ensemble: str = "mean"
    calibration: dict | None = field(default=None, repr=False)
    representation: str = "bins"
    representation_settings: dict | None = field(default=None, repr=False)
    _fn: Any = field(default=None, init=False, repr=False, compare=False)  # the compiled function, built lazily

    def __post_init__(self) -> None:
        check_choice(self.extrapolation, "extrapolation", EXTRAPOLATION)
        self.batch_size = check_int(self.batch_size, "batch_size", min_value=1)
        check_choice(self.output, "output", OBSERVABLES)
        check_choice(self.ensemble, "ensemble", ENSEMBLE_OUTPUTS)
        if self.member_layers is not None and len(self.member_layers) < 2:
            raise InputError(f"member_layers has {len(self.member_layers)} member(s); an ensemble needs at least 2")
        if self.ensemble == "members" and self.member_layers is None:
            raise InputError("ensemble = 'members' needs an ensemble (this model function has one network)")
        self.train_min = np.asarray(self.train_min, dtype=float)
        self.train_max = np.asarray(self.train_max, dtype=float)
        self.species_index = np.asarray(np.arange(len(self.species)) if self.species_index is None
                                        else self.species_index, dtype=int)
        self.bin_index = np.asarray(np.arange(self.n_bins) if self.bin_index is None else self.bin_index, dtype=int)

    @property
    def aligned(self) -> dict | None:
        """The representation's settings (the contact-aligned one's, for ``aligned`` and ``hybrid``); None for bins."""
        return self.representation_settings

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_artifact(cls, source: Any, **kwargs: Any) -> ModelFunction:
        """From a model or ensemble directory (path) or a loaded :class:`~uqsurrogate.surrogate.Surrogate`.

        Read and checked by :func:`uqsurrogate.surrogate.description.describe`; ``kwargs``:
        ``batch_size``, ``extrapolation``, ``dtype``, ``ensemble``.
        """
        from .surrogate.description import describe

        return cls(**describe(source), **kwargs)

    def restrict(self, *, output: str | None = None, species: Sequence[str] | str | None = None,
                 bins: Sequence[int] | None = None, z: Sequence[float] | None = None,
                 h: float | None = None) -> ModelFunction:
        """A model function computing only some outputs: shape (n, species, bins) for densities, else (n, bins).

        ``output``: one of :data:`~uqsurrogate.observables.OBSERVABLES` (default this one's);
        ``species``: for densities, a name or names (default all); ``bins``: indices (default
        all), or instead ``z``: the bins whose centres are nearest these z (nm), for slit
        width ``h`` (needed where the z grid depends on h; under ``extrapolation="clip"`` the
        h the model runs at, clipped to the training range, as are the z labels).
        """
        output = output or self.output
        check_choice(output, "output", OBSERVABLES)
        species_index, bin_index = _selection(self, output, species, bins, z, h)
        return replace(self, output=output, species_index=species_index, bin_index=bin_index)

    def with_options(self, **changes: Any) -> ModelFunction:
        """A copy with other ``batch_size``, ``extrapolation``, ``dtype`` or ``ensemble``; it compiles anew.

        Examples
        --------
        >>> from uqsurrogate.study import default_model_path
        >>> f = ModelFunction.from_artifact(default_model_path())
        >>> f.with_options(extrapolation="warn").extrapolation
        'warn'
        """
        allowed = ("batch_size", "extrapolation", "dtype", "ensemble")
        unknown = sorted(set(changes) - set(allowed))
        if unknown:
            raise InputError(f"with_options got {unknown}; allowed: {', '.join(allowed)} (use restrict for outputs)")
        return replace(self, **changes)

    def z_grid(self, h: float | None = None) -> np.ndarray:
        """Bin centres in nm (for slit width ``h`` where the grid depends on it), shape (n_bins,)."""
        return z_grid(self.z_convention, self.n_bins, h)

    def z_for(self, X: Any) -> np.ndarray:
        """Bin centres in nm for inputs X (n, n_inputs), as the model runs at them (clipped under "clip"); (n, n_bins)."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        X = np.clip(X, self.train_min, self.train_max) if self.extrapolation == "clip" else X
        return z_for(self.z_convention, self.n_bins, X, self.input_names)

    # ------------------------------------------------------------------ the model protocol
    @property
    def output_dims(self) -> list[str]:
        """Dims of one sample's output: (species, bin) or (bin,); ``member`` first when returning every member."""
        dims = ["species", "bin"] if self.output == "density" else ["bin"]
        return ["member", *dims] if self.ensemble == "members" else dims

    def output_coords(self, fixed: Mapping[str, float] | None = None) -> dict:
        """Coordinates of one sample's output; ``z`` too where ``fixed`` inputs determine the grid."""
        coords: dict[str, Any] = {"bin": ("bin", self.bin_index, {"units": "1", "long_name": "bin index along z"})}
        if self.ensemble == "members":
            coords["member"] = ("member", np.arange(self.n_members), {"units": "1", "long_name": "ensemble member"})
        if self.output == "density":
            coords["species"] = ("species", [self.species[i] for i in self.species_index], {"long_name": "ion species"})
        z = _z_coord(self, fixed)  # at the h the model runs at (clipped under extrapolation="clip")
        return coords if z is None else {**coords, "z": z}

    @property
    def output_attrs(self) -> dict:
        """CF attributes of the output."""
        return {"units": self.units, "long_name": self.output.replace("_", " ")}

    @property
    def output_shape(self) -> tuple[int, ...]:
        """Shape of one sample's output."""
        shape = (len(self.species_index), len(self.bin_index)) if self.output == "density" else (len(self.bin_index),)
        return (self.n_members, *shape) if self.ensemble == "members" else shape

    @property
    def n_members(self) -> int:
        """Networks in the model: K for an ensemble, else 1."""
        return 1 if self.member_layers is None else len(self.member_layers)

    @property
    def units(self) -> str:
        return UNITS[self.output]

    # ------------------------------------------------------------------ evaluation
    def _columns(self) -> np.ndarray:
        """Output columns of the last layer needed for the requested output."""
        return output_columns(self.output, self.species_index, self.bin_index, self.n_bins)

    def _compiled(self):
        """The compiled ``tf.function``: float32 physical inputs (n, n_inputs) -> (n, [K,] n_cols), differentiable."""
        if self._fn is None:
            self._fn = compile_forward(self.member_layers or [self.layers], self._columns(), self.output_scale,
                                       self.zero_outputs, self.scale_by_input, self.representation,
                                       self.representation_settings, self.n_bins,
                                       keep_members=self.ensemble == "members")
        return self._fn

    def check_inputs(self, X: Any) -> np.ndarray:
        """Validate inputs and apply the extrapolation policy; returns float64 (n, n_inputs)."""
        return check_model_inputs(X, self.input_names, self.input_units, self.train_min, self.train_max,
                                  self.extrapolation)

    def __call__(self, X: Any, out: np.ndarray | None = None) -> np.ndarray:
        """Evaluate at X (n, n_inputs), columns ``input_names`` in ``input_units``: shape (n, ``*output_shape``).

        X is checked (:meth:`check_inputs`: shape, dtype, NaN, training ranges under
        ``extrapolation``).  Densities come as ``dtype``, observables as float64.  ``out``
        (densities only): a C-contiguous float array of that shape to write into and return,
        as NumPy's ``out=`` (reusing one saves allocating and first-touching an output per call).
        """
        x = self.check_inputs(X)
        n, cols = x.shape[0], self._columns()
        lead = (n, self.n_members) if self.ensemble == "members" else (n,)  # a member axis after the samples
        shape = (*lead, len(self.species_index), len(self.bin_index))
        _check_out(out, shape, self.output)
        raw = run_batches(self._compiled(), x.astype(np.float32), (*lead, cols.size), self.batch_size,
                          None if out is None else out.reshape(*lead, cols.size))  # a view: C-contiguous checked
        if out is not None:
            return out
        if self.output == "density":
            return raw.reshape(shape).astype(self.dtype, copy=False)
        return from_densities(self.output, raw.reshape(*lead, 2, -1), x, self.input_names, n_bins=self.n_bins,
                              bins=self.bin_index)

    def mean_std(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """An ensemble's member mean and standard deviation (ddof = 1) of every output, float64.

        Each of shape (n, ``*output_shape`` without the member axis), in the output's units.
        """
        if self.member_layers is None:
            raise InputError("mean_std needs an ensemble; this model function has one network")
        y = np.asarray(self.with_options(ensemble="members")(X), dtype=np.float64)
        return y.mean(axis=1), y.std(axis=1, ddof=1)

    def calibrated_std(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """The member mean and the member spread mapped by the ensemble's stored calibration for this output.

        The calibrated spread is a standard error of the surrogate; both as :meth:`mean_std`.
        """
        calibration = stored_calibration(self.calibration, self.output)
        mean, std = self.mean_std(X)
        return mean, calibration(std)

    def __getstate__(self):  # the compiled function does not travel to dask or process workers
        state = dict(self.__dict__)
        state["_fn"] = None
        return state

    def describe(self) -> str:
        """One line: inputs, output, shape."""
        return (f"ModelFunction({', '.join(self.input_names)} -> {self.output} {self.output_shape} in {self.units}, "
                f"batch_size={self.batch_size}, extrapolation={self.extrapolation!r})")
