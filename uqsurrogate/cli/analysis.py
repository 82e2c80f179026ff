"""Subcommands that propagate and draw: ``propagate``, ``plot``."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..observables import OBSERVABLES
from ._common import MODEL_HELP, _add_extrapolation, _add_out, _add_problem_options, _model_and_problem, _refuse_overwrite, _subparser, model_arg


def _add_propagate(sub) -> None:
    """The ``propagate`` subcommand."""
    p = _subparser(
        sub,
        "propagate",
        help="forward UQ: the mean, sd and quantile bands of a model's outputs under input distributions",
        description=(
            "Draw --n inputs from the distributions (--vary/--fix or --problem FILE), evaluate MODEL in chunks, and "
            "write the mean (with its Monte Carlo interval), the standard deviation and the quantiles (with "
            "order-statistic intervals) of every output bin to a netCDF file; `uqsurrogate plot` draws the bands."
        ),
        epilog=(
            "example (the paper's ion-size uncertainty at c = 0.3 M):\n"
            "  uqsurrogate propagate default --vary 'd_plus=normal(0.4,0.01)' --vary 'd_minus=normal(0.6,0.015)' "
            "--fix h=4.5 --fix c=0.3 --fix sigma=-0.015 --output charge_density --n 20000 --extrapolation warn "
            "--out bands.nc\n"
            "  uqsurrogate plot bands.nc --out figures/"
        ),
    )
    p.add_argument("model", type=model_arg, metavar="MODEL", help=f"model or ensemble directory, {MODEL_HELP}")
    _add_problem_options(p)
    p.add_argument("--output", choices=OBSERVABLES, default="density", help="what to propagate (default density)")
    p.add_argument("--species", nargs="+", help="for --output density: cation and/or anion (default both)")
    p.add_argument("--n", type=int, default=10000, help="draws (default 10000)")
    p.add_argument("--quantiles", type=float, nargs="*", default=[0.05, 0.5, 0.95],
                   help="probability levels (default 0.05 0.5 0.95; none for mean and sd only)")
    p.add_argument("--conf-level", type=float, default=0.95,
                   help="level of the intervals of the mean and the quantiles (default 0.95)")
    p.add_argument("--seed", type=int, default=0, help="seed of the draws (default 0)")
    _add_extrapolation(p)
    _add_out(p, "netCDF file for the results", _cmd_propagate)


def _cmd_propagate(args: argparse.Namespace) -> int:
    from ..data.io import save_results
    from ..uncertainty.propagation import propagate

    _refuse_overwrite(args)
    f, problem = _model_and_problem(args)
    g = f.restrict(output=args.output, species=args.species)
    result = propagate(g, problem, args.n, quantiles=args.quantiles, seed=args.seed, conf_level=args.conf_level,
                       progress=None if not args.quiet else False)
    result.attrs.update({"model": str(args.model), "output": args.output})
    save_results(result, args.out)
    mean, conf = result["mean"], result["mean_conf"]
    print(f"{args.output} ({result['mean'].attrs.get('units', '')}): mean from {float(mean.min()):.4g} to "
          f"{float(mean.max()):.4g} over the outputs, its Monte Carlo half-width at most {float(conf.max()):.2g}; "
          f"sd up to {float(result['std'].max()):.3g}")
    print(f"wrote {args.out}: {args.n} draws, quantiles {', '.join(f'{q:g}' for q in args.quantiles)}")
    return 0


def _add_plot(sub) -> None:
    """The ``plot`` subcommand."""
    p = _subparser(
        sub,
        "plot",
        help="draw figures from any netCDF file the toolkit writes",
        description="Draw the figures that fit FILE (training data, metrics, sensitivity results), labelled from "
        "its CF attributes, as PNG (and PDF with --pdf). Needs matplotlib: pip install 'uqsurrogate[plot]'.",
    )
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument("--out", type=Path, required=True, help="directory for the figures")
    p.add_argument("--pdf", action="store_true", help="also write PDF")
    p.set_defaults(func=_cmd_plot)


def _cmd_plot(args: argparse.Namespace) -> int:
    from ..plotting import plot_file

    for path in plot_file(args.file, args.out, pdf=args.pdf):
        print(f"wrote {path}")
    return 0
