"""Forward propagation: the distribution of a model's outputs under an input distribution.

:func:`propagate` draws ``n`` inputs from a :class:`~uqsurrogate.problem.Problem` (the
counter-based draws of :func:`~uqsurrogate.evaluation.sampled_rows`: the same rows for a
seed whatever the chunking or the ``map``), evaluates the model chunk by chunk, and
returns, for every output (per species and bin for densities, per bin for ρ and S):

* the mean, with the half-width of its confidence interval (normal approximation,
  z · sd / √n): the Monte Carlo error of the estimate itself;
* the standard deviation (ddof = 1);
* the requested quantiles (NumPy's default, linear interpolation), each with a
  distribution-free confidence interval from order statistics: the ranks whose binomial
  probability of straddling the quantile is at least the confidence level.

The mean and the standard deviation stream in memory independent of ``n``
(:class:`~uqsurrogate.evaluation.Moments`).  Exact quantiles need every output: they are
kept in one preallocated (n, outputs) array of the model's dtype, whose size is checked
against ``max_memory`` before any evaluation, with a message that says how to shrink it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import xarray as xr
from scipy import stats

from .._validation import check_float, check_int
from ..errors import InputError
from ..evaluation import Moments, check_output, evaluate, sampled_rows
from ..problem import Problem
from ..results import base_attrs, output_labels, output_units, run_options

__all__ = ["propagate", "quantile_interval"]

logger = logging.getLogger(__name__)


class _Store:
    """Outputs written into one preallocated (n, ...) array."""

    def __init__(self, n: int, shape: tuple[int, ...], dtype: Any):
        self.values = np.empty((n, *shape), dtype=dtype)

    def update(self, y: np.ndarray, x: np.ndarray, start: int) -> None:
        self.values[start : start + y.shape[0]] = y


def quantile_interval(n: int, q: float, conf_level: float) -> tuple[int, int]:
    """0-based ranks (lo, hi) of the sorted sample such that [y_(lo), y_(hi)] covers the q-quantile.

    Distribution-free: the count of draws below the quantile is Binomial(n, q), so the
    interval between these order statistics covers it with probability >= ``conf_level``
    (up to the discreteness of the binomial; ranks are clipped to the sample).

    Examples
    --------
    >>> quantile_interval(1000, 0.5, 0.95)
    (468, 531)
    """
    dist = stats.binom(n, q)
    lo = int(dist.ppf((1 - conf_level) / 2)) - 1
    hi = int(dist.ppf((1 + conf_level) / 2))
    return max(lo, 0), min(hi, n - 1)


@run_options("conf_level", "map", "progress", conf_level="Here of the mean's interval and of the quantiles'.")
def propagate(
    f: Callable[[np.ndarray], np.ndarray],
    problem: Problem,
    n: int,
    *,
    quantiles: Sequence[float] = (0.05, 0.5, 0.95),
    seed: int = 0,
    conf_level: float = 0.95,
    chunk_size: int = 8192,
    max_memory: float = 2**30,
    map: Any = None,
    progress: bool | None = None,
) -> xr.Dataset:
    """Mean, standard deviation and quantiles of every output of ``f`` under ``problem``.

    Parameters
    ----------
    f : callable
        ``f(X (m, n_inputs)) -> (m, ...)``, e.g. a :class:`~uqsurrogate.ModelFunction`
        (restricted to the output wanted); its ``output_dims``, ``output_coords`` and
        ``output_attrs`` label the result.
    problem : Problem
        Input distributions, in ``f``'s input order.
    n : int
        Draws, >= 2.
    quantiles : sequence of float, default (0.05, 0.5, 0.95)
        Each in (0, 1); empty for the mean and the standard deviation only, in memory
        independent of ``n``.
    seed : int, default 0
        Seeds the draws (:func:`~uqsurrogate.evaluation.sampled_rows`).
    chunk_size : int, default 8192
        Rows per call of ``f`` (the other methods' ``chunk_rows``); the result does not depend on it.
    max_memory : float, default 1 GiB
        Bytes the outputs kept for the quantiles may take.
    {run options}

    Returns
    -------
    xarray.Dataset
        ``mean``, ``mean_conf``, ``std`` with the output's dims; ``quantile``,
        ``quantile_lower``, ``quantile_upper`` with a leading ``quantile`` dim; the
        Problem and the settings in the attributes.

    Examples
    --------
    >>> import numpy as np
    >>> from uqsurrogate.problem import Normal, Problem
    >>> p = Problem({"a": Normal(1.0, 2.0), "b": 3.0})
    >>> ds = propagate(lambda x: x[:, :1] * x[:, 1:], p, 20000, progress=False)
    >>> round(float(ds["mean"][0]), 1), round(float(ds["std"][0]), 1)
    (3.0, 6.0)
    """
    n = check_int(n, "n", min_value=2)
    conf_level = check_float(conf_level, "conf_level", 0, 1, closed="neither")
    q = np.asarray(list(quantiles), dtype=float)
    if q.ndim != 1 or np.any(~(q > 0) | ~(q < 1)):
        raise InputError(f"quantiles = {list(quantiles)}: each must lie in (0, 1)")
    if np.unique(q).size != q.size:
        raise InputError(f"quantiles = {q.tolist()}: each level must be given once (the result's quantile "
                         "coordinate would hold one twice)")
    seed = check_int(seed, "seed", min_value=0)
    max_memory = check_float(max_memory, "max_memory", 0, None, closed="neither")
    rows = sampled_rows(problem, seed)
    first = check_output(f, f(rows(0, 1)), 0, 1)
    shape, dtype = first.shape[1:], first.dtype
    reducers: list[Any] = [Moments()]
    if q.size:
        need = n * int(np.prod(shape)) * np.dtype(dtype).itemsize
        if need > max_memory:
            fit = int(max_memory // (int(np.prod(shape)) * np.dtype(dtype).itemsize))
            raise InputError(
                f"exact quantiles of n = {n} draws of {int(np.prod(shape))} outputs need {need / 2**30:.2f} GiB "
                f"(max_memory {max_memory / 2**30:.2f} GiB): pass n <= {fit}, fewer outputs (restrict the model), "
                "a larger max_memory, or quantiles=() for the mean and std only"
            )
        reducers.append(_Store(n, shape, dtype))
    evaluate(f, rows, reducers, n=n, chunk_size=check_int(chunk_size, "chunk_size", min_value=1), map=map,
             progress=progress, desc="propagate")
    moments = reducers[0]
    std = np.sqrt(moments.variance * n / (n - 1))
    z = stats.norm.ppf(0.5 + conf_level / 2)
    dims, coords, attrs = output_labels(f, problem, shape)
    units = output_units(attrs)
    what = attrs.get("long_name", "output")

    def labelled(name: str) -> dict:
        return {"units": units, "long_name": f"{name} of the {what}"}

    variables = {
        "mean": (dims, moments.mean, labelled("mean")),
        "mean_conf": (dims, z * std / np.sqrt(n),
                      {**labelled(f"half-width of the {conf_level:g} confidence interval of the mean"),
                       "comment": "Monte Carlo error of the mean: z sd / sqrt(n)"}),
        "std": (dims, std, {**labelled("standard deviation"), "comment": "ddof = 1"}),
    }
    extra_coords = {}
    if q.size:
        values = reducers[1].values
        qs = np.quantile(values, q, axis=0)
        ranks = [quantile_interval(n, float(p), conf_level) for p in q]
        part = np.partition(values, sorted({r for pair in ranks for r in pair}), axis=0)  # one pass, every rank
        lo, hi = [part[a] for a, _ in ranks], [part[b] for _, b in ranks]
        qdims = ["quantile", *dims]
        variables["quantile_value"] = (qdims, qs, {**labelled("quantile"), "comment": "numpy.quantile, linear"})
        variables["quantile_lower"] = (qdims, np.stack(lo),
                                       labelled(f"lower bound of the {conf_level:g} order-statistic interval of the "
                                                "quantile"))
        variables["quantile_upper"] = (qdims, np.stack(hi),
                                       labelled(f"upper bound of the {conf_level:g} order-statistic interval of the "
                                                "quantile"))
        extra_coords["quantile"] = ("quantile", q, {"units": "1", "long_name": "probability level"})
    ds = xr.Dataset({k: (d, np.asarray(v), a) for k, (d, v, a) in variables.items()},
                    coords={**coords, **extra_coords},
                    attrs=base_attrs("propagate", problem, seed, n=n, conf_level=conf_level,
                                     title=f"forward propagation of the input distribution to the {what}"))
    return ds
