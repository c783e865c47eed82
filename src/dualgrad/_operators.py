"""Variable's operators and array methods, each the primitive it stands for (``v + w`` is
``add``, ``v.sum()`` is ``sum``), through the `ops` the primitives layer provides."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._seams import ops

__all__ = ["Operators", "ValueShaped"]


def _primal_of(x: Any) -> Any:
    return x.primal() if hasattr(x, "primal") else x


class ValueShaped:
    """`shape`, `ndim`, `size` and `dtype`, those of `self.value`: for the array stand-ins whose
    value is an array (`Variable`, and the trace's `Tracer`)."""

    __slots__ = ()
    value: Any

    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape  # type: ignore[no-any-return]

    @property
    def ndim(self) -> int:
        return self.value.ndim  # type: ignore[no-any-return]

    @property
    def size(self) -> int:
        return self.value.size  # type: ignore[no-any-return]

    @property
    def dtype(self) -> np.dtype[Any]:
        return self.value.dtype  # type: ignore[no-any-return]


class Operators:
    """The operators and NumPy-like methods of `Variable` (which subclasses it)."""

    __slots__ = ()

    def primal(self) -> Any:
        """The innermost plain value (see `Variable.primal`)."""
        raise NotImplementedError

    # ---- arithmetic ---------------------------------------------------------------------------

    def __add__(self, other: Any) -> Any:
        return ops.add(self, other)

    def __radd__(self, other: Any) -> Any:
        return ops.add(other, self)

    def __sub__(self, other: Any) -> Any:
        return ops.subtract(self, other)

    def __rsub__(self, other: Any) -> Any:
        return ops.subtract(other, self)

    def __mul__(self, other: Any) -> Any:
        return ops.multiply(self, other)

    def __rmul__(self, other: Any) -> Any:
        return ops.multiply(other, self)

    def __truediv__(self, other: Any) -> Any:
        return ops.divide(self, other)

    def __rtruediv__(self, other: Any) -> Any:
        return ops.divide(other, self)

    def __pow__(self, other: Any) -> Any:
        return ops.power(self, other)

    def __rpow__(self, other: Any) -> Any:
        return ops.power(other, self)

    def __matmul__(self, other: Any) -> Any:
        return ops.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Any:
        return ops.matmul(other, self)

    def __mod__(self, other: Any) -> Any:
        return ops.remainder(self, other)

    def __rmod__(self, other: Any) -> Any:
        return ops.remainder(other, self)

    def __neg__(self) -> Any:
        return ops.negative(self)

    def __pos__(self) -> Any:
        return self

    def __abs__(self) -> Any:
        return ops.absolute(self)

    # ---- comparisons look at values only ----------------------------------------------------

    def __lt__(self, other: Any) -> Any:
        return self.primal() < _primal_of(other)

    def __le__(self, other: Any) -> Any:
        return self.primal() <= _primal_of(other)

    def __gt__(self, other: Any) -> Any:
        return self.primal() > _primal_of(other)

    def __ge__(self, other: Any) -> Any:
        return self.primal() >= _primal_of(other)

    def __eq__(self, other: object) -> Any:
        return self.primal() == _primal_of(other)

    def __ne__(self, other: object) -> Any:
        return self.primal() != _primal_of(other)

    # ---- array methods --------------------------------------------------------------------------

    def __getitem__(self, index: Any) -> Any:
        return ops.getitem(self, index=index)

    def sum(self, axis: Any = None, keepdims: bool = False) -> Any:
        return ops.reduce_sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Any:
        return ops.reduce_mean(self, axis=axis, keepdims=keepdims)

    def prod(self, axis: Any = None, keepdims: bool = False) -> Any:
        return ops.reduce_prod(self, axis=axis, keepdims=keepdims)

    def max(self, axis: Any = None, keepdims: bool = False) -> Any:
        return ops.reduce_max(self, axis=axis, keepdims=keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> Any:
        return ops.reduce_min(self, axis=axis, keepdims=keepdims)

    def var(self, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Any:
        return ops.var(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def std(self, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Any:
        return ops.std(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def cumsum(self, axis: Any = None) -> Any:
        return ops.cumsum(self, axis=axis)

    def dot(self, other: Any) -> Any:
        return ops.dot(self, other)

    def squeeze(self, axis: Any = None) -> Any:
        return ops.squeeze(self, axis=axis)

    def ravel(self) -> Any:
        return ops.reshape(self, shape=(-1,))

    def flatten(self) -> Any:
        # a copy in NumPy; Variables are never written to, so the flat view serves both
        return ops.reshape(self, shape=(-1,))

    def reshape(self, *shape: Any) -> Any:
        if len(shape) == 1 and not isinstance(shape[0], int):
            shape = tuple(shape[0])
        return ops.reshape(self, shape=shape)

    def transpose(self, *axes: Any) -> Any:
        if len(axes) == 1 and not isinstance(axes[0], int):
            axes = tuple(axes[0]) if axes[0] is not None else ()
        return ops.transpose(self, axes=axes or None)
