"""Exception classes of uqsurrogate, all in one place.

Everything the package raises because of what a user gave it (an argument out of range,
a broken file, a model that does not fit the data) is a :class:`UQSurrogateError`.  The
command line reports those as one line and exits with status 2; any other exception is a
bug and shows its traceback.  The subclasses also derive from the built-in type a Python
user would expect, so ``except ValueError`` keeps working.
"""

from __future__ import annotations

__all__ = ["InputError", "InputTypeError", "MissingDependencyError", "UQSurrogateError"]


class UQSurrogateError(Exception):
    """Base class of every error that uqsurrogate raises about its user's input."""


class InputError(UQSurrogateError, ValueError):
    """An argument, a file's content or an option has a value that is not allowed."""


class InputTypeError(UQSurrogateError, TypeError):
    """An argument has a type that is not allowed."""


class MissingDependencyError(UQSurrogateError, ImportError):
    """An optional dependency (an extra) is not installed; the message names the extra."""
