"""Process-wide numerical configuration: float64 everywhere.

Importing :mod:`implicit_bias` imports this module first, which switches on
``jax_enable_x64``. Worker processes (process pools, Dask workers) must import
``implicit_bias`` too, or set ``JAX_ENABLE_X64=1`` in their environment.
"""

import os

os.environ.setdefault("JAX_ENABLE_X64", "1")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
