"""The one evaluation path: chunking, the pluggable map, counter-based rows, and the seams around it."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest

from uqsurrogate._validation import check_float, check_int, check_power_of_two
from uqsurrogate.errors import InputError, InputTypeError
from uqsurrogate.evaluation import Collect, Moments, chunk_bounds, evaluate, map_chunks, sampled_rows, stream
from uqsurrogate.problem import Normal, Problem, Uniform
from uqsurrogate.sensitivity import nested, pce, sobol
from uqsurrogate.testing import bilinear, bilinear_problem, ishigami, ishigami_problem


def test_chunk_bounds_cover_every_row_once():
    bounds = chunk_bounds(1000, 77)
    rows = np.concatenate([np.arange(a, b) for a, b in bounds])
    np.testing.assert_array_equal(rows, np.arange(1000))
    assert chunk_bounds(0, 5) == []


def test_map_chunks_yields_in_order_whatever_the_map():
    square = lambda ab: (ab[1] - ab[0]) ** 2  # noqa: E731
    bounds = chunk_bounds(100, 9)
    serial = list(map_chunks(square, bounds, progress=False))
    with ThreadPoolExecutor(3) as pool:
        threaded = list(map_chunks(square, bounds, map=pool, progress=False))
    assert serial == threaded and [ab for ab, _ in serial] == bounds
    with pytest.raises(InputError, match="map = 3; pass an object with a map"):
        list(map_chunks(square, bounds, map=3))


def test_evaluate_feeds_every_row_to_the_reducers():
    X = np.arange(50.0)[:, None]
    collected, moments = evaluate(lambda x: 3 * x, X, [Collect(), Moments()], chunk_size=8, progress=False)
    np.testing.assert_array_equal(collected.values, 3 * X)
    np.testing.assert_allclose(moments.mean, [3 * 24.5])
    sizes = []
    evaluate(lambda x: x, X, [Collect()], chunk_size=lambda y: 10, first_chunk=4, progress=False)
    evaluate(lambda x: sizes.append(len(x)) or x, X, [Collect()], chunk_size=lambda y: 10, first_chunk=4,
             progress=False)
    assert sizes == [4, 10, 10, 10, 10, 6]
    with pytest.raises(InputError, match="first_chunk is required"):
        evaluate(lambda x: x, X, [Collect()], chunk_size=lambda y: 10)


def test_sampled_rows_do_not_depend_on_the_chunking():
    p = Problem({"h": 4.5, "a": Normal(0.0, 1.0), "b": Uniform(0, 1)})
    rows = sampled_rows(p, seed=3, block=100)
    whole = rows(0, 1000)
    assert whole.shape == (1000, 3) and np.all(whole[:, 0] == 4.5)
    pieces = np.concatenate([rows(a, b) for a, b in chunk_bounds(1000, 37)])
    np.testing.assert_array_equal(pieces, whole)
    np.testing.assert_array_equal(rows(250, 260), whole[250:260])
    assert not np.array_equal(sampled_rows(p, seed=4, block=100)(0, 10), whole[:10])
    m, = stream(lambda x: x[:, 1:], rows, [Moments()], n=1000, chunk_size=128)
    np.testing.assert_allclose(m.mean, whole[:, 1:].mean(axis=0), rtol=1e-12)


def _ishigami_column(X):  # module level: a process pool pickles it
    return ishigami(X)[:, None]


@pytest.mark.parametrize("pool", ["threads", "processes"])
def test_estimators_give_the_same_bits_through_any_map(pool):
    """The pluggable map is only where the chunks run: sobol, nested and pce are bit-identical through it."""
    make = ThreadPoolExecutor if pool == "threads" else ProcessPoolExecutor
    p = ishigami_problem()
    a = sobol(_ishigami_column, p, 256, seed=1, chunk_rows=100, progress=False)
    c = pce(_ishigami_column, p, 128, order=3, seed=1)
    q = bilinear_problem()
    n = nested(bilinear, q, 30, 20, seed=1, chunk_rows=4, progress=False)
    with make(2) as ex:
        b = sobol(_ishigami_column, p, 256, seed=1, chunk_rows=100, map=ex, progress=False)
        d = pce(_ishigami_column, p, 128, order=3, seed=1, map=ex)
        m = nested(bilinear, q, 30, 20, seed=1, chunk_rows=4, map=ex, progress=False)
    for name in ("S1", "ST", "S1_conf", "ST_conf", "mean", "variance"):
        np.testing.assert_array_equal(a[name].values, b[name].values)
    np.testing.assert_array_equal(c["coefficients"].values, d["coefficients"].values)
    for name in ("S1", "S1_corrected", "variance", "mean"):
        np.testing.assert_array_equal(n[name].values, m[name].values)


def test_sobol_accepts_a_generator_seed_and_records_it():
    r = sobol(_ishigami_column, ishigami_problem(), 64, seed=np.random.default_rng(5), progress=False)
    again = sobol(_ishigami_column, ishigami_problem(), 64, seed=int(r.attrs["seed"]), progress=False)
    np.testing.assert_array_equal(r["S1"].values, again["S1"].values)


def test_sobol_and_sobol_design_agree_on_n():
    from uqsurrogate.simulators import sobol_design

    for call in (lambda n: sobol(_ishigami_column, ishigami_problem(), n), lambda n: sobol_design(n, seed=0)):
        with pytest.raises(InputError, match=r"n = 100 is not a power of 2.*\(try n = 128\)"):
            call(100)
    assert len(sobol_design(64, seed=0)["h"]) == 64


@pytest.mark.parametrize("value, error, match", [
    (None, InputTypeError, "n = None of type NoneType; it must be an integer >= 1"),
    ("3", InputTypeError, "n = '3' of type str"),
    (True, InputTypeError, "n = True of type bool"),
    (2.5, InputError, "n = 2.5; it must be an integer >= 1"),
    (0, InputError, "n = 0; it must be an integer >= 1"),
])
def test_check_int_names_the_argument_the_value_and_the_range(value, error, match):
    with pytest.raises(error, match=match):
        check_int(value, "n", min_value=1)


def test_check_scalars_accept_numpy_numbers():
    assert check_int(np.int64(4), "n") == 4 and check_int(8.0, "n") == 8
    assert check_float(np.float32(0.5), "alpha", 0, 1, closed="neither") == 0.5
    with pytest.raises(InputError, match=r"alpha = nan; it must be a number in \(0, 1\)"):
        check_float(float("nan"), "alpha", 0, 1, closed="neither")
    assert check_power_of_two(np.int32(64), "n") == 64


def test_importing_plotting_leaves_the_backend_alone():
    code = ("import matplotlib; matplotlib.use('svg'); import sys, uqsurrogate.plotting; "
            "assert matplotlib.get_backend() == 'svg', matplotlib.get_backend(); "
            "assert 'matplotlib.pyplot' not in sys.modules")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_plot_functions_draw_into_given_axes():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from uqsurrogate.plotting import plot_indices

    one = sobol(_ishigami_column, ishigami_problem(), 64, seed=0, progress=False)
    fig, ax = plt.subplots()
    assert plot_indices(one, axes=[ax]) is fig
    assert len(ax.patches) > 0  # bars of S1 and ST for outputs without bins
    two = sobol(lambda X: np.stack([ishigami(X), X[:, 0]], axis=1), ishigami_problem(), 64, seed=0, progress=False)
    with pytest.raises(InputError, match="axes has 1 Axes; this figure needs 1 x 2"):
        plot_indices(two, axes=[ax])
    plt.close(fig)


def test_cli_reports_user_errors_in_one_line_and_bugs_with_a_traceback(monkeypatch, capsys, tmp_path):
    from uqsurrogate import cli

    assert cli.main(["simulate", "--design", "sobol", "--n", "100", "--seed", "1", "--out", str(tmp_path / "a.nc")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["uqsurrogate simulate: error: n = 100 is not a power of 2; scrambled Sobol' points are balanced "
                   "only at powers of 2 (try n = 128)"]

    def bug(args):
        raise KeyError("an internal bug")

    monkeypatch.setattr(cli.model, "_cmd_info", bug)
    with pytest.raises(KeyError, match="an internal bug"):
        cli.main(["info", "--example", "real-md"])


class _RangedModel:
    """A NumPy model that checks its inputs against training ranges [0, 1] as the model function does."""

    def __init__(self, extrapolation="warn"):
        self.extrapolation = extrapolation

    def __call__(self, X):
        from uqsurrogate._validation import check_model_inputs

        x = check_model_inputs(X, ["a", "b"], ["nm", "M"], np.zeros(2), np.ones(2), self.extrapolation)
        return x.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("pool", [None, "threads", "processes"])
def test_one_extrapolation_warning_per_run_counting_distinct_inputs(pool):
    """A run of many chunks warns once, with the distinct values beyond the range of each input out of all."""
    import warnings

    from uqsurrogate.warnings import ExtrapolationWarning

    rng = np.random.default_rng(0)
    a = rng.uniform(0.1, 0.9, 40)
    a[:3] = [1.2, 1.5, -0.25]           # 3 of 40 distinct a beyond [0, 1]
    b = rng.uniform(0.1, 0.9, 25)       # b stays inside
    X = np.array([[x, y] for x in a for y in b])  # 1,000 rows, each a repeated 25 times: crossed, as nested
    expected = sum(1 for v in np.unique(X[:, 0]) if v < 0 or v > 1)  # counted independently of the code
    ex = {"threads": ThreadPoolExecutor, "processes": ProcessPoolExecutor}.get(pool)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if ex is None:
            evaluate(_RangedModel(), X, [Collect()], chunk_size=8, progress=False)
        else:
            with ex(2) as m:
                evaluate(_RangedModel(), X, [Collect()], chunk_size=8, map=m, progress=False)
    found = [w for w in caught if issubclass(w.category, ExtrapolationWarning)]
    assert len(found) == 1, [str(w.message) for w in found]  # 125 chunks (reports merged on the way), one warning
    text = str(found[0].message)
    assert f"a: {expected} of 40 distinct values ({100 * expected / 40:.1f} %)" in text
    assert "beyond [0, 1] nm, down to -0.25 and up to 1.5" in text and "b:" not in text
    # inside the ranges: no warning; a direct call still warns by itself
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        evaluate(_RangedModel(), X[(X[:, 0] >= 0) & (X[:, 0] <= 1)], [Collect()], chunk_size=64, progress=False)
        assert not caught
        _RangedModel()(X[70:80])  # rows of a = -0.25 and of a draw inside
    assert len(caught) == 1 and "a: 1 of 2 distinct values (50.0 %)" in str(caught[0].message)


def test_nested_on_a_crossed_grid_warns_once_with_the_share_of_draws():
    """The issue's case: nested evaluates N x N rows; the warning counts the distinct draws, not rows or chunks."""
    import warnings

    from uqsurrogate.warnings import ExtrapolationWarning

    p = Problem({"a": Normal(0.5, 0.25), "b": Uniform(0.2, 0.8)})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nested(_RangedModel(), p, 200, 200, seed=0, chunk_rows=10, progress=False)
    found = [str(w.message) for w in caught if issubclass(w.category, ExtrapolationWarning)]
    assert len(found) == 1, found
    # draws beyond [0, 1] of N(0.5, 0.25): about 4.6 %, counted from the message's own numbers
    count, total = (int(v.replace(",", "")) for v in found[0].split("a: ")[1].split(" distinct")[0].split(" of "))
    assert total == 200 and 2 <= count <= 20
