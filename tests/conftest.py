import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _strict_numpy():
    old = np.seterr(divide="raise", over="raise", invalid="raise", under="ignore")
    yield
    np.seterr(**old)
