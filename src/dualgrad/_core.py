"""The core layer's face: the dual number and the application of a primitive to it.

The core is split by concept, each module importing only those listed before it:

- `_seams`: what the layers above plug in (Variable's operators, NumPy's dispatch, the
  recorders of arrays that stand for a recorded program's arrays);
- `_rows`: direction-sparse tangent storage, and unit seeds, the one form of seeded inputs;
- `_variable`: `Variable`, the dual number, and the differentiation tags;
- `_contributions`: what a rule gives back, checked where it is summed;
- `_compact`: the apply path on compact tangents, through a primitive's specialisations;
- `_apply`: the one apply path (value once, then reference rules or specialisations);
- `_primitive`: `Primitive`, the record of an operation, its rules and its `Specialisations`.

The core names no primitive, no registry and nothing of NumPy's dispatch.
"""

from __future__ import annotations

from ._contributions import align
from ._primitive import Primitive, Specialisations
from ._rows import Rows, stored_rows, unit_seeds
from ._seams import _BOXES, call, install_box, install_numpy_dispatch, provide_operators
from ._variable import Variable, as_value, new_tag

__all__ = ["COMPACT_SEEDS", "_BOXES", "Primitive", "Rows", "Specialisations", "Variable", "align",
           "as_value", "call", "install_box", "install_numpy_dispatch", "new_tag",
           "provide_operators", "stored_rows", "unit_seeds"]

# Whether grad, jacobian and hessian seed their inputs as compact unit seeds (see `_rows`);
# False seeds dense arrays, and every tangent stays dense (the tests compare both).
COMPACT_SEEDS = True
