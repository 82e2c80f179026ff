"""Subcommands about one model or one data file: ``train``, ``evaluate``, ``calibrate``, ``info``."""

from __future__ import annotations

import argparse
from pathlib import Path

from .._atomic import output_lock
from ..datasets import EXAMPLES
from ..errors import InputError, UsageError
from ..surrogate.losses import LOSSES
from ..surrogate.network import ACTIVATIONS, OUTPUT_ACTIVATIONS
from ..surrogate.training import HEADS, OPTIMIZERS, OUTPUT_SCALES, PRESETS, REPRESENTATIONS, SCHEDULES
from ..surrogate.metrics import SPLITS
from ._common import MODEL_HELP, _add_quiet_force, _refuse_overwrite, _subparser, model_arg


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


def _cmd_train(args: argparse.Namespace) -> int:
    from ..data.io import load_dataset
    from ..surrogate import PRESETS, SurrogateTrainer, TrainingConfig

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
        from ..surrogate.ensemble import train_ensemble

        train_ensemble(config, ds, args.out, members=args.members, bootstrap=args.bootstrap, overwrite=args.force,
                       progress=None if not args.quiet else False)
        print(f"wrote {args.out}: an ensemble of {args.members} {config.loss}-loss members, seeds {args.seed} to "
              f"{args.seed + args.members - 1}" + (", each on a bootstrap resample" if args.bootstrap else ""))
        return 0
    checkpoint = args.out.with_name(args.out.name + ".checkpoint")
    with output_lock(args.out, "train", parents=True):  # one run per --out: a second is refused at once
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


def _add_evaluate(sub) -> None:
    """The ``evaluate`` subcommand."""
    p = _subparser(
        sub,
        "evaluate",
        help="accuracy of a model or ensemble on a training-data file (the paper's Eqs. 7-10)",
        description=(
            "Predict the samples of DATA with MODEL (an ensemble: its member mean) and write the paper's metrics "
            "(test MSE, RMSE per bin, per system, success rate, interface and bulk MSE), against the labels and, "
            "where the data have it, against the exact density_true."
        ),
        epilog="example:\n  uqsurrogate simulate --design random --n 32 --seed 5 --out fresh.nc\n"
               "  uqsurrogate evaluate default fresh.nc --out metrics.nc --members",
    )
    p.add_argument("model", type=model_arg, metavar="MODEL", help=f"model or ensemble directory, {MODEL_HELP}")
    p.add_argument("data", type=Path, metavar="DATA", help="training-data netCDF file")
    p.add_argument("--out", type=Path, required=True, help="netCDF file for the metrics")
    p.add_argument("--split", choices=SPLITS, default="auto",
                   help="test: the model's held-out samples (DATA must be its training data); all: every sample; "
                   "auto (default): test if DATA is the training data, else all")
    p.add_argument("--members", action="store_true",
                   help="an ensemble: also each member's metrics (variables NAME_member along dim member)")
    _add_quiet_force(p, quiet=False)
    p.set_defaults(func=_cmd_evaluate)


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from ..data.io import load_dataset, save_results
    from ..surrogate import evaluate_model

    _refuse_overwrite(args)
    ds = load_dataset(args.data)
    metrics = evaluate_model(args.model, ds, split=args.split, members=args.members)
    metrics.attrs.update({"model": str(args.model), "data": str(args.data)})
    save_results(metrics, args.out)
    rows = [("mean" if metrics.attrs["members"] > 1 else "model", metrics, "")]
    if args.members:
        rows += [(str(m), metrics.sel(member=m), "_member") for m in metrics["member"].values]
    for ref in metrics["reference"].values:
        for who, m, suffix in rows:
            m = m.sel(reference=ref)
            print(
                f"{ref:>6} {who:>9}: MSE {float(m['mse' + suffix]):.3g} (mol/L)^2, RMSE+ "
                f"{float(m['rmse_mean' + suffix][0]):.3g} RMSE- {float(m['rmse_mean' + suffix][1]):.3g} mol/L, "
                f"success rate {float(m['success_rate_mean' + suffix]):.3f} (measured bins "
                f"{float(m['success_rate_measured_mean' + suffix]):.3f})"
            )
    n = metrics.attrs["members"]
    print(f"wrote {args.out} ({metrics.attrs['split']} split, {metrics.sizes['sample']} samples"
          + (f", the mean of {n} members" if n > 1 else "") + ")")
    return 0


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
    p.add_argument("model", type=model_arg, metavar="ENSEMBLE", help="ensemble directory (train --members K); "
                   "the shipped one (default) is calibrated already and part of the installed package: copy it "
                   "first to calibrate it anew")
    p.add_argument("data", type=Path, metavar="DATA", help="held-out training-data netCDF file")
    p.add_argument("--training-data", type=Path, help="the members' training data, to refuse shared input rows")
    p.add_argument("--alpha", type=float, default=0.1, help="conformal miscoverage (default 0.1: 90 %% intervals)")
    p.add_argument("--seed", type=int, default=0, help="seed of the held-out half split (default 0)")
    p.add_argument("--figure", type=Path, help="also draw the reliability diagrams into this file (.png or .pdf)")
    p.set_defaults(func=_cmd_calibrate)


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from ..data.io import load_dataset
    from ..model_function import ModelFunction
    from ..datasets import model_path
    from ..surrogate.ensemble import is_ensemble
    from ..uncertainty.fit import calibrate_ensemble, write_calibration

    if args.model == model_path("default"):
        raise UsageError(f"calibrate writes into the ensemble, and the shipped one ({args.model}) is part of the "
                         f"installed package (and calibrated already): copy it first, cp -r {args.model} ens, and "
                         "calibrate ens")
    if not is_ensemble(args.model):
        raise UsageError(f"{args.model} is not an ensemble directory (train one with --members K)")
    with output_lock(args.model, "calibrate"):  # no other calibrate, or train --out, of this ensemble meanwhile
        f = ModelFunction.from_artifact(args.model)
        data = load_dataset(args.data)
        training = load_dataset(args.training_data) if args.training_data else None
        try:
            result = calibrate_ensemble(f, data, alpha=args.alpha, training_data=training, seed=args.seed)
        except InputError as err:  # about the data given: name the file
            raise UsageError(f"{args.data}: {err}") from None
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
        from ..plotting import plot_reliability

        plot_reliability(result).savefig(args.figure, dpi=130, bbox_inches="tight")
        print(f"wrote {args.figure}")
    return 0


def _add_info(sub) -> None:
    """The ``info`` subcommand."""
    p = _subparser(
        sub,
        "info",
        help="say what a file or model is and summarise it",
        description="Recognise FILE (training data, a sensitivity result, propagation bands, a design, accuracy "
        "metrics, a model or ensemble directory) and summarise it in its own terms: the problem, method, sizes, "
        "headline indices with their intervals and flags, and provenance. Training data are checked against the "
        "contract: every way they break it is listed, and the exit status is 1.",
        epilog="example:\n  uqsurrogate info --model default\n  uqsurrogate info --example real-md",
    )
    p.add_argument("path", nargs="?", metavar="FILE", help="a netCDF file the toolkit reads or writes, or a model "
                   "directory")
    p.add_argument("--example", metavar="NAME", choices=tuple(EXAMPLES),
                   help=f"a dataset shipped with the package instead: {', '.join(EXAMPLES)}")
    p.add_argument("--model", type=model_arg, metavar="MODEL",
                   help=f"a model or ensemble directory instead, {MODEL_HELP}")
    p.set_defaults(func=_cmd_info)


def _cmd_info(args: argparse.Namespace) -> int:
    from ..datasets import example_path
    from ..info import describe_file, describe_model

    if sum(x is not None for x in (args.path, args.example, args.model)) != 1:
        raise UsageError("give one of FILE, --example NAME or --model NAME|DIR")
    if args.model is not None or (args.path is not None and Path(args.path).is_dir()):
        print(describe_model(args.model if args.model is not None else Path(args.path)))
        return 0
    summary = describe_file(example_path(args.example) if args.example else Path(args.path))
    if args.example:
        summary.text = summary.text.replace(str(example_path(args.example)), args.example, 1)
    print(summary.text)
    return 1 if summary.problems else 0
