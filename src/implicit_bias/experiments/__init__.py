"""Experiments (figures) and checks (theorems), one module per paper family.

``registry`` says what an experiment is (:class:`Experiment`, :class:`CheckResult`,
:func:`register`) and knows no paper; each paper module (``diagonal``, ``fc``, ``splines``, ...)
imports it and registers its experiments; ``runner`` loads the paper modules and gets, selects,
runs and saves experiments (what ``ibias list/run/verify`` and the report use); ``ibias list``
reads its static index (:func:`runner.index`) without importing the paper modules, and
:func:`runner.run_many` runs experiments in worker processes (``ibias verify --jobs N``). A new
experiment goes into the module of its paper family (or a new module, added to
:func:`runner.load_all`).
"""

from .registry import (
    PROFILES as PROFILES,
    REGISTRY as REGISTRY,
    CheckResult as CheckResult,
    Experiment as Experiment,
    ExperimentResult as ExperimentResult,
    Profile as Profile,
    register as register,
)
from .runner import (
    get as get,
    index as index,
    listing as listing,
    load_all as load_all,
    run as run,
    run_many as run_many,
    save as save,
    select as select,
)

# The public names above, for tools that read __all__ statically (the API docs).
__all__ = ['PROFILES', 'REGISTRY', 'CheckResult', 'Experiment', 'ExperimentResult', 'Profile', 'register', 'get', 'index', 'listing', 'load_all', 'run', 'run_many', 'save', 'select']
