"""Active learning: which few new simulations would most improve the surrogate.

* :mod:`.space` — the input box the search works in (unit-scaled, fixed inputs held).
* :mod:`.objective` — J = log U + log q / kT: the ensemble's calibrated variance weighted by
  a design prior, a KDE of the training inputs, or a study's own input distribution.
* :mod:`.proposals` — engines: adversarial (projected Adam ascent of J), uncertainty-biased
  Langevin, and the baselines random, Sobol' and a pool for maximum variance.
* :mod:`.filters` — uncertainty percentile, distance to the data, deduplication.
* :mod:`.batch` — batch rules: random, top, max-distance, greedy max-determinant, LCMD.
* :mod:`.oracles` — the simulator, a callable; job folders for an external MD engine.
* :mod:`.loop` — the resumable loop: propose, select, oracle, append, warm start,
  recalibrate, record.
"""

from .batch import RULES, gradient_features, select_batch
from .filters import filter_candidates
from .loop import ActiveRun, ActiveSettings, run_active
from .objective import Acquisition, Prior, kde_prior, problem_prior
from .oracles import CallableOracle, SimulatorOracle
from .proposals import ENGINES, propose
from .space import InputBox

__all__ = ["ENGINES", "RULES", "Acquisition", "ActiveRun", "ActiveSettings", "CallableOracle", "InputBox", "Prior",
           "SimulatorOracle", "filter_candidates", "gradient_features", "kde_prior", "problem_prior", "propose",
           "run_active", "select_batch"]
