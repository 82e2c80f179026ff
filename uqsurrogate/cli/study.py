"""The ``study`` subcommand: the paper's analysis with the shipped surrogate."""

from __future__ import annotations

import argparse
from pathlib import Path

from .._atomic import output_lock
from ..errors import UsageError
from ._common import _refuse_input_as_out, _subparser


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
    p.add_argument("--quick", action="store_true", help="smaller samples (300 x 300 instead of 700 x 700): about half the time")
    p.add_argument("--model", type=Path, help="use this model directory instead of the shipped one")
    p.add_argument("--from-scratch", action="store_true",
                   help="simulate the shipped surrogate's design (the paper grid plus 4,096 Sobol' points) and train a "
                   "new surrogate on it first (minutes; time estimates shown)")
    p.add_argument("--epochs", type=int, default=400, help="with --from-scratch: training epochs (default 400)")
    p.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    p.add_argument("--no-figures", action="store_true", help="skip the figures")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--force", action="store_true", help="replace the results of an earlier study in --out")
    p.set_defaults(func=_cmd_study)


def _cmd_study(args: argparse.Namespace) -> int:
    from ..study import STUDY_FILES, run_study, study_from_scratch

    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} is a file; study writes a directory")
    _refuse_input_as_out(args)
    earlier = [name for name in STUDY_FILES if (args.out / name).exists()]
    if earlier and not args.force:
        raise UsageError(f"--out {args.out} already holds a study ({', '.join(earlier[:2])}, ...); pass --force to "
                         "replace its results, or choose another --out")
    if args.from_scratch and args.model is not None:
        raise UsageError("--from-scratch trains its own model; it does not take --model")
    with output_lock(args.out, "study", parents=True):  # one study per --out at a time
        if args.from_scratch:
            args.model = study_from_scratch(args.out, epochs=args.epochs, seed=args.seed,
                                            progress=None if not args.quiet else False, report=print)
        result = run_study(args.out, model=args.model, quick=args.quick, seed=args.seed,
                           progress=None if not args.quiet else False, figures=not args.no_figures)
    acc = result["accuracy"]
    print(f"model: {result['model']}")
    print(f"accuracy at fresh simulator inputs: RMSE+ {acc['rmse_plus']:.2e} M, RMSE- {acc['rmse_minus']:.2e} M "
          f"(vs the exact cDFT); success rate vs the MD-like error bars {acc['success_rate_vs_labels']:.3f} "
          f"(all bins), {acc['success_rate_measured_vs_labels']:.3f} (measured bins, error > 0)")
    print()
    print("Sensitivity of rho(z) to the ion sizes (paper Sec. III-D), nested estimator:")
    print(result["table"])
    print()
    print(f"wrote {len(result['files'])} files to {result['out']} in {result['timings']['total_s']:.0f} s")
    return 0
