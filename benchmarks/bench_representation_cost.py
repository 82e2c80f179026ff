"""What the contact-aligned representation costs at evaluation: the model function per representation.

    python benchmarks/bench_representation_cost.py --samples 100000 --rounds 3 --json OUT

One network per representation (per-bin, aligned with a dense head, aligned with a
coordinate head, hybrid), the shipped widths (256, 512), trained for one epoch on 64
simulated inputs (502 bins: the weights do not change the cost), evaluated by the model
function on ``--samples`` random inputs: every output, and the five bins of the paper
study (one species).  Timed round-robin, each ratio against the per-bin network in the
same round; the median over rounds is reported, with peak RSS of the process.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import report

REPRESENTATIONS = {
    "bins": {},
    "aligned": {"representation": "aligned", "output_activation": "linear"},
    "aligned-coordinate": {"representation": "aligned", "output_activation": "linear", "head": "coordinate"},
    "hybrid": {"representation": "hybrid", "output_activation": "linear"},
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=100_000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--json", type=Path)
    args = p.parse_args()

    from uqsurrogate.model_function import ModelFunction
    from uqsurrogate.simulators import ElectrolyteSimulator, sobol_design
    from uqsurrogate.surrogate import SurrogateTrainer, TrainingConfig

    ds = ElectrolyteSimulator(n_bins=502).run(sobol_design(64, seed=0), seed=0)
    fns = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, extra in REPRESENTATIONS.items():
            cfg = TrainingConfig(loss="mse", epochs=1, dropout=0.0, output_scale="concentration", **extra)
            trainer = SurrogateTrainer(cfg, progress=False).fit(ds)
            fns[name] = ModelFunction.from_artifact(trainer.save(Path(tmp) / name))
    f0 = fns["bins"]
    rng = np.random.default_rng(0)
    X = f0.train_min + rng.uniform(size=(args.samples, len(f0.input_names))) * (f0.train_max - f0.train_min)
    study_bins = f0.z_grid(4.5)
    bins = [int(np.abs(study_bins - z).argmin()) for z in (-2.05, -1.95, -1.85, -1.55, -1.0)]
    cases = {f"{name}/{what}": (fn if what == "all" else fn.restrict(species="cation", bins=bins))
             for name, fn in fns.items() for what in ("all", "study-bins")}
    for fn in cases.values():
        fn(X[:1000])  # compile
    times: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(args.rounds):
        for key, fn in cases.items():
            t = time.perf_counter()
            fn(X)
            times[key].append(time.perf_counter() - t)
    res = {"samples": args.samples, "rounds": args.rounds, "seconds": {}, "ratio_to_bins": {},
           "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6}
    for key, ts in times.items():
        name, what = key.split("/")
        ratios = np.array(ts) / np.array(times[f"bins/{what}"])
        res["seconds"][key] = float(np.median(ts))
        res["ratio_to_bins"][key] = float(np.median(ratios))
    report(res, args.json)


if __name__ == "__main__":
    main()
