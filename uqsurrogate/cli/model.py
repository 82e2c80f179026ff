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
from ._common import _add_quiet_force, _refuse_overwrite, _subparser


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


def _cmd_evaluate(args: argparse.Namespace) -> int:
    import numpy as np

    from ..data.io import load_dataset, save_results
    from ..data.schema import input_names
    from ..surrogate import load_artifact, surrogate_metrics
    from ..surrogate.training import data_digest

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


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from ..data.io import load_dataset
    from ..model_function import ModelFunction
    from ..surrogate.ensemble import is_ensemble
    from ..uncertainty.fit import calibrate_ensemble, write_calibration

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
        help="summarise a training-data file",
        description="Print the inputs and their ranges, the bins and the error levels of a training-data file, "
        "or every way it breaks the data contract.",
    )
    p.add_argument("path", nargs="?", metavar="FILE", help="a training-data netCDF file")
    p.add_argument("--example", metavar="NAME", choices=tuple(EXAMPLES),
                   help=f"a dataset shipped with the package instead: {', '.join(EXAMPLES)}")
    p.set_defaults(func=_cmd_info)


def _cmd_info(args: argparse.Namespace) -> int:
    from ..data.io import load_dataset
    from ..data.schema import check
    from ..data.summary import summarize
    from ..datasets import example_path

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
