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
from dataclasses import dataclass, fields

import numpy as np
from scipy import stats

from ._validation import check_float
from .errors import InputError, InputTypeError

__all__ = ["KINDS", "Fixed", "LogNormal", "LogUniform", "Normal", "Problem", "Triangular", "TruncNormal", "Uniform",
           "parse_distribution"]


def _check_parameters(dist: object, kind: str, **ranges: tuple) -> None:
    """Each named parameter of ``dist`` a finite number in its range (``check_float``'s (low, high, closed)),
    the message prefixed with the distribution as written."""
    label = f"{kind}({', '.join(f'{f.name}={getattr(dist, f.name)}' for f in fields(dist))})"
    for name, bounds in ranges.items():
        try:
            check_float(getattr(dist, name), name, *bounds)
        except InputError as err:
            raise type(err)(f"{label}: {err}") from None


def _log_normal_mass(a: float, b: float) -> float:
    """log(Φ(b) - Φ(a)) for a < b, accurate in both tails (-inf where double precision holds no mass)."""
    from scipy.special import log_ndtr, ndtr

    if a >= 0:  # the upper tail, mirrored into the lower one
        a, b = -b, -a
    if b <= 0:
        upper, lower = log_ndtr(b), log_ndtr(a)
        with np.errstate(divide="ignore"):
            return float(upper + np.log1p(-np.exp(lower - upper))) if upper > -np.inf else -math.inf
    with np.errstate(divide="ignore"):
        return float(np.log1p(-ndtr(a) - ndtr(-b)))


@dataclass(frozen=True)
class Normal:
    """Normal distribution N(mean, sd²)."""

    mean: float
    sd: float

    def __post_init__(self) -> None:
        _check_parameters(self, "normal", mean=(), sd=(0, None, "neither"))

    def scipy(self):
        return stats.norm(self.mean, self.sd)

    def salib(self) -> tuple[str, list[float]]:
        return "norm", [self.mean, self.sd]

    @classmethod
    def from_salib(cls, bounds: Sequence[float]) -> Normal:
        return cls(*bounds)

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

    @classmethod
    def from_salib(cls, bounds: Sequence[float]) -> Uniform:
        return cls(*bounds)

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
        _check_parameters(self, "truncnormal", mean=(), sd=(0, None, "neither"), low=(), high=())
        label = f"truncnormal(mean={self.mean}, sd={self.sd}, low={self.low}, high={self.high})"
        if not self.low < self.high:
            raise InputError(f"{label}: need low < high")
        # the range must hold probability that double precision can represent, or the draws are NaN or inf
        with np.errstate(over="ignore"):
            a, b = (self.low - self.mean) / self.sd, (self.high - self.mean) / self.sd
        log_mass = _log_normal_mass(a, b) if math.isfinite(a) and math.isfinite(b) else -math.inf
        middle = float(self.scipy().ppf(0.5)) if log_mass > -math.inf else math.nan
        if not (log_mass > -math.inf and self.low <= middle <= self.high):
            raise InputError(f"{label}: [low, high] lies {min(abs(a), abs(b)):.3g} sd from the mean and holds no "
                             "probability mass that double precision can represent (its draws would be NaN or "
                             "inf); move the range nearer the mean or widen sd")

    def scipy(self):
        return stats.truncnorm((self.low - self.mean) / self.sd, (self.high - self.mean) / self.sd,
                               loc=self.mean, scale=self.sd)

    def salib(self) -> tuple[str, list[float]]:
        return "truncnorm", [self.low, self.high, self.mean, self.sd]

    @classmethod
    def from_salib(cls, bounds: Sequence[float]) -> TruncNormal:
        if len(bounds) != 4:
            raise InputError(f"SALib truncnorm bounds {list(bounds)}: expected [low, high, mean, sd]")
        low, high, mean, sd = bounds
        return cls(mean, sd, low, high)

    def chaospy(self):
        import chaospy

        return chaospy.TruncNormal(self.low, self.high, self.mean, self.sd)


@dataclass(frozen=True)
class LogNormal:
    """Log-normal: ln X ~ N(mu, sigma²) (SALib's ``lognorm``, chaospy's and NumPy's parameters)."""

    mu: float
    sigma: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.mu) and math.isfinite(self.sigma) and self.sigma > 0):
            raise InputError(f"lognormal(mu={self.mu}, sigma={self.sigma}): need finite mu and sigma > 0 (the "
                             "mean and sd of ln X)")

    def scipy(self):
        return stats.lognorm(self.sigma, scale=math.exp(self.mu))

    def salib(self) -> tuple[str, list[float]]:
        return "lognorm", [self.mu, self.sigma]

    @classmethod
    def from_salib(cls, bounds: Sequence[float]) -> LogNormal:
        return cls(*bounds)

    def chaospy(self):
        import chaospy

        return chaospy.LogNormal(self.mu, self.sigma)


@dataclass(frozen=True)
class Triangular:
    """Triangular on [low, high] with its peak at ``mode`` (low <= mode < high)."""

    low: float
    mode: float
    high: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low <= self.mode < self.high):
            raise InputError(f"triangular(low={self.low}, mode={self.mode}, high={self.high}): need finite "
                             "low <= mode < high (SALib's triang needs the peak below the upper bound)")

    def scipy(self):
        return stats.triang((self.mode - self.low) / (self.high - self.low), loc=self.low,
                            scale=self.high - self.low)

    def salib(self) -> tuple[str, list[float]]:
        return "triang", [self.low, self.high, (self.mode - self.low) / (self.high - self.low)]

    @classmethod
    def from_salib(cls, bounds: Sequence[float]) -> Triangular:
        if len(bounds) != 3:
            raise InputError(f"SALib triang bounds {list(bounds)}: expected [low, high, peak as a fraction of the "
                             "width]")
        low, high, frac = bounds
        return cls(low, low + frac * (high - low), high)

    def chaospy(self):
        import chaospy

        return chaospy.Triangle(self.low, self.mode, self.high)


@dataclass(frozen=True)
class LogUniform:
    """Log-uniform on [low, high], 0 < low < high: ln X is uniform (SALib's ``logunif``)."""

    low: float
    high: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.high) and 0 < self.low < self.high):
            raise InputError(f"loguniform(low={self.low}, high={self.high}): need 0 < low < high, finite")

    def scipy(self):
        return stats.loguniform(self.low, self.high)

    def salib(self) -> tuple[str, list[float]]:
        return "logunif", [self.low, self.high]

    @classmethod
    def from_salib(cls, bounds: Sequence[float]) -> LogUniform:
        return cls(*bounds)

    def chaospy(self):
        import chaospy

        # chaospy's LogUniform takes the bounds of ln X
        return chaospy.LogUniform(math.log(self.low), math.log(self.high))


@dataclass(frozen=True)
class Fixed:
    """A fixed value: the input is not varied."""

    value: float

    def __post_init__(self) -> None:
        if not math.isfinite(self.value):
            raise InputError(f"fixed value {self.value!r} is not a finite number")


#: Distribution kinds by the name used in specs and JSON, and by SALib's ``dists`` names.
KINDS = {"normal": Normal, "uniform": Uniform, "truncnormal": TruncNormal, "lognormal": LogNormal,
         "triangular": Triangular, "loguniform": LogUniform}
SALIB_KINDS = {"norm": Normal, "unif": Uniform, "truncnorm": TruncNormal, "lognorm": LogNormal,
               "triang": Triangular, "logunif": LogUniform}
_SPEC = re.compile(r"^\s*(?P<kind>[a-z_]+)\s*\((?P<args>[^()]*)\)\s*$")
_SPELLED = ", ".join(f"{k}({', '.join(f.name for f in fields(c))})" for k, c in KINDS.items())


def parse_distribution(text: str):
    """Parse a number or a spec such as ``normal(0.4, 0.01)`` or ``triangular(0.2, 0.4, 0.63)``.

    The kinds and their arguments: normal(mean, sd), uniform(low, high),
    truncnormal(mean, sd, low, high), lognormal(mu, sigma) (of ln X), triangular(low, mode,
    high), loguniform(low, high).

    Returns
    -------
    a distribution of :data:`KINDS`, or Fixed

    Examples
    --------
    >>> parse_distribution("normal(0.4, 0.01)")
    Normal(mean=0.4, sd=0.01)
    >>> parse_distribution("4.5")
    Fixed(value=4.5)
    """
    text = str(text).strip()
    try:
        value = float(text)
    except ValueError:
        pass
    else:  # a number; nan or inf is refused as such (InputError is a ValueError: not caught above)
        if not math.isfinite(value):
            raise InputError(f"{text!r}: a fixed value must be a finite number, not {value}")
        return Fixed(value)
    m = _SPEC.match(text.lower())
    if not m:
        raise InputError(f"{text!r}: expected a number or one of {_SPELLED}")
    try:
        args = [float(a) for a in m["args"].split(",")]
    except ValueError:
        raise InputError(f"{text!r}: the arguments must be numbers") from None
    if m["kind"] not in KINDS:
        raise InputError(f"{text!r}: unknown distribution {m['kind']!r}; use one of {_SPELLED}")
    cls = KINDS[m["kind"]]
    n = len(fields(cls))
    if len(args) != n:
        raise InputError(f"{text!r}: {m['kind']} takes {n} numbers ({', '.join(f.name for f in fields(cls))}), "
                         f"got {len(args)}")
    return cls(*args)


#: What an input name may not hold: it is a column of design tables (split at white space and commas), a
#: netCDF variable (no "/"), and the NAME of ``--vary NAME=DIST`` (no "=").
_NAME_FORBIDDEN = re.compile(r"[\s,=/]")


def _check_name(name: object) -> None:
    """An input name is non-empty text that a design table, a netCDF file and ``--vary NAME=...`` can carry."""
    if not isinstance(name, str):
        raise InputError(f"input name {name!r} is a {type(name).__name__}; input names are text")
    if not name or _NAME_FORBIDDEN.search(name):
        raise InputError(f"input name {name!r}: names must be non-empty, without white space, commas, '=' or '/' "
                         "(a design table splits its columns there, and netCDF refuses '/')")


def _real(value: object, what: str) -> float:
    """A JSON number as a float; booleans, text and anything else are refused (true is not 1)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputError(f"{what} = {value!r} is not a number")
    return float(value)


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    """A JSON object's pairs as a dict, refusing a key given twice (``json.loads`` would keep the last one)."""
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise InputError(f"the JSON object gives {key!r} more than once (only the last would count, dropping "
                             "an input silently); each input needs its own name")
        seen.add(key)
    return dict(pairs)


def _loads(text: str) -> object:
    """JSON text, with every object's keys unique."""
    return json.loads(text, object_pairs_hook=_unique_keys)


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
        from .conventions import INPUTS

        if not inputs:
            raise InputError("inputs is empty: a Problem needs at least one input")
        if units is not None and not (isinstance(units, Mapping) and all(isinstance(u, str) for u in units.values())):
            raise InputError(f"units = {units!r}: expected a mapping of input name to unit text, such as "
                             '{"h": "nm"}')
        self.dists = {}
        for name, spec in inputs.items():
            _check_name(name)
            if isinstance(spec, (*KINDS.values(), Fixed)):
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
        names = {cls: kind for kind, cls in {**KINDS, "fixed": Fixed}.items()}

        def enc(d):
            return {"kind": names[type(d)], **d.__dict__}

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
        kinds = {**KINDS, "fixed": Fixed}
        try:
            data = _loads(text)
            inputs = {}
            for name, spec in data["inputs"].items():
                spec = dict(spec)
                kind = spec.pop("kind")
                if kind not in kinds:
                    raise InputError(f"problem JSON: input {name!r} has kind {kind!r}; known: {', '.join(kinds)}")
                params = {k: _real(v, f"problem JSON: input {name!r}: {k}") for k, v in spec.items()}
                inputs[name] = kinds[kind](**params)
            return cls(inputs, units=data.get("units"))
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as err:
            raise InputError(f"not a Problem's JSON ({type(err).__name__}: {err})") from None

    @classmethod
    def from_salib(cls, spec: Mapping, *, fixed: Mapping[str, float] | None = None, order: Sequence[str] | None = None,
                   units: Mapping[str, str] | None = None) -> Problem:
        """A Problem from SALib's problem dict or a ``SALib.ProblemSpec``.

        Parameters
        ----------
        spec : dict or SALib.ProblemSpec
            ``names``, ``bounds`` and optionally ``dists`` (SALib's names: unif, norm,
            truncnorm, lognorm, triang, logunif; default unif), as SALib reads them.
        fixed : mapping of str to float, optional
            Inputs that SALib's problem does not vary (SALib has no fixed inputs).
        order : sequence of str, optional
            The model's input order; default: SALib's names, then the fixed ones.
        units : mapping of str to str, optional

        Examples
        --------
        >>> p = Problem.from_salib({"num_vars": 2, "names": ["d_plus", "d_minus"],
        ...                         "bounds": [[0.4, 0.01], [0.6, 0.015]], "dists": ["norm", "norm"]},
        ...                        fixed={"h": 4.5}, order=["h", "d_plus", "d_minus"])
        >>> p.names, p.dists["d_minus"]
        (['h', 'd_plus', 'd_minus'], Normal(mean=0.6, sd=0.015))
        >>> Problem.from_salib(p.to_salib(), fixed=p.fixed, order=p.names).to_json() == p.to_json()
        True
        """
        if not isinstance(spec, Mapping):
            raise InputTypeError(f"spec: a SALib problem dict or ProblemSpec, not {type(spec).__name__}")
        try:
            names, bounds = list(spec["names"]), [list(b) for b in spec["bounds"]]
        except (KeyError, TypeError) as err:
            raise InputError(f"SALib problem: needs 'names' and 'bounds' ({type(err).__name__}: {err})") from None
        groups = spec.get("groups")
        if groups is not None and list(groups) != names:
            groups = list(groups)
            shared = [g for k, g in enumerate(groups) if g in groups[:k]]
            if shared:
                raise InputError(f"SALib problem: groups {groups} put several inputs in group {shared[0]!r}, which is "
                                 "not supported; leave 'groups' out (each input is then its own group)")
            raise InputError(f"SALib problem: groups {groups} give each input a group of its own under another name "
                             f"than the input's ({names}); uqsurrogate reports indices by input: leave 'groups' out")
        repeated = sorted({n for n in names if names.count(n) > 1}, key=names.index)
        if repeated:
            raise InputError(f"SALib problem: names {names} give {repeated[0]!r} more than once; each input needs its "
                             "own name")
        dists = list(spec.get("dists") or ["unif"] * len(names))
        if not (len(names) == len(bounds) == len(dists)):
            raise InputError(f"SALib problem: {len(names)} names, {len(bounds)} bounds and {len(dists)} dists must "
                             "be as many")
        if spec.get("num_vars", len(names)) != len(names):
            raise InputError(f"SALib problem: num_vars = {spec['num_vars']} but {len(names)} names")
        inputs: dict[str, object] = {}
        for name, b, kind in zip(names, bounds, dists):
            if kind not in SALIB_KINDS:
                raise InputError(f"SALib problem: input {name!r} has dist {kind!r}; supported: "
                                 f"{', '.join(SALIB_KINDS)}")
            try:
                inputs[name] = SALIB_KINDS[kind].from_salib([_real(v, f"SALib problem: input {name!r}: bound")
                                                             for v in b])
            except TypeError:
                raise InputError(f"SALib problem: input {name!r}: {kind} bounds {b} have the wrong length") from None
        for name, value in (fixed or {}).items():
            if name in inputs:
                raise InputError(f"input {name!r} is both in the SALib problem and in fixed")
            inputs[name] = Fixed(float(value))
        if order is not None:
            order = list(order)
            if sorted(order) != sorted(inputs):
                raise InputError(f"order {order} must name exactly the inputs {list(inputs)}")
            inputs = {n: inputs[n] for n in order}
        return cls(inputs, units=units)

    @classmethod
    def from_file(cls, path, **kwargs) -> Problem:
        """Read a Problem from a JSON file (:meth:`to_json`'s form, or a SALib problem dict) or from the
        ``problem`` attribute of a result file written by uqsurrogate (``.nc``).

        ``kwargs`` (``fixed``, ``order``, ``units``) go to :meth:`from_salib` for a SALib
        problem; for our own form, ``order`` reorders the inputs and ``fixed`` adds to them.
        """
        from pathlib import Path

        if Path(path).suffix.lower() == ".nc":
            import xarray as xr

            try:
                with xr.open_dataset(path) as ds:
                    text = ds.attrs["problem"]
            except KeyError:
                raise InputError(f"problem file {path}: a netCDF file without a 'problem' attribute") from None
            except (OSError, ValueError) as err:
                raise InputError(f"problem file {path}: not a readable netCDF file ({type(err).__name__})") from None
        else:
            try:
                text = Path(path).read_text(encoding="utf-8-sig")
            except UnicodeDecodeError as err:
                raise InputError(f"problem file {path}: not UTF-8 text (byte {err.object[err.start:err.start + 1]!r} "
                                 f"at offset {err.start}); a problem file is JSON") from None
        try:
            return cls._from_parsed(path, text, _loads(text), kwargs)
        except json.JSONDecodeError as err:
            raise InputError(f"problem file {path}: not JSON ({err})") from None
        except InputError as err:
            if str(err).startswith("problem file "):
                raise
            raise InputError(f"problem file {path}: {err}") from None

    @classmethod
    def _from_parsed(cls, path, text: str, data: object, kwargs: dict) -> Problem:
        if isinstance(data, Mapping) and "inputs" in data:
            p = cls.from_json(text)
            fixed, order = kwargs.get("fixed") or {}, kwargs.get("order")
            if not fixed and order is None:
                return p
            both = [n for n in fixed if n in p.dists]
            if both:
                raise InputError(f"problem file {path} already gives {both}")
            inputs = {**p.dists, **{n: Fixed(float(v)) for n, v in fixed.items()}}
            if order is not None:
                if sorted(order) != sorted(inputs):
                    raise InputError(f"problem file {path}: its inputs {list(inputs)} must be the model's {list(order)}")
                inputs = {n: inputs[n] for n in order}
            return cls(inputs, units=p.units)
        if isinstance(data, Mapping) and "names" in data:
            return cls.from_salib(data, **kwargs)
        raise InputError(f"problem file {path}: neither a uqsurrogate Problem ('inputs') nor a SALib problem "
                         "('names', 'bounds')")

