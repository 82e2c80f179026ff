"""The model protocol: a user's own pure-NumPy ensemble gets the estimators and the resolution check."""

from __future__ import annotations

import numpy as np
import pytest

from uqsurrogate import ModelFunction, Problem
from uqsurrogate.problem import Normal, Uniform
from uqsurrogate.protocols import Model, UQModel
from uqsurrogate.sensitivity import nested
from uqsurrogate.study import default_model_path
from uqsurrogate.uncertainty.trust import resolution


class NumpyEnsemble:
    """Three members of y = [a x1 + x2, x2 + 0.01 x1] with slightly different slopes a.

    Output 0 varies strongly over the inputs; output 1 barely, less than the members disagree.
    Its calibration: the member spread times 2.
    """

    input_names = ["x1", "x2"]
    output_dims = ["out"]
    output_coords = {"out": ("out", np.array([0, 1]))}
    output_attrs = {"units": "1", "long_name": "toy output"}
    slopes = np.array([[1.0, 1.0], [1.02, 0.9], [0.98, 1.1]])  # (member, a and the small term's noise)

    def __init__(self, scale: float = 2.0):
        self.scale = scale

    def members(self, X):
        X = np.asarray(X, dtype=float)
        out0 = self.slopes[:, 0, None] * X[None, :, 0] + X[None, :, 1]
        out1 = 0.0 * X[None, :, 1] + 0.01 * X[None, :, 0] + 0.05 * (self.slopes[:, 1, None] - 1)
        return np.stack([out0, out1], axis=-1)  # (member, n, 2)

    def __call__(self, X):
        return self.members(X).mean(axis=0)

    def mean_std(self, X):
        y = self.members(X)
        return y.mean(axis=0), y.std(axis=0, ddof=1)

    def calibrated_std(self, X):
        mean, std = self.mean_std(X)
        return mean, self.scale * std

    def with_options(self, **changes):
        return NumpyEnsemble(changes.get("scale", self.scale))


def test_the_protocol_names_what_model_function_and_a_user_ensemble_provide():
    ens = NumpyEnsemble()
    assert isinstance(ens, Model) and isinstance(ens, UQModel)
    assert not isinstance(lambda X: X, UQModel)
    f = ModelFunction.from_artifact(default_model_path())
    assert isinstance(f, Model) and isinstance(f, UQModel)


def test_a_numpy_ensemble_gets_the_resolution_check():
    ens = NumpyEnsemble()
    problem = Problem({"x1": Uniform(0, 1), "x2": Normal(0, 0.1)})
    result = nested(ens, problem, 64, 64, seed=0, resamples=0)
    checked = resolution(ens, problem, result, n=512, seed=1, threshold=3.0)
    # the check by hand, from the protocol's calibrated_std at the same draws
    from uqsurrogate._random import as_generator

    X = problem.full(problem.sample(512, as_generator(1)))
    _, std = ens.calibrated_std(X)
    error = np.sqrt(np.mean(std**2, axis=0))
    sd = np.sqrt(result["variance"].values)
    np.testing.assert_allclose(checked["surrogate_error"].values, error, rtol=1e-12)
    np.testing.assert_allclose(checked["resolution_ratio"].values, sd / error, rtol=1e-12)
    # output 0 varies by ~0.30 against an error of ~0.023: resolved; output 1 by ~0.003 against 0.01: not
    assert list(checked["resolved"].values) == [1, 0]
    assert checked["resolution_ratio"].values[0] > 3 > 1 > checked["resolution_ratio"].values[1]


def test_the_check_refuses_a_model_of_other_outputs():
    ens = NumpyEnsemble()
    problem = Problem({"x1": Uniform(0, 1), "x2": Normal(0, 0.1)})
    result = nested(lambda X: X[:, :1] * 2, problem, 16, 16, seed=0, resamples=0)
    with pytest.raises(ValueError, match="restrict f alike"):
        resolution(ens, problem, result, n=16)
