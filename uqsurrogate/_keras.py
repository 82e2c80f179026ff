"""Importing Keras (and TensorFlow) once, quietly, with a clear error if it is missing.

Its own small module, below :mod:`uqsurrogate.surrogate` and :mod:`uqsurrogate.model_function`,
so that every user of Keras imports it from here and no two modules import each other for it.
"""

from __future__ import annotations

import os

from .errors import MissingDependencyError

__all__ = ["import_keras"]


def import_keras():
    """Import Keras with a clear error if TensorFlow is missing.

    Unless the user set ``TF_CPP_MIN_LOG_LEVEL``, TensorFlow's start-up chatter (no GPU
    found, CPU features, oneDNN notes; some of it is written before TensorFlow reads its
    log level) is kept off the terminal: the process's stderr is pointed at /dev/null for
    the duration of the first import.  Python exceptions are unaffected.
    """
    import sys

    if "tensorflow" not in sys.modules and "TF_CPP_MIN_LOG_LEVEL" not in os.environ:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        saved = None
        try:
            sys.stderr.flush()
            saved = os.dup(2)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
            os.close(devnull)
        except OSError:  # no real stderr (some notebooks): nothing to hide
            saved = None
        try:
            import tensorflow  # noqa: F401
        except ImportError as err:  # pragma: no cover - TensorFlow is a runtime dependency
            raise MissingDependencyError("the surrogate needs TensorFlow and Keras 3: pip install 'tensorflow>=2.16'") from err
        finally:
            if saved is not None:
                os.dup2(saved, 2)
                os.close(saved)
    try:
        import keras  # noqa: F401
        import tensorflow  # noqa: F401
    except ImportError as err:  # pragma: no cover - TensorFlow is a runtime dependency
        raise MissingDependencyError("the surrogate needs TensorFlow and Keras 3: pip install 'tensorflow>=2.16'") from err
    return keras
