"""distml.nn.init: torch.nn.init's functions and defaults.

Every function works in place under no_grad and draws from distml's counter-based
generator (the default one, or `generator=`), so a seed gives the same weights on every
backend.
"""
import math
import warnings

from ..autograd import no_grad
from .._tensor import Tensor, randn, where
from .._tensor import tensor as _tensor

__all__ = [
    "calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_",
    "eye_", "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
    "kaiming_normal_", "orthogonal_",
]

_LINEAR_FNS = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
               "conv_transpose2d", "conv_transpose3d")


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for a nonlinearity (torch's table)."""
    if nonlinearity in _LINEAR_FNS or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            negative_slope = 0.01
        elif (not isinstance(param, bool) and isinstance(param, int)) or \
                isinstance(param, float):
            negative_slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + negative_slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor):
    dimensions = tensor.dim()
    if dimensions < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than "
                         "2 dimensions")
    num_input_fmaps = tensor.size(1)
    num_output_fmaps = tensor.size(0)
    receptive_field_size = 1
    if dimensions > 2:
        for s in tensor.shape[2:]:
            receptive_field_size *= s
    return num_input_fmaps * receptive_field_size, num_output_fmaps * receptive_field_size


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower()
    valid_modes = ["fan_in", "fan_out"]
    if mode not in valid_modes:
        raise ValueError(f"Mode {mode} not supported, please use one of {valid_modes}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _check(tensor):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"expected a distml.Tensor, got {type(tensor).__name__}")


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill with U(a, b)."""
    _check(tensor)
    with no_grad():
        return tensor.uniform_(a, b, generator=generator)


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill with N(mean, std^2)."""
    _check(tensor)
    with no_grad():
        return tensor.normal_(mean, std, generator=generator)


def _erfinv(x):
    """Elementwise inverse error function (M. Giles' single-precision approximation)."""
    w = -((1.0 - x) * (1.0 + x)).log()
    small = w < 5.0
    ws = w - 2.5
    p1 = ws._const(2.81022636e-08)
    for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
              -0.00125372503, -0.00417768164, 0.246640727, 1.50140941):
        p1 = p1 * ws + c
    wl = where(small, w._const(5.0), w).sqrt() - 3.0
    p2 = wl._const(-0.000200214257)
    for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
              0.00943887047, 1.00167406, 2.83297682):
        p2 = p2 * wl + c
    return where(small, p1, p2) * x


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Fill with N(mean, std^2) truncated to [a, b] (inverse-CDF method, as torch)."""
    _check(tensor)

    def norm_cdf(x):
        return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0

    if (mean < a - 2 * std) or (mean > b + 2 * std):
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
                      "The distribution of values may be incorrect.", stacklevel=2)
    with no_grad():
        lo = norm_cdf((a - mean) / std)
        hi = norm_cdf((b - mean) / std)
        tensor.uniform_(2 * lo - 1, 2 * hi - 1, generator=generator)
        values = _erfinv(tensor.detach()) * (std * math.sqrt(2.0)) + mean
        return tensor.copy_(values.clamp(min=a, max=b))


def constant_(tensor, val):
    _check(tensor)
    with no_grad():
        return tensor.fill_(val)


def ones_(tensor):
    return constant_(tensor, 1.0)


def zeros_(tensor):
    return constant_(tensor, 0.0)


def eye_(tensor):
    """Fill a 2-D tensor with the identity matrix."""
    _check(tensor)
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = tensor.shape
    with no_grad():
        eye = _tensor_from([[1.0 if i == j else 0.0 for j in range(cols)] for i in range(rows)],
                          tensor)
        return tensor.copy_(eye)


def _tensor_from(values, like):
    return _tensor(values, device=like.device)


def dirac_(tensor, groups=1):
    """Fill a {3,4,5}-D tensor with the Dirac delta (identity convolution)."""
    _check(tensor)
    dims = tensor.ndim
    if dims not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    sizes = tuple(tensor.shape)
    if sizes[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    out_chans_per_grp = sizes[0] // groups
    min_dim = min(out_chans_per_grp, sizes[1])
    flat = [0.0] * math.prod(sizes)
    strides = [math.prod(sizes[i + 1:]) for i in range(dims)]
    centers = [s // 2 for s in sizes[2:]]
    for g in range(groups):
        for d in range(min_dim):
            idx = (g * out_chans_per_grp + d) * strides[0] + d * strides[1]
            for c, st in zip(centers, strides[2:]):
                idx += c * st
            flat[idx] = 1.0
    with no_grad():
        return tensor.copy_(_tensor_from(flat, tensor).reshape(sizes))


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    """N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def _kaiming_std(tensor, a, mode, nonlinearity):
    """gain / sqrt(fan), or None for a zero-element tensor (a no-op, with torch's warning)."""
    _check(tensor)
    if 0 in tuple(tensor.shape):
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return None
    return calculate_gain(nonlinearity, a) / math.sqrt(_calculate_correct_fan(tensor, mode))


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """U(-bound, bound) with bound = gain * sqrt(3 / fan) (He et al., 2015)."""
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """N(0, std^2) with std = gain / sqrt(fan) (He et al., 2015)."""
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    return normal_(tensor, 0.0, std, generator)


def orthogonal_(tensor, gain=1, generator=None):
    """A (semi-)orthogonal matrix from the QR decomposition of a normal draw (host-side
    Householder QR; the sign of R's diagonal is folded into Q, as torch)."""
    _check(tensor)
    if tensor.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    with no_grad():
        flat = randn(rows, cols, generator=generator).tolist()
    if rows < cols:
        flat = [list(r) for r in zip(*flat)]
    q = _householder_q(flat)  # (m, n) with m >= n, orthonormal columns
    if rows < cols:
        q = [list(r) for r in zip(*q)]
    values = [[v * gain for v in row] for row in q]
    with no_grad():
        return tensor.copy_(_tensor_from(values, tensor).reshape(tensor.shape))


def _householder_q(a):
    """Thin Q of A = QR (m x n, m >= n) with diag(R) made positive."""
    m, n = len(a), len(a[0])
    r = [list(row) for row in a]
    vs = []
    for k in range(n):
        x = [r[i][k] for i in range(k, m)]
        norm = math.sqrt(sum(v * v for v in x))
        alpha = -norm if x[0] >= 0 else norm
        v = list(x)
        v[0] -= alpha
        vnorm = math.sqrt(sum(t * t for t in v))
        v = [t / vnorm for t in v] if vnorm > 0 else v
        vs.append(v)
        for j in range(k, n):
            dot = sum(v[i - k] * r[i][j] for i in range(k, m))
            for i in range(k, m):
                r[i][j] -= 2 * v[i - k] * dot
    # Q = H_0 H_1 ... H_{n-1} applied to the first n columns of I
    q = [[1.0 if i == j else 0.0 for j in range(n)] for i in range(m)]
    for k in range(n - 1, -1, -1):
        v = vs[k]
        for j in range(n):
            dot = sum(v[i - k] * q[i][j] for i in range(k, m))
            for i in range(k, m):
                q[i][j] -= 2 * v[i - k] * dot
    signs = [1.0 if r[j][j] >= 0 else -1.0 for j in range(n)]
    return [[q[i][j] * signs[j] for j in range(n)] for i in range(m)]
