import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _strict_numpy():
    old = np.seterr(all="raise")
    yield
    np.seterr(**old)
