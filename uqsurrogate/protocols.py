"""The model protocol: what the estimators and the trust checks ask of a model, as ``typing.Protocol``.

Two parts, and no ``isinstance`` check on the package's own classes anywhere:

:class:`Model`, what every estimator (``nested``, ``sobol``, ``pce``, ``propagate``) uses
    A callable ``f(X (n, d)) -> (n, ...)``.  The attributes label the result; each is
    optional for the estimators, which fall back to plain names and no units:

    * ``input_names``: checked against the Problem's inputs;
    * ``output_dims``: a name for each axis of one sample's output;
    * ``output_coords``: a mapping of coordinates, or a callable taking the Problem's fixed
      inputs and returning one (a z grid can depend on the slit width);
    * ``output_attrs``: CF attributes (``units``, ``long_name``) of the output.

:class:`UQModel`, the uncertainty part, what the trust checks use
    * ``mean_std(X)``: the ensemble's mean and member standard deviation of every output;
    * ``calibrated_std(X)``: the mean and the calibrated standard error (what
      :func:`uqsurrogate.uncertainty.trust.resolution` needs);
    * ``with_options(**changes)``: a copy with other settings.

:class:`~uqsurrogate.model_function.ModelFunction` implements both; so can a user's own
function or ensemble (``examples/custom_function_sobol.py``; ``tests/test_protocols.py``
runs the resolution check on a pure-NumPy ensemble).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["Model", "UQModel"]


@runtime_checkable
class Model(Protocol):
    """A vectorised model with labelled outputs (the attributes are optional for the estimators)."""

    input_names: list[str]
    output_dims: list[str]
    output_coords: Mapping[str, Any] | Callable[[Mapping[str, float]], Mapping[str, Any]]
    output_attrs: Mapping[str, str]

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """Outputs for inputs X (n, n_inputs): shape (n, *output shape)."""


@runtime_checkable
class UQModel(Protocol):
    """The uncertainty part of the protocol: an ensemble's spread and its calibration."""

    def mean_std(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and member standard deviation, each (n, *output shape)."""

    def calibrated_std(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and calibrated standard error of the surrogate, each (n, *output shape)."""

    def with_options(self, **changes: Any) -> UQModel:
        """A copy with other settings."""
