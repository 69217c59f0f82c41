import numpy as np
import pytest

from bitterlab.geometry import Discrete, Empirical, MultivariateNormal, Normal, parse_distribution


@pytest.mark.parametrize("make, message", [
    (lambda: Normal(0, 0), "std must be positive"),
    (lambda: Normal(0, -1), "std must be positive"),
    (lambda: Normal(np.nan, 1), "finite"),
    (lambda: Discrete([0, 1], [0.5, 0.6]), "must sum to 1"),
    (lambda: Discrete([0, 1], [1.5, -0.5]), "non-negative"),
    (lambda: Discrete([0, 1], [np.inf, 0.5]), "finite"),
    (lambda: Discrete([0, 1, 2], [0.5, 0.5]), "3 points but 2 weights"),
    (lambda: MultivariateNormal([0, 0], [[1, 2], [2, 1]]), "positive semi-definite"),
    (lambda: MultivariateNormal([0, 0], [[1, 0.5], [0, 1]]), "symmetric"),
    (lambda: MultivariateNormal([0, 0, 0], np.eye(2)), "must be 3x3"),
    (lambda: Empirical([]), "n >= 1"),
])
def test_invalid_input_says_which_and_why(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_normalize_and_merging():
    d = Discrete([2.0, 0.0, 2.0], [1, 1, 2], normalize=True)
    np.testing.assert_allclose(d.points, [0.0, 2.0])
    np.testing.assert_allclose(d.weights, [0.25, 0.75])
    assert Discrete([0, 1], [0.5, 0.5 + 5e-10]).weights.sum() == pytest.approx(1)  # within 1e-9


def test_discrete_quantiles():
    d = Discrete([0.0, 1.0, 2.0], [0.2, 0.3, 0.5])
    np.testing.assert_allclose(d.ppf([0.1, 0.2, 0.25, 0.6, 1.0]), [0, 0, 1, 2, 2])
    np.testing.assert_allclose(d.cdf([-1, 0, 1.5, 2]), [0, 0.2, 0.5, 1.0])


@pytest.mark.parametrize("spec, kind", [("normal:0,1", Normal), ("points:0,1,2@0.2,0.3,0.5", Discrete),
                                        ("categorical:0.5,0.5", Discrete), ("samples:1,2,3", Empirical),
                                        ("mvn:0,0;1,0,0,1", MultivariateNormal)])
def test_parse(spec, kind):
    assert isinstance(parse_distribution(spec), kind)


@pytest.mark.parametrize("spec", ["normal", "normal:0", "gamma:1,2", "points:0,1", "points:a@1", "mvn:0,0;1,0"])
def test_parse_errors(spec):
    with pytest.raises(ValueError):
        parse_distribution(spec)
