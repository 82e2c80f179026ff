"""Problem: named inputs, their units, and a distribution or fixed value for each.

A :class:`Problem` validates on construction and converts, in one place, to the forms
the libraries want: :meth:`Problem.to_salib` (SALib's problem dict, for the Saltelli
sampler), :meth:`Problem.marginals_chaospy` (chaospy distributions, for polynomial
chaos), and :meth:`Problem.ppf` (SciPy inverse CDFs, to map uniform or QMC points to the
inputs).  :meth:`Problem.full` inserts the fixed inputs, giving the model's (n, d) matrix.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from .errors import InputError, InputTypeError

__all__ = ["Fixed", "Normal", "Problem", "TruncNormal", "Uniform", "parse_distribution"]


@dataclass(frozen=True)
class Normal:
    """Normal distribution N(mean, sd²)."""

    mean: float
    sd: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.mean) and self.sd > 0 and math.isfinite(self.sd)):
            raise InputError(f"normal(mean={self.mean}, sd={self.sd}): sd must be a finite number > 0")

    def scipy(self):
        return stats.norm(self.mean, self.sd)

    def salib(self) -> tuple[str, list[float]]:
        return "norm", [self.mean, self.sd]

    def chaospy(self):
        import chaospy

        return chaospy.Normal(self.mean, self.sd)


@dataclass(frozen=True)
class Uniform:
    """Uniform distribution on [low, high]."""

    low: float
    high: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
            raise InputError(f"uniform(low={self.low}, high={self.high}): need finite low < high")

    def scipy(self):
        return stats.uniform(self.low, self.high - self.low)

    def salib(self) -> tuple[str, list[float]]:
        return "unif", [self.low, self.high]

    def chaospy(self):
        import chaospy

        return chaospy.Uniform(self.low, self.high)


@dataclass(frozen=True)
class TruncNormal:
    """Normal(mean, sd²) truncated to [low, high]."""

    mean: float
    sd: float
    low: float
    high: float

    def __post_init__(self) -> None:
        if not (self.sd > 0 and self.low < self.high):
            raise InputError(
                f"truncnormal(mean={self.mean}, sd={self.sd}, low={self.low}, high={self.high}): need sd > 0 and "
                "low < high"
            )

    def scipy(self):
        return stats.truncnorm((self.low - self.mean) / self.sd, (self.high - self.mean) / self.sd,
                               loc=self.mean, scale=self.sd)

    def salib(self) -> tuple[str, list[float]]:
        return "truncnorm", [self.low, self.high, self.mean, self.sd]

    def chaospy(self):
        import chaospy

        return chaospy.TruncNormal(self.low, self.high, self.mean, self.sd)


@dataclass(frozen=True)
class Fixed:
    """A fixed value: the input is not varied."""

    value: float

    def __post_init__(self) -> None:
        if not math.isfinite(self.value):
            raise InputError(f"fixed value {self.value!r} is not a finite number")


_SPEC = re.compile(r"^\s*(?P<kind>[a-z_]+)\s*\((?P<args>[^()]*)\)\s*$")


def parse_distribution(text: str):
    """Parse ``normal(0.4, 0.01)``, ``uniform(0.2, 0.63)``, ``truncnormal(m, s, lo, hi)`` or a number.

    Returns
    -------
    Normal, Uniform, TruncNormal or Fixed

    Examples
    --------
    >>> parse_distribution("normal(0.4, 0.01)")
    Normal(mean=0.4, sd=0.01)
    >>> parse_distribution("4.5")
    Fixed(value=4.5)
    """
    text = str(text).strip()
    try:
        return Fixed(float(text))
    except ValueError:
        pass
    m = _SPEC.match(text.lower())
    if not m:
        raise InputError(f"{text!r}: expected a number or normal(mean, sd), uniform(low, high), "
                         "truncnormal(mean, sd, low, high)")
    try:
        args = [float(a) for a in m["args"].split(",")]
    except ValueError:
        raise InputError(f"{text!r}: the arguments must be numbers") from None
    kinds = {"normal": (Normal, 2), "uniform": (Uniform, 2), "truncnormal": (TruncNormal, 4)}
    if m["kind"] not in kinds:
        raise InputError(f"{text!r}: unknown distribution {m['kind']!r}; use normal, uniform or truncnormal")
    cls, n = kinds[m["kind"]]
    if len(args) != n:
        raise InputError(f"{text!r}: {m['kind']} takes {n} numbers, got {len(args)}")
    return cls(*args)


class Problem:
    """Named inputs with units and a distribution or a fixed value each.

    Parameters
    ----------
    inputs : mapping of str to distribution, number or str
        In the model's input order.  Numbers become :class:`Fixed`; strings are parsed
        with :func:`parse_distribution`.
    units : mapping of str to str, optional
        Units of each input (default: the training-data contract's, where known).

    Attributes
    ----------
    names : list of str
        All inputs, in the model's order.
    varied : list of str
        The inputs with a distribution.
    """

    def __init__(self, inputs: Mapping[str, object], units: Mapping[str, str] | None = None):
        from .data.schema import INPUTS

        if not inputs:
            raise InputError("inputs is empty: a Problem needs at least one input")
        self.dists = {}
        for name, spec in inputs.items():
            if isinstance(spec, (Normal, Uniform, TruncNormal, Fixed)):
                self.dists[name] = spec
            elif isinstance(spec, (int, float, np.floating, np.integer)) and not isinstance(spec, bool):
                self.dists[name] = Fixed(float(spec))
            elif isinstance(spec, str):
                self.dists[name] = parse_distribution(spec)
            else:
                raise InputTypeError(f"input {name!r}: {spec!r} is not a distribution, a number or a spec string")
        self.names = list(self.dists)
        self.varied = [n for n, d in self.dists.items() if not isinstance(d, Fixed)]
        if not self.varied:
            raise InputError("no input is varied: give at least one a distribution")
        units = dict(units or {})
        self.units = {n: units.get(n, INPUTS[n].units if n in INPUTS else "") for n in self.names}

    def __repr__(self) -> str:
        return f"Problem({', '.join(f'{n}={d}' for n, d in self.dists.items())})"

    @property
    def fixed(self) -> dict[str, float]:
        return {n: d.value for n, d in self.dists.items() if isinstance(d, Fixed)}

    def check_names(self, model_inputs: Sequence[str]) -> None:
        """Check the Problem names exactly the model's inputs, in order."""
        if list(model_inputs) != self.names:
            missing = [n for n in model_inputs if n not in self.names]
            extra = [n for n in self.names if n not in model_inputs]
            raise InputError(
                f"the Problem's inputs {self.names} must be the model's {list(model_inputs)} in that order"
                + (f"; missing {missing}" if missing else "") + (f"; unknown {extra}" if extra else "")
            )

    def to_salib(self) -> dict:
        """SALib's problem dict for the varied inputs (with ``dists``)."""
        pairs = [self.dists[n].salib() for n in self.varied]
        return {"num_vars": len(self.varied), "names": list(self.varied),
                "bounds": [b for _, b in pairs], "dists": [d for d, _ in pairs]}

    def marginals_chaospy(self) -> list:
        """chaospy distributions of the varied inputs, in order."""
        return [self.dists[n].chaospy() for n in self.varied]

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Map points of the unit cube (n, n_varied) to the varied inputs (n, n_varied)."""
        u = np.asarray(u, dtype=float)
        if u.ndim != 2 or u.shape[1] != len(self.varied):
            raise InputError(f"u has shape {u.shape}; expected (n, {len(self.varied)})")
        return np.stack([self.dists[n].scipy().ppf(u[:, k]) for k, n in enumerate(self.varied)], axis=1)

    def sample(self, n: int, seed=None) -> np.ndarray:
        """Independent draws of the varied inputs, shape (n, n_varied)."""
        from ._random import as_generator

        return self.ppf(as_generator(seed).random((int(n), len(self.varied))))

    def full(self, varied: np.ndarray) -> np.ndarray:
        """Insert the fixed inputs: (n, n_varied) -> (n, n_inputs) in the model's order."""
        varied = np.asarray(varied, dtype=float)
        out = np.empty((varied.shape[0], len(self.names)))
        for k, name in enumerate(self.names):
            if name in self.varied:
                out[:, k] = varied[:, self.varied.index(name)]
            else:
                out[:, k] = self.dists[name].value
        return out

    def to_json(self) -> str:
        """The Problem as JSON (stored in every result's attributes)."""
        def enc(d):
            return {"kind": type(d).__name__.lower(), **d.__dict__}

        return json.dumps({"inputs": {n: enc(d) for n, d in self.dists.items()}, "units": self.units})

    @classmethod
    def from_json(cls, text: str) -> Problem:
        """The Problem that :meth:`to_json` wrote (every result stores one in ``attrs["problem"]``).

        Examples
        --------
        >>> p = Problem({"h": 4.5, "d_plus": Normal(0.4, 0.01)})
        >>> Problem.from_json(p.to_json()).to_json() == p.to_json()
        True
        """
        kinds = {"normal": Normal, "uniform": Uniform, "truncnormal": TruncNormal, "fixed": Fixed}
        try:
            data = json.loads(text)
            inputs = {}
            for name, spec in data["inputs"].items():
                spec = dict(spec)
                kind = spec.pop("kind")
                if kind not in kinds:
                    raise InputError(f"problem JSON: input {name!r} has kind {kind!r}; known: {', '.join(kinds)}")
                inputs[name] = kinds[kind](**spec)
            return cls(inputs, units=data.get("units"))
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as err:
            raise InputError(f"not a Problem's JSON ({type(err).__name__}: {err})") from None
