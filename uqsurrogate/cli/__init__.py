"""The ``uqsurrogate`` command line: a thin layer over the Python API.

Every subcommand has ``--help``; its parser is built by its own ``_add_*`` function, beside
its ``_cmd_*`` handler, in the module of its job (:mod:`.data`, :mod:`.model`,
:mod:`.sensitivity`, :mod:`.analysis`, :mod:`.study`, :mod:`.active`; what they share is in
:mod:`._common`), with the choices imported from the modules that define them.  Errors in
what the user gave (the package's :class:`~uqsurrogate.errors.UQSurrogateError`: a bad
file, a value out of range) and the file system's errors (a missing file, a full disk)
print one clear line and exit with status 2; ``--debug`` shows the traceback.  Any other
exception is a bug and shows its traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from collections.abc import Sequence

from .._version import __version__
from ..errors import UQSurrogateError
from . import active, analysis, data, model, sensitivity, study
from ._common import _RANGES, _Parser, _apply_ranges, _common_options, parse_inputs  # noqa: F401 (the range table)

__all__ = ["build_parser", "main", "parse_inputs"]

logger = logging.getLogger("uqsurrogate")


#: The subcommands' parser builders, in the order ``uqsurrogate --help`` lists them.
_SUBCOMMANDS = (data._add_import_md, data._add_simulate, model._add_train, model._add_evaluate,
                data._add_import_model, sensitivity._add_sensitivity, analysis._add_propagate, sensitivity._add_sample,
                sensitivity._add_analyze, study._add_study, active._add_active, analysis._add_plot, model._add_calibrate,
                model._add_info)


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
    for add in _SUBCOMMANDS:
        add(sub)
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
