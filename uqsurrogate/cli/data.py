"""Subcommands that make data and models from outside: ``import-md``, ``simulate``, ``import-model``."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from .._memory import physical_memory, refuse_beyond_memory
from .._version import __version__
from ..data.lammps import ERROR_METHODS
from ..errors import UsageError
from ..simulators.electrolyte import SOLVER_FUNCTIONALS, WALLS
from ._common import (_add_out, _add_quiet_force, _now, _parse_linear, _refuse_overwrite, _subparser,
                      parse_inputs)


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
    _add_out(p, "netCDF file to write", _cmd_import_md, quiet=False)


def _cmd_import_md(args: argparse.Namespace) -> int:
    from ..data.io import save_dataset
    from ..data.lammps import read_lammps_run
    from ..data.runs import runs_to_dataset
    from ..data.tables import read_run_folder, read_table_run

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


def _cmd_simulate(args: argparse.Namespace) -> int:
    from ..simulators import ElectrolyteSimulator, NoiseModel, SlitModel, simulate
    from ..simulators.design import paper_grid, random_design, read_design, sobol_design

    _refuse_overwrite(args)  # first: --out . or / has no name to put .parts after
    parts = args.out.with_name(args.out.name + ".parts")
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
        # the design (5 inputs) and the dataset (density, its error and the exact one, 2 species): refused at once
        per_sample = 8 * (5 + 6 * args.bins)
        fit = int(physical_memory() // 2 // per_sample)
        refuse_beyond_memory(float(args.n) * per_sample, f"--n {args.n} samples of --bins {args.bins}",
                             f"use --n <= {fit}" if fit >= 1 else "use fewer --bins")
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


def _cmd_import_model(args: argparse.Namespace) -> int:
    from ..model_function import ModelFunction
    from ..surrogate.legacy import import_legacy_model

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
