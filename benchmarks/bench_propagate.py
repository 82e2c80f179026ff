"""Forward propagation's cost against evaluating the same draws alone, in the same run, and its peak memory.

    python benchmarks/bench_propagate.py [--n 100000] [--rounds 3] [--json results/propagate.json]

The shipped ensemble's member mean, restricted to rho(z) at every bin, under the paper's
ion-size distributions at c = 0.3 M.  Times ``propagate`` (draws, chunked evaluation,
streamed moments, exact quantiles with order-statistic intervals) and, on the same rows,
the model function alone (the same chunks of 8192 rows into one preallocated array); reports the median ratio over
rounds, and the peak resident memory of each (``ru_maxrss`` after a fresh process each).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

from _common import report

CASE = {"h": 4.5, "c": 0.3, "d_plus": "normal(0.4, 0.01)", "d_minus": "normal(0.6, 0.015)", "sigma": -0.015}


def _measure(what: str, n: int, rounds: int) -> dict:
    import numpy as np

    from uqsurrogate.evaluation import sampled_rows
    from uqsurrogate.model_function import ModelFunction
    from uqsurrogate.problem import Problem
    from uqsurrogate.study import default_model_path
    from uqsurrogate.uncertainty import propagate

    f = ModelFunction.from_artifact(default_model_path(), extrapolation="clip").restrict(output="charge_density")
    p = Problem(CASE)
    X = sampled_rows(p, 0)(0, n)
    f(X[:1000])  # compile
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        if what == "propagate":
            propagate(f, p, n, progress=False)
        else:  # the same rows in the same chunks, outputs kept in one array
            out = np.empty((n, f.n_bins))
            for a in range(0, n, 8192):
                out[a : a + 8192] = f(X[a : a + 8192])
        times.append(time.perf_counter() - t)
    return {"median_s": float(np.median(times)), "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:  # a child: one measurement in a fresh process, for its peak memory
        print(json.dumps(_measure(args.one, args.n, args.rounds)))
        return
    res = {}
    for what in ("model_function", "propagate"):
        done = subprocess.run([sys.executable, __file__, "--one", what, "--n", str(args.n), "--rounds",
                               str(args.rounds)], capture_output=True, text=True, check=True)
        res[what] = json.loads(done.stdout.strip().splitlines()[-1])
    res["ratio_propagate_over_model_function"] = res["propagate"]["median_s"] / res["model_function"]["median_s"]
    res.update({"n": args.n, "rounds": args.rounds, "outputs": 502, "case": CASE,
                "note": "extrapolation clip: D- ~ N(0.6, 0.015) puts ~2 % of draws past 0.63 nm"})
    report(res, None if args.json is None else __import__("pathlib").Path(args.json))


if __name__ == "__main__":
    main()
