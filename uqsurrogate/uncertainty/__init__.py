"""How far to trust a surrogate: calibrated spreads, conformal intervals, cheap single-model uncertainties.

* :mod:`.calibration` — reliability curves, the miscalibration area, and calibration maps
  (a scale factor by Gaussian maximum likelihood, or scikit-learn's isotonic regression) of
  a predicted standard deviation, fitted on a held-out calibration split.
* :mod:`.conformal` — split-conformal intervals per output, normalised by the predicted
  standard deviation, with the finite-sample guarantee, and a simultaneous band.
* :mod:`.propagation` — forward propagation: the mean, standard deviation and quantiles
  of every output under an input distribution, each with its Monte Carlo interval.
* :mod:`.single` — uncertainties from one network: MC dropout, and the last-layer
  feature posterior of Bayesian linear regression.

Every function takes arrays: labels or truths ``y``, predictions ``mean`` and predicted
standard deviations ``std``, all of shape (n, ...) in the outputs' units, and an optional
``mask`` of the outputs that carry uncertainty (bins that are identically zero near the
walls do not).
"""

from .calibration import Calibration, calibrate, miscalibration_area, reliability
from .conformal import SplitConformal, check_disjoint, conformal_quantile, coverage
from .propagation import propagate

__all__ = ["Calibration", "SplitConformal", "calibrate", "check_disjoint", "conformal_quantile", "coverage",
           "miscalibration_area", "propagate", "reliability"]
