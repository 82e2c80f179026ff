"""Conservative rebinning against brute force and exact properties."""

from __future__ import annotations

import numpy as np
import pytest

from uqsurrogate.data.rebin import edges_from_centres, overlap_weights, rebin, uniform_edges


def brute_force(old_edges, values, new_edges, samples_per_unit=200_000):
    """Average the piecewise-constant profile over each new bin by dense sampling."""
    out = []
    for lo, hi in zip(new_edges[:-1], new_edges[1:]):
        x = np.linspace(lo, hi, max(int((hi - lo) * samples_per_unit), 2000), endpoint=False) + (hi - lo) / 4000
        idx = np.clip(np.searchsorted(old_edges, x, side="right") - 1, 0, values.size - 1)
        out.append(values[idx].mean())
    return np.array(out)


@pytest.mark.parametrize("m, k", [(37, 11), (11, 37), (126, 502), (84, 126)])
def test_matches_brute_force_and_conserves(m, k):
    rng = np.random.default_rng(m * k)
    old = np.sort(np.concatenate([[-1.5, 1.5], rng.uniform(-1.5, 1.5, m - 1)]))
    values = rng.uniform(0, 2, m)
    new = uniform_edges(3.0, k)
    got, _ = rebin(old, values, new)
    np.testing.assert_allclose(got, brute_force(old, values, new), atol=2e-3)
    np.testing.assert_allclose(got @ np.diff(new), values @ np.diff(old), rtol=1e-12)


def test_identity_and_uniform():
    e = uniform_edges(4.0, 50)
    v = np.random.default_rng(0).uniform(size=(2, 50))
    err = 0.1 * v
    got, got_err = rebin(e, v, e, err)
    np.testing.assert_allclose(got, v, rtol=1e-12)
    np.testing.assert_allclose(got_err, err, rtol=1e-12)
    flat, _ = rebin(e, np.full(50, 0.7), uniform_edges(4.0, 33))
    np.testing.assert_allclose(flat, 0.7, rtol=1e-12)


def test_error_propagation_split_and_merge():
    e = uniform_edges(1.0, 4)
    err = np.array([0.1, 0.2, 0.3, 0.4])
    _, split = rebin(e, np.ones(4), uniform_edges(1.0, 8), err)
    np.testing.assert_allclose(split, np.repeat(err, 2))  # splitting keeps each error
    _, merged = rebin(e, np.ones(4), uniform_edges(1.0, 2), err)
    np.testing.assert_allclose(merged, [np.hypot(0.1, 0.2) / 2, np.hypot(0.3, 0.4) / 2])


def test_weights_rows_sum_to_one():
    w = overlap_weights(uniform_edges(3, 17), uniform_edges(3, 5))
    np.testing.assert_allclose(w.sum(axis=1), 1.0)


def test_edges_from_centres():
    e = uniform_edges(2.0, 10)
    np.testing.assert_allclose(edges_from_centres(0.5 * (e[1:] + e[:-1])), e, atol=1e-15)
    with pytest.raises(ValueError, match=r"strictly increasing; z\[1\] = 0.5 >= z\[2\] = 0.5"):
        edges_from_centres(np.array([0.0, 0.5, 0.5]))


def test_errors():
    e = uniform_edges(1.0, 4)
    with pytest.raises(ValueError, match="beyond the data's"):
        rebin(e, np.ones(4), uniform_edges(2.0, 4))
    with pytest.raises(ValueError, match="values has 3 bins but old_edges has 5 edges"):
        rebin(e, np.ones(3), e)
    with pytest.raises(ValueError, match=r"errors has shape \(3,\)"):
        rebin(e, np.ones(4), e, np.ones(3))
    with pytest.raises(ValueError, match="h = -1"):
        uniform_edges(-1, 4)
    with pytest.raises(ValueError, match="n_bins = 0"):
        uniform_edges(1, 0)
