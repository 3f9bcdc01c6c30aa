"""multiclass_max_margin against hand-solved cases and bad input."""

import numpy as np
import pytest

from implicit_bias.theory import multiclass_max_margin


def test_two_symmetric_points_and_a_symmetric_triangle():
    W = multiclass_max_margin(np.array([[1.0, 0.0], [-1.0, 0.0]]), np.array([0, 1]), 2)
    np.testing.assert_allclose(W, [[0.5, 0.0], [-0.5, 0.0]], atol=1e-7)
    # three unit vectors at 120 degrees: by symmetry w_c = a x_c with (w_c - w_k)^T x_c = a (1 + 1/2) = 1
    X = np.array([[1.0, 0.0], [-0.5, np.sqrt(3) / 2], [-0.5, -np.sqrt(3) / 2]])
    W = multiclass_max_margin(X, np.array([0, 1, 2]), 3)
    np.testing.assert_allclose(W, X / 1.5, atol=1e-7)


def test_bad_input():
    with pytest.raises(ValueError, match="0..1"):
        multiclass_max_margin(np.eye(2), np.array([0, 2]), 2)
    with pytest.raises(ValueError, match="not linearly separable"):
        multiclass_max_margin(np.array([[1.0], [1.0]]), np.array([0, 1]), 2)
