"""The op conformance cases: pure data plus callables written against the torch API.

Nothing here imports torch, numpy or distml: every `fn(lib, *inputs)` receives the library
(`torch` or `distml`) and the input tensors built by runner.py, so the same files run on the
host (reference: torch) and in the browser under Pyodide (distml on "webgl").

A case is
- `id`: unique, stable (reference files are keyed by it);
- `inputs`: `Input` specs, each a shape (or `sz(small, full)`: one shape per backend profile,
  "small" for the pure-Python backend, "full" for numpy/webgl), a dtype ("float32", "int64",
  "bool"), requires_grad (default: True for float32) and a value domain (see DOMAINS), or
  fixed literal `values` (edge cases: ties, NaN, inf, zeros);
- `fn(lib, *tensors)`: returns a tensor, a Python scalar/list, or a (nested) tuple/list of
  those;
- `rtol`/`atol`: float tolerance (default 1e-5/1e-6; looser only where the comment says why);
- `needs`: optional features ("nn.functional"), the runner skips the case with a reason when
  the library under test lacks them;
- `grad`: False to skip the backward pass.

Zero-size inputs cannot be described by nested lists alone: give `values=[]` and reshape
inside `fn`.

base.py holds the format, the shorthands and the one `CASES` list; each other module adds
the cases of one topic to it when imported. The import below fixes the order of CASES.
"""
from .base import CASES, DOMAINS, Case, Input, resolve, sz
from . import (creation, arithmetic, linalg, sort_scan_scatter, elementwise,
               reductions, shape, indexing, noncontiguous, tensor_api, nn_functional)


def _check_ids():
    seen = set()
    for c in CASES:
        if c.id in seen:
            raise ValueError(f"duplicate case id {c.id!r}")
        seen.add(c.id)


_check_ids()
BY_ID = {c.id: c for c in CASES}
