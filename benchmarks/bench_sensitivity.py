"""Benchmark the sensitivity engine against SALib and scipy, and its memory.

    python benchmarks/bench_sensitivity.py [--json OUT] [--salib-outputs 8] [--skip-memory]

1. ``sobol``: d = 5, N = 2^14, second order, 100 bootstrap resamples, over 1,004 outputs of
   a cheap analytic function (so that the estimator, not the model, is timed), against
   ``SALib.analyze.sobol`` looped over outputs (timed on ``--salib-outputs`` of them and
   scaled to 1,004) on the same samples, checking the numbers agree; and against
   ``scipy.stats.sobol_indices`` on the same problem (its own sampling; first and total
   order only, no CIs, as its BCa bootstrap is O(n²)).
2. Memory: d = 10, N = 2^18 (3.1 M model rows) over 1,004 outputs with bootstrap CIs, in a
   fresh process; its peak resident memory.
3. ``nested`` 1000 x 1000 over all 1,004 bins of a surrogate of the paper's shape, against
   the bare model evaluations of the same 10^6 inputs (in a fresh process each, for their
   peak memory).
4. Interval cost (``--intervals-only`` runs just this): the default interval of ``sobol``
   (rqmc: the rows split into scrambles) and the bootstrap against the bare evaluation of
   the same number of rows, on the test function and the shipped surrogate; ``nested``'s
   jackknife against its bootstrap.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _common import report

P = 1004


def make_f(d: int):
    rng = np.random.default_rng(0)
    w = rng.normal(size=(d, P))
    v = rng.normal(size=(d, P))

    def f(X):
        return np.sin(X @ w) + (X**2) @ v * 0.1

    return f


def sobol_vs_salib(n_salib: int) -> dict:
    from SALib.analyze import sobol as salib_analyze
    from SALib.sample import sobol as salib_sample

    from uqsurrogate.problem import Problem, Uniform
    from uqsurrogate.sensitivity import sobol

    d, n = 5, 2**14
    f = make_f(d)
    prob = Problem({f"x{i}": Uniform(0, 1) for i in range(d)})
    t = time.perf_counter()
    ours = sobol(f, prob, n, second_order=True, ci="bootstrap", resamples=100, seed=1, progress=False)
    t_ours = time.perf_counter() - t
    X = salib_sample.sample(prob.to_salib(), n, calc_second_order=True, scramble=True, seed=1)
    Y = f(X)
    t = time.perf_counter()
    worst = 0.0
    for k in range(n_salib):
        ref = salib_analyze.analyze(prob.to_salib(), Y[:, k], calc_second_order=True, num_resamples=100, seed=1)
        worst = max(worst, np.abs(ours["S1"].values[:, k] - ref["S1"]).max(), np.abs(ours["ST"].values[:, k] - ref["ST"]).max(),
                    np.abs(ours["S1_conf"].values[:, k] - ref["S1_conf"]).max())
    t_salib = (time.perf_counter() - t) / n_salib * P
    res = {"sobol_seconds": t_ours, "salib_loop_seconds_extrapolated": t_salib, "salib_outputs_timed": n_salib,
           "speedup_vs_salib": t_salib / t_ours, "max_abs_difference_vs_salib": worst,
           "model_rows": int(n * (2 * d + 2))}
    # scipy.stats.sobol_indices: vectorised peer, without its O(n^2) BCa bootstrap
    from scipy.stats import sobol_indices, uniform

    def f_scipy(x):  # scipy passes (d, n) and wants (P, n)
        return f(x.T).T

    t = time.perf_counter()
    sobol_indices(func=f_scipy, n=n, dists=[uniform(0, 1)] * d, rng=np.random.default_rng(1))
    t_scipy = time.perf_counter() - t
    t = time.perf_counter()
    nosec = sobol(f, prob, n, second_order=False, ci="none", seed=1, progress=False)
    t_nosec = time.perf_counter() - t
    t = time.perf_counter()
    sobol(f, prob, n, second_order=False, ci="bootstrap", resamples=100, seed=1, progress=False)
    t_ci = time.perf_counter() - t
    res.update({"scipy_sobol_indices_seconds": t_scipy, "ours_first_total_no_ci_seconds": t_nosec,
                "ours_first_total_with_100_bootstrap_seconds": t_ci, "speedup_vs_scipy_no_ci": t_scipy / t_nosec,
                "ours_S1_mean": float(np.nanmean(nosec["S1"].values))})
    return res


def interval_cost(repeats: int = 3) -> dict:
    """What the default interval costs over the bare evaluation of the rows (issue #25's target: <= 1.3x).

    d = 5, N = 2^14, second order (N (2d + 2) = 196,608 rows), 1,004 outputs, on the NumPy test
    function and on the shipped surrogate (its 2 x 502 density bins over the training box).  Bare:
    ``f`` on the rows of the bootstrap default's Saltelli design, in the same chunks.  Each time is
    the best of ``repeats``, all in this one process.
    """
    from SALib.sample import sobol as salib_sample

    from uqsurrogate.model_function import ModelFunction
    from uqsurrogate.problem import Problem, Uniform
    from uqsurrogate.sensitivity import nested, sobol
    from uqsurrogate.study import default_model_path

    d, n = 5, 2**14
    numpy_f = make_f(d)
    numpy_prob = Problem({f"x{i}": Uniform(0, 1) for i in range(d)})
    model = ModelFunction.from_artifact(default_model_path(), extrapolation="clip", ensemble="mean").restrict(
        output="density")
    model_prob = Problem({k: Uniform(float(lo), float(hi))
                          for k, lo, hi in zip(model.input_names, model.train_min, model.train_max)})

    def best(fn):
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return min(times)

    out = {}
    for label, f, prob in (("numpy_function", numpy_f, numpy_prob), ("shipped_surrogate", model, model_prob)):
        X = prob.full(salib_sample.sample(prob.to_salib(), n, calc_second_order=True, scramble=True, seed=1))
        rows = 2**16 // 12 * 12

        def bare():
            for s in range(0, len(X), rows):
                f(X[s:s + rows])

        t_bare = best(bare)
        t_rqmc = best(lambda: sobol(f, prob, n, second_order=True, seed=1, progress=False))
        t_boot = best(lambda: sobol(f, prob, n, second_order=True, ci="bootstrap", seed=1, progress=False))
        t_none = best(lambda: sobol(f, prob, n, second_order=True, ci="none", seed=1, progress=False))
        out[label] = {"rows": int(len(X)), "bare_seconds": t_bare, "rqmc_default_seconds": t_rqmc,
                      "bootstrap_seconds": t_boot, "no_interval_seconds": t_none,
                      "rqmc_over_bare": t_rqmc / t_bare, "bootstrap_over_bare": t_boot / t_bare}
    # nested 300 x 300 over every output: the default jackknife against the two-way bootstrap
    two = Problem({"a": Uniform(0, 1), "b": Uniform(0, 1), **{f"x{i}": 0.5 for i in range(2, d)}})
    t_bare = best(lambda: nested(numpy_f, two, 300, 300, seed=0, resamples=0, progress=False))
    t_jack = best(lambda: nested(numpy_f, two, 300, 300, seed=0, progress=False))
    t_boot = best(lambda: nested(numpy_f, two, 300, 300, seed=0, ci="bootstrap", resamples=50, progress=False))
    out["nested_300x300_1004_outputs"] = {"no_interval_seconds": t_bare, "jackknife_seconds": t_jack,
                                          "bootstrap_50_seconds": t_boot, "jackknife_over_none": t_jack / t_bare,
                                          "bootstrap_50_over_none": t_boot / t_bare}
    return out


MEMORY_CHILD = """
def hwm():  # peak RSS of this image in MiB (ru_maxrss would include the parent's, across exec)
    return int([l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]) / 1024
import time, numpy as np, sys
sys.path.insert(0, sys.argv[1])
from bench_sensitivity import make_f
from uqsurrogate.problem import Problem, Uniform
from uqsurrogate.sensitivity import sobol
d = 10
f = make_f(d)
prob = Problem({f"x{i}": Uniform(0, 1) for i in range(d)})
t = time.perf_counter()
r = sobol(f, prob, 2**18, resamples=100, seed=0, progress=False)
print(time.perf_counter() - t, hwm())
"""

NESTED_CHILD = """
def hwm():  # peak RSS of this image in MiB (ru_maxrss would include the parent's, across exec)
    return int([l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]) / 1024
import sys, time, numpy as np
from uqsurrogate.evaluation import Moments, stream
from uqsurrogate.model_function import ModelFunction
from uqsurrogate.problem import Problem, Normal
from uqsurrogate.sensitivity import nested
f = ModelFunction.from_artifact(sys.argv[1], extrapolation="clip")
names = f.input_names
p = Problem({"h": 4.5, "c": 0.3, "d_plus": Normal(0.4, 0.01), "d_minus": Normal(0.6, 0.015), "sigma": -0.015})
f(p.full(p.sample(100, seed=0)))
t = time.perf_counter()
if sys.argv[2] == "nested":
    nested(f, p, 1000, 1000, seed=0, resamples=0, progress=False)  # the estimator alone, as before intervals
else:
    a = np.sort(p.sample(1000, 0)[:, 0]); b = np.sort(p.sample(1000, 1)[:, 1])
    def chunk(s, e):
        i = np.arange(s, e)
        return p.full(np.column_stack([a[i // 1000], b[i % 1000]]))
    stream(f, chunk, [], n=10**6, chunk_size=16384)
print(time.perf_counter() - t, hwm())
"""


def nested_vs_bare(root: Path) -> dict:
    from uqsurrogate.simulators import ElectrolyteSimulator, sobol_design
    from uqsurrogate.surrogate import SurrogateTrainer, TrainingConfig

    ds = ElectrolyteSimulator().run(sobol_design(64, seed=0), seed=0)
    path = SurrogateTrainer(TrainingConfig(loss="mse", epochs=1), progress=False).fit(ds).save(root / "model")
    out = {}
    for kind in ("bare", "nested"):
        t, rss = subprocess.run([sys.executable, "-c", NESTED_CHILD, str(path), kind], capture_output=True,
                                text=True, check=True).stdout.split()
        out[f"{kind}_seconds"], out[f"{kind}_peak_rss_MiB"] = float(t), float(rss)
    out["nested_over_bare"] = out["nested_seconds"] / out["bare_seconds"]
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", type=Path)
    p.add_argument("--salib-outputs", type=int, default=8)
    p.add_argument("--skip-memory", action="store_true")
    p.add_argument("--intervals-only", action="store_true", help="only the interval-cost comparison (item 4)")
    args = p.parse_args()
    import tempfile

    if args.intervals_only:
        report({"machine": platform.platform(), "cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d"),
                "interval_cost_d5_N2e14_second_order_1004_outputs": interval_cost()}, args.json)
        return

    res = {"machine": platform.platform(), "cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d")}
    res["sobol_d5_N2e14_second_order_1004_outputs"] = sobol_vs_salib(args.salib_outputs)
    res["interval_cost_d5_N2e14_second_order_1004_outputs"] = interval_cost()
    print(json.dumps(res, indent=1), flush=True)
    if not args.skip_memory:
        t, rss = subprocess.run([sys.executable, "-c", MEMORY_CHILD, str(Path(__file__).parent)],
                                capture_output=True, text=True, check=True).stdout.split()
        res["sobol_d10_N2e18_1004_outputs_with_ci"] = {"seconds": float(t), "peak_rss_MiB": float(rss),
                                                       "model_rows": 12 * 2**18}
    with tempfile.TemporaryDirectory() as tmp:
        res["nested_1000x1000_all_bins"] = nested_vs_bare(Path(tmp))
    report(res, args.json)


if __name__ == "__main__":
    main()
