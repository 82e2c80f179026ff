"""The ``uqsurrogate`` command line: a thin layer over the Python API.

Every subcommand has ``--help``; its parser is built by its own ``_add_*`` function, with
the choices imported from the modules that define them.  Errors in what the user gave (the
package's :class:`~uqsurrogate.errors.UQSurrogateError`: a bad file, a value out of range)
and the file system's errors (a missing file, a full disk) print one clear line and exit
with status 2; ``--debug`` shows the traceback.  Any other exception is a bug and shows its
traceback.
"""

from __future__ import annotations

import argparse
import datetime
import logging
import math
import shlex
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from ._version import __version__
from .data.lammps import ERROR_METHODS
from .datasets import EXAMPLES
from .errors import InputError, UQSurrogateError, UsageError
from .model_function import EXTRAPOLATION
from .observables import OBSERVABLES
from .sensitivity import CI_METHODS, ESTIMATORS, METHODS
from .simulators.electrolyte import SOLVER_FUNCTIONALS, WALLS
from .surrogate.losses import LOSSES
from .surrogate.network import ACTIVATIONS, OUTPUT_ACTIVATIONS
from .surrogate.training import HEADS, OPTIMIZERS, OUTPUT_SCALES, PRESETS, REPRESENTATIONS, SCHEDULES

logger = logging.getLogger("uqsurrogate")

_INPUTS_HELP = "inputs as NAME=VALUE pairs joined by commas, e.g. h=4.5,c=0.5,d_plus=0.4,d_minus=0.6,sigma=-0.015"


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


#: The arguments that name a command's input files or folders.
_INPUT_ARGS = ("data", "model", "design", "outputs", "file", "path", "training_data", "keras2", "scaler", "problem",
               "run_dir", "tables", "lammps")


def _input_paths(args: argparse.Namespace) -> list[Path]:
    """Every existing file or folder the command reads."""
    found = []

    def add(value):
        if isinstance(value, (list, tuple)):
            for v in value:
                add(v)
        elif value is not None and Path(value).exists():
            found.append(Path(value))

    for name in _INPUT_ARGS:
        add(getattr(args, name, None))
    return found


def _refuse_input_as_out(args: argparse.Namespace) -> None:
    """--out is never one of the command's inputs, nor a folder holding one."""
    out = args.out.resolve()
    for path in _input_paths(args):
        p = path.resolve()
        if p == out or out in p.parents:
            what = "is" if p == out else "holds"
            raise UsageError(f"--out {args.out} {what} this command's input {path}; write the output elsewhere")


def _refuse_overwrite(args: argparse.Namespace, directory: bool = False) -> None:
    """Nothing is replaced without --force, --out is never an input or a folder holding one, and a file
    never becomes a folder (``directory``: the command writes one) or back."""
    _refuse_input_as_out(args)
    if directory and args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} is a file; this command writes a folder")
    if not directory and args.out.is_dir():
        raise UsageError(f"--out {args.out} is a folder; this command writes a file")
    if args.out.exists() and not args.force:
        raise UsageError(f"--out {args.out} exists; pass --force to replace it")


def parse_inputs(text: str) -> dict[str, float]:
    """Parse ``h=4.5,c=0.5,...`` into a dict, checking names against the contract's inputs.

    Parameters
    ----------
    text : str

    Returns
    -------
    dict of str to float
    """
    from .conventions import INPUTS

    out: dict[str, float] = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep:
            raise UsageError(f"inputs {text!r}: {item!r} is not NAME=VALUE")
        if name not in INPUTS:
            raise UsageError(f"inputs {text!r}: unknown input {name!r}; known inputs are {', '.join(INPUTS)}")
        try:
            out[name] = float(value)
        except ValueError:
            raise UsageError(f"inputs {text!r}: {name} = {value!r} is not a number") from None
    missing = [k for k in INPUTS if k not in out]
    if missing:
        raise UsageError(f"inputs {text!r}: missing {', '.join(missing)}; {_INPUTS_HELP}")
    return {k: out[k] for k in INPUTS}


def _cmd_import_md(args: argparse.Namespace) -> int:
    from .data.io import save_dataset
    from .data.lammps import read_lammps_run
    from .data.runs import runs_to_dataset
    from .data.tables import read_run_folder, read_table_run

    _refuse_overwrite(args)
    if args.lammps and args.units == "lj" and args.length_scale is None:
        raise UsageError("--units lj needs --length-scale, the LJ length unit in nm")
    runs = []
    for spec in args.run_dir or []:
        if len(spec) > 2:
            raise UsageError(f"--run-dir takes a folder and optionally INPUTS, got {len(spec)} values: {spec}")
        runs.append(read_run_folder(spec[0], parse_inputs(spec[1]) if len(spec) == 2 else None))
    for cation, anion, inputs in args.tables or []:
        runs.append(read_table_run(cation, anion, parse_inputs(inputs)))
    for cation, anion, inputs in args.lammps or []:
        runs.append(
            read_lammps_run(
                cation,
                anion,
                parse_inputs(inputs),
                units=args.units,
                length_scale=args.length_scale,
                origin=args.origin,
                column=args.column,
                error=args.error,
                skip_blocks=args.skip_blocks,
            )
        )
    if not runs:
        raise UsageError("nothing to import: give at least one --run-dir, --tables or --lammps")
    attrs = {"history": f"{_now()} uqsurrogate {__version__}: uqsurrogate {shlex.join(args.argv)}"}
    if args.title:
        attrs["title"] = args.title
    ds = runs_to_dataset(runs, args.bins, attrs=attrs)
    save_dataset(ds, args.out)
    print(f"wrote {args.out}: {ds.sizes['sample']} samples x {ds.sizes['bin']} bins")
    return 0


def _cmd_simulate(args: argparse.Namespace) -> int:
    from .simulators import ElectrolyteSimulator, NoiseModel, SlitModel, simulate
    from .simulators.design import paper_grid, random_design, read_design, sobol_design

    parts = args.out.with_name(args.out.name + ".parts")
    _refuse_overwrite(args)
    if args.design == "paper-grid":
        if args.n is not None:
            raise UsageError("--n does not apply to --design paper-grid (it has 4,050 points)")
        design = paper_grid()
    elif args.design in ("sobol", "random"):
        if args.n is None:
            raise UsageError(f"--design {args.design} needs --n N, the number of points")
        if args.seed is None:
            raise UsageError(f"--design {args.design} needs --seed S, so that the design can be reproduced")
        make = sobol_design if args.design == "sobol" else random_design
        design = make(args.n, seed=args.seed)
    else:
        design = read_design(args.design)
        if args.n is not None:
            raise UsageError("--n does not apply to a design file (it has its own rows)")
    simulator = ElectrolyteSimulator(
        model=SlitModel(
            temperature=args.temperature, permittivity=args.permittivity, wall=args.wall, functional=args.functional
        ),
        noise=NoiseModel(
            lateral_area=args.lateral_area, n_blocks=args.blocks, configs_per_block=args.configs_per_block,
            error=args.error,
        ),
        n_bins=args.bins,
    )
    n = len(design["h"])
    if parts.is_dir():
        print(f"resuming the unfinished run in {parts}")
    simulate(
        design,
        args.out,
        simulator=simulator,
        seed=args.seed,
        workers=args.workers,
        chunk_size=args.chunk_size,
        progress=None if not args.quiet else False,
        design_name=args.design,
    )
    print(f"wrote {args.out}: {n} samples x {args.bins} bins")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from .data.io import load_dataset
    from .surrogate import PRESETS, SurrogateTrainer, TrainingConfig

    _refuse_overwrite(args, directory=True)
    settings = dict(PRESETS[args.preset])
    for key in ("learning_rate", "schedule", "batch_size", "output_scale", "dropout", "representation", "activation",
                "output_activation", "optimizer", "weight_decay", "final_learning_rate", "head"):
        value = getattr(args, key)
        if value is not None:
            settings[key] = value
    if args.hidden:
        settings["hidden"] = tuple(args.hidden)
    config = TrainingConfig(
        loss=args.loss, epochs=args.epochs, seed=args.seed, patience=args.patience,
        checkpoint_every=args.checkpoint_every, test_fraction=args.test_fraction, **settings,
    )
    if args.members is not None and args.members < 2:
        raise UsageError(f"--members {args.members}: an ensemble needs at least 2 members")
    if args.bootstrap and args.members is None:
        raise UsageError("--bootstrap resamples the training rows of each ensemble member: give --members K too")
    ds = load_dataset(args.data)
    if args.members is not None:
        from .surrogate.ensemble import train_ensemble

        train_ensemble(config, ds, args.out, members=args.members, bootstrap=args.bootstrap, overwrite=args.force,
                       progress=None if not args.quiet else False)
        print(f"wrote {args.out}: an ensemble of {args.members} {config.loss}-loss members, seeds {args.seed} to "
              f"{args.seed + args.members - 1}" + (", each on a bootstrap resample" if args.bootstrap else ""))
        return 0
    checkpoint = args.out.with_name(args.out.name + ".checkpoint")
    if (checkpoint / "state.json").is_file():
        print(f"resuming from the checkpoint in {checkpoint}")
    trainer = SurrogateTrainer(config, checkpoint_dir=checkpoint, progress=None if not args.quiet else False)
    trainer.fit(ds)
    trainer.save(args.out, overwrite=args.force)
    SurrogateTrainer.clear_checkpoint(checkpoint)
    hist = trainer.history_
    print(
        f"wrote {args.out}: {config.loss} loss, {len(hist['loss'])} epochs, best validation MSE "
        f"{min(hist['val_mse_hard']):.4g} at epoch {trainer.best_epoch_}"
    )
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    import numpy as np

    from .data.io import load_dataset, save_results
    from .data.schema import input_names
    from .surrogate import load_artifact, surrogate_metrics
    from .surrogate.training import data_digest

    _refuse_overwrite(args)
    surrogate = load_artifact(args.model)
    ds = load_dataset(args.data)
    names = input_names(ds)
    if names != surrogate.input_names:
        raise UsageError(f"the data's inputs {names} differ from the model's {surrogate.input_names}")
    training = surrogate.metadata["training"]
    same = data_digest(ds) == training["data_sha256"]
    split = args.split
    if split == "auto":
        split = "test" if same else "all"
    if split == "test":
        if not same:
            raise UsageError("--split test needs the model's own training data (its hash differs); use --split all")
        ds = ds.isel(sample=np.asarray(training["split"]["test_index"], dtype=int))
    X = np.stack([ds[k].values for k in names], axis=1)
    metrics = surrogate_metrics(surrogate.predict(X), ds)
    metrics.attrs.update({"model": str(args.model), "data": str(args.data), "split": split})
    save_results(metrics, args.out)
    for ref in metrics["reference"].values:
        m = metrics.sel(reference=ref)
        print(
            f"{ref:>6}: MSE {float(m['mse']):.3g} (mol/L)^2, RMSE+ {float(m['rmse_mean'][0]):.3g} "
            f"RMSE- {float(m['rmse_mean'][1]):.3g} mol/L, success rate {float(m['success_rate_mean']):.3f} "
            f"(measured bins {float(m['success_rate_measured_mean']):.3f})"
        )
    print(f"wrote {args.out} ({split} split, {ds.sizes['sample']} samples)")
    return 0


def _parse_linear(text: str | None, option: str) -> dict[str, float]:
    """``h=-0.5,d=0.02`` -> {"h": -0.5, "d": 0.02}."""
    out: dict[str, float] = {}
    for item in filter(None, (t.strip() for t in (text or "").split(","))):
        name, sep, value = item.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise UsageError(f"{option} {text!r}: {item!r} is not NAME=NUMBER") from None
        if not sep:
            raise UsageError(f"{option} {text!r}: {item!r} is not NAME=NUMBER")
    return out


def _cmd_import_model(args: argparse.Namespace) -> int:
    from .model_function import ModelFunction
    from .surrogate.legacy import import_legacy_model

    _refuse_overwrite(args, directory=True)
    names = [s.strip() for s in args.inputs.split(",")]
    units = [s.strip() for s in args.units.split(",")]
    if len(names) != len(units):
        raise UsageError(f"--inputs has {len(names)} names but --units has {len(units)} units")
    start, width = _parse_linear(args.z_start, "--z-start"), _parse_linear(args.z_width, "--z-width")
    unknown = [k for k in {**start, **width} if k not in names]
    if unknown:
        raise UsageError(f"--z-start/--z-width use {unknown}, which are not among --inputs {names}")
    path = import_legacy_model(
        args.keras2, args.scaler, args.out, input_names=names, input_units=units,
        species=[s.strip() for s in args.species.split(",")],
        z_affine={"start": start, "width": width} if (start or width) else None,
        overwrite=args.force, description=args.description or "",
    )
    print(f"wrote {path}: {ModelFunction.from_artifact(path).describe()}")
    return 0


def _problem(args: argparse.Namespace, names: list[str] | None = None, units: list[str] | None = None):
    """The Problem of ``--problem FILE`` or ``--vary``/``--fix``, in the model's input order.

    Without a model (``names`` None) the order is the file's, then ``--fix``; or the order given.
    """
    from .problem import Problem, parse_distribution

    given: dict[str, object] = {}
    for option, items in (("--vary", args.vary), ("--fix", args.fix)):
        for item in items or []:
            name, sep, spec = item.partition("=")
            if not sep:
                raise UsageError(f"{option} {item!r} is not NAME=SPEC")
            if name in given:
                raise UsageError(f"input {name!r} is given twice")
            given[name] = parse_distribution(spec)
    if args.problem is not None:
        if args.vary:
            raise UsageError("--problem FILE gives the varied inputs; --vary does not go with it (use --fix for the "
                             "inputs the file does not name)")
        try:
            return Problem.from_file(args.problem, fixed={n: d.value for n, d in given.items()}, order=names,
                                     units=dict(zip(names, units)) if names else None)
        except InputError as err:
            raise UsageError(f"--problem {args.problem}: {err}") from None
    if names is None:
        if not given:
            raise UsageError("give the inputs: --vary NAME=DIST and --fix NAME=VALUE, or --problem FILE")
        return Problem(given)
    missing = [n for n in names if n not in given]
    unknown = [n for n in given if n not in names]
    if missing or unknown:
        raise UsageError(
            f"the model's inputs are {names}: "
            + (f"give --vary or --fix for {missing}" if missing else "")
            + (f"; unknown {unknown}" if unknown else "")
        )
    return Problem({n: given[n] for n in names}, units=dict(zip(names, units)))


def _add_extrapolation(p: argparse.ArgumentParser) -> None:
    p.add_argument("--extrapolation", choices=EXTRAPOLATION, default="raise",
                   help="inputs outside the training ranges (default raise)")


def _add_problem_options(p: argparse.ArgumentParser) -> None:
    """--vary, --fix and --problem: the input distributions."""
    p.add_argument("--vary", action="append", metavar="NAME=DIST",
                   help="a varied input and its distribution: normal(mean,sd), uniform(low,high), "
                   "truncnormal(mean,sd,low,high), lognormal(mu,sigma) of ln X, triangular(low,mode,high), "
                   "loguniform(low,high)")
    p.add_argument("--fix", action="append", metavar="NAME=VALUE", help="a fixed input")
    p.add_argument("--problem", type=Path, metavar="FILE",
                   help="the distributions from a file instead of --vary: a result file (.nc) whose study to repeat, its "
                   "problem attribute as JSON, or a SALib problem dict (names, bounds, dists); --fix adds fixed "
                   "inputs")


def _cmd_sensitivity(args: argparse.Namespace) -> int:
    import numpy as np

    from .data.io import save_results
    from .model_function import ModelFunction
    from .sensitivity import nested, pce, sobol

    _refuse_overwrite(args)
    f = ModelFunction.from_artifact(args.model, extrapolation=args.extrapolation)
    problem = _problem(args, f.input_names, f.input_units)
    h = problem.fixed.get("h")
    if args.z and h is None and f.z_convention["z_convention"] == "uniform-slit":
        raise UsageError("--z needs a fixed h (the bins' z depend on it); or use --bins")
    if args.z and h is not None:
        outside = [z for z in args.z if abs(z) > h / 2]
        if outside:
            raise UsageError(f"--z {' '.join(f'{z:g}' for z in outside)}: outside the slit [{-h / 2:g}, {h / 2:g}] nm "
                             f"of h = {h:g}")
    if args.members and f.n_members < 2:
        raise UsageError(f"--members runs every ensemble member; {args.model} is a single network")
    g = f.restrict(output=args.output, species=args.species, z=args.z, h=h, bins=args.bins)
    if args.members:
        g = g.with_options(ensemble="members")
    progress = None if not args.quiet else False
    resamples = {} if args.resamples is None else {"resamples": args.resamples}
    if args.method == "nested":
        flat = None
        if g.output_shape and int(np.prod(g.output_shape)) <= 64 and not args.members:
            flat = list(range(int(np.prod(g.output_shape))))
        result = nested(g, problem, args.samples, args.inner or args.samples, surfaces=flat, seed=args.seed,
                        conf_level=args.conf_level, progress=progress, **resamples)
    elif args.method == "sobol":
        result = sobol(g, problem, args.samples, second_order=args.second_order, estimator=args.estimator,
                       ci=args.ci, replicates=args.replicates, seed=args.seed, conf_level=args.conf_level,
                       progress=progress, **resamples)
    else:
        result = pce(g, problem, args.samples, order=args.order, seed=args.seed, conf_level=args.conf_level,
                     **resamples)
    if args.members:
        from .uncertainty.trust import member_summary, resolution

        result = member_summary(result)
        if f.calibration and args.output in f.calibration:
            result = resolution(g.with_options(ensemble="mean"), problem, result, seed=args.seed)
    result.attrs.update({"model": str(args.model), "output": args.output})
    save_results(result, args.out)
    agg = "S1_agg" in result
    for k, name in enumerate(result["input"].values):
        s1 = float(result["S1_agg"][k]) if agg else float(result["S1"].isel(input=k).mean())
        line = f"  {name:>10}: S1 {'(aggregated)' if agg else '(mean over outputs)'} {s1:.3f}"
        if "ST_agg" in result:
            line += f", ST (aggregated) {float(result['ST_agg'][k]):.3f}"
        print(line)
    print(f"wrote {args.out}: {args.method}, {result.attrs.get('model_evaluations')} model evaluations")
    return 0


def _cmd_propagate(args: argparse.Namespace) -> int:
    from .data.io import save_results
    from .model_function import ModelFunction
    from .uncertainty.propagation import propagate

    _refuse_overwrite(args)
    f = ModelFunction.from_artifact(args.model, extrapolation=args.extrapolation)
    problem = _problem(args, f.input_names, f.input_units)
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


def _cmd_sample(args: argparse.Namespace) -> int:
    from .sensitivity.external import sample, save_design

    _refuse_overwrite(args)
    if args.model is not None:
        from .model_function import ModelFunction

        f = ModelFunction.from_artifact(args.model)
        problem = _problem(args, f.input_names, f.input_units)
    else:
        problem = _problem(args)
    settings = {"sobol": {"n": args.samples, "second_order": args.second_order, "ci": args.ci,
                          "replicates": args.replicates},
                "nested": {"n_outer": args.samples, "n_inner": args.inner or args.samples},
                "pce": {"n": args.samples}}[args.method]
    design = sample(args.method, problem, seed=args.seed, **settings)
    save_design(design, args.out)
    print(f"wrote {args.out}: {design.sizes['row']} rows of {', '.join(problem.names)} for {args.method} "
          f"(seed {design.attrs['seed']}); run each row, then: uqsurrogate analyze {args.out} OUTPUTS --out RESULT.nc")
    return 0


def _cmd_analyze(args: argparse.Namespace) -> int:
    from .data.io import save_results
    from .sensitivity.external import analyze, load_design, load_outputs

    _refuse_overwrite(args)
    design = load_design(args.design)
    method = design.attrs["method"]
    options: dict = {"conf_level": args.conf_level}
    if args.resamples is not None:
        options["resamples"] = args.resamples
    if method == "sobol":
        options["estimator"] = args.estimator
    elif args.estimator != "saltelli2010":
        raise UsageError(f"--estimator is for sobol designs; {args.design} is a {method} design")
    if method == "pce":
        options["order"] = args.order
    result = analyze(design, load_outputs(args.outputs, variable=args.variable), **options)
    result.attrs.update({"design": str(args.design), "outputs": str(args.outputs)})
    save_results(result, args.out)
    n_in = result.sizes["input"]
    s1 = result["S1"].values.reshape(n_in, -1)
    conf = result["S1_conf"].values.reshape(n_in, -1) if "S1_conf" in result else None
    out_dims = [d for d in result["S1"].dims if d != "input"]
    labels = [str(v) for v in result[out_dims[0]].values] if len(out_dims) == 1 and out_dims[0] in result.coords \
        else [str(j) for j in range(s1.shape[1])]
    if s1.shape[1] > 8:
        print(f"S1 averaged over {s1.shape[1]} outputs (each is in {args.out}):")
        s1, conf, labels = s1.mean(axis=1, keepdims=True), None, ["mean"]
    for j, label in enumerate(labels):
        parts = [f"{name} {s1[k, j]:.3f}" + (f" ± {conf[k, j]:.3f}" if conf is not None else "")
                 for k, name in enumerate(result["input"].values)]
        print(f"  {label}: S1 " + ", ".join(parts))
    print(f"wrote {args.out}: {method} on {design.sizes['row']} rows of outputs")
    return 0


def _cmd_plot(args: argparse.Namespace) -> int:
    from .plotting import plot_file

    for path in plot_file(args.file, args.out, pdf=args.pdf):
        print(f"wrote {path}")
    return 0


def _cmd_study(args: argparse.Namespace) -> int:
    from .study import STUDY_FILES, run_study, study_from_scratch

    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} is a file; study writes a directory")
    _refuse_input_as_out(args)
    earlier = [name for name in STUDY_FILES if (args.out / name).exists()]
    if earlier and not args.force:
        raise UsageError(f"--out {args.out} already holds a study ({', '.join(earlier[:2])}, ...); pass --force to "
                         "replace its results, or choose another --out")
    if args.from_scratch:
        if args.model is not None:
            raise UsageError("--from-scratch trains its own model; it does not take --model")
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


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from .data.io import load_dataset
    from .model_function import ModelFunction
    from .surrogate.ensemble import is_ensemble
    from .uncertainty.fit import calibrate_ensemble, write_calibration

    if not is_ensemble(args.model):
        raise UsageError(f"{args.model} is not an ensemble directory (train one with --members K)")
    f = ModelFunction.from_artifact(args.model)
    data = load_dataset(args.data)
    training = load_dataset(args.training_data) if args.training_data else None
    result = calibrate_ensemble(f, data, alpha=args.alpha, training_data=training, seed=args.seed)
    result["data"] = str(args.data)
    write_calibration(args.model, result)
    print(f"calibrated on {result['n']} samples of {args.data} against {result['reference']}; measured on held-out "
          "halves (each half fitted, the other scored, both ways):")
    for kind in ("density", "charge_density", "integrated_charge"):
        m = result[kind]["measured"]
        print(f"  {kind:>17}: miscalibration area {m['miscalibration_area_before']:.3f} before, "
              f"{m['miscalibration_area_' + result[kind]['method']]:.3f} after "
              f"({'no map helps: the raw spread is kept' if result[kind]['method'] == 'none' else result[kind]['method']}); "
              f"conformal {100 * (1 - args.alpha):g} % coverage {m['conformal_coverage']:.3f} per bin, "
              f"{m['conformal_band_coverage']:.3f} whole profile"
              + (f" (against the labels: {m['conformal_coverage_vs_labels']:.3f} per bin)"
                 if "conformal_coverage_vs_labels" in m else ""))
    print(f"wrote the calibration into {args.model}/ensemble.json")
    if args.figure:
        from .plotting import plot_reliability

        plot_reliability(result).savefig(args.figure, dpi=130, bbox_inches="tight")
        print(f"wrote {args.figure}")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from .data.io import load_dataset
    from .data.schema import check
    from .data.summary import summarize
    from .datasets import example_path

    if (args.path is None) == (args.example is None):
        raise UsageError("give either a FILE or --example NAME")
    path = example_path(args.example) if args.example else Path(args.path)
    ds = load_dataset(path, validate=False)
    problems = check(ds)
    if problems:
        print(f"{path} breaks the training-data contract:")
        print("\n".join(f"  - {p}" for p in problems))
        return 1
    print(summarize(ds, name=str(args.example or path)))
    return 0


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line, as every other error (exit status 2)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _ranged(kind: type, low: float | None, high: float | None, closed: str = "both"):
    """An argparse ``type`` that parses ``kind`` and checks the range, so errors name the flag as typed."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}") \
                from None
        if kind is float and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text} is not a finite number")
        lo_ok = low is None or (value >= low if closed in ("both", "left") else value > low)
        hi_ok = high is None or (value <= high if closed in ("both", "right") else value < high)
        if not (lo_ok and hi_ok):
            left = "[" if closed in ("both", "left") else "("
            right = "]" if closed in ("both", "right") else ")"
            if high is None:
                allowed = f">= {low}" if closed in ("both", "left") else f"> {low}"
            else:
                allowed = f"in {left}{low}, {high}{right}"
            raise argparse.ArgumentTypeError(f"{text}: must be {allowed}")
        return value
    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


#: The allowed range of every numeric option, in one place: (type, low, high, closed).  An option
#: of one subcommand that differs from the others is keyed (command, option).
_RANGES = {
    "--seed": (int, 0, None), "--workers": (int, 1, None), "--chunk-size": (int, 1, None),
    "--bins": (int, 2, None), ("sensitivity", "--bins"): (int, 0, None), "--n": (int, 1, None),
    "--temperature": (float, 0, None, "neither"), "--permittivity": (float, 0, None, "neither"),
    "--lateral-area": (float, 0, None, "neither"), "--blocks": (int, 2, None), "--configs-per-block": (int, 1, None),
    "--length-scale": (float, 0, None, "neither"), "--origin": (float, None, None), "--skip-blocks": (int, 0, None),
    "--epochs": (int, 1, None), "--learning-rate": (float, 0, None, "neither"), "--batch-size": (int, 1, None),
    "--dropout": (float, 0, 1, "left"), "--hidden": (int, 1, None), "--patience": (int, 1, None),
    "--test-fraction": (float, 0, 1, "neither"), "--checkpoint-every": (int, 1, None), "--members": (int, 2, None),
    "--z": (float, None, None), "--samples": (int, 2, None), ("propagate", "--n"): (int, 2, None),
    "--inner": (int, 2, None), "--order": (int, 1, None), "--resamples": (int, 0, None),
    "--conf-level": (float, 0, 1, "neither"), "--replicates": (int, 2, None), "--quantiles": (float, 0, 1, "neither"),
    "--alpha": (float, 0, 1, "neither"), "--weight-decay": (float, 0, None), "--final-learning-rate": (float, 0, None),
}


def _apply_ranges(command: str, p: argparse.ArgumentParser) -> None:
    for action in p._actions:
        for option in action.option_strings:
            spec = _RANGES.get((command, option), _RANGES.get(option))
            if spec is not None:
                action.type = _ranged(*spec)


def _common_options(suppress: bool) -> argparse.ArgumentParser:
    """``-v`` and ``--debug``, accepted before and after the subcommand.

    On the subcommands their defaults are suppressed, so that ``uqsurrogate -v info`` is not
    undone by the subcommand's own default.
    """
    common = _Parser(add_help=False)
    common.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS if suppress else 0,
                        help="more log output (-vv for debug)")
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS if suppress else False,
                        help="show tracebacks")
    return common


def _subparser(sub, name: str, help: str, description: str, epilog: str | None = None) -> argparse.ArgumentParser:
    """A subcommand's parser; its examples (the epilog) keep their line breaks."""
    formatter = argparse.RawDescriptionHelpFormatter if epilog else argparse.HelpFormatter
    return sub.add_parser(name, help=help, description=description, epilog=epilog, formatter_class=formatter,
                          parents=[_common_options(suppress=True)])  # a _Parser: the parser_class below


def _add_quiet_force(p: argparse.ArgumentParser, quiet: bool = True) -> None:
    """The options every writing subcommand shares."""
    if quiet:
        p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")


def _add_import_md(sub) -> None:
    """The ``import-md`` subcommand."""
    p = _subparser(
        sub,
        "import-md",
        help="bring MD density profiles into a training-data netCDF file",
        description=(
            "Import MD density profiles (three-column z n err tables, or LAMMPS fix ave/chunk files), "
            "rebin them onto a common number of equal bins across the slit, and write one netCDF file "
            "that follows the training-data contract. Every option that names a source can repeat."
        ),
        epilog=(
            "examples:\n"
            "  uqsurrogate import-md --run-dir md-profiles/lammps_T0.001_Z3_p1_nminus1_c0.5_d0.474_a0.627_i0_S100000 "
            "--out data.nc\n"
            "  uqsurrogate import-md --lammps cation.dat anion.dat h=4.5,c=0.5,d_plus=0.4,d_minus=0.6,sigma=-0.015 "
            "--units real --out lammps.nc"
        ),
    )
    p.add_argument(
        "--run-dir",
        nargs="+",
        action="append",
        metavar=("DIR", "INPUTS"),
        help="a nanoconfinement-md run folder (p_density_profile.dat, n_density_profile.dat); its name gives "
        "the inputs unless INPUTS follows",
    )
    p.add_argument(
        "--tables",
        nargs=3,
        action="append",
        metavar=("CATION", "ANION", "INPUTS"),
        help="two three-column files (z nm, density mol/L, error mol/L) and the run's inputs",
    )
    p.add_argument(
        "--lammps",
        nargs=3,
        action="append",
        metavar=("CATION", "ANION", "INPUTS"),
        help="two LAMMPS fix ave/chunk files (density/number per bin/1d chunk) and the run's inputs",
    )
    p.add_argument("--units", default="real", help="LAMMPS units style of --lammps files (default: real)")
    p.add_argument("--length-scale", type=float, help="with --units lj: the LJ length unit in nm")
    p.add_argument("--origin", type=float, default=0.0, help="slit midplane in the LAMMPS length unit (default 0)")
    p.add_argument("--column", default="density/number", help="LAMMPS column to read (default density/number)")
    p.add_argument(
        "--error",
        choices=ERROR_METHODS,
        default="paper-eq4",
        help="error from LAMMPS blocks: the paper's Eq. 4 spread (default) or the standard error of the mean",
    )
    p.add_argument("--skip-blocks", type=int, default=0, help="leading LAMMPS blocks to discard (default 0)")
    p.add_argument("--bins", type=int, help="bins per profile (default: the finest run's bin count)")
    p.add_argument("--title", help="dataset title")
    p.add_argument("--out", type=Path, required=True, help="netCDF file to write")
    _add_quiet_force(p, quiet=False)
    p.set_defaults(func=_cmd_import_md)


def _add_simulate(sub) -> None:
    """The ``simulate`` subcommand."""
    p = _subparser(
        sub,
        "simulate",
        help="make training data with the embedded reference simulator (cDFT + MD-like noise)",
        description=(
            "Run the confined-electrolyte simulator over a design of inputs and write a training-data "
            "netCDF file with density, density_sem and density_true. Work is saved in chunks to OUT.parts/; "
            "after a crash or Ctrl-C, the same command resumes where it stopped."
        ),
        epilog=(
            "examples:\n"
            "  uqsurrogate simulate --design paper-grid --out grid.nc --seed 0 --workers 2\n"
            "  uqsurrogate simulate --design sobol --n 256 --out sobol.nc --seed 1\n"
            "  uqsurrogate simulate --design inputs.csv --out mine.nc --seed 2   # header: h c d_plus d_minus sigma"
        ),
    )
    p.add_argument("--design", required=True, metavar="paper-grid|sobol|random|FILE",
                   help="the paper's 4,050-point grid, scrambled Sobol' or uniform random points in the paper's "
                   "input box, or a table with a header row h c d_plus d_minus sigma")
    p.add_argument("--n", type=int, help="number of points for sobol and random designs")
    p.add_argument("--out", type=Path, required=True, help="netCDF file to write")
    p.add_argument("--seed", type=int, help="seed of the design and the noise (default: fresh, recorded in the file)")
    p.add_argument("--workers", type=int, default=1, help="parallel processes (default 1)")
    p.add_argument("--chunk-size", type=int, default=64, help="samples per saved chunk (default 64)")
    p.add_argument("--bins", type=int, default=502, help="equal bins across the slit (default 502)")
    p.add_argument("--wall", choices=WALLS, default="soft", help="WCA walls as in the MD (default) or hard walls")
    p.add_argument("--functional", choices=SOLVER_FUNCTIONALS, default="wbii",
                   help="hard-sphere functional (default White Bear II; none: point ions)")
    p.add_argument("--temperature", type=float, default=298.0, help="K (default 298)")
    p.add_argument("--permittivity", type=float, default=80.0, help="relative permittivity (default 80)")
    p.add_argument("--lateral-area", type=float, default=64.0, help="noise model: box area in nm^2 (default 64)")
    p.add_argument("--blocks", type=int, default=10, help="noise model: blocks per run (default 10)")
    p.add_argument("--configs-per-block", type=int, default=15000, help="noise model: configurations per block (default 15000)")
    p.add_argument("--error", choices=ERROR_METHODS, default="paper-eq4", help="error estimator (default Eq. 4)")
    _add_quiet_force(p)
    p.set_defaults(func=_cmd_simulate)


def _add_train(sub) -> None:
    """The ``train`` subcommand."""
    p = _subparser(
        sub,
        "train",
        help="train the soft-label surrogate on a training-data file",
        description=(
            "Train the paper's network (256 and 512 units, dropout 0.2, Glorot-normal, Adam, batch 32) on a "
            "seeded 0.8/0.2 split, keep the best validation weights, and write a model directory. "
            "Checkpoints go to OUT.checkpoint/; rerun the same command to resume."
        ),
        epilog="example:\n  uqsurrogate train grid.nc --out model/ --loss soft-label --epochs 300 --seed 0 --preset tuned",
    )
    p.add_argument("data", type=Path, metavar="DATA", help="training-data netCDF file")
    p.add_argument("--out", type=Path, required=True, help="model directory to write")
    p.add_argument("--loss", choices=LOSSES, default="soft-label",
                   help="mse (BaseNN), soft-label (ModNN, fresh N(y, eps^2) labels every step), or chi2 "
                   "(inverse-variance weights); default soft-label")
    p.add_argument("--epochs", type=int, default=1500, help="epoch budget (default 1500)")
    p.add_argument("--seed", type=int, default=0, help="seed of the split, weights, shuffling and soft labels")
    p.add_argument("--preset", choices=tuple(PRESETS), default="paper",
                   help="paper (default): Adam 2e-4 constant, dropout 0.2; tuned: Adam 2e-3 with cosine decay, no "
                   "dropout; tuned-c: tuned, trained on n(z)/c; aligned: tuned-c on the contact-aligned "
                   "representation, SiLU, linear output")
    p.add_argument("--learning-rate", type=float, help="override the preset's initial learning rate")
    p.add_argument("--schedule", choices=SCHEDULES, help="override the preset's schedule")
    p.add_argument("--batch-size", type=int, help="override the preset's batch size")
    p.add_argument("--output-scale", choices=OUTPUT_SCALES,
                   help="override the preset's output scaling")
    p.add_argument("--dropout", type=float, help="override the dropout rate (0.2)")
    p.add_argument("--hidden", type=int, nargs="+", metavar="UNITS", help="hidden layer widths (default 256 512)")
    p.add_argument("--representation", choices=REPRESENTATIONS,
                   help="override the preset's outputs: bins (one per bin, any data) or aligned (each species' "
                   "profile in units of its diameter from the contact plane, averaged exactly over each sample's "
                   "bins; needs inputs h, d_plus, d_minus)")
    p.add_argument("--head", choices=HEADS, help="with --representation aligned: the profile's knot values from a "
                   "dense layer, or from a coordinate network of s (DeepONet style)")
    p.add_argument("--activation", choices=ACTIVATIONS, help="override the hidden layers' activation")
    p.add_argument("--output-activation", choices=OUTPUT_ACTIVATIONS, help="override the output activation")
    p.add_argument("--optimizer", choices=OPTIMIZERS, help="override the preset's optimizer")
    p.add_argument("--weight-decay", type=float, help="override AdamW's weight decay")
    p.add_argument("--final-learning-rate", type=float,
                   help="override where the cosine schedule ends (below --learning-rate)")
    p.add_argument("--patience", type=int, help="early stopping: epochs without a better validation MSE")
    p.add_argument("--test-fraction", type=float, default=0.2, help="held-out fraction (default 0.2)")
    p.add_argument("--checkpoint-every", type=int, default=25, help="epochs between checkpoints (default 25)")
    p.add_argument("--members", type=int, metavar="K",
                   help="train a deep ensemble of K >= 2 members (seeds SEED ... SEED+K-1, one common split); "
                   "it loads as one model (the member mean, or every member)")
    p.add_argument("--bootstrap", action="store_true",
                   help="with --members: train each member on a bootstrap resample of the training rows")
    _add_quiet_force(p)
    p.set_defaults(func=_cmd_train)


def _add_evaluate(sub) -> None:
    """The ``evaluate`` subcommand."""
    p = _subparser(
        sub,
        "evaluate",
        help="accuracy of a model on a training-data file (the paper's Eqs. 7-10)",
        description=(
            "Predict the samples of DATA with MODEL and write the paper's metrics (test MSE, RMSE per bin, "
            "per system, success rate, interface and bulk MSE), against the labels and, where the data have "
            "it, against the exact density_true."
        ),
    )
    p.add_argument("model", type=Path, metavar="MODEL", help="model directory")
    p.add_argument("data", type=Path, metavar="DATA", help="training-data netCDF file")
    p.add_argument("--out", type=Path, required=True, help="netCDF file for the metrics")
    p.add_argument("--split", choices=("auto", "test", "all"), default="auto",
                   help="test: the model's held-out samples (DATA must be its training data); all: every sample; "
                   "auto (default): test if DATA is the training data, else all")
    _add_quiet_force(p, quiet=False)
    p.set_defaults(func=_cmd_evaluate)


def _add_import_model(sub) -> None:
    """The ``import-model`` subcommand."""
    p = _subparser(
        sub,
        "import-model",
        help="convert a legacy Keras-2 surrogate and its scikit-learn scaler into a model directory",
        description=(
            "Convert a Keras-2 HDF5 model (which Keras 3 cannot load) and an old scikit-learn MinMaxScaler "
            "pickle (read with a restricted unpickler that accepts only the scaler's numbers and runs no code) "
            "into a uqsurrogate model directory. The defaults describe the nanoconfinement-md legacy surrogate."
        ),
        epilog=(
            "example:\n  uqsurrogate import-model --keras2 my_model.h5 --scaler scaler.pkl --out legacy/"
        ),
    )
    p.add_argument("--keras2", type=Path, required=True, help="Keras-2 HDF5 model file (.h5)")
    p.add_argument("--scaler", type=Path, required=True, help="joblib/pickle of a scikit-learn MinMaxScaler")
    p.add_argument("--out", type=Path, required=True, help="model directory to write")
    p.add_argument("--inputs", default="h,valency_cation,valency_anion,c,d",
                   help="input names in the network's order (default: h,valency_cation,valency_anion,c,d)")
    p.add_argument("--units", default="nm,1,1,mol/L,nm", help="their units (default: nm,1,1,mol/L,nm)")
    p.add_argument("--species", default="cation", help="what the outputs are, in equal blocks (default: cation)")
    p.add_argument("--z-start", default="h=-0.5",
                   help="first bin's left edge as a linear combination of inputs, nm (default: h=-0.5, i.e. -h/2)")
    p.add_argument("--z-width", default="d=0.02", help="bin width as a linear combination of inputs, nm "
                   "(default: d=0.02, the legacy front end's 0.02 d)")
    p.add_argument("--description", help="free text stored with the model")
    _add_quiet_force(p, quiet=False)
    p.set_defaults(func=_cmd_import_model)


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
            "  uqsurrogate sensitivity model/ --method nested --vary 'd_plus=normal(0.4,0.01)' "
            "--vary 'd_minus=normal(0.6,0.015)' --fix h=4.5 --fix c=0.3 --fix sigma=-0.015 "
            "--output charge_density --z -2.05 -1.95 -1.85 -1.55 -1.0 --samples 1000 --extrapolation warn "
            "--out sens.nc\n"
            "  (D- ~ N(0.6, 0.015) puts 2 % of its draws past the training range's 0.63 nm: --extrapolation warn "
            "evaluates them and says so)"
        ),
    )
    p.add_argument("model", type=Path, metavar="MODEL", help="model directory")
    p.add_argument("--method", choices=METHODS, default="sobol", help="default sobol")
    _add_problem_options(p)
    p.add_argument("--output", choices=OBSERVABLES, default="density",
                   help="what to analyse (default density)")
    p.add_argument("--species", nargs="+", help="for --output density: cation and/or anion")
    p.add_argument("--z", type=float, nargs="+", help="analyse only the bins nearest these z (nm)")
    p.add_argument("--bins", type=int, nargs="+", help="analyse only these bin indices")
    p.add_argument("--samples", type=int, default=1024,
                   help="nested: outer draws; sobol: base samples (a power of 2); pce: model evaluations "
                   "(default 1024)")
    p.add_argument("--inner", type=int, help="nested: inner draws (default = --samples)")
    p.add_argument("--order", type=int, default=4, help="pce: total polynomial degree (default 4)")
    p.add_argument("--second-order", action="store_true", help="sobol: also second-order indices")
    p.add_argument("--estimator", choices=tuple(ESTIMATORS), default="saltelli2010",
                   help="sobol: the estimator of S1 and ST (default saltelli2010, as SALib)")
    p.add_argument("--ci", choices=CI_METHODS, default="bootstrap",
                   help="sobol: intervals by bootstrap of base rows (default) or rqmc replicated scrambles")
    p.add_argument("--resamples", type=int,
                   help="bootstrap resamples, 0 for none (default: sobol 100, nested 200, pce 100)")
    p.add_argument("--conf-level", type=float, default=0.95, help="level of the intervals (default 0.95)")
    p.add_argument("--members", action="store_true",
                   help="for an ensemble: run on every member and report the member spread beside the sampling "
                   "intervals, and the resolution check where the ensemble is calibrated")
    p.add_argument("--replicates", type=int, default=8, help="sobol rqmc scrambles (default 8)")
    p.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    _add_extrapolation(p)
    p.add_argument("--out", type=Path, required=True, help="netCDF file for the results")
    _add_quiet_force(p)
    p.set_defaults(func=_cmd_sensitivity)


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
            "  uqsurrogate propagate model/ --vary 'd_plus=normal(0.4,0.01)' --vary 'd_minus=normal(0.6,0.015)' "
            "--fix h=4.5 --fix c=0.3 --fix sigma=-0.015 --output charge_density --n 20000 --extrapolation warn "
            "--out bands.nc\n"
            "  uqsurrogate plot bands.nc --out figures/"
        ),
    )
    p.add_argument("model", type=Path, metavar="MODEL", help="model directory")
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
    p.add_argument("--out", type=Path, required=True, help="netCDF file for the results")
    _add_quiet_force(p)
    p.set_defaults(func=_cmd_propagate)


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
    p.add_argument("--method", choices=METHODS, default="sobol", help="default sobol")
    _add_problem_options(p)
    p.add_argument("--model", type=Path, help="a model directory whose inputs order the design (optional)")
    p.add_argument("--samples", type=int, default=1024,
                   help="sobol: base samples (a power of 2); nested: outer draws; pce: points (default 1024)")
    p.add_argument("--inner", type=int, help="nested: inner draws (default = --samples)")
    p.add_argument("--second-order", action="store_true", help="sobol: rows for second-order indices too")
    p.add_argument("--ci", choices=CI_METHODS, default="bootstrap",
                   help="sobol: rqmc writes --replicates scrambled designs (default bootstrap: one)")
    p.add_argument("--replicates", type=int, default=8, help="sobol rqmc scrambles (default 8)")
    p.add_argument("--seed", type=int, help="seed of the design (default: fresh, recorded in the file)")
    p.add_argument("--out", type=Path, required=True, help="design file: .nc, or .csv/.txt/.tsv for a table")
    _add_quiet_force(p, quiet=False)
    p.set_defaults(func=_cmd_sample)


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
    p.add_argument("--estimator", choices=tuple(ESTIMATORS), default="saltelli2010",
                   help="sobol: the estimator of S1 and ST (default saltelli2010)")
    p.add_argument("--order", type=int, default=4, help="pce: total polynomial degree (default 4)")
    p.add_argument("--resamples", type=int,
                   help="bootstrap resamples, 0 for none (default: sobol 100, nested 200, pce 100)")
    p.add_argument("--conf-level", type=float, default=0.95, help="level of the intervals (default 0.95)")
    p.add_argument("--out", type=Path, required=True, help="netCDF file for the results")
    _add_quiet_force(p, quiet=False)
    p.set_defaults(func=_cmd_analyze)


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


def _add_calibrate(sub) -> None:
    """The ``calibrate`` subcommand."""
    p = _subparser(
        sub, "calibrate",
        help="calibrate an ensemble's spread on held-out data and store it with the ensemble",
        description=(
            "Compare an ensemble's member mean and spread with held-out data (density_true where present, else "
            "the labels) for densities, rho and S; fit a calibration map (scale or isotonic, whichever is better "
            "on a held-out half) and split-conformal quantiles, print their measured effect, and store them in "
            "ENSEMBLE/ensemble.json. The data must be new to the members: --training-data refuses shared rows."
        ),
        epilog="example:\n  uqsurrogate simulate --design random --n 256 --seed 7 --out calibration.nc\n"
               "  uqsurrogate calibrate ensemble/ calibration.nc --training-data grid.nc",
    )
    p.add_argument("model", type=Path, metavar="ENSEMBLE", help="ensemble directory (train --members K)")
    p.add_argument("data", type=Path, metavar="DATA", help="held-out training-data netCDF file")
    p.add_argument("--training-data", type=Path, help="the members' training data, to refuse shared input rows")
    p.add_argument("--alpha", type=float, default=0.1, help="conformal miscoverage (default 0.1: 90 %% intervals)")
    p.add_argument("--seed", type=int, default=0, help="seed of the held-out half split (default 0)")
    p.add_argument("--figure", type=Path, help="also draw the reliability diagrams into this file (.png or .pdf)")
    p.set_defaults(func=_cmd_calibrate)


def _add_info(sub) -> None:
    """The ``info`` subcommand."""
    p = _subparser(
        sub,
        "info",
        help="summarise a training-data file",
        description="Print the inputs and their ranges, the bins and the error levels of a training-data file, "
        "or every way it breaks the data contract.",
    )
    p.add_argument("path", nargs="?", metavar="FILE", help="a training-data netCDF file")
    p.add_argument("--example", metavar="NAME", choices=tuple(EXAMPLES),
                   help=f"a dataset shipped with the package instead: {', '.join(EXAMPLES)}")
    p.set_defaults(func=_cmd_info)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``uqsurrogate`` command."""
    parser = _Parser(
        prog="uqsurrogate",
        description="Uncertainty quantification and sensitivity analysis around ML surrogates of MD simulations.",
    )
    parser.add_argument("--version", action="version", version=f"uqsurrogate {__version__}")
    for action in _common_options(suppress=False)._actions:
        parser._add_action(action)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    _add_import_md(sub)
    _add_simulate(sub)
    _add_train(sub)
    _add_evaluate(sub)
    _add_import_model(sub)
    _add_sensitivity(sub)
    _add_propagate(sub)
    _add_sample(sub)
    _add_analyze(sub)
    _add_study(sub)
    _add_plot(sub)
    _add_calibrate(sub)
    _add_info(sub)
    for name, p in sub.choices.items():
        _apply_ranges(name, p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``uqsurrogate`` command; return its exit status."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # --help, --version (0) or a usage error, already printed in one line (2)
        return int(done.code or 0)
    args.argv = argv
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")

    def show_warning(message, category, filename, lineno, file=None, line=None):
        # one line per warning, without the source line a library user cannot act on
        where = f" ({filename}:{lineno})" if args.debug else ""
        print(f"uqsurrogate {args.command}: warning: {message}{where}", file=sys.stderr)

    try:
        with warnings.catch_warnings():  # restores the default display on the way out
            warnings.showwarning = show_warning
            return int(args.func(args))
    except (UQSurrogateError, OSError) as err:  # the user's input, or the file system: one line
        if args.debug:
            raise
        print(f"uqsurrogate {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"uqsurrogate {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
