"""Exception classes of uqsurrogate, all in one place.

Everything the package raises because of what a user gave it (an argument out of range,
a broken file, a model that does not fit the data) is a :class:`UQSurrogateError`.  The
command line reports those as one line and exits with status 2; any other exception is a
bug and shows its traceback.  The subclasses also derive from the built-in type a Python
user would expect, so ``except ValueError`` keeps working.
"""

from __future__ import annotations

import pickle

__all__ = ["ArtifactError", "ConvergenceError", "DataContractError", "InputError", "InputTypeError", "LockedError",
           "MissingDependencyError", "UQSurrogateError", "UnsafePickleError", "UsageError"]


class UQSurrogateError(Exception):
    """Base class of every error that uqsurrogate raises about its user's input."""


class InputError(UQSurrogateError, ValueError):
    """An argument, a file's content or an option has a value that is not allowed."""


class InputTypeError(UQSurrogateError, TypeError):
    """An argument has a type that is not allowed."""


class MissingDependencyError(UQSurrogateError, ImportError):
    """An optional dependency (an extra) is not installed; the message names the extra."""


class UsageError(InputError):
    """A problem with the command line itself (an option, or options that do not go together)."""


class ArtifactError(InputError):
    """A model directory is missing, corrupted, or of another format version."""


class DataContractError(InputError):
    """A Dataset breaks the training-data contract (:mod:`uqsurrogate.data.schema`).

    Attributes
    ----------
    problems : list of str
        Every problem found, each naming the variable and what is wrong.
    """

    def __init__(self, problems: list[str], what: str = "dataset"):
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(
            f"{what} breaks the training-data contract ({len(self.problems)} "
            f"problem{'s' if len(self.problems) != 1 else ''}):\n{lines}"
        )


class LockedError(UQSurrogateError, RuntimeError):
    """Another process is writing the same output: its lock file (``OUT.lock``) names it.

    Attributes
    ----------
    lock : pathlib.Path
        The lock file.
    owner : dict
        What it records of its writer: ``pid``, ``host``, ``started`` (where readable).
    """

    def __init__(self, message: str, lock=None, owner: dict | None = None):
        super().__init__(message)
        self.lock = lock
        self.owner = dict(owner or {})


class ConvergenceError(UQSurrogateError, RuntimeError):
    """The simulator's Euler-Lagrange iteration did not reach its tolerance."""


class UnsafePickleError(UQSurrogateError, pickle.UnpicklingError):
    """A pickle asks for something outside the allow-list; nothing was executed."""
