"""Benchmark soft-label training (paper Sec. III-A) on the simulator's paper grid.

    python benchmarks/bench_training.py --data grid.nc --epochs 300 --seeds 0 1 2 \
        --presets paper tuned --losses mse soft-label chi2 --jobs 2 --json OUT

Make the data first: ``uqsurrogate simulate --design paper-grid --out grid.nc --seed 0 --workers 2``.
Every (preset, loss, seed) run uses the same seeded 0.8/0.2 split (seed 0) and the same epoch
budget; the test metrics come from the best-validation weights.  Runs go ``--jobs`` at a
time, each on one TensorFlow thread.  Reported per run: test MSE against the noisy labels and
against the truth, average RMSE+ and RMSE- against the truth, the mean success rate (Eq. 10,
against the labels and against the truth), the best epoch and the training time; then
mean ± sd over seeds per (preset, loss).
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

from _common import mean_sd, one_thread_tensorflow, run_jobs


def one_run(data: str, preset: str, loss: str, seed: int, epochs: int) -> dict:
    one_thread_tensorflow()
    import numpy as np

    from uqsurrogate.data import input_names, load_dataset
    from uqsurrogate.surrogate import PRESETS, SurrogateTrainer, TrainingConfig, surrogate_metrics

    ds = load_dataset(data)
    # one split for every run (split_seed 0); the network seed varies
    cfg = TrainingConfig(loss=loss, epochs=epochs, seed=seed, split_seed=0, **PRESETS[preset])
    t = time.perf_counter()
    trainer = SurrogateTrainer(cfg, progress=False).fit(ds)
    seconds = time.perf_counter() - t
    sub = ds.isel(sample=trainer.test_index_)
    X = np.stack([sub[k].values for k in input_names(ds)], axis=1)
    m = surrogate_metrics(trainer.surrogate().predict(X), sub)
    lab, tru = m.sel(reference="labels"), m.sel(reference="truth")
    return {
        "preset": preset, "loss": loss, "seed": seed, "epochs": epochs, "best_epoch": trainer.best_epoch_,
        "train_seconds": seconds,
        "test_mse_labels": float(lab["mse"]), "test_mse_truth": float(tru["mse"]),
        "rmse_plus_truth": float(tru["rmse_mean"].sel(species="cation")),
        "rmse_minus_truth": float(tru["rmse_mean"].sel(species="anion")),
        "success_labels": float(lab["success_rate_mean"]), "success_truth": float(tru["success_rate_mean"]),
        "success_measured_labels": float(lab["success_rate_measured_mean"]),
        "success_measured_truth": float(tru["success_rate_measured_mean"]),
        "mse_interface_truth": float(tru["mse_interface"]), "mse_bulk_truth": float(tru["mse_bulk"]),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True)
    p.add_argument("--epochs", type=int, default=300)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--presets", nargs="+", default=["paper", "tuned"])
    p.add_argument("--losses", nargs="+", default=["mse", "soft-label", "chi2"])
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    runs = list(itertools.product(args.presets, args.losses, args.seeds))
    results = []
    if args.json and args.json.exists():  # resume: keep finished runs
        results = json.loads(args.json.read_text())["runs"]
    done = {(r["preset"], r["loss"], r["seed"]) for r in results if r["epochs"] == args.epochs}
    todo = [r for r in runs if r not in done]
    results = run_jobs(one_run, [(args.data, pr, lo, se, args.epochs) for pr, lo, se in todo], args.jobs,
                       args.json, results)

    print("\n| preset | loss | test MSE (labels) | test MSE (truth) | RMSE+ truth | RMSE- truth | success (labels) "
          "| success (truth) | success, measured bins (labels) | success, measured bins (truth) | time (s) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for pr, lo in itertools.product(args.presets, args.losses):
        rs = [r for r in results if r["preset"] == pr and r["loss"] == lo and r["epochs"] == args.epochs]
        if not rs:
            continue

        def ms(key, fmt="{:.3g}"):
            return mean_sd([r[key] for r in rs], fmt)

        print(f"| {pr} | {lo} | {ms('test_mse_labels')} | {ms('test_mse_truth')} | {ms('rmse_plus_truth')} | "
              f"{ms('rmse_minus_truth')} | {ms('success_labels', '{:.3f}')} | {ms('success_truth', '{:.3f}')} | "
              f"{ms('success_measured_labels', '{:.3f}')} | {ms('success_measured_truth', '{:.3f}')} | "
              f"{ms('train_seconds', '{:.0f}')} |")


if __name__ == "__main__":
    main()
