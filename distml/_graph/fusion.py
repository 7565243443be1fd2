"""Elementwise fusion in a captured step's draw list (capture.py), where it stays exact.

Two rewrites, both bit for bit equal to the eager draws (no arithmetic changes order, so
no multiply-add can be contracted differently):
- an activation folded into its producer: `relu(y)` after the elementwise op that wrote
  y (BatchNorm apply, residual add, bias add) becomes that op's second render target;
  y is still written (backward reads it);
- a producer folded into a consumer that only compares or selects (ReLU's backward
  mask `x > 0` then `where(mask, g, 0)`, cross-entropy's `==` then `where`), when nothing
  else reads the producer's output.
A texture a Python tensor holds, a state output or a returned value is always written.
"""
import math
import re

from distml.backends.base import contiguous_strides
from distml.backends.webgl.lowering import rename_inputs
from .capture import producer, readers_of, without

_LETTERS = "abcd"
# expressions that only compare or select (f_<op> are glsl/elementwise.frag's op functions)
_NO_ARITHMETIC = re.compile(
    r"(u_c\[\d+\]|f_(relu|bool|lt|le|gt|ge|eq|ne|logical_not)\b|[abcd]\b|[\s().,<>=!?:]|\d)*")


def _defines(program_keys, op):
    key = program_keys.get(op[1])
    return None if key is None or key[0] != "elementwise" else dict(key[1:])


def _args(defines):
    return "(a,b,c,d)" if defines["NIN"] > 3 else "(a,b,c)"


def _expr(defines):
    return defines["OP" + _args(defines)]


def _reads_whole(op, k):
    """Whether input k of the elementwise op reads its texture element i at output i."""
    u = op[4]
    st = u.get(f"u_st{k}")
    return u.get(f"u_off{k}") == 0 and st is not None \
        and tuple(st) == contiguous_strides(u["u_shape"])


def _input_uniforms(op, k):
    u = op[4]
    return {name: u[f"{name}{k}"] for name in ("u_off", "u_st", "u_w") if f"{name}{k}" in u}


def fuse(be, ops, keep):
    """(fused ops, {old op index: new op index}); ops are Recording ops, keep the ids of
    storages that must be written."""
    keys = {handle: key for key, handle in be._programs.items()}
    readers = readers_of(ops)
    ops = list(ops)
    dead = set()
    for j, op in enumerate(ops):
        dj = _defines(keys, op) if op[0] == "d" and not isinstance(op[2], list) else None
        if dj is None or "u_k" in op[4] or "MRT" in dj:
            continue
        for m, st in enumerate(op[3]):
            k = producer(ops, st, j)
            if k is None or k in dead:
                continue
            pk = ops[k]
            dk = _defines(keys, pk)
            if dk is None or "u_k" in pk[4] or "MRT" in dk or isinstance(pk[2], list) \
                    or not _reads_whole(op, m) or ("VEC" in dk) != ("VEC" in dj):
                continue
            # relu reads element i where the producer wrote it (both flat, in order), so
            # their shapes need only the same size (a bias add's (64, 32), relu's (2048,))
            if _expr(dj) == "f_relu(a)" and dj["NIN"] == 1 and pk[2].w == op[2].w \
                    and pk[2].h == op[2].h and dk["NIN"] <= 3 \
                    and math.prod(pk[4]["u_shape"]) == math.prod(op[4]["u_shape"]):
                ops[k] = _with_relu(be, pk, dk, op[2])
                dead.add(j)
                break
            only = readers.get(id(st)) == [j] and id(st) not in keep
            if only and pk[4]["u_shape"] == op[4]["u_shape"] \
                    and _NO_ARITHMETIC.fullmatch(_expr(dj)) \
                    and dj["NIN"] - 1 + dk["NIN"] <= 4:
                ops[j] = _merged(be, op, dj, m, pk, dk)
                dead.add(k)
                break
    return without(ops, dead)


def _program(be, defines):
    return be._program("elementwise", **defines)


def _with_relu(be, pk, dk, relu_out):
    """The producer writing relu of its value to a second render target."""
    d = dict(dk)
    d["MRT"] = 1
    d["OP1" + _args(dk)] = f"f_relu({_expr(dk)})"
    return ("d", _program(be, d), [pk[2], relu_out], pk[3], dict(pk[4]))


def _merged(be, op, dj, m, pk, dk):
    """The consumer op reading the producer's inputs instead of input m."""
    keep_j = [k for k in range(dj["NIN"]) if k != m]
    nin = len(keep_j) + dk["NIN"]
    letters_j = {}
    sources = []  # (op, input index) in the new order
    for k in keep_j:
        letters_j[k] = _LETTERS[len(sources)]
        sources.append((op, k))
    first_k = len(sources)
    sources += [(pk, k) for k in range(dk["NIN"])]
    inner = rename_inputs(_expr(dk), _LETTERS[first_k:first_k + dk["NIN"]].ljust(5, "_"))
    # constants (u_c, lowering._map's uniforms): the consumer's, then the producer's
    cj, ck = op[4].get("u_c", []), pk[4].get("u_c", [])
    inner = re.sub(r"u_c\[(\d+)\]", lambda m: f"u_c[{int(m.group(1)) + len(cj)}]", inner)
    placeholder = [letters_j.get(k, "\0") for k in range(dj["NIN"])] + ["_"] * 4
    expr = rename_inputs(_expr(dj), placeholder[:5]).replace("\0", f"({inner})")
    d = {key: v for key, v in dj.items() if not key.startswith(("OP", "VEC"))}
    d["NIN"] = nin
    d["OP" + ("(a,b,c,d)" if nin > 3 else "(a,b,c)")] = expr
    if "VEC" in dj:
        d["VEC"] = 1
        for new, (src, k) in enumerate(sources):
            d[f"VEC{new}"] = (dj if src is op else dk)[f"VEC{k}"]
    u = {key: v for key, v in op[4].items() if not re.match(r"u_(off|st|w)\d", key)}
    if cj or ck:
        d["NC"], u["u_c"] = len(cj) + len(ck), list(cj) + list(ck)
    for new, (src, k) in enumerate(sources):
        for name, v in _input_uniforms(src, k).items():
            u[f"{name}{new}"] = v
    inputs = [src[3][k] for src, k in sources]
    return ("d", _program(be, d), op[2], inputs, u)
