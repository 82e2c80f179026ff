"""Warning classes of uqsurrogate, all in one place.

Filter them as a group with ``warnings.simplefilter("ignore", UQSurrogateWarning)``.
"""

__all__ = [
    "UQSurrogateWarning",
    "ExtrapolationWarning",
    "IntegrityWarning",
]


class UQSurrogateWarning(UserWarning):
    """Base class of every warning that uqsurrogate issues."""


class ExtrapolationWarning(UQSurrogateWarning):
    """A model is evaluated outside the input ranges it was trained on."""


class IntegrityWarning(UQSurrogateWarning):
    """An artifact loads, but part of it cannot be checked (an old format without a digest)."""
