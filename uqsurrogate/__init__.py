"""uqsurrogate: uncertainty quantification and sensitivity analysis around ML surrogates of MD.

The public API is small and explicit; submodules hold the rest:

* :mod:`uqsurrogate.data` — the training-data contract, netCDF I/O and MD importers.
* :mod:`uqsurrogate.simulators` — the reference cDFT simulator and designs of experiments.
* :mod:`uqsurrogate.surrogate` — soft-label training, the model artifact, metrics, legacy import.
* :mod:`uqsurrogate.model_function` — the surrogate as a fast, streaming callable.
* :mod:`uqsurrogate.sensitivity` — nested variance, Sobol/Saltelli, polynomial chaos.
* :mod:`uqsurrogate.study` — the paper's analysis end to end (``uqsurrogate study``).
* :mod:`uqsurrogate.datasets` — small example datasets and the pretrained surrogate.

TensorFlow is imported only when a network is built, trained or evaluated.
"""

import logging

from ._version import __version__
from .data import load_dataset, save_dataset, validate
from .model_function import ModelFunction
from .problem import Problem

__all__ = ["ModelFunction", "Problem", "__version__", "load_dataset", "save_dataset", "validate"]

logging.getLogger(__name__).addHandler(logging.NullHandler())
