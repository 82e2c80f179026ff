"""uqsurrogate: uncertainty quantification and sensitivity analysis around ML surrogates of MD.

The public API is small and explicit; submodules hold the rest:

* :mod:`uqsurrogate.data` — the training-data contract, netCDF I/O and MD importers.
* :mod:`uqsurrogate.datasets` — small example datasets shipped with the package.
"""

import logging

from ._version import __version__
from .data import load_dataset, save_dataset, validate

__all__ = ["__version__", "load_dataset", "save_dataset", "validate"]

logging.getLogger(__name__).addHandler(logging.NullHandler())
