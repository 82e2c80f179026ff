"""Benchmark the training design: the paper grid against a Sobol' design, judged off the grid.

    uqsurrogate simulate --design paper-grid --seed 0 --out grid.nc
    uqsurrogate simulate --design sobol --n 4096 --seed 1 --out sobol.nc
    uqsurrogate simulate --design random --n 400 --seed 7 --out random.nc
    python benchmarks/bench_design.py --train grid.nc sobol.nc --offgrid random.nc \
        --epochs 300 --seeds 0 --targets labels truth --json OUT

For each training file, seed and target it trains the ``tuned`` preset with the chosen
loss (same epochs, a seeded 0.8/0.2 split of that file) on the MD-like labels or, with
``--targets truth``, on the exact densities (no label noise at all: what is left is model
error), then measures against the truth:

* on the file's own held-out samples (what the training benchmark reports), and
* on ``--offgrid``: independent random inputs of the same box (those inside the training
  ranges), which a user's study actually meets;

and how concentrated the held-out error is: the share of the squared error carried by the
five worst held-out samples, and the inputs of the worst.

Runs go ``--jobs`` at a time, each on one TensorFlow thread.
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

from _common import one_thread_tensorflow, run_jobs


def one_run(train: str, offgrid: str, loss: str, seed: int, epochs: int, target: str) -> dict:
    one_thread_tensorflow()
    import numpy as np

    from uqsurrogate.data import input_names, load_dataset
    from uqsurrogate.surrogate import PRESETS, SurrogateTrainer, TrainingConfig, surrogate_metrics

    ds = load_dataset(train)
    if target == "truth":
        ds = ds.assign(density=ds["density_true"].copy())
    cfg = TrainingConfig(loss=loss, epochs=epochs, seed=seed, split_seed=0, **PRESETS["tuned"])
    t = time.perf_counter()
    trainer = SurrogateTrainer(cfg, progress=False).fit(ds)
    res = {"train": Path(train).name, "n_train_file": int(ds.sizes["sample"]), "target": target, "loss": loss,
           "seed": seed,
           "epochs": epochs, "train_seconds": time.perf_counter() - t}
    surrogate = trainer.surrogate()
    lo = np.array([m["train_min"] for m in trainer.metadata_["inputs"]])
    hi = np.array([m["train_max"] for m in trainer.metadata_["inputs"]])
    for tag, ev in (("heldout", ds.isel(sample=trainer.test_index_)), ("offgrid", load_dataset(offgrid))):
        X = np.stack([ev[k].values for k in input_names(ev)], axis=1)
        inside = np.flatnonzero(np.all((X >= lo) & (X <= hi), axis=1))
        pred = np.asarray(surrogate.predict(X[inside]))
        m = surrogate_metrics(pred, ev.isel(sample=inside)).sel(reference="truth")
        if tag == "heldout":
            sq = ((pred - ev["density_true"].values[inside]) ** 2).mean(axis=(1, 2))
            worst = np.argsort(sq)[::-1]
            res["heldout_worst5_share"] = float(sq[worst[:5]].sum() / sq.sum())
            res["heldout_worst_inputs"] = dict(zip(input_names(ev), X[inside][worst[0]].round(4).tolist()))
        res.update({f"{tag}_n": int(inside.size), f"{tag}_rmse_plus": float(m["rmse_mean"][0]),
                    f"{tag}_rmse_minus": float(m["rmse_mean"][1]), f"{tag}_success": float(m["success_rate_mean"]),
                    f"{tag}_success_measured": float(m["success_rate_measured_mean"])})
    return res


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--train", nargs="+", required=True, help="training-data files to compare")
    p.add_argument("--offgrid", required=True, help="independent inputs to judge on (a random design)")
    p.add_argument("--loss", default="soft-label")
    p.add_argument("--epochs", type=int, default=300)
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--targets", nargs="+", default=["labels"], choices=["labels", "truth"],
                   help="train on the MD-like labels and/or on the exact densities")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    todo = itertools.product(args.train, args.seeds, args.targets)
    results = run_jobs(one_run, [(tr, args.offgrid, args.loss, se, args.epochs, tg) for tr, se, tg in todo],
                       args.jobs, args.json)
    print("\n| training data | trained on | seed | held-out RMSE+ / RMSE- (M) | held-out success (all / measured bins) "
          "| off-grid RMSE+ / RMSE- (M) | off-grid success (all / measured bins) | worst-5 share | time (s) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in sorted(results, key=lambda r: (r["train"], r["target"], r["seed"])):
        print(f"| {r['train']} ({r['n_train_file']}) | {r['target']} | {r['seed']} | {r['heldout_rmse_plus']:.2e} / "
              f"{r['heldout_rmse_minus']:.2e} | {r['heldout_success']:.3f} / {r['heldout_success_measured']:.3f} | "
              f"{r['offgrid_rmse_plus']:.2e} / {r['offgrid_rmse_minus']:.2e} | {r['offgrid_success']:.3f} / "
              f"{r['offgrid_success_measured']:.3f} | {r['heldout_worst5_share']:.2f} | {r['train_seconds']:.0f} |")


if __name__ == "__main__":
    main()
