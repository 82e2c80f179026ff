"""What every subcommand shares: the usage errors about --out, input parsing, numeric ranges, parser helpers."""

from __future__ import annotations

import argparse
import datetime
import math
from pathlib import Path

from .._atomic import special_kind
from ..errors import InputError, UsageError
from ..model_function import EXTRAPOLATION

_INPUTS_HELP = "inputs as NAME=VALUE pairs joined by commas, e.g. h=4.5,c=0.5,d_plus=0.4,d_minus=0.6,sigma=-0.015"


#: What every model argument's help says about the names of the shipped model.
MODEL_HELP = "or default (the shipped, calibrated five-member ensemble; also: shipped)"


def model_arg(text: str) -> Path:
    """An argparse type: a model or ensemble directory, or a name of the shipped model (``default``)."""
    from ..datasets import model_path

    return model_path(text)


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
    """Nothing is replaced without --force, --out is never an input or a folder holding one, a file
    never becomes a folder (``directory``: the command writes one) or back, and an --out that is neither
    a regular file nor a folder (a device, a pipe, a socket) is never replaced."""
    _refuse_input_as_out(args)
    kind = special_kind(args.out)
    if kind is not None:  # a device (/dev/null), a pipe, a socket: never replaced, even with --force
        raise UsageError(f"--out {args.out} is {kind}, not {'a folder' if directory else 'a regular file'}; "
                         "this command never replaces it, even with --force: write elsewhere")
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
    from ..conventions import INPUTS

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


def _problem(args: argparse.Namespace, names: list[str] | None = None, units: list[str] | None = None):
    """The Problem of ``--problem FILE`` or ``--vary``/``--fix``, in the model's input order.

    Without a model (``names`` None) the order is the file's, then ``--fix``; or the order given.
    """
    from ..problem import Problem, _check_name, parse_distribution

    given: dict[str, object] = {}
    for option, items in (("--vary", args.vary), ("--fix", args.fix)):
        for item in items or []:
            name, sep, spec = item.partition("=")
            if not sep:
                raise UsageError(f"{option} {item!r} is not NAME=SPEC")
            if name in given:
                raise UsageError(f"input {name!r} is given twice")
            try:
                _check_name(name)
                given[name] = parse_distribution(spec)
            except InputError as err:
                raise UsageError(f"{option} {item}: {err}") from None
    if args.problem is not None:
        if args.vary:
            raise UsageError("--problem FILE gives the varied inputs; --vary does not go with it (use --fix for the "
                             "inputs the file does not name)")
        try:
            return Problem.from_file(args.problem, fixed={n: d.value for n, d in given.items()}, order=names,
                                     units=dict(zip(names, units)) if names else None)
        except InputError as err:
            text = str(err).removeprefix(f"problem file {args.problem}: ")
            raise UsageError(f"--problem {args.problem}: {text}") from None
    if names is None:
        if not given:
            raise UsageError("give the inputs: --vary NAME=DIST and --fix NAME=VALUE, or --problem FILE")
        return Problem(given)
    missing = [n for n in names if n not in given]
    unknown = [n for n in given if n not in names]
    if missing or unknown:
        raise UsageError(f"the model's inputs are {names}: " + "; ".join(
            ([f"give --vary or --fix for {missing}"] if missing else []) + ([f"unknown {unknown}"] if unknown else [])))
    return Problem({n: given[n] for n in names}, units=dict(zip(names, units)))


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
#: of one subcommand that differs from the others is keyed (command, option).  A sensitivity method's
#: own options carry their range in its spec (:class:`uqsurrogate.sensitivity.registry.Option`).
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
    "--resamples": (int, 0, None), "--conf-level": (float, 0, 1, "neither"), "--quantiles": (float, 0, 1, "neither"),
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


def _add_out(p: argparse.ArgumentParser, help: str, func, quiet: bool = True) -> None:
    """--out FILE, --quiet and --force, and the handler: how most subcommands end."""
    p.add_argument("--out", type=Path, required=True, help=help)
    _add_quiet_force(p, quiet=quiet)
    p.set_defaults(func=func)


def _model_and_problem(args: argparse.Namespace):
    """The model of ``args.model`` (with ``--extrapolation``) and the Problem in its input order."""
    from ..model_function import ModelFunction

    f = ModelFunction.from_artifact(args.model, extrapolation=args.extrapolation)
    return f, _problem(args, f.input_names, f.input_units)


def _add_quiet_force(p: argparse.ArgumentParser, quiet: bool = True) -> None:
    """The options every writing subcommand shares."""
    if quiet:
        p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")


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
