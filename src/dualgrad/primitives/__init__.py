"""dualgrad's built-in primitives, registered by the built-in plugin like any other.

Each module groups primitives of one kind, each primitive beside its rule. Importing this
package plugs the primitives into the core: Variable's operators, and the rules that may run on
compact tangents.
"""

from .._core import provide_compact_rules, provide_operators
from .arithmetic import INTO, add, divide, multiply, negative, power, subtract
from .elementwise import (
    absolute,
    around,
    cbrt,
    ceil,
    clip,
    exp,
    expm1,
    floor,
    log,
    log1p,
    log2,
    log10,
    log_sigmoid,
    maximum,
    minimum,
    reciprocal,
    relu,
    sigmoid,
    sign,
    softplus,
    sqrt,
    square,
    tanh,
    where,
)
from .fused import affine, mean_squared_error, sigmoid_cross_entropy
from .linalg import contract, dot, einsum, matmul, norm
from .reductions import (
    cumsum,
    reduce_max,
    reduce_mean,
    reduce_min,
    reduce_prod,
    reduce_sum,
    std,
    var,
)
from .shaping import (
    broadcast_to,
    concatenate,
    expand_dims,
    getitem,
    reshape,
    squeeze,
    stack,
    transpose,
)
from .softmax import log_softmax, logsumexp, softmax
from .trigonometric import (
    arccos,
    arccosh,
    arcsin,
    arcsinh,
    arctan,
    arctan2,
    arctanh,
    cos,
    cosh,
    hypot,
    sin,
    sinh,
    tan,
)

__all__ = [
    "BUILTIN_PRIMITIVES",
    "absolute",
    "add",
    "affine",
    "arccos",
    "arccosh",
    "arcsin",
    "arcsinh",
    "arctan",
    "arctan2",
    "arctanh",
    "around",
    "broadcast_to",
    "cbrt",
    "ceil",
    "clip",
    "concatenate",
    "contract",
    "cos",
    "cosh",
    "cumsum",
    "divide",
    "dot",
    "einsum",
    "exp",
    "expand_dims",
    "expm1",
    "floor",
    "getitem",
    "hypot",
    "log",
    "log1p",
    "log2",
    "log10",
    "log_sigmoid",
    "log_softmax",
    "logsumexp",
    "matmul",
    "maximum",
    "mean_squared_error",
    "minimum",
    "multiply",
    "negative",
    "norm",
    "power",
    "reciprocal",
    "reduce_max",
    "reduce_mean",
    "reduce_min",
    "reduce_prod",
    "reduce_sum",
    "relu",
    "reshape",
    "sigmoid",
    "sigmoid_cross_entropy",
    "sign",
    "sin",
    "sinh",
    "softmax",
    "softplus",
    "sqrt",
    "square",
    "squeeze",
    "stack",
    "std",
    "subtract",
    "tan",
    "tanh",
    "transpose",
    "var",
    "where",
]

# einsum is not listed: it is the NumPy-style front of the primitive `contract`
BUILTIN_PRIMITIVES = (
    add, subtract, negative, multiply, divide, power,
    exp, expm1, log, log1p, log2, log10, sqrt, cbrt, square, reciprocal,
    sigmoid, tanh, relu, softplus, log_sigmoid,
    sign, floor, ceil, around, absolute, maximum, minimum, clip, where,
    sin, cos, tan, arcsin, arccos, arctan, sinh, cosh, arcsinh, arccosh, arctanh, hypot, arctan2,
    reduce_sum, reduce_mean, reduce_prod, reduce_max, reduce_min, var, std, cumsum,
    logsumexp, softmax, log_softmax,
    matmul, dot, contract, norm,
    reshape, squeeze, expand_dims, transpose, getitem, broadcast_to, concatenate, stack,
    affine, mean_squared_error, sigmoid_cross_entropy,
)

provide_operators(
    add=add, subtract=subtract, multiply=multiply, divide=divide, power=power,
    negative=negative, absolute=absolute, matmul=matmul, dot=dot, transpose=transpose,
    getitem=getitem, reshape=reshape, squeeze=squeeze, broadcast_to=broadcast_to,
    reduce_sum=reduce_sum, reduce_mean=reduce_mean, reduce_prod=reduce_prod,
    reduce_max=reduce_max, reduce_min=reduce_min, var=var, std=std, cumsum=cumsum,
)

# The built-ins' rules run on compact tangents, except the fused ones (their rules recognise
# unit seeds by the dense arrays); primitives from elsewhere were written for all T directions.
provide_compact_rules(
    rows=set(BUILTIN_PRIMITIVES) - {affine, mean_squared_error, sigmoid_cross_entropy},
    unit_maps={getitem, reshape, squeeze, expand_dims},
    into=INTO,
)
