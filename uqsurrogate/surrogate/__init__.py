"""The surrogate: the paper's network, soft-label training, the pickle-free artifact, metrics.

TensorFlow is imported only when a network is built or loaded.
"""

from .artifact import ArtifactError, Surrogate, load_artifact, save_artifact
from .losses import LOSSES
from .metrics import evaluate_model, surrogate_metrics
from .training import PRESETS, SurrogateTrainer, TrainingConfig, split_indices

__all__ = [
    "LOSSES",
    "PRESETS",
    "ArtifactError",
    "Surrogate",
    "SurrogateTrainer",
    "TrainingConfig",
    "load_artifact",
    "save_artifact",
    "split_indices",
    "evaluate_model",
    "surrogate_metrics",
]
