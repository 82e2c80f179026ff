"""The input box that active learning searches: min-max scaling, fixed inputs, projection.

Every proposal engine works in the unit box u in [0, 1]^d of the model's inputs,
``x = low + u (high - low)``, and projects back into it after every step.  Inputs held
fixed (a study's slice, such as c = 0.3 mol/L) keep their value: their coordinate never
moves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .._validation import check_int
from ..errors import InputError

__all__ = ["InputBox"]


@dataclass(frozen=True)
class InputBox:
    """Bounds of the inputs an acquisition may choose, in the model's input order.

    Parameters
    ----------
    names : sequence of str
        The model's inputs, in order.
    low, high : array_like, shape (n_inputs,)
        Bounds in the inputs' units; ``low < high`` for every free input.
    fixed : mapping of str to float, optional
        Inputs held at one value (within their bounds).
    """

    names: tuple
    low: np.ndarray
    high: np.ndarray
    fixed: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = tuple(self.names)
        low = np.asarray(self.low, dtype=float).reshape(-1)
        high = np.asarray(self.high, dtype=float).reshape(-1)
        if low.shape != (len(names),) or high.shape != (len(names),):
            raise InputError(f"low and high need one value per input {list(names)}; got {low.size} and {high.size}")
        if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
            raise InputError("low and high must be finite")
        fixed = {str(k): float(v) for k, v in dict(self.fixed).items()}
        unknown = sorted(set(fixed) - set(names))
        if unknown:
            raise InputError(f"fixed inputs {unknown} are not among the inputs {list(names)}")
        for i, n in enumerate(names):
            if n in fixed:
                if not low[i] <= fixed[n] <= high[i]:
                    raise InputError(f"fixed {n} = {fixed[n]:g}; allowed: [{low[i]:g}, {high[i]:g}]")
            elif not low[i] < high[i]:
                raise InputError(f"input {n}: low = {low[i]:g} must be below high = {high[i]:g}")
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)
        object.__setattr__(self, "fixed", fixed)

    @classmethod
    def from_bounds(cls, bounds: Mapping[str, tuple[float, float]], names: Sequence[str] | None = None,
                    fixed: Mapping[str, float] | None = None) -> InputBox:
        """A box from ``{name: (low, high)}`` (in ``names`` order, default the mapping's)."""
        names = list(bounds) if names is None else list(names)
        missing = [n for n in names if n not in bounds]
        if missing:
            raise InputError(f"bounds lack inputs {missing}")
        return cls(tuple(names), [bounds[n][0] for n in names], [bounds[n][1] for n in names], fixed or {})

    @classmethod
    def of_model(cls, f, fixed: Mapping[str, float] | None = None) -> InputBox:
        """The training ranges of a model function (``input_names``, ``train_min``, ``train_max``).

        An input the model was trained at one value only (a slice) is held fixed there.
        """
        lo, hi = np.asarray(f.train_min, dtype=float), np.asarray(f.train_max, dtype=float)
        held = {n: float(lo[i]) for i, n in enumerate(f.input_names) if lo[i] == hi[i]}
        return cls(tuple(f.input_names), lo, hi, {**held, **(fixed or {})})

    @property
    def d(self) -> int:
        return len(self.names)

    @property
    def span(self) -> np.ndarray:
        """high - low, shape (n_inputs,)."""
        return self.high - self.low

    @property
    def free(self) -> np.ndarray:
        """True for the inputs that may move, shape (n_inputs,)."""
        return np.array([n not in self.fixed for n in self.names])

    def _fixed_unit(self) -> np.ndarray:
        u = np.full(self.d, np.nan)
        for i, n in enumerate(self.names):
            if n in self.fixed:
                u[i] = 0.0 if self.high[i] == self.low[i] else (self.fixed[n] - self.low[i]) / self.span[i]
        return u

    def project(self, u: np.ndarray) -> np.ndarray:
        """Into the box: clipped to [0, 1], fixed inputs at their value; shape as ``u`` (n, n_inputs)."""
        u = np.clip(np.asarray(u, dtype=float), 0.0, 1.0)
        fix = ~self.free
        if fix.any():
            u[:, fix] = self._fixed_unit()[fix]
        return u

    def to_unit(self, X: np.ndarray) -> np.ndarray:
        """Physical inputs (n, n_inputs) to the unit box (not clipped)."""
        X = np.asarray(X, dtype=float)
        span = np.where(self.span > 0, self.span, 1.0)
        return (X - self.low) / span

    def to_physical(self, u: np.ndarray) -> np.ndarray:
        """Unit-box points (n, n_inputs) to inputs in physical units, projected into the box first."""
        X = self.low + self.project(u) * self.span
        for i, n in enumerate(self.names):  # exact, not low + u span rounded
            if n in self.fixed:
                X[:, i] = self.fixed[n]
        return X

    def uniform(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` independent uniform unit-box points (fixed inputs at their value), shape (n, n_inputs)."""
        n = check_int(n, "n", min_value=1)
        return self.project(rng.random((n, self.d)))

    def sobol(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` scrambled Sobol' unit-box points over the free inputs (scipy.stats.qmc), shape (n, n_inputs).

        The first ``n`` points of a sequence of the next power of 2 (balanced only there).
        """
        from scipy.stats import qmc

        n = check_int(n, "n", min_value=1)
        free = self.free
        u = np.zeros((n, self.d))
        m = max(int(np.ceil(np.log2(n))), 0)
        u[:, free] = qmc.Sobol(d=int(free.sum()), scramble=True, seed=rng).random_base2(m)[:n]
        return self.project(u)

    def to_dict(self) -> dict:
        """Plain JSON values (recorded by the loop)."""
        return {"names": list(self.names), "low": self.low.tolist(), "high": self.high.tolist(),
                "fixed": dict(self.fixed)}

    @classmethod
    def from_dict(cls, d: Mapping) -> InputBox:
        return cls(tuple(d["names"]), d["low"], d["high"], d.get("fixed", {}))
