"""The sum of models: ``f(x) = sum_j f_j(x; theta_j)``, e.g. parts of different homogeneity."""

from __future__ import annotations

import jax

from ._base import AbstractModel
from .init import as_key

__all__ = ["Sum"]


class Sum(AbstractModel):
    r"""The sum ``f(x; theta) = sum_j f_j(x; theta_j)`` of models on the same inputs.

    Nacson, Gunasekar, Lee, Srebro & Soudry 2019 ("Lexicographic and depth-sensitive margins in
    homogeneous and non-homogeneous deep models", vardi2022 §3.3 footnote 5) study such sums of
    homogeneous parts of *different* degrees: trained to a vanishing exponential loss, the
    highest-degree part takes over the output.

    Parameters: part ``j``'s parameter ``name`` is ``p{j}_{name}`` (``p0_w``, ``p1_u_plus``,
    ...); :meth:`split` gives the parts' own dicts back.

    Args:
        parts: the models ``f_j`` (a tuple of at least two, all with the same ``input_dim``).

    Example:
        >>> import numpy as np
        >>> from implicit_bias.models import Diagonal, Linear, Sum
        >>> m = Sum((Linear(2), Diagonal(2, depth=2, scale=1.0)))
        >>> p = m.init(0)
        >>> sorted(p), m.homogeneity
        (['p0_w', 'p1_u_minus', 'p1_u_plus'], None)
        >>> float(m.apply(p, np.array([[1.0, 2.0]]))[0])  # w = 0 and u_plus = u_minus at init
        0.0
    """

    parts: tuple

    def __check_init__(self):
        if not isinstance(self.parts, tuple) or len(self.parts) < 2 or not all(isinstance(m, AbstractModel) for m in self.parts):
            raise ValueError("Sum: parts must be a tuple of at least two models, e.g. Sum((Linear(d), Diagonal(d, depth=2)))")
        dims = {m.input_dim for m in self.parts}
        if len(dims) != 1:
            raise ValueError(f"Sum: the parts take inputs of different dimensions {sorted(dims, key=str)}; give every part the same input dimension")

    @property
    def input_dim(self):
        return self.parts[0].input_dim

    @property
    def homogeneity(self):
        """The common degree if every part is homogeneous of the same degree, else ``None``."""
        degrees = {m.homogeneity for m in self.parts}
        return degrees.pop() if len(degrees) == 1 else None

    def split(self, params: dict) -> list[dict]:
        """The parts' own parameter dicts ``[theta_0, theta_1, ...]``."""
        return [{k[len(f"p{j}_") :]: v for k, v in params.items() if k.startswith(f"p{j}_")} for j in range(len(self.parts))]

    def init(self, key):
        """Each part initialised with its own key ``fold_in(key, j)``."""
        key = as_key(key)
        out = {}
        for j, m in enumerate(self.parts):
            out.update({f"p{j}_{k}": v for k, v in m.init(jax.random.fold_in(key, j)).items()})
        return out

    def part_outputs(self, params: dict, X) -> list:
        """``[f_0(X), f_1(X), ...]``, each ``(N,)``."""
        return [m.apply(p, X) for m, p in zip(self.parts, self.split(params))]

    def apply(self, params, X):
        """``sum_j f_j(X; theta_j)``, shape ``(N,)``."""
        outs = self.part_outputs(params, X)
        total = outs[0]
        for o in outs[1:]:
            total = total + o
        return total

    def param_shapes(self):
        return {f"p{j}_{k}": s for j, m in enumerate(self.parts) for k, s in m.param_shapes().items()}
