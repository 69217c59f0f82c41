"""Parse a distribution from the command line.

- ``normal:MEAN,STD`` → Normal
- ``mvn:M1,M2;C11,C12,C21,C22`` → MultivariateNormal (covariance row-major)
- ``points:X1,X2,...@W1,W2,...`` → Discrete in 1-D (weights must sum to 1)
- ``categorical:W1,W2,...`` → Discrete on bins 0, 1, 2, ...
- ``samples:X1,X2,...`` → Empirical in 1-D
"""

from __future__ import annotations

import numpy as np

from bitterlab.geometry.distributions import WEIGHT_TOL, Discrete, Empirical, MultivariateNormal, Normal


def _floats(text: str, what: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip() != ""]
    except ValueError:
        raise ValueError(f"{what}: expected comma-separated numbers, got {text!r}") from None


def _weights(text: str, spec: str) -> list[float]:
    """Weights that sum to 1 (the command line has no rescaling option: say what to type instead)."""
    w = _floats(text, spec)
    total = float(sum(w))
    if w and abs(total - 1) > WEIGHT_TOL:
        raise ValueError(f"{spec!r}: weights must sum to 1 (within {WEIGHT_TOL:g}), got {total:.10g}: "
                         "divide each by their sum")
    return w


def parse_distribution(spec: str):
    """A distribution from its command-line spelling (see the module docstring)."""
    kind, sep, body = spec.partition(":")
    if not sep:
        raise ValueError(f"{spec!r}: expected KIND:VALUES, e.g. normal:0,1 or points:0,1,2@0.2,0.3,0.5")
    if kind == "normal":
        values = _floats(body, spec)
        if len(values) != 2:
            raise ValueError(f"{spec!r}: normal needs MEAN,STD")
        return Normal(*values)
    if kind == "mvn":
        mean_text, _, cov_text = body.partition(";")
        mean, cov = _floats(mean_text, spec), _floats(cov_text, spec)
        if len(cov) != len(mean) ** 2:
            raise ValueError(f"{spec!r}: mvn needs {len(mean) ** 2} covariance entries for a {len(mean)}-D mean")
        return MultivariateNormal(np.array(mean), np.array(cov).reshape(len(mean), len(mean)))
    if kind == "points":
        pts_text, at, w_text = body.partition("@")
        if not at:
            raise ValueError(f"{spec!r}: points needs X1,X2,...@W1,W2,...")
        return Discrete(_floats(pts_text, spec), _weights(w_text, spec))
    if kind == "categorical":
        w = _weights(body, spec)
        return Discrete(np.arange(len(w), dtype=float), w)
    if kind == "samples":
        return Empirical(_floats(body, spec))
    raise ValueError(f"{spec!r}: unknown kind {kind!r} (normal, mvn, points, categorical, samples)")
