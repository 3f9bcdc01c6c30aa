"""Test set-up: float64 and strict rank promotion once for the whole suite (diffrax's conftest)."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import jax  # noqa: E402

import implicit_bias  # noqa: E402,F401  (switches on float64)

jax.config.update("jax_numpy_rank_promotion", "raise")

# Experiments write their sweeps to the run store named by IBIAS_STORE: keep the suite's own.
import tempfile  # noqa: E402

os.environ.setdefault("IBIAS_STORE", tempfile.mkdtemp(prefix="ibias-test-store-"))
