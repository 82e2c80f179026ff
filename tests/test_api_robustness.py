"""Every public estimator, fed a model that misbehaves: one clear error of the package's own, or a documented warning.

The policy (docs/reliability.md, "Models that misbehave"), one for every method because it lives in the one
evaluation path (``evaluation.check_output``) and the one results builder (``results.dataset``):

* a wrong row count, a scalar, None, text, complex numbers: refused (``InputError``, naming the model, the rows,
  the shape or dtype it returned and what was expected);
* NaN or infinite outputs: refused, naming the outputs, the rows and the first value, as ``analyze`` refuses them
  in outputs computed elsewhere;
* outputs that take one value at every sample (a pinned-zero bin of a profile): not an error; their indices are
  0/0, undefined, and every method reports NaN for them (round-off gave pce any number), with one logged warning
  naming them and ``attrs["constant_outputs"]``; ``propagate`` reports them as they are (sd 0);
* booleans are numbers (an indicator's indices are meaningful);
* a model-protocol callable whose ``output_dims`` or ``output_coords`` do not fit its outputs: refused.
"""

from __future__ import annotations

import logging
import warnings
from typing import ClassVar

import numpy as np
import pytest

from uqsurrogate.errors import InputError
from uqsurrogate.problem import Problem, Uniform
from uqsurrogate.sensitivity import nested, pce, sobol
from uqsurrogate.uncertainty.propagation import propagate

PROBLEM = Problem({"a": Uniform(0, 1), "b": Uniform(0, 1)})


def _good(x):
    return np.stack([x[:, 0] + 2 * x[:, 1], x[:, 0] * x[:, 1]], axis=1)


METHODS = {
    "sobol": lambda f, **kw: sobol(f, PROBLEM, n=64, seed=0, progress=False, **kw),
    "nested": lambda f, **kw: nested(f, PROBLEM, n_outer=8, n_inner=8, seed=0, progress=False, **kw),
    "pce": lambda f, **kw: pce(f, PROBLEM, n=64, order=2, seed=0, progress=False, **kw),
    "propagate": lambda f, **kw: propagate(f, PROBLEM, 200, seed=0, progress=False, **kw),
}


def _with_bad_row(value):
    def f(x):
        y = _good(x)
        y[np.arange(len(x)) == 3, 1] = value
        return y
    return f


BAD = {
    "wrong row count": (lambda x: _good(x)[:-1], (r"returned shape \(\d+, 2\) for rows 0 to \d+; expected \(\d+, "
                                                 r"\.\.\.\): one output row per input row")),
    "scalar": (lambda x: 1.0, r"returned shape \(\) for rows 0 to \d+; expected"),
    "None": (lambda x: None, r"returned shape \(\) for rows 0 to \d+; expected"),
    "None among outputs": (lambda x: np.array([[1.0, None]] * len(x), dtype=object),
                           "returned None among its outputs for rows 0 to"),
    "text": (lambda x: np.array([["a", "b"]] * len(x)), (r"returned outputs of dtype <U1 for rows 0 to \d+; expected "
                                                        r"real numbers")),
    "complex": (lambda x: _good(x) + 1j, "returned outputs of dtype complex128"),
    "NaN": (_with_bad_row(np.nan), (r"returned 1 NaN or infinite value\(s\) for rows 0 to \d+, in 1 output\(s\) "
                                   r"\(output 1\) of 1 row\(s\) \(first: nan at row 3, output 1\); every output "
                                   "must be finite")),
    "inf": (_with_bad_row(-np.inf), r"\(first: -inf at row 3, output 1\)"),
}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("bad", BAD)
def test_a_model_that_returns_what_no_method_can_use_is_refused_in_one_error(method, bad):
    f, message = BAD[bad]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning or ComplexWarning on the way
        with pytest.raises(InputError, match=message):
            METHODS[method](f)


def _half_constant(x):
    """Output 0 varies, output 1 is 2.0 at every sample."""
    return np.stack([x[:, 0] + 0.5 * x[:, 1] ** 2, np.full(len(x), 2.0)], axis=1)


@pytest.mark.parametrize("method", ["sobol", "nested", "pce"])
def test_constant_outputs_have_nan_indices_in_every_method_with_one_warning(method, caplog):
    with caplog.at_level(logging.WARNING, logger="uqsurrogate.results"):
        r = METHODS[method](_half_constant)
    s1 = r["S1"].values
    assert np.all(np.isfinite(s1[:, 0])) and np.all(np.isnan(s1[:, 1]))
    for name in r.data_vars:
        if name.startswith("S") and "output" in r[name].dims:
            assert np.all(np.isnan(r[name].isel(output=1).values)), name
    assert r.attrs["constant_outputs"] == 1
    (record,) = [x for x in caplog.records if "took one value" in x.getMessage()]
    assert f"{method}: 1 of 2 outputs took one value at every sample (output 1)" in record.getMessage()
    assert "reported as NaN" in record.getMessage()
    # the same indices when only the varying output is analysed
    alone = METHODS[method](lambda x: _half_constant(x)[:, :1])
    np.testing.assert_allclose(s1[:, 0], alone["S1"].values[:, 0], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("method", ["sobol", "nested", "pce"])
def test_every_output_constant_gives_nan_indices_and_aggregates_without_runtime_warnings(method, caplog):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = METHODS[method](lambda x: np.full((len(x), 3), 0.25))
    for name in r.data_vars:
        if name.startswith("S"):
            assert np.all(np.isnan(r[name].values)), name
    assert r.attrs["constant_outputs"] == 3
    # propagate reports a constant as it is: its mean, sd 0, no warning
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        p = propagate(lambda x: np.full((len(x), 3), 0.25), PROBLEM, 100, seed=0, progress=False)
    np.testing.assert_array_equal(p["mean"].values, 0.25)
    np.testing.assert_array_equal(p["std"].values, 0.0)
    assert not [x for x in caplog.records if "took one value" in x.getMessage()]


def test_pce_no_longer_gives_round_off_indices_for_a_constant_output():
    """Before: S1 of the constant output was 0.62 and 0.38, from coefficients of 1e-16."""
    from uqsurrogate.sensitivity.external import analyze, sample

    design = sample("pce", PROBLEM, n=64, seed=0)
    y = np.stack([design["a"].values, np.full(design.sizes["row"], 2.0)], axis=1)
    r = analyze(design, y, order=2)
    assert np.all(np.isnan(r["S1"].values[:, 1])) and np.isclose(r["S1"].values[0, 0], 1.0)


def test_boolean_outputs_are_numbers():
    """An indicator (a threshold exceeded) is a model too: its indices are those of its 0/1 values."""
    def indicator(x):
        return (x[:, :1] + 0.2 * x[:, 1:] > 0.6)

    for method, run in METHODS.items():
        r = run(indicator)
        as_float = run(lambda x: indicator(x).astype(float))
        for name in ("S1", "mean"):
            if name in r:
                np.testing.assert_array_equal(r[name].values, as_float[name].values, err_msg=f"{method} {name}")


class _Profile:
    """A ModelFunction-like callable: (species, bin) outputs with labels; ``broken`` picks what goes wrong."""

    output_dims: ClassVar[list] = ["species", "bin"]
    output_attrs: ClassVar[dict] = {"units": "mol/L", "long_name": "density"}

    def __init__(self, broken: str = "", constant: float = 0.0):
        self.broken, self.constant = broken, constant
        self.output_coords = {"species": ("species", ["cation", "anion"]), "z": ("bin", np.linspace(-1, 1, 3))}
        if broken == "coords size":
            self.output_coords["z"] = ("bin", np.linspace(-1, 1, 4))
        if broken == "coords dim":
            self.output_coords["z"] = ("position", np.linspace(-1, 1, 3))
        if broken == "dims":
            self.output_dims = ["bin"]

    def __call__(self, x):
        y = np.ones((len(x), 2, 3)) * (x[:, :1] + 2 * x[:, 1:2])[:, :, None]
        y[:, 1, 2] = self.constant  # by default a pinned zero: constant
        if self.broken == "nan":
            y[5:, 0, 1] = np.nan
        if self.broken == "rows":
            y = y[1:]
        return y


@pytest.mark.parametrize("method", METHODS)
def test_model_protocol_callables_that_misbehave_are_refused_and_labels_name_constant_outputs(method, caplog):
    with pytest.raises(InputError, match=r"_Profile returned \d+ NaN or infinite value\(s\) .* in 1 output\(s\) "
                                         r"\(output \(0, 1\)\)"):
        METHODS[method](_Profile("nan"))
    with pytest.raises(InputError, match="_Profile returned shape .* one output row per input row"):
        METHODS[method](_Profile("rows"))
    with pytest.raises(InputError, match=r"_Profile declares output_dims \['bin'\] \(1 axes\) but returns outputs of "
                                         r"shape \(2, 3\) per row"):
        METHODS[method](_Profile("dims"))
    with pytest.raises(InputError, match=r"output coordinate 'z' lies along \['bin'\] with shape \(4,\); its outputs "
                                         r"have dims \{'species': 2, 'bin': 3\}"):
        METHODS[method](_Profile("coords size"))
    with pytest.raises(InputError, match=r"output coordinate 'z' lies along \['position'\] .*position is none of them"):
        METHODS[method](_Profile("coords dim"))
    with caplog.at_level(logging.INFO, logger="uqsurrogate.results"):
        r = METHODS[method](_Profile())
    assert list(r["z"].values) == [-1.0, 0.0, 1.0]
    if method != "propagate":
        assert np.isnan(r["S1"].sel(species="anion").values[:, 2]).all()
        assert np.isfinite(r["S1"].sel(species="cation").values).all()
        said = [x for x in caplog.records if "1 of 6 outputs took one value at every sample (species anion bin 2)"
                in x.getMessage()]
        assert said and all(x.levelno == logging.INFO for x in said)  # a pinned zero is expected: a note
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="uqsurrogate.results"):
            r = METHODS[method](_Profile(constant=2.5))
        assert np.isnan(r["S1"].sel(species="anion").values[:, 2]).all()
        said = [x for x in caplog.records if "took one value at every sample" in x.getMessage()]
        assert said and all(x.levelno == logging.WARNING for x in said)  # any other constant: a warning
