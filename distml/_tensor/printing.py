"""How a tensor prints: torch's repr, one number style for the whole tensor."""
import math

from ..dtypes import bool_, float32, int64


def tensor_repr(t):
    body = _format(t.tolist(), t.dtype)
    extras = []
    if t.dtype not in (float32, int64, bool_) or (t.dtype is int64 and t.numel() == 0):
        extras.append(f"dtype={t.dtype}")
    if t.device.type != "cpu":
        extras.append(f"device='{t.device}'")
    if t._ctx is not None:
        extras.append(f"grad_fn=<{type(t._ctx).__name__}Backward>")
    elif t.requires_grad:
        extras.append("requires_grad=True")
    inner = ", ".join([body] + extras)
    return f"tensor({inner})"


def _format(values, dtype):
    """torch-like printing: one number style for the whole tensor."""
    flat = values if isinstance(values, list) else [values]
    while flat and isinstance(flat[0], list):
        flat = [v for row in flat for v in row]
    finite = [abs(v) for v in flat if isinstance(v, float) and math.isfinite(v)]
    integral = all(float(v).is_integer() for v in finite)
    sci = bool(finite) and (max(finite) >= 1e8 or 0 < min(v for v in finite if v) < 1e-4
                            if any(finite) else False)

    def fmt(v):
        if dtype is bool_:
            return str(bool(v))
        if dtype is int64:
            return str(v)
        if v != v:
            return "nan"
        if v in (math.inf, -math.inf):
            return "inf" if v > 0 else "-inf"
        if sci:
            return f"{v:.4e}"
        return f"{v:.0f}." if integral else f"{v:.4f}"

    def rec(x, depth):
        if not isinstance(x, list):
            return fmt(x)
        if x and isinstance(x[0], list):
            return "[" + (",\n" + " " * (8 + depth)).join(rec(i, depth + 1) for i in x) + "]"
        return "[" + ", ".join(fmt(i) for i in x) + "]"
    return rec(values, 0)
