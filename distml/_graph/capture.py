"""Captured steps (distml.compile), the backend-independent half: record the ops of a step
run eagerly, line two recordings up, and decide what a replay recomputes and when it would
be stale. A backend whose device can replay an op list subclasses StepGraph with how it
defines and runs one (_graph/webgl.py: one FFI call per step in the JS helper).

A step is recorded (run eagerly with `backend.recording` set) on two consecutive calls
with the same arguments' signature. Lining the two recordings up op by op tells
- which storages are the step's state: a storage the second recording reads that the
  first one wrote (parameters, optimizer state, running statistics); the replay copies
  the state outputs of the last step onto them first (the prologue), so every Python
  tensor keeps pointing at the storages the last recording wrote, which hold the newest
  values after each replay;
- which storages are the arguments (rebound to the new arguments' storages per call);
- which uniforms change from step to step: they must come from a source the replay can
  recompute (an optimizer's lr and step count, read from its param_groups and state; the
  random generator's offset), or the step is not replayed.
Anything else Python decides (values read back, data uploaded from Python, a Python
number baked into a constant that changes between calls) makes the step stay eager.
Recorded storages are held by the capture, so no other tensor reuses them.
"""
import gc
import weakref

from distml import random as _rnd
from distml._tensor import Tensor
from distml.nn import Module
from distml.optim import Optimizer
from distml.optim.optimizer import (register_optimizer_step_post_hook,
                                    register_optimizer_step_pre_hook)

MAX_ATTEMPTS = 4  # recordings of one signature that fail to line up before giving up


class Recording:
    """The ops of one eager step (draws and fills), holding the storages they touch."""

    def __init__(self, arg_buffers):
        self.ops = []            # ("d", program, out, inputs, uniforms) | ("f", storage, v)
        self.dynamic = {}        # (op index, uniform) -> source
        self.refused = None      # why this step cannot be replayed
        self.source = None       # the optimizer whose step() runs (set by step hooks)
        self.arg_buffers = arg_buffers
        self.rng_before = _rnd.default_generator.get_state()
        self.rng_after = None
        self.result = None

    def draw(self, prog, out, inputs, uniforms):
        self.ops.append(("d", prog, out, list(inputs), uniforms))

    def fill(self, storage, value):
        self.ops.append(("f", storage, value))

    def tag_last(self, name, source, count_before):
        """The uniform `name` of the op just recorded (if one was) changes per step."""
        if len(self.ops) > count_before:
            self.dynamic[(len(self.ops) - 1, name)] = source

    def refuse(self, why):
        if self.refused is None:
            self.refused = why

    def storages(self):
        """(read-before-written storages, written storages), each in order of appearance."""
        reads, writes, seen = [], [], set()
        for op in self.ops:
            ins = op[3] if op[0] == "d" else []
            for st in ins:
                if id(st) not in seen:
                    seen.add(id(st))
                    reads.append(st)
            for st in op_outputs(op):
                if id(st) not in seen:
                    seen.add(id(st))
                    writes.append(st)
        return reads, writes


def op_outputs(op):
    """The storages a recorded op writes (a fill's one, a draw's target or targets)."""
    if op[0] == "f":
        return [op[1]]
    return op[2] if isinstance(op[2], list) else [op[2]]


def readers_of(ops):
    """{id(storage): [indices of the draws that read it]} of a recording's ops."""
    readers = {}
    for i, op in enumerate(ops):
        if op[0] == "d":
            for st in op[3]:
                readers.setdefault(id(st), []).append(i)
    return readers


def producer(ops, st, j):
    """The index of the last single-target draw before op j that wrote `st` (draws of
    several targets are passed over), or None when a fill wrote it later or none did."""
    for k in range(j - 1, -1, -1):
        op = ops[k]
        if op[0] == "d" and not isinstance(op[2], list) and op[2] is st:
            return k
        if op[0] == "f" and op[1] is st:
            return None
    return None


def without(ops, dead):
    """(ops but the indices in dead, {old index: new index}): what StepGraph.rewrite
    returns after folding ops into others."""
    index, out = {}, []
    for i, op in enumerate(ops):
        if i not in dead:
            index[i] = len(out)
            out.append(op)
    return out, index


def _line_up(r1, r2):
    """{id(r1 storage): r2 storage} position by position, or a reason they differ."""
    if len(r1.ops) != len(r2.ops):
        return f"the step ran {len(r1.ops)} ops, then {len(r2.ops)}"
    pairs = {}
    back = {}

    def bind(a, b):
        if pairs.setdefault(id(a), b) is not b or back.setdefault(id(b), a) is not a:
            return False
        return True

    for k, (o1, o2) in enumerate(zip(r1.ops, r2.ops)):
        if o1[0] != o2[0]:
            return f"op {k} changed kind"
        if o1[0] == "f":
            if o1[2] != o2[2] and not (o1[2] != o1[2] and o2[2] != o2[2]):  # nan == nan
                return f"a constant changed from {o1[2]} to {o2[2]} between calls"
        else:
            if o1[1] != o2[1] or len(o1[3]) != len(o2[3]) or o1[4].keys() != o2[4].keys():
                return f"op {k} changed kernel"
            for name, v in o1[4].items():
                if v != o2[4][name] and not ((k, name) in r1.dynamic and (k, name) in r2.dynamic):
                    return f"uniform {name} of op {k} changed between calls ({v} -> {o2[4][name]})"
            if not all(bind(a, b) for a, b in zip(o1[3], o2[3])):
                return f"op {k} reads other textures"
        o1s, o2s = op_outputs(o1), op_outputs(o2)
        if len(o1s) != len(o2s) or not all(bind(a, b) for a, b in zip(o1s, o2s)):
            return f"op {k} writes other textures"
    return pairs


def _arg_index(rec):
    return {id(b.storage): k for k, b in enumerate(rec.arg_buffers)
            if getattr(b, "storage", None) is not None}


class StepGraph:
    """A step's ops defined on the device, with what a replay needs from Python. A backend
    subclass gives buffer_type and the hooks rewrite, define, invalid, update_uniform,
    fresh_like, run and drop."""

    buffer_type = None

    def __init__(self, backend, r1, r2):
        self.be = backend
        self.handle = None
        self.reason = None
        pairs = _line_up(r1, r2)
        if isinstance(pairs, str):
            self.reason = pairs
            return
        reads1, writes1 = r1.storages()
        written1 = {id(st) for st in writes1}
        args1, args2 = _arg_index(r1), _arg_index(r2)
        state = []  # (input storage, output storage) in r2
        for a in reads1:
            y = pairs[id(a)]
            if id(a) in args1 or id(y) in args2:
                if args1.get(id(a)) != args2.get(id(y)):
                    self.reason = "an argument's texture is read in another place"
                    return
            elif id(y) in written1:
                state.append((y, pairs[id(y)]))
            elif y is not a:
                self.reason = "a tensor the step reads was replaced between calls"
                return
        reads2, writes2 = r2.storages()
        order = reads2 + writes2
        keep = {id(out) for _, out in state} | _held_by_tensors()
        self.keep = keep
        fused, new_place = self.rewrite(r2.ops, keep)
        slot = {id(st): k for k, st in enumerate(order)}
        self.arg_slots = [(slot[id(b.storage)], k) for k, b in enumerate(r2.arg_buffers)
                          if id(getattr(b, "storage", None)) in slot]
        arg_ids = {id(r2.arg_buffers[k].storage) for _, k in self.arg_slots}
        self.held = [st for st in order if id(st) not in arg_ids]  # alive while we replay
        self._sources(r2, new_place)
        if self.reason:
            return
        self.outputs = self._outputs(r2.result, slot, writes2)
        if self.reason:
            return
        self.guards = self._state_guards({id(out) for _, out in state})
        self.training = self._module_flags({id(st) for st in order})
        self.optimizers = self._optimizer_groups({id(st) for st in order})
        self.n_state = len(state)
        self.handle = self.define(fused, order, slot, state, arg_ids)

    # -- the backend's part ----------------------------------------------------------------
    def rewrite(self, ops, keep):
        """(ops, {old op index: new op index}): the recorded ops as the device runs them
        (a backend may fuse some); `keep` are the ids of storages that must be written."""
        return ops, {k: k for k in range(len(ops))}

    def define(self, ops, order, slot, state, arg_ids):
        """Define the graph on the device; its handle."""
        raise NotImplementedError

    def invalid(self):
        """Why the device can no longer run the graph (it was reset), or None."""
        return None

    def update_uniform(self, kind, hyper):
        """The value of an optimizer update's per-step uniform from its hyperparameters."""
        raise NotImplementedError

    def fresh_like(self, storage):
        """A new storage the size of `storage` (a replay's returned tensors)."""
        raise NotImplementedError

    def run(self, args, patches, fresh):
        """Replay: args [(slot, storage)], patches [[op, uniform, value]] (None: those of
        the last replay), fresh [(slot, storage)] the returned tensors' new storages."""
        raise NotImplementedError

    def drop(self):
        self.held = []

    # -- what the replay recomputes ------------------------------------------------------
    def _sources(self, rec, new_place):
        """Dynamic uniforms grouped by source: rng draws and optimizer updates."""
        self.rng = []          # (op, uniform, relative offset)
        self._last_uniforms = {}  # update kind -> (hyperparameters, its uniform's value)
        # id(state) -> [optimizer, state, group, fixed hyper, [(op, uniform, kind)],
        #               (lr, its patches) when they depend on the lr alone, else None]
        self.updates = {}
        seed0, off0 = rec.rng_before["seed"], rec.rng_before["offset"]
        self.rng_seed = seed0
        self.rng_advance = (rec.rng_after["offset"] - off0) & _rnd.MASK
        for (recorded, name), src in rec.dynamic.items():
            op = new_place[recorded]  # its place in the fused list
            if src[0] == "rng":
                if src[1] != seed0:
                    self.reason = "random numbers from a generator other than the default one"
                    return
                self.rng.append((op, name, (src[2] - off0) & _rnd.MASK))
            else:
                kind, opt = src
                found = opt and _updated_parameter(opt, rec.ops[recorded])
                if not found:
                    self.reason = f"a fused {kind} update outside an optimizer's step()"
                    return
                st, group = found
                entry = self.updates.get(id(st))
                if entry is None:
                    entry = self.updates[id(st)] = [opt, st, group,
                                                    _fixed(opt._hyper(st, group)), [], None]
                entry[4].append((op, name, kind))

    def _outputs(self, result, slot, writes2):
        """The returned structure with ("t", buffer meta, slot, storage) for tensors."""
        written = {id(st) for st in writes2}

        def walk(v):
            if isinstance(v, Tensor):
                b = v._buf
                if not isinstance(b, self.buffer_type):
                    self.reason = "it returns a tensor of another device"
                    return None
                meta = (b.shape, b.dtype, b.strides, b.offset)
                if b.storage is None:
                    return ("t", meta, None, None, v)
                if id(b.storage) in written:
                    return ("t", meta, slot[id(b.storage)], b.storage, v)
                return ("const", v)
            if isinstance(v, (tuple, list)):
                return (type(v), [walk(x) for x in v])
            if isinstance(v, dict):
                return (dict, {k: walk(x) for k, x in v.items()})
            if v is None:
                return ("const", None)
            self.reason = f"it returns a Python {type(v).__name__}, which a replay cannot know"
            return None

        return walk(result)

    def _state_guards(self, state_ids):
        """Weak references to the tensors holding the state, with their storage: a replay
        checks that no one rebound them (load_state_dict, .data = ...)."""
        out = []
        for obj in gc.get_objects():
            if isinstance(obj, Tensor):
                b = getattr(obj, "_buf", None)
                if isinstance(b, self.buffer_type) and id(b.storage) in state_ids:
                    out.append((weakref.ref(obj), b.storage))
        return out

    def _module_flags(self, storage_ids):
        """(module weakref, training) of the modules whose tensors the step touches: eval()
        changes what forward does, which the recording cannot see."""
        out = []
        for obj in gc.get_objects():
            if isinstance(obj, Module):
                tensors = list(obj._parameters.values()) + list(obj._buffers.values())
                if any(t is not None and isinstance(t._buf, self.buffer_type)
                       and id(t._buf.storage) in storage_ids for t in tensors):
                    out.append((weakref.ref(obj), obj.training))
        return out

    def _optimizer_groups(self, storage_ids):
        """(optimizer weakref, lr is recomputed, its groups' values) of the optimizers of the
        step: a value baked into the recording (every one, but the lr of an optimizer all
        of whose updates are fused) must not change."""
        fused = {}
        for opt, st, *_ in self.updates.values():
            fused.setdefault(id(opt), set()).add(id(st))
        out = []
        for obj in gc.get_objects():
            if isinstance(obj, Optimizer):
                params = [p for g in obj.param_groups for p in g["params"]]
                if not any(isinstance(p._buf, self.buffer_type)
                           and id(p._buf.storage) in storage_ids
                           for p in params):
                    continue
                mine = fused.get(id(obj), set())
                covered = all(id(obj.state.get(p)) in mine for p in params)
                out.append((weakref.ref(obj), covered, _groups(obj, covered),
                            _snapshot(obj, covered)))
        return out

    # -- replay --------------------------------------------------------------------------
    def stale(self):
        """Why a replay would compute on stale state now, or None."""
        why = self.invalid()
        if why:
            return why
        for ref, st in self.guards:
            t = ref()
            if t is None or t._buf.storage is not st:
                return "a state tensor was replaced"
        for ref, training in self.training:
            m = ref()
            if m is None or m.training != training:
                return "a module changed train()/eval()"
        unchanged = set()  # optimizers whose groups hold the very objects recorded
        for ref, covered, groups, snap in self.optimizers:
            opt = ref()
            if opt is not None and _same_objects(opt, snap):
                unchanged.add(id(opt))
            elif opt is None or _groups(opt, covered) != groups:
                return "an optimizer's param_groups changed"
        if self.rng and _rnd.default_generator.seed != self.rng_seed:
            return "the generator was reseeded"
        for opt, st, group, fixed, *_ in self.updates.values():
            if id(opt) not in unchanged and _fixed(opt._hyper(st, group)) != fixed:
                return "an optimizer hyperparameter changed"
        return None

    def _rebuild(self, node, fresh):
        """The returned structure with new tensors on fresh storages, listed in `fresh` as
        (slot, storage). (A method, not a closure: a recursive closure is a reference
        cycle, which kept each step's `fresh` list, and so the last step's returned
        texture, alive until the garbage collector ran: a replay then created a texture
        every step.)"""
        tag = node[0]
        if tag == "const":
            return node[1]
        if tag == "t":
            (shape, dtype, strides, offset), s, st = node[1], node[2], node[3]
            if s is None:
                return node[4]
            new = self.fresh_like(st)
            fresh.append((s, new))
            return Tensor._wrap(self.buffer_type(new, shape, dtype, strides, offset),
                                self.be, node[4].device)
        if tag is dict:
            return {k: self._rebuild(x, fresh) for k, x in node[1].items()}
        return tag(self._rebuild(x, fresh) for x in node[1])

    def replay(self, arg_buffers):
        patches = []
        gen = _rnd.default_generator
        for op, name, rel in self.rng:
            patches.append([op, name, (gen.offset + rel) & _rnd.MASK])
        gen.offset = (gen.offset + self.rng_advance) & _rnd.MASK
        last = self._last_uniforms  # most updates share one lr, step after step
        same = not patches  # the patches of the last replay again (run() may skip them)
        for entry in self.updates.values():
            opt, st, group, _, draws, known = entry
            opt._advance(st)
            lr = group["lr"]
            if known is not None and known[0] is lr:
                patches += known[1]
                continue
            same = False
            hyper = tuple(opt._hyper(st, group).items())
            mine = []
            for op, name, kind in draws:
                value = last.get(kind)
                if value is None or value[0] != hyper:
                    value = last[kind] = (hyper, self.update_uniform(kind, dict(hyper)))
                mine.append([op, name, value[1]])
            patches += mine
            # stale() saw every other hyperparameter unchanged: with no step counter
            # (_advance the base class's no-op) and the very lr object (immutable), the
            # next replay's patches are these again (~5 us an update less)
            if type(opt)._advance is Optimizer._advance and type(lr) in (float, int):
                entry[5] = (lr, mine)
        fresh = []
        result = self._rebuild(self.outputs, fresh)
        self.run([(s, arg_buffers[k].storage) for s, k in self.arg_slots],
                 None if same else patches, fresh)
        return result


def _updated_parameter(opt, draw):
    """(state, group) of the parameter of opt whose new value the update draw wrote (its
    first output), or None."""
    out = draw[2][0] if isinstance(draw[2], list) else draw[2]
    for group in opt.param_groups:
        for p in group["params"]:
            if getattr(p._buf, "storage", None) is out:
                return opt.state.setdefault(p, {}), group
    return None


def _held_by_tensors():
    """ids of the storages some Python tensor holds (fusion must still write them)."""
    out = set()
    for obj in gc.get_objects():
        if isinstance(obj, Tensor):
            st = getattr(getattr(obj, "_buf", None), "storage", None)
            if st is not None:
                out.add(id(st))
    return out


def _settings(group, skip_lr):
    """A param group's (key, value) pairs a replay depends on: all but params, and lr
    when the replay recomputes it."""
    return ((k, v) for k, v in group.items() if k != "params" and not (skip_lr and k == "lr"))


def _groups(opt, skip_lr):
    return tuple(tuple(sorted((k, repr(v)) for k, v in _settings(g, skip_lr)))
                 for g in opt.param_groups)


def _immutable(v):
    return isinstance(v, (int, float, bool, str, type(None))) or (
        isinstance(v, tuple) and all(_immutable(x) for x in v))


def _snapshot(opt, skip_lr):
    """The objects in opt's groups (but params, and lr when recomputed), for a replay's
    cheap check (_same_objects; _groups builds reprs, ~10 us a call), or None when one is
    mutable (a list could change in place)."""
    snap = []
    for g in opt.param_groups:
        items = tuple(_settings(g, skip_lr))
        if not all(_immutable(v) for _, v in items):
            return None
        snap.append((g, len(g), items))
    return snap


def _same_objects(opt, snap):
    """Whether opt's groups are the recorded dicts holding the recorded (immutable)
    objects: then neither _groups nor an update's _fixed hyperparameters changed."""
    groups = opt.param_groups
    return snap is not None and len(groups) == len(snap) and all(
        g is g0 and len(g) == n and all(g.get(k, _MISSING) is v for k, v in items)
        for g, (g0, n, items) in zip(groups, snap))


_MISSING = object()


def _fixed(hyper):
    """The hyperparameters a replay must see unchanged (all but lr and the step count)."""
    return tuple(sorted((k, v) for k, v in hyper.items() if k not in ("lr", "step")))


class Capture:
    """distml.compile for one function on one backend: records, lines up, replays (with
    graph_class, the backend's StepGraph)."""

    def __init__(self, backend, graph_class):
        self.be = backend
        self.graph_class = graph_class
        self.sig = None
        self.last = None       # the last recording of this signature
        self.graph = None
        self.attempts = 0
        self.reason = None     # why the step runs eagerly (None while it replays)
        self.replays = 0

    def __call__(self, fn, sig, tensors, args, kwargs):
        arg_buffers = [t._buf for t in tensors]
        if sig != self.sig:
            self._forget()
            self.sig = sig
        if self.graph is not None:
            why = self.graph.stale()
            if why is None:
                self.replays += 1
                return self.graph.replay(arg_buffers)
            self.reason = why
            self._forget(keep_sig=True)
        if self.attempts >= MAX_ATTEMPTS or self.be.recording is not None:
            return fn(*args, **kwargs)  # given up on this signature, or nested
        return self._record(fn, tensors, arg_buffers, args, kwargs)

    def _record(self, fn, tensors, arg_buffers, args, kwargs):
        rec = Recording(arg_buffers)
        # the optimizer stepping is what a fused update's constants are recomputed from
        hooks = (register_optimizer_step_pre_hook(lambda opt, *_: setattr(rec, "source", opt)),
                 register_optimizer_step_post_hook(lambda *_: setattr(rec, "source", None)))
        self.be.recording = rec
        try:
            rec.result = fn(*args, **kwargs)
        finally:
            self.be.recording = None
            for hook in hooks:
                hook.remove()
        rec.rng_after = _rnd.default_generator.get_state()
        self.attempts += 1
        if not rec.ops:
            rec.refuse(f"it ran no {self.be.name} kernel")
        if any(t._buf is not b for t, b in zip(tensors, arg_buffers)):
            rec.refuse("it assigns to an argument in place")
        if rec.refused:
            self.reason = f"not replayed: {rec.refused}"
            self.attempts = MAX_ATTEMPTS
            self.last = None
            return rec.result
        if self.last is not None:
            graph = self.graph_class(self.be, self.last, rec)
            if graph.handle is not None:
                self.graph, self.last, self.reason = graph, None, None
                return rec.result
            self.reason = f"not replayed yet: {graph.reason}"
            graph.drop()
        self.last = rec
        return rec.result

    def _forget(self, keep_sig=False):
        if self.graph is not None:
            self.graph.drop()
        self.graph = None
        self.last = None
        self.attempts = 0
        if not keep_sig:
            self.sig = None

