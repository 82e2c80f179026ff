"""The sensitivity subcommands, built from the method registry: ``sensitivity``, ``sample``, ``analyze``."""

from __future__ import annotations

import argparse
from pathlib import Path

from .._validation import collect_extrapolation, warn_extrapolation
from ..errors import UsageError
from ..observables import OBSERVABLES
from ..sensitivity.registry import REGISTRY, STAGES, MethodSpec
from ._common import (MODEL_HELP, _add_extrapolation, _add_out, _add_problem_options, _model_and_problem, _problem, _ranged,
                      _refuse_overwrite, _subparser, model_arg)


def _add_method(p: argparse.ArgumentParser) -> None:
    """--method and --samples, whose meaning each registered method gives."""
    methods = REGISTRY.values()
    p.add_argument("--method", choices=tuple(REGISTRY), default="sobol",
                   help="default sobol; " + "; ".join(f"{m.name}: {m.summary}" for m in methods))
    p.add_argument("--samples", type=int, default=1024,
                   help="; ".join(f"{m.name}: {m.samples_help}" for m in methods) + " (default 1024)")


def _add_intervals(p: argparse.ArgumentParser) -> None:
    """--resamples and --conf-level, run options of every method."""
    defaults = ", ".join(f"{m.name} {m.default('resamples')}" for m in REGISTRY.values())
    p.add_argument("--resamples", type=int, help=f"bootstrap resamples, 0 for none (default: {defaults})")
    p.add_argument("--conf-level", type=float, default=0.95, help="level of the intervals (default 0.95)")


def _add_method_options(p: argparse.ArgumentParser, stages: tuple[str, ...]) -> None:
    """Every registered method's own options of these stages; one that several methods declare is added once.

    They default to nothing, so that :func:`_method_args` sees which were given.
    """
    owners: dict[str, list] = {}
    for spec in REGISTRY.values():
        for option in spec.options:
            if option.stage in stages:
                owners.setdefault(option.flag, []).append((spec.name, option))
    for flag, declared in owners.items():
        o = declared[0][1]
        kind = {"action": "store_true"} if o.switch else {"type": _ranged(*o.range) if o.range else o.type,
                                                            "choices": o.choices}
        p.add_argument(flag, default=argparse.SUPPRESS, help="; ".join(f"{name}: {opt.help}" for name, opt in declared),
                       **kind)


def _method_args(args: argparse.Namespace, spec: MethodSpec, stages: tuple[str, ...], refusal: str) -> None:
    """Refuse another method's options (``refusal`` says why); give this method's their defaults."""
    mine = {o.dest for o in spec.options}
    for other in REGISTRY.values():
        for o in other.options:
            if o.stage in stages and o.dest not in mine and hasattr(args, o.dest):
                names = [m.name for m in REGISTRY.values() if any(x.flag == o.flag for x in m.options)]
                raise UsageError(f"{o.flag} is for {' and '.join(names)}; {refusal}")
    for o in spec.options:
        if not hasattr(args, o.dest):
            setattr(args, o.dest, o.default)


def _intervals(args: argparse.Namespace) -> dict:
    """--conf-level, and --resamples where given (each method has its own default)."""
    return {"conf_level": args.conf_level, **({} if args.resamples is None else {"resamples": args.resamples})}

def _add_sensitivity(sub) -> None:
    """The ``sensitivity`` subcommand."""
    p = _subparser(
        sub,
        "sensitivity",
        help="variance-based sensitivity of a model's outputs: nested (paper), Sobol/Saltelli, or PCE",
        description=(
            "Run a sensitivity study on a model directory. Every model input is either varied "
            "(--vary NAME=DIST, or a --problem FILE) or fixed (--fix NAME=VALUE). "
            "Results per output bin go to a netCDF file with S1, ST (where the method gives them), their "
            "confidence intervals, the variance and the mean."
        ),
        epilog=(
            "example (the paper's Sec. III-D, case c = 0.3 M):\n"
            "  uqsurrogate sensitivity default --method nested --vary 'd_plus=normal(0.4,0.01)' "
            "--vary 'd_minus=normal(0.6,0.015)' --fix h=4.5 --fix c=0.3 --fix sigma=-0.015 "
            "--output charge_density --z -2.05 -1.95 -1.85 -1.55 -1.0 --samples 1000 --extrapolation warn "
            "--out sens.nc\n"
            "  (D- ~ N(0.6, 0.015) puts 2 % of its draws past the training range's 0.63 nm: --extrapolation warn "
            "evaluates them and says so)"
        ),
    )
    p.add_argument("model", type=model_arg, metavar="MODEL", help=f"model or ensemble directory, {MODEL_HELP}")
    _add_method(p)
    _add_problem_options(p)
    p.add_argument("--output", choices=OBSERVABLES, default="density",
                   help="what to analyse (default density)")
    p.add_argument("--species", nargs="+", help="for --output density: cation and/or anion")
    p.add_argument("--z", type=float, nargs="+", help="analyse only the bins nearest these z (nm)")
    p.add_argument("--bins", type=int, nargs="+", help="analyse only these bin indices")
    _add_method_options(p, STAGES)
    _add_intervals(p)
    p.add_argument("--members", action="store_true",
                   help="for an ensemble: run on every member and report the member spread beside the sampling "
                   "intervals, and the resolution check where the ensemble is calibrated")
    p.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    _add_extrapolation(p)
    _add_out(p, "netCDF file for the results", _cmd_sensitivity)


def _cmd_sensitivity(args: argparse.Namespace) -> int:
    from ..data.io import save_results
    from ..sensitivity.registry import get

    _refuse_overwrite(args)
    spec = get(args.method)
    _method_args(args, spec, STAGES, f"--method {spec.name} does not take it")
    f, problem = _model_and_problem(args)
    if args.members and f.n_members < 2:
        raise UsageError(f"--members runs every ensemble member; {args.model} is a single network")
    g = f.restrict(output=args.output, species=args.species, z=args.z, h=problem.fixed.get("h"), bins=args.bins)
    if args.members:
        g = g.with_options(ensemble="members")
    for_model = spec.model_kwargs(g, args.members) if spec.model_kwargs else {}
    with collect_extrapolation() as reports:  # the indices and the resolution check: one warning
        result = spec.function(g, problem, **spec.design_from(args), **spec.analysis_from(args), **for_model,
                               **_intervals(args), seed=args.seed, progress=None if not args.quiet else False)
        if args.members:
            from ..uncertainty.trust import member_summary, resolution

            result = member_summary(result)
            if f.calibration and args.output in f.calibration:
                result = resolution(g.with_options(ensemble="mean"), problem, result, seed=args.seed)
    warn_extrapolation(reports)
    result.attrs.update({"model": str(args.model), "output": args.output})
    save_results(result, args.out)
    _print_indices(result, args.out)
    print(f"wrote {args.out}: {args.method}, {result.attrs.get('model_evaluations')} model evaluations")
    return 0


def _print_indices(result, out: Path) -> None:
    """The per-output table of indices with their intervals and flags, or where it is for many outputs."""
    from ..uncertainty.trust import index_table

    table = index_table(result)
    if table.startswith("|"):
        print(table)
        return
    print(f"{table}: the indices of each, with their intervals, are in {out} (uqsurrogate plot {out} --out "
          "figures/ draws them)")
    if "S1_agg" in result:  # Sobol's variance-weighted aggregate over the outputs
        for k, name in enumerate(result["input"].values):
            line = f"  {name:>10}: S1 aggregated over the outputs (variance-weighted) {float(result['S1_agg'][k]):.3f}"
            if "ST_agg" in result:
                line += f", ST {float(result['ST_agg'][k]):.3f}"
            print(line)


def _add_sample(sub) -> None:
    """The ``sample`` subcommand."""
    p = _subparser(
        sub,
        "sample",
        help="write a sensitivity design to run outside Python (then: analyze)",
        description=(
            "Write every input row that --method will evaluate (Saltelli's design for sobol, the crossed grid for "
            "nested, scrambled Sobol' points for pce) as a netCDF file or a plain table (.csv, .txt, .tsv), with "
            "what the analysis needs to check it. Run each row with your own code, bring the outputs back keyed "
            "by row (in any order), and run uqsurrogate analyze."
        ),
        epilog=(
            "example (a LAMMPS user; see examples/external_simulator/):\n"
            "  uqsurrogate sample --method sobol --vary 'd_plus=uniform(0.3,0.5)' --vary 'd_minus=uniform(0.4,0.6)' "
            "--fix h=4.5 --fix c=0.5 --fix sigma=-0.015 --samples 64 --seed 1 --out design.csv"
        ),
    )
    _add_method(p)
    _add_problem_options(p)
    p.add_argument("--model", type=model_arg, help=f"a model or ensemble directory whose inputs order the design "
                   f"(optional), {MODEL_HELP}")
    _add_method_options(p, ("design",))
    p.add_argument("--seed", type=int, help="seed of the design (default: fresh, recorded in the file)")
    _add_out(p, "design file: .nc, or .csv/.txt/.tsv for a table", _cmd_sample, quiet=False)


def _cmd_sample(args: argparse.Namespace) -> int:
    from ..sensitivity.external import sample, save_design
    from ..sensitivity.registry import get

    _refuse_overwrite(args)
    spec = get(args.method)
    _method_args(args, spec, ("design",), f"--method {spec.name} does not take it")
    if args.model is not None:
        from ..model_function import ModelFunction

        f = ModelFunction.from_artifact(args.model)
        problem = _problem(args, f.input_names, f.input_units)
    else:
        problem = _problem(args)
    design = sample(args.method, problem, seed=args.seed, **spec.design_from(args))
    save_design(design, args.out)
    print(f"wrote {args.out}: {design.sizes['row']} rows of {', '.join(problem.names)} for {args.method} "
          f"(seed {design.attrs['seed']}); run each row, then: uqsurrogate analyze {args.out} OUTPUTS --out RESULT.nc")
    return 0


def _add_analyze(sub) -> None:
    """The ``analyze`` subcommand."""
    p = _subparser(
        sub,
        "analyze",
        help="sensitivity indices from outputs computed elsewhere on a sample design",
        description=(
            "Compute the design's method (sobol, nested or pce) from OUTPUTS: a table with a 'row' column and "
            "one column per output, or a netCDF variable with a 'row' dim. Rows may come in any order; a missing, "
            "repeated or non-finite row, or a design that does not match its settings, is refused."
        ),
        epilog=(
            "example:\n"
            "  uqsurrogate sample --method pce --vary 'x=uniform(0,1)' --vary 'y=normal(0,1)' --samples 256 --seed 0 "
            "--out design.nc\n"
            "  python -c \"import xarray as xr; d = xr.load_dataset('design.nc'); "
            "(d.x + d.y ** 2).rename('y').to_netcdf('outputs.nc')\"\n"
            "  uqsurrogate analyze design.nc outputs.nc --order 3 --out pce.nc"
        ),
    )
    p.add_argument("design", type=Path, metavar="DESIGN", help="design file from uqsurrogate sample")
    p.add_argument("outputs", type=Path, metavar="OUTPUTS", help="outputs keyed by row (.csv/.txt/.tsv or .nc)")
    p.add_argument("--variable", help="for a netCDF OUTPUTS file with several row variables: which one")
    _add_method_options(p, ("analysis",))
    _add_intervals(p)
    _add_out(p, "netCDF file for the results", _cmd_analyze, quiet=False)


def _cmd_analyze(args: argparse.Namespace) -> int:
    from ..data.io import save_results
    from ..sensitivity.external import analyze, load_design, load_outputs
    from ..sensitivity.registry import get

    _refuse_overwrite(args)
    if args.variable is not None and args.outputs.suffix.lower() != ".nc":
        raise UsageError(f"--variable {args.variable} names a variable of a netCDF OUTPUTS file; {args.outputs} is a "
                         "table, whose columns are the outputs")
    design = load_design(args.design)
    method = design.attrs["method"]
    spec = get(method)
    _method_args(args, spec, ("analysis",), f"{args.design} is a {method} design")
    result = analyze(design, load_outputs(args.outputs, variable=args.variable), **_intervals(args),
                     **spec.analysis_from(args))
    result.attrs.update({"design": str(args.design), "outputs": str(args.outputs)})
    save_results(result, args.out)
    _print_indices(result, args.out)
    print(f"wrote {args.out}: {method} on {design.sizes['row']} rows of outputs")
    return 0
