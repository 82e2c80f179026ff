"""An ensemble's evaluation cost against K single evaluations, in the same run.

    python benchmarks/bench_ensemble_cost.py [--n 100000] [--rounds 3]

Times the shipped ensemble (member mean, one batched computation) and each of its members
alone on the same n inputs, all densities, after a warm-up; reports the median over rounds
of the ratio (ensemble time) / (sum of the members' times).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import report

from uqsurrogate.model_function import ModelFunction
from uqsurrogate.study import default_model_path
from uqsurrogate.surrogate.ensemble import read_ensemble


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json")
    args = ap.parse_args()
    path = default_model_path()
    ens = ModelFunction.from_artifact(path)
    members = [ModelFunction.from_artifact(path / m) for m in read_ensemble(path)["members"]]
    rng = np.random.default_rng(0)
    X = ens.train_min + rng.random((args.n, len(ens.input_names))) * (ens.train_max - ens.train_min)
    out = np.empty((args.n, 2, ens.n_bins), np.float32)
    for f in [ens, *members]:
        f(X[:1000])  # compile
    ratios, t_ens, t_sum = [], [], []
    for _ in range(args.rounds):
        t = time.perf_counter()
        ens(X, out=out)
        te = time.perf_counter() - t
        ts = 0.0
        for f in members:
            t = time.perf_counter()
            f(X, out=out)
            ts += time.perf_counter() - t
        ratios.append(te / ts)
        t_ens.append(te)
        t_sum.append(ts)
    res = {"n": args.n, "members": len(members), "ensemble_s": float(np.median(t_ens)),
           "sum_of_members_s": float(np.median(t_sum)), "ratio_median": float(np.median(ratios)),
           "ratios": [round(r, 3) for r in ratios]}
    print(f"ensemble of {len(members)}: {res['ensemble_s']:.2f} s, members alone {res['sum_of_members_s']:.2f} s "
          f"in all: ratio {res['ratio_median']:.2f} (rounds {res['ratios']})")
    report(res, None if args.json is None else __import__("pathlib").Path(args.json))


if __name__ == "__main__":
    main()
