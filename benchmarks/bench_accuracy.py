"""Surrogate accuracy against the exact truth at random inputs: representations, networks and recipes.

    python benchmarks/bench_accuracy.py --data default_training_data.nc --test test400.nc \
        --variants tuned-c aligned-tuned --seeds 0 1 2 --epochs 200 --jobs 2 --json OUT
    python benchmarks/bench_accuracy.py --test test400.nc --score-ensemble uqsurrogate/datasets/modnn

Data: ``--data`` is the shipped design simulated (``scripts/build_default_model.py`` writes
it, 8,146 inputs); ``--test`` is 400 random inputs of the paper box that no model trains on
(``uqsurrogate simulate --design random --n 400 --seed 2024 --out test400.nc``).  Every run
trains on the same 0.8 split (split seed 0) with the soft-label loss, and is scored with
its best-validation weights at the test inputs against ``density_true``:

* RMSE± — the paper's average RMSE: per bin over the 400 systems, then the mean over bins;
* the success rate over measured bins (|error| < the MD-like error bar, Eq. 10 where ε > 0);
* the worst 1 % of systems — the mean of the 4 largest per-system RMSEs (both species);
* the training time (one TensorFlow thread per run, ``--jobs`` runs side by side).

Variants are named sets of :class:`~uqsurrogate.surrogate.TrainingConfig` fields
(``VARIANTS`` below); the ensemble gain is ``--ensemble``: the mean of the seeds' predictions
scored the same way.  Results are appended to ``--json`` as they finish (a rerun resumes).
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import numpy as np
from _common import mean_sd, one_thread_tensorflow, run_jobs

from uqsurrogate.surrogate.training import PRESETS

_SOFT = {"loss": "soft-label"}
#: The large-batch recipe the issue proposed: AdamW, batch 256 with the learning rate scaled, cosine to 1e-6, SiLU.
_RECIPE = {"activation": "silu", "optimizer": "adamw", "weight_decay": 1e-5, "batch_size": 256, "learning_rate": 4e-3,
           "final_learning_rate": 1e-6}
#: name -> TrainingConfig fields, from the trainer's presets.  "tuned" is the shipped recipe (per-bin outputs in mol/L).
VARIANTS = {
    "tuned": {**_SOFT, **PRESETS["tuned"]},
    "tuned-c": {**_SOFT, **PRESETS["tuned-c"]},
    "aligned": {**_SOFT, **PRESETS["aligned"], "activation": "relu"},
    "aligned-tuned": {**_SOFT, **PRESETS["aligned"]},
    "aligned-recipe": {**_SOFT, **PRESETS["aligned"], **_RECIPE},
    "aligned-coord": {**_SOFT, **PRESETS["aligned"], **_RECIPE, "head": "coordinate"},
    "hybrid-tuned": {**_SOFT, **PRESETS["aligned"], "representation": "hybrid"},
    "hybrid-recipe": {**_SOFT, **PRESETS["aligned"], **_RECIPE, "representation": "hybrid"},
    "recipe": {**_SOFT, **PRESETS["tuned-c"], **_RECIPE},
}


def score(pred, test) -> dict:
    from uqsurrogate.surrogate import surrogate_metrics

    m = surrogate_metrics(pred, test).sel(reference="truth")
    per_system = np.sqrt(((pred - test["density_true"].values) ** 2).mean(axis=(1, 2)))
    worst = np.sort(per_system)[-max(1, len(per_system) // 100):]
    return {"rmse_plus": float(m["rmse_mean"].sel(species="cation")),
            "rmse_minus": float(m["rmse_mean"].sel(species="anion")),
            "success_measured": float(m["success_rate_measured_mean"]),
            "worst_1pct_rmse": float(worst.mean()),
            "worst_systems": [int(i) for i in np.argsort(per_system)[-len(worst):]]}


#: Bands of s = x / d - 1/2 (distance from the contact plane in diameters) for where the error sits.
BANDS = ((-np.inf, 0.0), (0.0, 0.5), (0.5, 1.0), (1.0, 2.0), (2.0, 3.0), (3.0, 5.0), (5.0, np.inf))


def regions(pred, test) -> dict:
    """RMS error (M) and share of the squared error in each band of s, per species, against the truth."""
    err = pred - test["density_true"].values
    h = test["h"].values[:, None]
    n_bins = err.shape[-1]
    x = (np.arange(n_bins) + 0.5)[None, :] * h / n_bins
    x = np.minimum(x, h - x)
    out = {}
    for k, (species, d) in enumerate((("cation", "d_plus"), ("anion", "d_minus"))):
        s = x / test[d].values[:, None] - 0.5
        e2 = err[:, k] ** 2
        out[species] = [{"s_from": float(lo), "s_to": float(hi), "rms": float(np.sqrt(e2[(s >= lo) & (s < hi)].mean())),
                         "share": float(e2[(s >= lo) & (s < hi)].sum() / e2.sum())} for lo, hi in BANDS]
    return out


def first_layers(pred, test) -> dict:
    """Cation RMS error (M) over 0.5 <= s+ < 3 (the first layers) by diameter ratio and by concentration."""
    err = pred[:, 0] - test["density_true"].values[:, 0]
    h = test["h"].values[:, None]
    x = (np.arange(err.shape[-1]) + 0.5)[None, :] * h / err.shape[-1]
    s = np.minimum(x, h - x) / test["d_plus"].values[:, None] - 0.5
    band = (s >= 0.5) & (s < 3.0)
    ratio = np.log(test["d_minus"].values / test["d_plus"].values)
    c = test["c"].values

    def rms(rows):
        return float(np.sqrt((err[rows][band[rows]] ** 2).mean()))

    return {"by_ln_d_minus_over_d_plus": [{"from": lo, "to": hi, "systems": int(((ratio >= lo) & (ratio < hi)).sum()),
                                           "rms": rms((ratio >= lo) & (ratio < hi))}
                                          for lo, hi in ((-1.2, -0.4), (-0.4, 0.4), (0.4, 1.2))],
            "by_c": [{"from": lo, "to": hi, "rms": rms((c >= lo) & (c < hi))} for lo, hi in ((0.1, 0.7), (0.7, 1.4),
                                                                                             (1.4, 2.01))]}


def one_run(data: str, test: str, variant: str, seed: int, epochs: int, out_dir: str | None) -> dict:
    one_thread_tensorflow()
    from uqsurrogate.data import input_names, load_dataset
    from uqsurrogate.surrogate import SurrogateTrainer, TrainingConfig

    ds, ts = load_dataset(data), load_dataset(test)
    cfg = TrainingConfig(epochs=epochs, seed=seed, split_seed=0, **VARIANTS[variant])
    t = time.perf_counter()
    trainer = SurrogateTrainer(cfg, progress=False).fit(ds)
    seconds = time.perf_counter() - t
    X = np.stack([ts[k].values for k in input_names(ts)], axis=1)
    pred = trainer.surrogate().predict(X)
    if out_dir:
        np.save(Path(out_dir) / f"pred-{variant}-{seed}-{epochs}.npy", pred)
    return {"variant": variant, "seed": seed, "epochs": epochs, "best_epoch": trainer.best_epoch_,
            "train_seconds": seconds, **score(pred, ts), "regions": regions(pred, ts),
            "first_layers": first_layers(pred, ts)}


def score_ensemble(path: str, test: str) -> dict:
    """Every member of a trained ensemble and the member mean, scored as the runs are."""
    from uqsurrogate.data import input_names, load_dataset
    from uqsurrogate.model_function import ModelFunction

    ts = load_dataset(test)
    X = np.stack([ts[k].values for k in input_names(ts)], axis=1)
    P = ModelFunction.from_artifact(path, dtype=np.float64, ensemble="members")(X)  # (n, K, 2, bins)
    members = [{k: v for k, v in score(P[:, k], ts).items() if k != "worst_systems"} for k in range(P.shape[1])]
    mean = P.mean(axis=1)
    return {"ensemble": str(path), "members": members,
            "mean": {**{k: v for k, v in score(mean, ts).items() if k != "worst_systems"},
                     "regions": regions(mean, ts), "first_layers": first_layers(mean, ts)}}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", help="training data (needed unless --score-ensemble)")
    p.add_argument("--test", required=True)
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--json", type=Path)
    p.add_argument("--predictions", type=Path, help="folder to keep each run's test predictions (.npy), for "
                   "--ensemble")
    p.add_argument("--ensemble", action="store_true", help="also score the mean of each variant's seeds (needs "
                   "--predictions)")
    p.add_argument("--score-ensemble", metavar="DIR", help="only score a trained ensemble (e.g. the shipped "
                   "uqsurrogate/datasets/modnn) member by member and its mean, and print it as JSON")
    args = p.parse_args()
    if args.score_ensemble:
        print(json.dumps(score_ensemble(args.score_ensemble, args.test), indent=1))
        return
    if not args.data:
        p.error("--data is required (unless --score-ensemble)")
    if args.predictions:
        args.predictions.mkdir(parents=True, exist_ok=True)
    results = []
    if args.json and args.json.exists():  # resume: keep finished runs
        results = json.loads(args.json.read_text())["runs"]
    done = {(r["variant"], r["seed"], r["epochs"]) for r in results}
    todo = [(v, s) for v, s in itertools.product(args.variants, args.seeds) if (v, s, args.epochs) not in done]
    pred_dir = str(args.predictions) if args.predictions else None
    results = run_jobs(one_run, [(args.data, args.test, v, s, args.epochs, pred_dir) for v, s in todo], args.jobs,
                       args.json, results)
    print("\n| variant | epochs | RMSE+ (M) | RMSE- (M) | success, measured bins | worst 1 % RMSE (M) | time (s) |")
    print("|---|---|---|---|---|---|---|")
    for v in args.variants:
        rs = [r for r in results if r["variant"] == v and r["epochs"] == args.epochs]
        if not rs:
            continue

        def ms(key, fmt="{:.3g}"):
            return mean_sd([r[key] for r in rs], fmt)

        print(f"| {v} | {args.epochs} | {ms('rmse_plus')} | {ms('rmse_minus')} | {ms('success_measured', '{:.4f}')} | "
              f"{ms('worst_1pct_rmse')} | {ms('train_seconds', '{:.0f}')} |")
        if args.ensemble and args.predictions:
            from uqsurrogate.data import load_dataset

            files = [args.predictions / f"pred-{v}-{r['seed']}-{args.epochs}.npy" for r in rs]
            if len(files) > 1 and all(f.exists() for f in files):
                e = score(np.mean([np.load(f) for f in files], axis=0), load_dataset(args.test))
                print(f"| {v}, mean of {len(files)} | {args.epochs} | {e['rmse_plus']:.3g} | {e['rmse_minus']:.3g} | "
                      f"{e['success_measured']:.4f} | {e['worst_1pct_rmse']:.3g} | |")


if __name__ == "__main__":
    main()
