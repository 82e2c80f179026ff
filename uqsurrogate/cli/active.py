"""The ``active`` subcommand: active learning with the simulator (``run``), or with real MD in two phases
(``propose``, then ``ingest``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .._atomic import output_lock
from ..errors import UsageError
from ._common import (
    MODEL_HELP,
    _apply_ranges,
    _common_options,
    _Parser,
    _ranged,
    _subparser,
    model_arg,
)

#: Numeric ranges of the active subcommands' own options (argparse checks them, naming the option).
_ACTIVE_RANGES = {"--rounds": (int, 0, None), "--batch": (int, 1, None), "--candidates": (int, 1, None),
                  "--steps": (int, 1, None), "--epochs": (int, 0, None), "--kT": (float, 0, None, "neither"),
                  "--percentile": (float, 0, 100), "--min-distance": (float, 0, None), "--seed": (int, 0, None),
                  "--oracle-seed": (int, 0, None), "--adam-rate": (float, 0, None, "neither")}

_EXAMPLES = (
    "examples (a small start: 64 simulator runs at 16 bins, a two-member ensemble):\n"
    "  uqsurrogate simulate --design random --n 64 --seed 0 --bins 16 --out start.nc --quiet\n"
    "  uqsurrogate train start.nc --out ens --members 2 --hidden 16 16 --epochs 20 --seed 0 --quiet\n"
    "  # 2 rounds of 4 simulator runs, adversarial proposals, max-det batches, recalibrated on 20 held-out runs:\n"
    "  uqsurrogate active run ens start.nc --out al-run --rounds 2 --batch 4 --oracle simulator --calibration 20\n"
    "  # real MD: write the batch as job folders, run them anywhere (here the simulator), take the results back:\n"
    "  uqsurrogate active propose ens start.nc --out al-md --batch 4\n"
    "  uqsurrogate simulate --design al-md/round-001/batch.txt --seed 1 --bins 16 --out results.nc --quiet\n"
    "  uqsurrogate active ingest al-md results.nc   # or al-md/round-001/jobs when each job holds its profiles\n"
)


def _add_settings(p: argparse.ArgumentParser) -> None:
    from ..active import ENGINES, RULES
    from ..active.loop import PRIORS

    p.add_argument("model", type=model_arg, metavar="ENSEMBLE",
                   help=f"the starting ensemble directory (copied into the run), {MODEL_HELP}")
    p.add_argument("data", type=Path, metavar="DATA", help="its training data (netCDF)")
    p.add_argument("--out", type=Path, required=True, help="the run directory (created; rerun to resume)")
    p.add_argument("--batch", type=int, default=20, help="points per round (default 20)")
    p.add_argument("--engine", choices=ENGINES, default="adversarial", help="proposal engine (default adversarial)")
    p.add_argument("--rule", choices=RULES, default=None,
                   help="batch rule (default max_det; random for the random and sobol engines)")
    p.add_argument("--candidates", type=int, help="starts, chains or pool size (default 256, 64, 8192)")
    p.add_argument("--steps", type=int, default=300, help="steps of the ascent or the chains (default 300)")
    p.add_argument("--adam-rate", type=float, default=1e-2, help="Adam's step in the unit box (default 1e-2)")
    p.add_argument("--prior", choices=PRIORS, default="uniform",
                   help="q(x): uniform in the box (default) or a KDE of the training inputs")
    p.add_argument("--kT", type=float, default=1.0, help="temperature of p ~ q^(1/kT) (default 1)")
    p.add_argument("--percentile", type=float,
                   help="keep proposals whose U is at least this percentile of the training inputs' U")
    p.add_argument("--min-distance", type=float, default=1e-3,
                   help="from the training inputs and between proposals, in the unit box (default 1e-3)")
    p.add_argument("--box", choices=("training", "paper"), default="training",
                   help="search the ensemble's training ranges (default) or the paper's input box")
    p.add_argument("--epochs", type=int, default=50, help="epochs of each warm start (default 50)")
    p.add_argument("--seed", type=int, default=0, help="seed of every random choice (default 0)")
    p.add_argument("--calibration", metavar="FILE|N",
                   help="held-out data to recalibrate on every round (netCDF), or with --oracle simulator a number "
                   "of uniform points to simulate for it")
    p.add_argument("--test", type=Path, metavar="FILE", help="held-out data with the truth: RMSE after every round")


def _settings(args: argparse.Namespace):
    from ..active import ActiveSettings

    box = None
    if args.box == "paper":
        from ..simulators.design import PAPER_BOUNDS

        box = {"names": list(PAPER_BOUNDS), "low": [b[0] for b in PAPER_BOUNDS.values()],
               "high": [b[1] for b in PAPER_BOUNDS.values()], "fixed": {}}
    rule = args.rule or ("random" if args.engine in ("random", "sobol") else "max_det")
    return ActiveSettings(batch=args.batch, engine=args.engine, rule=rule, candidates=args.candidates,
                          steps=args.steps, learning_rate=args.adam_rate, prior=args.prior, kT=args.kT,
                          percentile=args.percentile, min_distance=args.min_distance, epochs=args.epochs,
                          seed=args.seed, box=box)


def _calibration(args: argparse.Namespace, oracle_can_run: bool):
    if args.calibration is None:
        return None
    if args.calibration.isdigit():
        if not oracle_can_run:
            raise UsageError(f"--calibration {args.calibration}: a number of points needs --oracle simulator; give "
                             "a netCDF file of held-out data")
        return int(args.calibration)
    if not Path(args.calibration).is_file():
        raise UsageError(f"--calibration {args.calibration}: no such file (or give a number of points)")
    return Path(args.calibration)


def _add_active(sub) -> None:
    """The ``active`` subcommand and its own subcommands."""
    p = _subparser(
        sub, "active",
        help="active learning: choose the few new simulations that most improve the surrogate",
        description=(
            "Each round proposes inputs where the ensemble is most uncertain (adversarial ascent of its calibrated "
            "variance, biased Langevin, or the random, Sobol' and pool baselines), keeps a diverse batch, runs the "
            "oracle, appends the results, warm-starts every member, recalibrates and records the round."),
        epilog=_EXAMPLES)
    steps = p.add_subparsers(dest="step", metavar="STEP", parser_class=_Parser)
    steps.required = True

    def step(name: str, help: str, description: str) -> argparse.ArgumentParser:
        return steps.add_parser(name, parents=[_common_options(suppress=True)], help=help, description=description,
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=_EXAMPLES)

    run = step("run", "rounds with the simulator as the oracle",
               "Run (or resume) ROUNDS rounds with the embedded simulator as the oracle.")
    _add_settings(run)
    run.add_argument("--rounds", type=int, required=True, help="rounds in all (finished ones count)")
    run.add_argument("--oracle", choices=("simulator",), default="simulator",
                     help="the oracle (simulator; for real MD use propose and ingest)")
    run.add_argument("--oracle-seed", type=int, default=0, help="round r simulates with seed ORACLE_SEED + r")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(func=_cmd_run)

    prop = step("propose", "write the next round's batch as job folders (real MD, phase 1)",
                "Propose and select the next round's batch; write it as batch.txt (a design table) and "
                "jobs/job-KKKK/in.params.  Run the jobs anywhere, then ingest the results.  Repeat the same command "
                "for later rounds.")
    _add_settings(prop)
    prop.set_defaults(func=_cmd_propose)

    ing = step("ingest", "take a round's results, warm-start, recalibrate and record (phase 2)",
               "Import the proposed batch's results (a training-data netCDF from any importer, or the round's jobs "
               "folder with nanoconfinement-md profile tables in each job), then append them, warm-start every "
               "member, recalibrate and record the round.")
    ing.add_argument("run", type=Path, metavar="RUN", help="the run directory")
    ing.add_argument("results", type=Path, metavar="RESULTS", help="netCDF training data, or a jobs folder")
    ing.add_argument("--quiet", action="store_true", help="no progress bar")
    ing.set_defaults(func=_cmd_ingest)
    for name, q in steps.choices.items():
        _apply_ranges(f"active {name}", q)
        for action in q._actions:  # the active options' own ranges
            for option in action.option_strings:
                if option in _ACTIVE_RANGES:
                    action.type = _ranged(*_ACTIVE_RANGES[option])


def _summary(record: dict) -> str:
    m = record.get("metrics") or {}
    rmse = f", RMSE {m['rmse']:.3e} M" if m else ""
    return f"round {record['round']}: {record['n_samples']} samples{rmse}"


def _cmd_run(args: argparse.Namespace) -> int:
    from ..active import SimulatorOracle, run_active
    from ..data.io import load_dataset

    data = load_dataset(args.data, lazy=False)
    oracle = SimulatorOracle(seed=args.oracle_seed, n_bins=int(data.sizes["bin"]))
    run = run_active(args.model, data, args.out, rounds=args.rounds, oracle=oracle, settings=_settings(args),
                     calibration=_calibration(args, True), test=args.test, progress=None if not args.quiet else False)
    for record in run.doc["rounds"]:
        print(_summary(record))
    print(f"the ensemble after round {run.rounds_done}: {run.model_path(run.rounds_done)}")
    return 0


def _cmd_propose(args: argparse.Namespace) -> int:
    from ..active import ActiveRun

    with output_lock(args.out, "active propose"):  # the run is made and its batch chosen by one writer
        run = ActiveRun.create(args.out, args.model, args.data, _settings(args), oracle=None,
                               calibration=_calibration(args, False), test=args.test)
        batch = run.propose()
    folder = run.round_dir(batch["round"])
    print(f"round {batch['round']}: {len(batch['X'])} points in {folder / 'batch.txt'}, one job each in "
          f"{folder / 'jobs'}")
    print(f"run them, then: uqsurrogate active ingest {args.out} RESULTS")
    return 0


def _cmd_ingest(args: argparse.Namespace) -> int:
    from ..active import ActiveRun

    run = ActiveRun(args.run)
    record = run.ingest(args.results, progress=None if not args.quiet else False)
    print(_summary(record))
    print(f"the ensemble after round {record['round']}: {run.model_path(record['round'])}")
    print(f"next round: the same uqsurrogate active propose command as before (--out {args.run})")
    return 0
