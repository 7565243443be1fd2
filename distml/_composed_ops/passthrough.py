"""The core methods that distml also has as free functions: distml.exp(x) is Tensor.exp(x)."""

PASSTHROUGH = (
    "exp", "log", "sqrt", "rsqrt", "abs", "neg", "sign", "relu", "sigmoid", "tanh", "erf",
    "sin", "cos", "reciprocal", "square", "floor", "ceil", "round", "clamp", "clip",
    "isnan", "isinf", "isfinite", "sum", "mean", "var", "std", "prod", "max", "min", "amax",
    "amin", "argmax", "argmin", "all", "any", "logsumexp", "softmax", "log_softmax", "norm",
    "reshape", "flatten", "unflatten", "permute", "transpose", "swapaxes", "t", "unsqueeze",
    "squeeze", "gather", "scatter_add", "index_select", "masked_fill", "maximum", "minimum",
    "chunk", "split", "narrow", "unbind", "select", "flip", "lerp", "addcmul", "addcdiv",
    "add", "sub", "mul", "div", "pow", "lt", "le", "gt", "ge", "eq", "ne", "equal",
    "logical_not", "logical_and", "logical_or", "numel", "log2", "log1p", "expm1", "detach",
    "clone", "repeat",
)
