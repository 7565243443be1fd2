"""Library-agnostic conformance runner (standard library only: runs under Pyodide).

    inputs = make_inputs(case, seed, profile)     # plain nested lists, deterministic
    got = run_case(distml, case, inputs, seed)    # {"out": ..., "grads": [...]}
    want = run_case(torch, case, inputs, seed)    # or loaded from a reference file
    problems = compare(got, want, case.rtol, case.atol)

`run_case` builds the input tensors with `lib.tensor`, calls `case.fn(lib, *tensors)`,
converts every output to plain Python data, then (when some float output requires grad)
back-propagates sum_k sum(out_k * w_k) for fixed pseudo-random weights w_k and records the
gradient of every input that requires grad.
"""
import math
import random
import struct

try:  # imported as the package `conformance` (tests, browser) or as a flat module
    from .cases import CASES, resolve
except ImportError:  # pragma: no cover
    from cases import CASES, resolve

PROFILES = ("small", "full")
_F32 = struct.Struct("<f")


def f32(v):
    """Round a Python float to the nearest float32 (keeps NaN/inf)."""
    if v != v or v in (math.inf, -math.inf):
        return v
    return _F32.unpack(_F32.pack(v))[0]


def _rng(case_id, seed, what):
    # str seeds are hashed with SHA-512 by random.seed: the same numbers on every platform
    return random.Random(f"{case_id}|{seed}|{what}")


def _sample(rng, domain, dtype):
    if dtype == "bool" or domain == "bool":
        return rng.random() < 0.5
    if domain.startswith("int<"):
        lo, hi = (int(v) for v in domain[4:-1].split(","))
        return rng.randint(lo, hi)
    if domain.startswith("index<"):
        return rng.randrange(int(domain[6:-1]))
    if domain.startswith("sindex<"):
        n = int(domain[7:-1])
        return rng.randrange(-n, n)
    if domain == "any":
        v = rng.uniform(-2.0, 2.0)
    elif domain == "positive":
        v = rng.uniform(0.1, 3.0)
    elif domain == "unit":
        v = rng.uniform(-0.95, 0.95)
    elif domain == "nonzero":
        v = rng.uniform(0.5, 2.0) * rng.choice((-1.0, 1.0))
    elif domain == "prob":
        v = rng.uniform(0.05, 0.95)
    else:
        raise ValueError(f"unknown value domain {domain!r}")
    return int(round(v)) if dtype == "int64" else f32(v)


def _nest(flat, shape):
    if not shape:
        return flat[0]
    if len(shape) == 1:
        return list(flat)
    step = math.prod(shape[1:])
    return [_nest(flat[k * step:(k + 1) * step], shape[1:]) for k in range(shape[0])]


def make_inputs(case, seed=0, profile="full"):
    """Plain nested lists (scalars for 0-d), one per input spec; deterministic in
    (case.id, seed, profile)."""
    out = []
    for n, spec in enumerate(case.inputs):
        if spec.values is not None:
            out.append(spec.values)
            continue
        shape = tuple(resolve(spec.shape, profile))
        domain = resolve(spec.domain, profile)
        rng = _rng(case.id, seed, f"{profile}|input{n}")
        flat = [_sample(rng, domain, spec.dtype) for _ in range(math.prod(shape))]
        out.append(_nest(flat, shape))
    return out


def dtype_name(dtype):
    """"float32"/"int64"/"bool" for torch.float32, distml.float32, ..."""
    return str(dtype).split(".")[-1]


def unavailable(lib, case):
    """A reason string when `lib` lacks a feature the case needs, else None."""
    for need in case.needs:
        if need == "nn.functional":
            import importlib
            try:
                importlib.import_module(lib.__name__ + ".nn.functional")
            except ImportError as exc:
                return f"{lib.__name__}.nn.functional is not importable yet ({exc})"
        else:
            raise ValueError(f"unknown feature {need!r}")
    return None


def _device_kw(device):
    return {} if device is None else {"device": device}


def _make_tensor(lib, spec, value, device=None):
    dtype = {"float32": lib.float32, "int64": lib.int64, "bool": lib.bool}[spec.dtype]
    return lib.tensor(value, dtype=dtype, requires_grad=spec.requires_grad,
                      **_device_kw(device))


def _plain(lib, obj, tensors):
    """Outputs to JSON-able data; tensors (in order) are appended to `tensors`."""
    if isinstance(obj, lib.Tensor):
        tensors.append(obj)
        value = obj.detach().tolist()
        return {"dtype": dtype_name(obj.dtype), "shape": list(obj.shape), "value": value,
                "requires_grad": bool(obj.requires_grad)}
    if isinstance(obj, (tuple, list)):  # also torch.Size, namedtuples (values, indices)
        return [_plain(lib, o, tensors) for o in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, lib.dtype):
        return dtype_name(obj)
    raise TypeError(f"case returned an unsupported {type(obj).__name__}")


def _weights(lib, case_id, seed, index, shape, device=None):
    rng = _rng(case_id, seed, f"weights{index}")
    flat = [f32(rng.uniform(-1.0, 1.0)) for _ in range(math.prod(shape))]
    return lib.tensor(_nest(flat, tuple(shape)) if flat else [], dtype=lib.float32,
                      **_device_kw(device)).reshape(tuple(shape))


def run_case(lib, case, inputs, seed=0, device=None):
    """Run `case` with `lib` on plain `inputs`; returns {"out": ..., "grads": [...]} where
    grads has one entry per input that requires grad (a nested list, or None when the input
    got no gradient). `device` (None: the library's default) is where the inputs and the
    gradient weights are created; tensors a case makes itself follow the library's default
    device (set it too, e.g. distml.set_default_device("webgl"), to keep them together)."""
    tensors = [_make_tensor(lib, spec, v, device) for spec, v in zip(case.inputs, inputs)]
    out = case.fn(lib, *tensors)
    outs = []
    result = {"out": _plain(lib, out, outs), "grads": []}
    wanted = [t for t, spec in zip(tensors, case.inputs) if spec.requires_grad]
    if not case.grad or not wanted:
        return result
    loss = None
    for k, o in enumerate(outs):
        if o.requires_grad and dtype_name(o.dtype) == "float32":
            w = _weights(lib, case.id, seed, k, o.shape, None if device is None else o.device)
            term = (o * w).sum()
            loss = term if loss is None else loss + term
    if loss is not None:
        loss.backward()
    result["grads"] = [t.grad.tolist() if t.grad is not None else None for t in wanted]
    return result


# -- comparison ------------------------------------------------------------------------------

def _flat(v):
    if isinstance(v, list):
        return [x for item in v for x in _flat(item)]
    return [v]


def _close(g, w, rtol, atol):
    if isinstance(w, bool) or isinstance(g, bool):
        return g == w and isinstance(g, bool) == isinstance(w, bool)
    if isinstance(w, int) and isinstance(g, int):
        return g == w
    if not isinstance(g, (int, float)) or not isinstance(w, (int, float)):
        return False
    g, w = float(g), float(w)
    if w != w or g != g:
        return w != w and g != g
    if math.isinf(w) or math.isinf(g):
        return g == w
    return abs(g - w) <= atol + rtol * abs(w)


def _compare_values(got, want, rtol, atol, where, problems, is_float):
    gf, wf = _flat(got), _flat(want)
    if not is_float:  # int64 / bool: exact
        rtol = atol = 0.0
    if len(gf) != len(wf):
        problems.append(f"{where}: {len(gf)} values, expected {len(wf)}")
        return
    bad = [k for k, (g, w) in enumerate(zip(gf, wf)) if not _close(g, w, rtol, atol)]
    if bad:
        worst = max(bad, key=lambda k: abs(float(gf[k]) - float(wf[k]))
                    if _finite_pair(gf[k], wf[k]) else math.inf)
        shown = ", ".join(f"[{k}] got {gf[k]!r} want {wf[k]!r}" for k in bad[:3])
        problems.append(f"{where}: {len(bad)}/{len(wf)} values differ "
                        f"(rtol={rtol}, atol={atol}); worst [{worst}] got {gf[worst]!r} "
                        f"want {wf[worst]!r}; first: {shown}")


def _finite_pair(g, w):
    try:
        return math.isfinite(float(g)) and math.isfinite(float(w))
    except (TypeError, ValueError):
        return False


def _compare(got, want, rtol, atol, where, problems):
    if isinstance(want, dict):
        if not isinstance(got, dict):
            problems.append(f"{where}: got {type(got).__name__}, expected a tensor")
            return
        if got["dtype"] != want["dtype"]:
            problems.append(f"{where}: dtype {got['dtype']}, expected {want['dtype']}")
        if got.get("requires_grad") != want.get("requires_grad"):
            problems.append(f"{where}: requires_grad={got.get('requires_grad')}, expected "
                            f"{want.get('requires_grad')}")
        if got["shape"] != want["shape"]:
            problems.append(f"{where}: shape {got['shape']}, expected {want['shape']}")
            return
        _compare_values(got["value"], want["value"], rtol, atol, where, problems,
                        want["dtype"] == "float32")
    elif isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            problems.append(f"{where}: got {_describe(got)}, expected a list of {len(want)}")
            return
        for k, (g, w) in enumerate(zip(got, want)):
            _compare(g, w, rtol, atol, f"{where}[{k}]", problems)
    elif isinstance(got, (dict, list)):
        problems.append(f"{where}: got {_describe(got)}, expected {want!r}")
    elif type(got) is not type(want):
        problems.append(f"{where}: got {got!r} ({type(got).__name__}), expected {want!r} "
                        f"({type(want).__name__})")
    elif isinstance(want, float) and not _close(got, want, rtol, atol):
        problems.append(f"{where}: got {got!r}, expected {want!r}")
    elif not isinstance(want, float) and got != want:
        problems.append(f"{where}: got {got!r}, expected {want!r}")


def _describe(v):
    if isinstance(v, dict):
        return f"a tensor of shape {v.get('shape')}"
    if isinstance(v, list):
        return f"a list of {len(v)}"
    return repr(v)


def compare(got, want, rtol=1e-5, atol=1e-6):
    """Mismatch messages between two run_case results (empty list: they agree)."""
    problems = []
    _compare(got["out"], want["out"], rtol, atol, "out", problems)
    gg, wg = got.get("grads", []), want.get("grads", [])
    if len(gg) != len(wg):
        problems.append(f"grads: {len(gg)} entries, expected {len(wg)}")
        return problems
    for k, (g, w) in enumerate(zip(gg, wg)):
        where = f"grad[{k}]"
        # None and an all-zero gradient are the same thing (torch materialises zeros where
        # an input is reached only through ops whose derivative is zero, e.g. copy_)
        g = None if g is not None and _all_zero(g) else g
        w = None if w is not None and _all_zero(w) else w
        if (g is None) != (w is None):
            problems.append(f"{where}: got {'no gradient' if g is None else 'a gradient'}, "
                            f"expected {'none' if w is None else 'a gradient'}")
        elif g is not None:
            _compare_values(g, w, rtol, atol, where, problems, True)
            if _shape_of(g) != _shape_of(w):
                problems.append(f"{where}: shape {_shape_of(g)}, expected {_shape_of(w)}")
    return problems


def _all_zero(v):
    return all(x == 0 for x in _flat(v))


def _shape_of(v):
    shape = []
    while isinstance(v, list):
        shape.append(len(v))
        v = v[0] if v else None
    return shape


def run_all(lib, profile="full", seed=0, reference=None, ids=None, device=None):
    """Run every case with `lib` and compare with `reference` (the JSON loaded from
    make_reference.py). Returns {"pass": [...], "fail": {id: [msgs]}, "skip": {id: reason}}.
    This is the entry point for the browser run; `device` as in run_case."""
    report = {"pass": [], "fail": {}, "skip": {}}
    for case in CASES:
        if ids is not None and case.id not in ids:
            continue
        reason = case.skip or unavailable(lib, case)
        entry = reference["cases"].get(case.id) if reference else None
        if reason is None and reference is not None and entry is None:
            reason = "no reference value"
        if reason is None and entry is not None and "skip" in entry:
            reason = "reference: " + entry["skip"]
        if reason:
            report["skip"][case.id] = reason
            continue
        try:
            got = run_case(lib, case, make_inputs(case, seed, profile), seed, device)
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            report["fail"][case.id] = [f"raised {type(exc).__name__}: {exc}"]
            continue
        problems = compare(got, entry["result"], case.rtol, case.atol) if entry else []
        if problems:
            report["fail"][case.id] = problems
        else:
            report["pass"].append(case.id)
    return report
