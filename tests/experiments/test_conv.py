"""Building blocks of implicit_bias.experiments.conv (the experiments themselves run in the
registry contract test, tests/experiments/test_registry.py)."""

import numpy as np
import pytest

from implicit_bias.experiments import conv

pytestmark = pytest.mark.xdist_group("conv")  # with its experiments in test_registry.py: shared cached runs


def test_dft_magnitudes_of_a_pure_cosine():
    # beta = cos(2 pi n / 8): energy at m = 1 and 7 only, equal magnitudes
    beta = np.cos(2 * np.pi * np.arange(8) / 8)
    mag = conv.dft_magnitudes(beta)
    np.testing.assert_allclose(mag, [0, 1, 0, 0, 0, 0, 0, 1], atol=1e-14)


def test_conv_run_is_cached_and_separates_the_data():
    run = conv.conv_run("conv", 4, 8, 2, 20.0)
    assert conv.conv_run("conv", 4, 8, 2, 20.0) is run  # the check and the figure share runs
    assert run.status == "converged" and run.training_accuracy >= 20.0
    from implicit_bias import data

    ds = data.separable_classification(n=8, d=4, seed=0)
    assert np.min(ds.y * (ds.X @ np.asarray(run.predictor))) > 0
    with pytest.raises(ValueError):
        conv.conv_run("conv", 0, 8, 2, 20.0)  # d = 0: the data generator refuses it
