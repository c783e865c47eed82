"""dualgrad's built-in primitives, registered by the built-in plugin like any other.

Each module groups primitives of one kind, each primitive beside its rule.
"""

from .arithmetic import add, divide, matmul, multiply, negative, power, subtract
from .elementwise import (
    absolute,
    clip,
    exp,
    log,
    log_sigmoid,
    maximum,
    minimum,
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
from .reductions import reduce_mean, reduce_sum
from .shaping import broadcast_to, concatenate, getitem, reshape, stack, transpose

__all__ = [
    "BUILTIN_PRIMITIVES",
    "absolute",
    "add",
    "affine",
    "broadcast_to",
    "clip",
    "concatenate",
    "divide",
    "exp",
    "getitem",
    "log",
    "log_sigmoid",
    "matmul",
    "maximum",
    "mean_squared_error",
    "minimum",
    "multiply",
    "negative",
    "power",
    "reduce_mean",
    "reduce_sum",
    "relu",
    "reshape",
    "sigmoid",
    "sigmoid_cross_entropy",
    "sign",
    "softplus",
    "sqrt",
    "square",
    "stack",
    "subtract",
    "tanh",
    "transpose",
    "where",
]

BUILTIN_PRIMITIVES = (
    add, subtract, negative, multiply, divide, power, matmul,
    exp, log, sqrt, square, sigmoid, tanh, relu, softplus, log_sigmoid,
    sign, absolute, maximum, minimum, clip, where,
    reduce_sum, reduce_mean,
    reshape, transpose, getitem, broadcast_to, concatenate, stack,
    affine, mean_squared_error, sigmoid_cross_entropy,
)
