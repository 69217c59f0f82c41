"""Shared model pieces and the one trainer of the built-in studies."""

from bitterlab.train.mlp import mlp, n_params, predict, training_flops
from bitterlab.train.trainer import Diverged, Member, Trained, TrainConfig, fit, fit_one

__all__ = ["Diverged", "Member", "TrainConfig", "Trained", "fit", "fit_one", "mlp", "n_params", "predict",
           "training_flops"]
