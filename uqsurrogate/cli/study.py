"""The ``study`` subcommand: the paper's analysis with the shipped surrogate."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .._atomic import output_lock
from ..errors import UsageError
from ._common import _refuse_input_as_out, _subparser, model_arg


def _add_study(sub) -> None:
    """The ``study`` subcommand."""
    p = _subparser(
        sub,
        "study",
        help="the main job: the paper's analysis with the shipped surrogate, as netCDF files, figures and a table",
        description=(
            "Reproduce the paper's analysis out of the box: check the shipped soft-label surrogate against fresh "
            "simulator runs, run the Sec. III-D sensitivity study (nested estimator, rho(z) vs the ion sizes at "
            "c = 0.3 and 1.9 M), write netCDF results and figures to --out and print a summary table."
        ),
    )
    p.add_argument("--out", type=Path, default=Path("uqsurrogate-study"), help="output directory (default ./uqsurrogate-study)")
    p.add_argument("--quick", action="store_true",
                   help="smaller samples (300 x 300 draws instead of 700 x 700) and an accuracy check of 4 fresh "
                   "inputs instead of 8 (its printed accuracy differs): about 40%% of the time (docs/benchmarks.md)")
    p.add_argument("--model", type=model_arg, help="use this model or ensemble directory instead of the shipped one "
                   "(default)")
    p.add_argument("--from-scratch", action="store_true",
                   help="simulate the shipped surrogate's design (the paper grid plus 4,096 Sobol' points) and train a "
                   "new surrogate on it first (minutes; time estimates shown)")
    p.add_argument("--epochs", type=int, default=400, help="with --from-scratch: training epochs (default 400)")
    p.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    p.add_argument("--no-figures", action="store_true", help="skip the figures")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bars (on a terminal) and no stage lines (when stderr is not a terminal)")
    p.add_argument("--force", action="store_true", help="replace the results of an earlier study in --out")
    p.add_argument("--refine", type=float, metavar="BUDGET",
                   help="then answer the unresolved cells with new simulator runs in the study's own distribution, "
                   "spending at most BUDGET default runs of sampling length (10 blocks x 15,000 configurations each); "
                   "reuses a study already in --out, and resumes an interrupted refinement")
    p.add_argument("--tolerance", type=float, default=0.05,
                   help="with --refine: a cell is done when resolved and each index's 95%% half-width is at most "
                   "this (default 0.05: 5 points)")
    p.add_argument("--max-rounds", type=int, default=6, help="with --refine: at most this many rounds (default 6)")
    p.add_argument("--max-window", type=int, default=8,
                   help="with --refine: widest window (bins each side) of the local cubic in z that stands for a "
                   "cell's bin, to cut the label noise (default 8; 0: the bin alone)")
    p.set_defaults(func=_cmd_study)


def _cmd_study(args: argparse.Namespace) -> int:
    from ..study import STUDY_FILES, default_model_path, run_study, study_from_scratch

    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} is a file; study writes a directory")
    _refuse_input_as_out(args)
    settings = None
    if args.refine is not None:
        from ..refine import RefineSettings

        settings = RefineSettings(budget=args.refine, tolerance=args.tolerance, max_rounds=args.max_rounds,
                                  max_window=args.max_window, seed=args.seed)  # checked before any work
    elif args.tolerance != 0.05 or args.max_rounds != 6 or args.max_window != 8:
        raise UsageError("--tolerance, --max-rounds and --max-window go with --refine BUDGET")
    earlier = [name for name in STUDY_FILES if (args.out / name).exists()]
    if settings is not None and not args.force and (args.out / "paper_sensitivity.nc").is_file():
        if args.from_scratch or args.model is not None or args.quick:
            raise UsageError(f"--out {args.out} already holds a study, which --refine reuses; --from-scratch, "
                             "--model and --quick would make another: pass --force to rerun it")
        with output_lock(args.out, "study", parents=True):
            return _refine(args, settings)
    if earlier and not args.force:
        raise UsageError(f"--out {args.out} already holds a study ({', '.join(earlier[:2])}, ...); pass --force to "
                         "replace its results, or choose another --out")
    if args.from_scratch and args.model is not None:
        raise UsageError("--from-scratch trains its own model; it does not take --model")
    with output_lock(args.out, "study", parents=True):  # one study per --out at a time
        if args.from_scratch:
            args.model = study_from_scratch(args.out, epochs=args.epochs, seed=args.seed,
                                            progress=None if not args.quiet else False, report=print)
        print(f"model: {args.model if args.model is not None else default_model_path()}", flush=True)
        result = run_study(args.out, model=args.model, quick=args.quick, seed=args.seed,
                           progress=None if not args.quiet else False, figures=not args.no_figures,
                           report=_stage_lines(args))
    acc = result["accuracy"]
    print(f"accuracy at fresh simulator inputs: RMSE+ {acc['rmse_plus']:.2e} M, RMSE- {acc['rmse_minus']:.2e} M "
          f"(vs the exact cDFT); success rate vs the MD-like error bars {acc['success_rate_vs_labels']:.3f} "
          f"(all bins), {acc['success_rate_measured_vs_labels']:.3f} (measured bins, error > 0)")
    print()
    print("Sensitivity of rho(z) to the ion sizes (paper Sec. III-D), nested estimator:")
    print(result["table"])
    print()
    print(f"wrote {len(result['files'])} files to {result['out']} in {result['timings']['total_s']:.0f} s")
    if settings is not None:
        import shutil

        if args.force and (args.out / "refine").is_dir():
            shutil.rmtree(args.out / "refine")  # the study was rerun: its refinement starts over
        with output_lock(args.out, "study", parents=True):
            return _refine(args, settings)
    return 0


def _stage_lines(args: argparse.Namespace):
    """Where progress bars are not shown (stderr is not a terminal): one line per stage on stderr, at once."""
    if args.quiet or sys.stderr.isatty():
        return None
    return lambda line: print(f"uqsurrogate study: {line}", file=sys.stderr, flush=True)


def _refine(args: argparse.Namespace, settings) -> int:
    """Run (or resume) the refinement of the study in --out and print what it did."""
    import math

    from ..refine import refine_study

    print()
    print(f"refining the unresolved cells (budget {settings.budget:g} default runs) ...")
    result = refine_study(args.out, settings)
    rec = result["record"]
    for r in rec["round"].values[1:]:
        print(f"  round {int(r)}: {float(rec['round_cost'].sel(round=r)):.1f} default runs")
    print(f"spent {result['spent']:.1f} of {settings.budget:g} default runs")
    last = rec.isel(round=-1)
    for i in range(rec.sizes["cell"]):
        cell = last.isel(cell=i)
        need, resolve = float(cell["needed_cost"]), float(cell["cost_to_resolve"])
        where = f"c = {float(cell['c']):g} M, z = {float(cell['z']):g} nm (ratio {float(cell['resolution_ratio']):.1f}x)"
        if str(cell["source"].values) != "direct":
            continue
        if need == 0:
            print(f"  {where}: done (resolved, 95% half-width <= {settings.tolerance:g})")
        elif resolve == 0:
            print(f"  {where}: resolved; about {need:.0f} more default runs to make it precise")
        elif math.isfinite(need):
            print(f"  {where}: about {resolve:.0f} more default runs to resolve it, {need:.0f} to make it precise")
        else:
            print(f"  {where}: no variation seen yet; no estimate")
    print()
    print("Refined table (cells marked 'refined' come from the new runs):")
    print(result["table"])
    print(f"wrote {', '.join(result['files'])} to {args.out}")
    return 0
