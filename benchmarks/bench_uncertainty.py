"""Uncertainty methods against the truth: deep ensemble, MC dropout, last-layer feature posterior.

    python benchmarks/bench_uncertainty.py --ensemble ENSEMBLE_DIR [--dropout MODEL_DIR]
        --train TRAINING_DATA.nc [--json FILE]

At 400 random inputs of the paper box (a design no model trained on; simulator seed 2024),
against the exact densities, over the bins that carry uncertainty, for each method:

* the error (RMSE± of the mean prediction);
* the Spearman rank correlation between the predicted standard deviation and the actual
  absolute error (pooled over samples and bins);
* the miscalibration area of the raw spread, and after a scale factor (Gaussian MLE) and an
  isotonic map, each fitted on 256 other random inputs (seed 7);
* the 90 % split-conformal intervals per bin (fitted on those 256): their mean half-width
  and their coverage of the 400;
* and for the ensemble, its mean's RMSE against each single member's.

The feature posterior uses member 0 of the ensemble and its training data (``--train``);
MC dropout needs a network trained with dropout (``--dropout``; 30 passes).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from _common import report
from scipy.stats import spearmanr

from uqsurrogate.data.io import load_dataset
from uqsurrogate.model_function import ModelFunction
from uqsurrogate.simulators import ElectrolyteSimulator, random_design
from uqsurrogate.uncertainty import SplitConformal, calibrate, coverage, miscalibration_area
from uqsurrogate.uncertainty.single import FeaturePosterior, mc_dropout


def simulate(f, n, seed):
    bounds = {k: (float(lo), float(hi)) for k, lo, hi in zip(f.input_names, f.train_min, f.train_max)}
    design = random_design(n, seed=seed, bounds=bounds)
    ds = ElectrolyteSimulator(n_bins=f.n_bins).run(design, seed=seed)
    return np.stack([design[k] for k in f.input_names], axis=1), ds["density_true"].values


def evaluate(name, cal, test, t_fit) -> dict:
    (mc, sc, yc), (mt, st, yt) = cal, test
    mask = np.all(st > 0, axis=0) & np.all(sc > 0, axis=0)
    err = np.abs(yt - mt)
    rmse = np.sqrt(np.mean((yt - mt) ** 2, axis=0)).mean(axis=-1)  # per species: mean over bins of RMSE
    rho = spearmanr(st[:, mask].ravel(), err[:, mask].ravel()).statistic
    scale = calibrate(yc, mc, sc, method="scale", mask=mask)
    iso = calibrate(yc, mc, sc, method="isotonic", mask=mask)
    conf = SplitConformal(0.1).fit(yc, mc, sc, mask=mask)  # on the raw spread: the guarantee needs no map
    low, high = conf.intervals(mt, st)
    return {"method": name, "rmse_plus": float(rmse[0]), "rmse_minus": float(rmse[1]), "spearman": float(rho),
            "miscalibration_before": miscalibration_area(yt, mt, st, mask=mask),
            "miscalibration_after_scale": miscalibration_area(yt, mt, scale(st), mask=mask), "scale": scale.scale,
            "miscalibration_after_isotonic": miscalibration_area(yt, mt, iso(st), mask=mask),
            "conformal_half_width_mol_per_l": float(np.nanmean((high - low)[:, mask]) / 2),
            "conformal_coverage": coverage(yt, low, high, mask=np.broadcast_to(mask, yt.shape)),
            "seconds_for_uncertainty": round(t_fit, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ensemble", type=Path, required=True)
    ap.add_argument("--dropout", type=Path)
    ap.add_argument("--train", type=Path, required=True, help="member 0's training data (feature posterior)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    f = ModelFunction.from_artifact(args.ensemble, dtype=np.float64, extrapolation="clip")
    Xc, yc = simulate(f, 256, seed=7)
    Xt, yt = simulate(f, 400, seed=2024)
    rows = []
    t = time.perf_counter()
    cal, test = f.mean_std(Xc), f.mean_std(Xt)
    rows.append(evaluate(f"ensemble K={f.n_members}", (*cal, yc), (*test, yt), time.perf_counter() - t))
    members = f.with_options(ensemble="members")(Xt)
    single = np.sqrt(np.mean((yt[:, None] - members) ** 2, axis=0)).mean(axis=-1)  # (K, species)
    rows[-1]["member_rmse_plus"] = single[:, 0].tolist()
    rows[-1]["member_rmse_minus"] = single[:, 1].tolist()
    rows[-1]["mean_vs_single_rmse"] = float(np.mean([rows[-1]["rmse_plus"], rows[-1]["rmse_minus"]])
                                            / single.mean())
    one = ModelFunction.from_artifact(args.ensemble / "member-00", dtype=np.float64, extrapolation="clip")
    train = load_dataset(args.train)
    Xtr = np.stack([train[k].values for k in one.input_names], axis=1)
    t = time.perf_counter()
    post = FeaturePosterior(one).fit(Xtr, train["density"].values)
    cal, test = (one(Xc), post.std(Xc)), (one(Xt), post.std(Xt))
    rows.append(evaluate("feature posterior (member 0)", (*cal, yc), (*test, yt), time.perf_counter() - t))
    if args.dropout:
        t = time.perf_counter()
        cal, test = mc_dropout(args.dropout, Xc, passes=30, seed=0), mc_dropout(args.dropout, Xt, passes=30, seed=1)
        rows.append(evaluate("MC dropout (30 passes)", (*cal, yc), (*test, yt), time.perf_counter() - t))
    for r in rows:
        print(f"{r['method']:>30}: RMSE± {r['rmse_plus']:.2e}/{r['rmse_minus']:.2e} M, Spearman {r['spearman']:.2f}, "
              f"miscalibration {r['miscalibration_before']:.3f}, scale {r['miscalibration_after_scale']:.3f}, isotonic "
              f"{r['miscalibration_after_isotonic']:.3f}, 90 % conformal "
              f"half-width {r['conformal_half_width_mol_per_l']:.2e} M, coverage {r['conformal_coverage']:.3f}")
    report({"rows": rows}, args.json)


if __name__ == "__main__":
    main()
