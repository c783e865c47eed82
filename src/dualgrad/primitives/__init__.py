"""dualgrad's built-in primitives, registered by the built-in plugin like any other.

Each module groups primitives of one kind, each primitive beside its rule and the
specialisations its record declares, and lists them in its `PRIMITIVES`; the built-ins are
those lists, gathered below. Importing this package gives Variable its operators.
"""

from .._core import provide_operators
from .arithmetic import PRIMITIVES as _ARITHMETIC
from .arithmetic import add, divide, multiply, negative, power, subtract
from .elementwise import PRIMITIVES as _ELEMENTWISE
from .elementwise import (
    absolute,
    around,
    astype,
    cbrt,
    ceil,
    clip,
    deg2rad,
    exp,
    exp2,
    expm1,
    floor,
    fmax,
    fmin,
    fmod,
    heaviside,
    log,
    log1p,
    log2,
    log10,
    log_sigmoid,
    logaddexp,
    logaddexp2,
    maximum,
    minimum,
    rad2deg,
    reciprocal,
    relu,
    remainder,
    sigmoid,
    sign,
    sinc,
    softplus,
    sqrt,
    square,
    tanh,
    where,
)
from .fused import PRIMITIVES as _FUSED
from .fused import affine, mean_squared_error, sigmoid_cross_entropy
from .linalg import PRIMITIVES as _LINALG
from .linalg import contract, dot, einsum, matmul, norm
from .matrices import PRIMITIVES as _MATRICES
from .reductions import PRIMITIVES as _REDUCTIONS
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
from .shaping import PRIMITIVES as _SHAPING
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
from .softmax import PRIMITIVES as _SOFTMAX
from .softmax import log_softmax, logsumexp, softmax
from .trigonometric import PRIMITIVES as _TRIGONOMETRIC
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
    "astype",
    "broadcast_to",
    "cbrt",
    "ceil",
    "clip",
    "concatenate",
    "contract",
    "cos",
    "cosh",
    "cumsum",
    "deg2rad",
    "divide",
    "dot",
    "einsum",
    "exp",
    "exp2",
    "expand_dims",
    "expm1",
    "floor",
    "fmax",
    "fmin",
    "fmod",
    "getitem",
    "heaviside",
    "hypot",
    "log",
    "log1p",
    "log2",
    "log10",
    "log_sigmoid",
    "log_softmax",
    "logaddexp",
    "logaddexp2",
    "logsumexp",
    "matmul",
    "maximum",
    "mean_squared_error",
    "minimum",
    "multiply",
    "negative",
    "norm",
    "power",
    "rad2deg",
    "reciprocal",
    "reduce_max",
    "reduce_mean",
    "reduce_min",
    "reduce_prod",
    "reduce_sum",
    "relu",
    "remainder",
    "reshape",
    "sigmoid",
    "sigmoid_cross_entropy",
    "sign",
    "sin",
    "sinc",
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

# every module's list, in the order the modules are read
BUILTIN_PRIMITIVES = (*_ARITHMETIC, *_ELEMENTWISE, *_TRIGONOMETRIC, *_REDUCTIONS, *_SOFTMAX,
                      *_LINALG, *_SHAPING, *_FUSED, *_MATRICES)

provide_operators(
    add=add, subtract=subtract, multiply=multiply, divide=divide, power=power,
    negative=negative, absolute=absolute, matmul=matmul, dot=dot, transpose=transpose,
    getitem=getitem, reshape=reshape, squeeze=squeeze, broadcast_to=broadcast_to,
    reduce_sum=reduce_sum, reduce_mean=reduce_mean, reduce_prod=reduce_prod,
    reduce_max=reduce_max, reduce_min=reduce_min, var=var, std=std, cumsum=cumsum,
    remainder=remainder, astype=astype,
)
