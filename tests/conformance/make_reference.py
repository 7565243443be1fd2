"""Compute torch reference values for every conformance case into a JSON file.

    python tests/conformance/make_reference.py [-o ref.json] [--profile full] [--seed 0]

The browser run loads the file and calls `runner.run_all(distml, profile, seed, reference)`
(torch is not available there). The JSON holds, per case id, either {"result": ...} (the
output of runner.run_case with torch) or {"skip": reason}; non-finite floats are written as
NaN/Infinity, which Python's json module reads back.
"""
import argparse
import json
import os
import sys
import warnings

if __package__ in (None, ""):  # run as a script: make `conformance` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from conformance import runner  # noqa: E402
from conformance.cases import CASES  # noqa: E402


def _compact(v):
    """9 significant digits round-trip every float32 exactly and keep the file small."""
    if isinstance(v, float):
        return float(f"{v:.9g}")
    if isinstance(v, list):
        return [_compact(x) for x in v]
    if isinstance(v, dict):
        return {k: _compact(x) for k, x in v.items()}
    return v


def make_reference(profile="full", seed=0):
    import torch
    torch.set_num_threads(1)
    out = {"torch_version": torch.__version__, "profile": profile, "seed": seed, "cases": {}}
    for case in CASES:
        if case.skip:
            out["cases"][case.id] = {"skip": case.skip}
            continue
        inputs = runner.make_inputs(case, seed, profile)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's own (e.g. var() of one element)
            result = runner.run_case(torch, case, inputs, seed)
        out["cases"][case.id] = {"result": _compact(result), "rtol": case.rtol,
                                 "atol": case.atol}
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", default="conformance_reference.json")
    ap.add_argument("--profile", choices=runner.PROFILES, default="full")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    ref = make_reference(args.profile, args.seed)
    with open(args.output, "w") as fh:
        json.dump(ref, fh, separators=(",", ":"))
    print(f"wrote {len(ref['cases'])} cases ({args.profile}, seed {args.seed}) to {args.output}")


if __name__ == "__main__":
    main()
