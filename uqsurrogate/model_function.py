"""The surrogate as a fast, vectorised model function.

:class:`ModelFunction` is a plain callable: ``f(X)`` maps inputs X of shape
(n, n_inputs), in physical units, to densities of shape (n, n_species, n_bins) in mol/L,
or to a chosen observable (:mod:`uqsurrogate.observables`).  It runs the network's dense
layers as one compiled TensorFlow function on batches of ``batch_size`` rows (not
``Model.predict`` per call), with the input scaling folded into the first layer.
``restrict`` builds a function that computes only the outputs asked for, by slicing the
last layer's weights; ``with_options`` a copy with other settings.

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
from .observables import OBSERVABLES, UNITS, charge_density, integrated_charge
from .surrogate.calibration import stored_calibration
from .surrogate.compiled import compile_forward, output_columns, run_batches
from .surrogate.description import Layer
from .surrogate.zgrid import uniform_slit_centres, z_for

__all__ = ["ENSEMBLE_OUTPUTS", "EXTRAPOLATION", "Layer", "ModelFunction"]

logger = logging.getLogger(__name__)

#: What an ensemble's model function returns: the member mean, or every member.
ENSEMBLE_OUTPUTS = ("mean", "members")
#: What to do with inputs outside the training ranges.
EXTRAPOLATION = ("raise", "warn", "clip")


@dataclass
class ModelFunction:
    """A trained surrogate as a vectorised callable (see the module docstring).

    Build one with :meth:`from_artifact`.  Calling it checks the inputs (shape, dtype,
    NaN, training ranges under ``extrapolation``).

    Attributes
    ----------
    layers : list of Layer
        With the input scaling folded into the first layer.
    input_names, input_units : list of str
    train_min, train_max : numpy.ndarray, shape (n_inputs,)
    species : list of str
    n_bins : int
    output : {"density", "charge_density", "integrated_charge"}
    species_index, bin_index : numpy.ndarray
        Which species and bins are computed.
    scale_by_input : int or None
        Index of the input that multiplies every output (a model trained on n(z)/c has the
        concentration's index here), or None.
    batch_size : int
    extrapolation : {"raise", "warn", "clip"}
    dtype : numpy dtype, default float32
        Of density outputs (the network computes in float32; float64 would only double the
        memory).  Observables are returned in float64 (n+ - n- cancels).
    member_layers : list of list of Layer, optional
        An ensemble's members (``layers`` is then the first one's).  All members run in one
        batched computation, about the cost of K single evaluations.
    ensemble : {"mean", "members"}
        For an ensemble: return the member mean, or every member (a ``member`` axis after
        the sample axis).  :meth:`mean_std` gives the mean and the spread together.
    calibration : dict, optional
        An ensemble's calibration of its spread per output kind
        (:func:`uqsurrogate.uncertainty.fit.calibrate_ensemble`), used by :meth:`calibrated_std`.
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
        if self.species_index is None:
            self.species_index = np.arange(len(self.species))
        if self.bin_index is None:
            self.bin_index = np.arange(self.n_bins)
        self.species_index = np.asarray(self.species_index, dtype=int)
        self.bin_index = np.asarray(self.bin_index, dtype=int)

    @property
    def aligned(self) -> dict | None:
        """The representation's settings (the contact-aligned one's, for ``aligned`` and ``hybrid``); None for bins."""
        return self.representation_settings

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_artifact(cls, source: Any, **kwargs: Any) -> ModelFunction:
        """Build from a model directory, an ensemble directory (path) or a loaded :class:`~uqsurrogate.surrogate.Surrogate`.

        The artifact is read by :func:`uqsurrogate.surrogate.description.describe` (checked,
        a plain description of layers and metadata); this compiles it.

        Parameters
        ----------
        source : path-like or Surrogate
        **kwargs
            ``batch_size``, ``extrapolation``.

        Returns
        -------
        ModelFunction
        """
        from .surrogate.description import describe

        return cls(**describe(source), **kwargs)

    def restrict(
        self,
        *,
        output: str | None = None,
        species: Sequence[str] | str | None = None,
        bins: Sequence[int] | None = None,
        z: Sequence[float] | None = None,
        h: float | None = None,
    ) -> ModelFunction:
        """A model function computing only some outputs.

        Parameters
        ----------
        output : {"density", "charge_density", "integrated_charge"}, optional
        species : str or sequence of str, optional
            For ``density``: which species (default all).
        bins : sequence of int, optional
            Bin indices (default all).
        z : sequence of float, optional
            Instead of ``bins``: the bins whose centres are nearest these z (nm), for slit
            width ``h`` (needed when the z grid depends on h).
        h : float, optional

        Returns
        -------
        ModelFunction
            Output shape (n, n_species_selected, n_bins_selected) for densities, or
            (n, n_bins_selected) for the observables.
        """
        output = output or self.output
        check_choice(output, "output", OBSERVABLES)
        if z is not None and bins is not None:
            raise InputError("give bins or z, not both")
        if z is not None:
            if h is None and self.z_convention["z_convention"] == "uniform-slit":
                raise InputError("z needs a fixed h (the bins' z depend on it); or give bins")
            z = np.atleast_1d(np.asarray(z, dtype=float))
            if h is not None:
                outside = z[np.abs(z) > h / 2]
                if outside.size:
                    raise InputError(f"z = {' '.join(f'{v:g}' for v in outside)}: outside the slit "
                                     f"[{-h / 2:g}, {h / 2:g}] nm of h = {h:g}")
            grid = self.z_grid(h)
            bins = np.abs(grid[None, :] - z[:, None]).argmin(axis=1)
        bin_index = np.arange(self.n_bins) if bins is None else np.atleast_1d(np.asarray(bins, dtype=int))
        if bin_index.size == 0 or bin_index.min() < 0 or bin_index.max() >= self.n_bins:
            raise InputError(f"bins = {bins!r}; allowed: indices in [0, {self.n_bins - 1}]")
        if output == "density":
            names = self.species if species is None else ([species] if isinstance(species, str) else list(species))
            unknown = [s for s in names if s not in self.species]
            if unknown:
                raise InputError(f"species {unknown} not in the model's {self.species}")
            species_index = np.array([self.species.index(s) for s in names])
        else:
            if species is not None:
                raise InputError(f"species does not apply to output = {output!r} (it combines both species)")
            if self.species != ["cation", "anion"]:
                raise InputError(f"output = {output!r} needs cation and anion densities; the model has {self.species}")
            if output == "integrated_charge" and not {"h", "sigma"} <= set(self.input_names):
                raise InputError("integrated_charge needs the inputs h and sigma")
            species_index = np.arange(2)
        return replace(self, output=output, species_index=species_index, bin_index=bin_index)

    def with_options(self, **changes: Any) -> ModelFunction:
        """A copy with other settings (``batch_size``, ``extrapolation``, ``dtype``, ``ensemble``); it compiles anew.

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
        conv = self.z_convention["z_convention"]
        if conv == "fixed":
            return np.asarray(self.z_convention["z"], dtype=float)
        if conv == "uniform-slit":
            if h is None:
                raise InputError(f"the z grid ({conv}) depends on the inputs; pass h")
            return uniform_slit_centres(h, self.n_bins)
        raise InputError(f"the z grid ({conv}) depends on several inputs; use ModelFunction.z_for(X)")

    def z_for(self, X: Any) -> np.ndarray:
        """Bin centres in nm for inputs X (n, n_inputs), under any z convention; shape (n, n_bins)."""
        return z_for(self.z_convention, self.n_bins, X, self.input_names)

    # ------------------------------------------------------------------ the model protocol
    @property
    def output_dims(self) -> list[str]:
        """Dims of one sample's output: (species, bin) for densities, (bin,) for the observables;
        ``member`` first when an ensemble returns every member."""
        dims = ["species", "bin"] if self.output == "density" else ["bin"]
        return ["member", *dims] if self.ensemble == "members" else dims

    def output_coords(self, fixed: Mapping[str, float] | None = None) -> dict:
        """Coordinates of one sample's output; ``z`` too where ``fixed`` inputs determine the grid."""
        coords: dict[str, Any] = {"bin": ("bin", self.bin_index)}
        if self.ensemble == "members":
            coords["member"] = ("member", np.arange(self.n_members), {"long_name": "ensemble member"})
        if self.output == "density":
            coords["species"] = ("species", [self.species[i] for i in self.species_index])
        h = (fixed or {}).get("h")
        conv = self.z_convention["z_convention"]
        if conv == "fixed" or (conv == "uniform-slit" and h is not None):
            coords["z"] = ("bin", self.z_grid(h)[self.bin_index],
                           {"units": "nm", "long_name": "bin centre, distance from the slit midplane"})
        return coords

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
        """Evaluate.

        Parameters
        ----------
        X : array_like, shape (n, n_inputs)
            Inputs in the units of ``input_units``, columns ordered as ``input_names``.
        out : numpy.ndarray, shape (n, ``*output_shape``), optional
            For densities: a C-contiguous float array to write into and return, as with
            NumPy's ``out=``.  Reusing one over many calls saves allocating (and, on some
            virtual machines, first-touching) a fresh output each time.

        Returns
        -------
        numpy.ndarray, shape (n, ``*output_shape``)
            ``dtype`` for densities, float64 for observables.
        """
        x = self.check_inputs(X)
        fn = self._compiled()
        n = x.shape[0]
        cols = self._columns()
        lead = (n, self.n_members) if self.ensemble == "members" else (n,)  # a member axis after the samples
        shape = (*lead, len(self.species_index), len(self.bin_index))
        if out is not None:
            if self.output != "density":
                raise InputError(f"out= is for density output; this model function gives {self.output}")
            if not isinstance(out, np.ndarray) or out.shape != shape or not out.flags.c_contiguous \
                    or not np.issubdtype(out.dtype, np.floating):
                got = f"{type(out).__name__} {getattr(out, 'shape', '')} {getattr(out, 'dtype', '')}"
                raise InputError(f"out is {got}; expected a C-contiguous float array of shape {shape}")
        raw = run_batches(fn, x.astype(np.float32), (*lead, cols.size), self.batch_size,
                          None if out is None else out.reshape(*lead, cols.size))  # a view: C-contiguous checked
        if out is not None:
            return out
        if self.output == "density":
            return raw.reshape(shape).astype(self.dtype, copy=False)
        dens = raw.reshape(*lead, 2, -1).astype(np.float64)
        if self.output == "charge_density":
            return charge_density(dens)
        k = lead[1] if len(lead) > 1 else 1  # each member's S(z) from its own densities
        h = np.repeat(x[:, self.input_names.index("h")], k)
        sigma = np.repeat(x[:, self.input_names.index("sigma")], k)
        s = integrated_charge(dens.reshape(n * k, 2, -1), h, sigma, n_bins=self.n_bins)[:, self.bin_index]
        return s.reshape(*lead, -1)

    def mean_std(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """An ensemble's member mean and member standard deviation (ddof = 1) of every output.

        Parameters
        ----------
        X : array_like, shape (n, n_inputs)

        Returns
        -------
        mean, std : numpy.ndarray, each of shape (n, ``*output_shape`` without the member axis)
            In the output's units (float64).
        """
        if self.member_layers is None:
            raise InputError("mean_std needs an ensemble; this model function has one network")
        y = np.asarray(self.with_options(ensemble="members")(X), dtype=np.float64)
        return y.mean(axis=1), y.std(axis=1, ddof=1)

    def calibrated_std(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """The member mean and the calibrated member spread: a standard error of the surrogate.

        Returns
        -------
        mean, std : numpy.ndarray, each of shape (n, ``*output_shape``)
            The spread mapped by the ensemble's stored calibration for this output kind.
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
