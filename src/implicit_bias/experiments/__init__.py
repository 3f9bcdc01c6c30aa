"""Experiments (figures) and checks (theorems), one module per paper family."""

from .registry import (
    REGISTRY as REGISTRY,
    CheckResult as CheckResult,
    Experiment as Experiment,
    ExperimentResult as ExperimentResult,
    Profile as Profile,
    get as get,
    register as register,
    run as run,
    save as save,
    select as select,
)

__all__ = ["REGISTRY", "CheckResult", "Experiment", "ExperimentResult", "Profile", "get", "register", "run", "save", "select"]
