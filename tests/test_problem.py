"""Problem: the distributions against independent formulas, SALib and chaospy; its I/O round trips."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from uqsurrogate.cli import main
from uqsurrogate.errors import InputError
from uqsurrogate.problem import (
    KINDS,
    Fixed,
    LogNormal,
    LogUniform,
    Normal,
    Problem,
    Triangular,
    TruncNormal,
    Uniform,
    parse_distribution,
)

U = np.linspace(0.001, 0.999, 37)


def _triangular_ppf(u, a, m, b):
    """The textbook inverse CDF of the triangular distribution."""
    f = (m - a) / (b - a)
    return np.where(u < f, a + np.sqrt(u * (b - a) * (m - a)), b - np.sqrt((1 - u) * (b - a) * (b - m)))


@pytest.mark.parametrize("dist, ppf", [
    (LogNormal(-0.9, 0.2), lambda u: np.exp(stats.norm.ppf(u, -0.9, 0.2))),
    (Triangular(0.2, 0.35, 0.63), lambda u: _triangular_ppf(u, 0.2, 0.35, 0.63)),
    (Triangular(0.2, 0.2, 0.63), lambda u: _triangular_ppf(u, 0.2, 0.2, 0.63)),
    (LogUniform(0.1, 2.0), lambda u: np.exp(np.log(0.1) + u * (np.log(2.0) - np.log(0.1)))),
])
def test_new_distributions_against_their_formulas_and_chaospy(dist, ppf):
    np.testing.assert_allclose(dist.scipy().ppf(U), ppf(U), rtol=1e-12)
    np.testing.assert_allclose(dist.chaospy().inv(U), ppf(U), rtol=1e-7)
    # the moments chaospy uses for its polynomials are scipy's
    assert float(dist.chaospy().mom(1)) == pytest.approx(dist.scipy().mean(), rel=1e-9)


def test_salib_maps_the_same_points_to_the_same_inputs():
    """SALib's sampler with our dists equals its uniform points mapped through our ppf."""
    from SALib.sample import sobol as salib_sobol

    p = Problem({"a": Normal(1, 0.5), "b": Uniform(-1, 2), "c": TruncNormal(0.4, 0.1, 0.3, 0.6),
                 "d": LogNormal(-0.5, 0.3), "e": Triangular(0.2, 0.3, 0.63), "f": LogUniform(0.1, 2.0)})
    ours = salib_sobol.sample(p.to_salib(), 64, calc_second_order=False, seed=4)
    unit = {"num_vars": 6, "names": p.varied, "bounds": [[0, 1]] * 6}
    u = salib_sobol.sample(unit, 64, calc_second_order=False, seed=4)
    np.testing.assert_allclose(ours, p.ppf(u), rtol=1e-12)


@pytest.mark.parametrize("spec, expected", [
    ("lognormal(-0.9, 0.2)", LogNormal(-0.9, 0.2)),
    ("triangular(0.2, 0.4, 0.63)", Triangular(0.2, 0.4, 0.63)),
    ("LogUniform(0.1, 2)", LogUniform(0.1, 2.0)),
    ("truncnormal(0.4, 0.1, 0.2, 0.63)", TruncNormal(0.4, 0.1, 0.2, 0.63)),
])
def test_parse_new_kinds(spec, expected):
    assert parse_distribution(spec) == expected


@pytest.mark.parametrize("spec, message", [
    ("lognormal(0, -1)", "sigma > 0"),
    ("triangular(0.2, 0.7, 0.63)", "low <= mode < high"),
    ("loguniform(0, 2)", "0 < low < high"),
    ("triangular(1, 2)", "triangular takes 3 numbers (low, mode, high), got 2"),
    ("gamma(1, 2)", "unknown distribution 'gamma'"),
])
def test_bad_specs_say_what_is_allowed(spec, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_distribution(spec)


ALL = Problem({"h": 4.5, "a": Normal(1, 0.5), "b": Uniform(-1, 2), "c": TruncNormal(0.4, 0.1, 0.3, 0.6),
               "d": LogNormal(-0.5, 0.3), "e": Triangular(0.2, 0.3, 0.63), "f": LogUniform(0.1, 2.0)})


def test_json_round_trip_of_every_kind():
    assert {type(d) for d in ALL.dists.values()} == set(KINDS.values()) | {Fixed}
    back = Problem.from_json(ALL.to_json())
    assert back.dists == ALL.dists and back.names == ALL.names


def test_salib_round_trip_dict_and_problemspec():
    from SALib import ProblemSpec

    d = ALL.to_salib()
    back = Problem.from_salib(d, fixed=ALL.fixed, order=ALL.names)
    assert back.dists == ALL.dists and back.names == ALL.names
    spec = ProblemSpec(d)
    assert Problem.from_salib(spec, fixed={"h": 4.5}, order=ALL.names).dists == ALL.dists
    # no dists: uniform, as in SALib
    plain = Problem.from_salib({"num_vars": 2, "names": ["x", "y"], "bounds": [[0, 1], [2, 3]]})
    assert plain.dists == {"x": Uniform(0, 1), "y": Uniform(2, 3)}


@pytest.mark.parametrize("spec, message", [
    ({"names": ["x"], "bounds": [[0, 1]], "groups": ["g"]}, "groups"),
    ({"names": ["x"], "bounds": [[0, 1]], "dists": ["weibull"]}, "weibull"),
    ({"names": ["x", "y"], "bounds": [[0, 1]]}, "2 names, 1 bounds"),
    ({"names": ["x"], "bounds": [[0, 1, 2]], "dists": ["norm"]}, "wrong length"),
    ({"bounds": [[0, 1]]}, "needs 'names' and 'bounds'"),
    ({"num_vars": 3, "names": ["x"], "bounds": [[0, 1]]}, "num_vars = 3"),
])
def test_bad_salib_problems(spec, message):
    with pytest.raises(InputError, match=message):
        Problem.from_salib(spec)


def test_from_file_reads_both_forms(tmp_path):
    ours = tmp_path / "ours.json"
    ours.write_text(ALL.to_json())
    assert Problem.from_file(ours).dists == ALL.dists
    salib = tmp_path / "salib.json"
    salib.write_text(json.dumps(ALL.to_salib()))
    assert Problem.from_file(salib, fixed={"h": 4.5}, order=ALL.names).dists == ALL.dists
    import xarray as xr

    xr.Dataset(attrs={"problem": ALL.to_json()}).to_netcdf(tmp_path / "result.nc")
    assert Problem.from_file(tmp_path / "result.nc").dists == ALL.dists  # a result's own problem
    xr.Dataset(attrs={"title": "x"}).to_netcdf(tmp_path / "other.nc")
    with pytest.raises(InputError, match="without a 'problem' attribute"):
        Problem.from_file(tmp_path / "other.nc")
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    with pytest.raises(InputError, match="neither"):
        Problem.from_file(bad)


def test_cli_problem_file_equals_vary(tmp_path, capsys):
    """--problem FILE (SALib form) with --fix gives the same result file as --vary/--fix."""
    import xarray as xr

    from uqsurrogate.study import default_model_path

    salib = {"num_vars": 2, "names": ["d_plus", "d_minus"], "bounds": [[0.4, 0.01], [0.45, 0.015]],
             "dists": ["norm", "norm"]}
    (tmp_path / "p.json").write_text(json.dumps(salib))
    common = [str(default_model_path()), "--method", "pce", "--fix", "h=4.5", "--fix", "c=0.3", "--fix",
              "sigma=-0.015", "--output", "integrated_charge", "--samples", "64", "--order", "2", "--resamples", "0"]
    assert main(["sensitivity", *common, "--problem", str(tmp_path / "p.json"), "--out", str(tmp_path / "a.nc")]) == 0
    assert main(["sensitivity", *common, "--vary", "d_plus=normal(0.4,0.01)", "--vary", "d_minus=normal(0.45,0.015)",
                 "--out", str(tmp_path / "b.nc")]) == 0
    with xr.open_dataset(tmp_path / "a.nc") as a, xr.open_dataset(tmp_path / "b.nc") as b:
        np.testing.assert_array_equal(a["S1"].values, b["S1"].values)
        assert a.attrs["problem"] == b.attrs["problem"]
    capsys.readouterr()
    assert main(["sensitivity", *common, "--problem", str(tmp_path / "p.json"), "--vary", "d_plus=normal(0.4,0.02)",
                 "--out", str(tmp_path / "c.nc")]) == 2
    assert "--vary does not go with it" in capsys.readouterr().err
