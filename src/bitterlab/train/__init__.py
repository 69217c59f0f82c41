"""Shared model pieces and trainers used by the built-in studies."""

from bitterlab.train.mlp import FitConfig, Fitted, fit_regressor, mlp, n_params, predict, training_flops

__all__ = ["FitConfig", "Fitted", "fit_regressor", "mlp", "n_params", "predict", "training_flops"]
