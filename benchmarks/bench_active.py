"""Active learning on the simulator: how many simulations each strategy needs for an error.

    python benchmarks/bench_active.py [--seeds 0 1 2] [--rounds 10] [--batch 20] [--init 200]
        [--members 3] [--epochs 300] [--round-epochs 60] [--strategies all] [--workers 2]
        [--dir bench-active] [--json benchmarks/results/active.json]

For each seed: 200 uniform random inputs of the paper's box simulated (seed s), an ensemble
trained on them (``tuned`` preset, soft-label loss), 256 held-out random inputs for the
calibration and 400 for the test (their noise-free truth).  Then every strategy runs
``rounds`` rounds of ``batch`` points from that same start with the simulator as oracle
(:func:`uqsurrogate.active.run_active`): the RMSE± of the ensemble mean against the truth at
the 400 test inputs after every round, and the wall time.

Strategies: ``random``, ``sobol``, ``pool`` (8,192 random candidates: the B of highest U, or B by max_det),
``adversarial`` with each batch rule (``top``, ``max_distance``, ``max_det``, ``lcmd``), and
``langevin`` with ``max_det``.  The runs live in ``--dir`` and resume there; a finished
strategy is not rerun.

``--cost`` instead times one warm-started round of the shipped ensemble's members on the
shipped design's data (8,146 simulations, made once), stage by stage, with peak memory.

``--learning-curve`` instead trains one member (the shipped recipe: ``tuned``, soft-label,
hidden 256 512) on 2k, 4k, 8k, 16k, 32k random inputs for a fixed number of epochs
(``--curve-epochs``, default 300; it says so in the output) and measures RMSE± at the same
400 test inputs.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from _common import mean_sd, one_thread_tensorflow, report, run_jobs

STRATEGIES = {
    "random": ("random", "random"),
    "sobol": ("sobol", "random"),
    "pool-top": ("pool", "top"),
    "pool-max_det": ("pool", "max_det"),
    "adversarial-top": ("adversarial", "top"),
    "adversarial-max_distance": ("adversarial", "max_distance"),
    "adversarial-max_det": ("adversarial", "max_det"),
    "adversarial-lcmd": ("adversarial", "lcmd"),
    "langevin-max_det": ("langevin", "max_det"),
}


def _start(seed: int, root: Path, init: int, members: int, epochs: int) -> dict:
    """The seed's starting data, calibration and test sets and ensemble (made once, kept in root)."""
    from uqsurrogate.data.io import save_dataset
    from uqsurrogate.simulators import ElectrolyteSimulator, random_design
    from uqsurrogate.surrogate import PRESETS, TrainingConfig
    from uqsurrogate.surrogate.ensemble import train_ensemble

    one_thread_tensorflow()
    d = root / f"seed-{seed}"
    d.mkdir(parents=True, exist_ok=True)
    sim = ElectrolyteSimulator()
    for name, n, key in (("data", init, 0), ("calibration", 256, 1), ("test", 400, 2)):
        if not (d / f"{name}.nc").is_file():
            save_dataset(sim.run(random_design(n, seed=1000 * seed + key), seed=1000 * seed + key), d / f"{name}.nc")
    if not (d / "ensemble" / "ensemble.json").is_file():
        cfg = TrainingConfig(**PRESETS["tuned"], loss="soft-label", epochs=epochs, seed=seed)
        train_ensemble(cfg, _load(d / "data.nc"), d / "ensemble", members=members, progress=False)
    return {"seed": seed, "start": str(d)}


def _load(path):
    from uqsurrogate.data.io import load_dataset

    return load_dataset(path, lazy=False)


def _strategy(seed: int, name: str, root: Path, rounds: int, batch: int, round_epochs: int, steps: int) -> dict:
    one_thread_tensorflow()
    from uqsurrogate.active import ActiveSettings, SimulatorOracle, run_active
    from uqsurrogate.simulators.design import PAPER_BOUNDS

    engine, rule = STRATEGIES[name]
    d = root / f"seed-{seed}"
    box = {"names": list(PAPER_BOUNDS), "low": [b[0] for b in PAPER_BOUNDS.values()],
           "high": [b[1] for b in PAPER_BOUNDS.values()], "fixed": {}}
    settings = ActiveSettings(engine=engine, rule=rule, batch=batch, epochs=round_epochs, seed=seed, box=box,
                              steps=steps)
    t0 = time.perf_counter()
    run = run_active(d / "ensemble", d / "data.nc", d / name, rounds=rounds, oracle=SimulatorOracle(seed=100 + seed),
                     settings=settings, calibration=d / "calibration.nc", test=d / "test.nc", progress=False)
    doc = json.loads((run.path / "active.json").read_text())
    kept = doc["rounds"][: rounds + 1]  # a run taken further earlier counts to ``rounds`` here
    return {"seed": seed, "strategy": name, "seconds": time.perf_counter() - t0,
            "n_samples": [r["n_samples"] for r in kept],
            "rmse": [r["metrics"]["rmse"] for r in kept],
            "round_seconds": [json.loads((run.round_dir(r) / "round.json").read_text())["train_seconds"]
                              for r in range(1, rounds + 1)]}


def _simulations_to_reach(n: list, rmse: list, target: float) -> float:
    """Simulations at which the RMSE curve first reaches ``target`` (linear between rounds; inf if never)."""
    for k in range(len(rmse)):
        if rmse[k] <= target:
            if k == 0:
                return float(n[0])
            a, b = rmse[k - 1], rmse[k]
            return float(n[k - 1] + (n[k] - n[k - 1]) * (a - target) / (a - b))
    return float("inf")


def summarize(runs: list[dict]) -> dict:
    """Per strategy: final RMSE (mean ± sd over seeds) and the simulations it needs for random's final RMSE."""
    out = {}
    seeds = sorted({r["seed"] for r in runs})
    by = {(r["seed"], r["strategy"]): r for r in runs}
    for name in STRATEGIES:
        rows = [by[(s, name)] for s in seeds if (s, name) in by]
        if not rows:
            continue
        need, fracs = [], []
        for r in rows:
            ref = by.get((r["seed"], "random"))
            if ref is None:
                continue
            added = ref["n_samples"][-1] - ref["n_samples"][0]
            n = _simulations_to_reach(r["n_samples"], r["rmse"], ref["rmse"][-1]) - r["n_samples"][0]
            need.append(n)
            fracs.append(n / added)
        out[name] = {"final_rmse": mean_sd([r["rmse"][-1] for r in rows]),
                     "final_rmse_per_seed": [r["rmse"][-1] for r in rows],
                     "simulations_for_random_final": need, "fraction_of_random": fracs,
                     "seconds": mean_sd([r["seconds"] for r in rows], "{:.0f}")}
    return out


def plot(runs: list[dict], path: Path) -> None:
    """RMSE± against the simulations added, per strategy: the mean over seeds and each seed's curve."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for k, name in enumerate(STRATEGIES):
        rows = [r for r in runs if r["strategy"] == name]
        if not rows:
            continue
        added = np.asarray(rows[0]["n_samples"]) - rows[0]["n_samples"][0]
        curves = np.array([r["rmse"] for r in rows])
        color = f"C{k}"
        for c in curves:
            ax.plot(added, 1e3 * c, color=color, alpha=0.25, lw=0.8)
        ax.plot(added, 1e3 * curves.mean(axis=0), color=color, lw=2, label=f"{name} ({len(rows)} seeds)")
    ax.set_xlabel("simulations added")
    ax.set_ylabel("RMSE± at 400 random test inputs (10⁻³ mol/L)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def learning_curve(root: Path, sizes: list[int], epochs: int, seed: int) -> dict:
    from uqsurrogate.data import input_matrix
    from uqsurrogate.model_function import ModelFunction
    from uqsurrogate.simulators import ElectrolyteSimulator, random_design, simulate
    from uqsurrogate.surrogate import (
        PRESETS,
        SurrogateTrainer,
        TrainingConfig,
        save_artifact,
    )

    root.mkdir(parents=True, exist_ok=True)
    big = root / f"curve-{max(sizes)}.nc"
    if not big.is_file():
        simulate(random_design(max(sizes), seed=7000 + seed), big, seed=7000 + seed, workers=2, progress=False)
    test = _load(root.parent / f"seed-{seed}" / "test.nc") if (root.parent / f"seed-{seed}" / "test.nc").is_file() \
        else ElectrolyteSimulator().run(random_design(400, seed=1000 * seed + 2), seed=1000 * seed + 2)
    ds = _load(big)
    out = []
    for n in sizes:
        model = root / f"curve-model-{n}"
        t0 = time.perf_counter()
        if not (model / "metadata.json").is_file():
            cfg = TrainingConfig(**PRESETS["tuned"], loss="soft-label", epochs=epochs, seed=seed)
            save_artifact(*SurrogateTrainer(cfg, progress=False).fit(ds.isel(sample=slice(0, n))).surrogate(), model)
        f = ModelFunction.from_artifact(model, extrapolation="clip")
        err = (np.asarray(f(input_matrix(test)), dtype=float) - test["density_true"].values) ** 2
        per = np.sqrt(err.mean(axis=(1, 2)))  # per test input, for a bootstrap interval of the RMSE
        boot = [np.sqrt(np.mean(per[idx] ** 2)) for idx in np.random.default_rng(0).integers(0, len(per), (500, len(per)))]
        out.append({"n": n, "rmse": float(np.sqrt(err.mean())), "rmse_90": [float(np.percentile(boot, 5)),
                    float(np.percentile(boot, 95))], "epochs": epochs, "seconds": time.perf_counter() - t0})
        print(json.dumps(out[-1]), flush=True)
    return {"learning_curve": out, "budget": f"{epochs} epochs per size (not equal wall time)"}


def round_cost(root: Path, epochs: int, batch: int) -> dict:
    """One warm-started round of the shipped ensemble's members on the shipped design's data, timed by stage.

    Member 0 of the shipped ensemble was trained on an earlier simulation of the design (its
    data digest differs), so it cannot be continued on this data: the round runs members 1-4,
    and the five-member figure is the four-member one plus one member's mean warm start.
    """
    import resource
    import shutil

    from uqsurrogate.active import ActiveSettings, SimulatorOracle, run_active
    from uqsurrogate.simulators import shipped_design, simulate
    from uqsurrogate.study import default_model_path
    from uqsurrogate.surrogate.ensemble import read_ensemble, save_ensemble

    root.mkdir(parents=True, exist_ok=True)
    data = root / "shipped-design.nc"
    if not data.is_file():
        simulate(shipped_design(), data, seed=0, workers=2, progress=False)
    src = default_model_path()
    ens = root / "members-1-4"
    if not ens.is_dir():
        save_ensemble([src / m for m in read_ensemble(src)["members"][1:]], ens)
    shutil.rmtree(root / "cost-run", ignore_errors=True)
    t0 = time.perf_counter()
    run = run_active(ens, data, root / "cost-run", rounds=1, oracle=SimulatorOracle(seed=50),
                     settings=ActiveSettings(batch=batch, epochs=epochs), calibration=256, progress=False)
    total = time.perf_counter() - t0
    record = json.loads((run.round_dir(1) / "round.json").read_text())
    train = record["train_seconds"]
    per_member = train / 4
    return {"members_run": 4, "epochs": epochs, "batch": batch, "n_samples": record["n_samples"],
            "propose_s": record["batch"]["seconds"], "warm_start_s": train, "warm_start_per_member_s": per_member,
            "round_total_s (incl. simulating 256 calibration and 20 new points, calibration)": total,
            "estimated_five_member_round_s": total + per_member,
            "peak_rss_GB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--init", type=int, default=200)
    ap.add_argument("--members", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=300, help="of the starting ensemble")
    ap.add_argument("--round-epochs", type=int, default=60, help="of each warm start")
    ap.add_argument("--steps", type=int, default=300, help="of the adversarial ascent and the Langevin chains")
    ap.add_argument("--strategies", nargs="+", default=list(STRATEGIES))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--dir", type=Path, default=Path("bench-active"))
    ap.add_argument("--learning-curve", action="store_true")
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000, 4000, 8000, 16000, 32000])
    ap.add_argument("--curve-epochs", type=int, default=300)
    ap.add_argument("--cost", action="store_true", help="time one warm-started round of the shipped members instead")
    ap.add_argument("--plot", type=Path, help="draw RMSE against simulations added, per strategy (PNG)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    if args.cost:
        report(round_cost(args.dir / "cost", args.round_epochs, args.batch), args.json)
        return
    if args.learning_curve:
        report(learning_curve(args.dir / "curve", args.sizes, args.curve_epochs, args.seeds[0]), args.json)
        return
    # every TensorFlow computation in a worker of one thread (the parent never starts TensorFlow)
    run_jobs(_start, [(s, args.dir, args.init, args.members, args.epochs) for s in args.seeds], args.workers, None)
    jobs = [(s, name, args.dir, args.rounds, args.batch, args.round_epochs, args.steps) for name in args.strategies
            for s in args.seeds]
    runs = run_jobs(_strategy, jobs, args.workers, None)
    res = {"settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
           "runs": runs, "summary": summarize(runs)}
    if args.plot:
        plot(runs, args.plot)
    report(res, args.json)


if __name__ == "__main__":
    main()
