"""A stored calibration of predicted standard deviations, applied: :class:`Calibration`.

An ensemble's ``ensemble.json`` may hold, per output kind, a map of its member spread to a
calibrated standard deviation (fitted by :func:`uqsurrogate.uncertainty.calibration.calibrate`
on a calibration split).  Applying it needs nothing of the fitting, so it lives here, below
the model function (:meth:`~uqsurrogate.model_function.ModelFunction.calibrated_std` calls
:func:`stored_calibration`); ``uqsurrogate.uncertainty.calibration.Calibration`` is this class.

* ``scale`` — σ' = s σ.
* ``isotonic`` — σ' = g(σ), g increasing, stored as its breakpoints (JSON) and applied by
  linear interpolation (0 where σ = 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._validation import check_choice
from ..errors import InputError

__all__ = ["CALIBRATIONS", "Calibration", "stored_calibration"]

CALIBRATIONS = ("scale", "isotonic")


@dataclass
class Calibration:
    """A fitted map of predicted standard deviations: ``calibration(std)`` gives calibrated ones.

    Attributes
    ----------
    kind : {"scale", "isotonic"}
    scale : float
        For ``scale``.
    x, y : list of float
        For ``isotonic``: breakpoints of the increasing map (std -> calibrated std).
    n : int
        Values it was fitted on.
    """

    kind: str
    scale: float = 1.0
    x: list = field(default_factory=list)
    y: list = field(default_factory=list)
    n: int = 0

    def __call__(self, std) -> np.ndarray:
        std = np.asarray(std, dtype=float)
        if self.kind == "scale":
            return self.scale * std
        return np.where(std > 0, np.interp(std, self.x, self.y), 0.0)

    def to_dict(self) -> dict:
        """Plain JSON values (an ensemble stores its calibration this way)."""
        return {"kind": self.kind, "scale": float(self.scale), "x": [float(v) for v in self.x],
                "y": [float(v) for v in self.y], "n": int(self.n)}

    @classmethod
    def from_dict(cls, d: dict) -> Calibration:
        try:
            check_choice(d["kind"], "calibration kind", CALIBRATIONS)
            out = cls(kind=d["kind"], scale=float(d.get("scale", 1.0)), x=list(d.get("x", [])),
                      y=list(d.get("y", [])), n=int(d.get("n", 0)))
        except (KeyError, TypeError, ValueError) as err:
            raise InputError(f"not a calibration ({type(err).__name__}: {err})") from None
        if not np.isfinite(out.scale) or out.scale <= 0 or not np.all(np.isfinite(out.x + out.y)):
            raise InputError(f"calibration has non-finite or non-positive values: scale {out.scale}")
        return out


def stored_calibration(calibration: dict | None, output: str) -> Calibration:
    """The calibration of an ensemble's ``output`` spread, from its stored ``calibration`` (``ensemble.json``).

    Parameters
    ----------
    calibration : dict or None
        Per output kind, a dict whose ``calibration`` is :meth:`Calibration.to_dict`'s.
    output : str

    Raises
    ------
    InputError
        There is none for ``output``.
    """
    if not calibration or output not in calibration:
        raise InputError(f"this model has no calibration of its {output} spread; fit one with "
                         "uqsurrogate calibrate (or uqsurrogate.uncertainty.fit.calibrate_ensemble)")
    return Calibration.from_dict(calibration[output]["calibration"])
