"""Op conformance: every case of tests/conformance/cases/ on each CPU backend, against
torch computed live (the browser run compares against make_reference.py's JSON instead).
"minimal" is tests/minimal_backend.py: only the abstract primitives, the rest composed."""
import importlib
import warnings

import minimal_backend
import pytest

from conformance import runner
from conformance.cases import CASES

torch = pytest.importorskip("torch")
distml = pytest.importorskip("distml")

# backend name -> the shape profile its cases use (pure Python gets small shapes)
PROFILE = {"numpy": "full", "python": "small", "minimal": "small"}
SEED = 0


def _python_backend_missing():
    try:
        importlib.import_module("distml.backends.python")
    except Exception as exc:  # noqa: BLE001 - any import failure means "not there yet"
        return f"distml.backends.python is not importable yet: {exc!r}"
    return None


@pytest.fixture(params=["numpy", "python", "minimal"])
def backend(request):
    name = request.param
    if name == "minimal":
        minimal_backend.install()
    if name == "python":
        reason = _python_backend_missing()
        if reason:
            pytest.skip(reason)
    if name == "numpy" and not distml.backends.numpy_available():
        pytest.skip("numpy is not importable")
    distml.set_cpu_backend(name)
    try:
        yield name
    finally:
        distml.set_cpu_backend("numpy" if distml.backends.numpy_available() else "python")
        minimal_backend.uninstall()


@pytest.fixture(scope="module", autouse=True)
def _torch_threads():
    prev = torch.get_num_threads()
    torch.set_num_threads(1)  # deterministic sums; the suite runs on 2 cores
    yield
    torch.set_num_threads(prev)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_op(case, backend):
    if case.skip:
        pytest.skip(case.skip)
    reason = runner.unavailable(distml, case)
    if reason:
        pytest.skip(reason)
    inputs = runner.make_inputs(case, SEED, PROFILE[backend])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's own warnings (e.g. var() with 1 element)
        want = runner.run_case(torch, case, inputs, SEED)
    got = runner.run_case(distml, case, inputs, SEED)
    problems = runner.compare(got, want, case.rtol, case.atol)
    assert not problems, f"{case.id} on {backend}:\n  " + "\n  ".join(problems)


def test_cases_are_well_formed():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    for case in CASES:
        for profile in runner.PROFILES:
            a = runner.make_inputs(case, SEED, profile)
            assert a == runner.make_inputs(case, SEED, profile) or _has_nan(a), case.id


def _has_nan(v):
    if isinstance(v, list):
        return any(_has_nan(x) for x in v)
    return v != v


def test_compare_reports_mismatches():
    want = {"out": {"dtype": "float32", "shape": [2], "value": [1.0, float("nan")]},
            "grads": [[1.0, 2.0]]}
    same = {"out": {"dtype": "float32", "shape": [2], "value": [1.0 + 1e-7, float("nan")]},
            "grads": [[1.0, 2.0]]}
    assert runner.compare(same, want) == []
    off = {"out": {"dtype": "int64", "shape": [2], "value": [1.1, 0.0]}, "grads": [None]}
    msgs = runner.compare(off, want)
    assert any("dtype" in m for m in msgs)
    assert any("2/2 values differ" in m for m in msgs)
    assert any("no gradient" in m for m in msgs)


def test_reference_file_roundtrip(tmp_path):
    """The browser path: torch reference -> JSON file -> runner.run_all with distml."""
    import json

    from conformance.make_reference import main

    path = tmp_path / "ref.json"
    main(["-o", str(path), "--profile", "small", "--seed", "1"])
    reference = json.loads(path.read_text())
    assert reference["profile"] == "small" and len(reference["cases"]) == len(CASES)
    distml.set_cpu_backend("numpy")
    report = runner.run_all(distml, "small", 1, reference)
    assert not report["fail"], report["fail"]
    assert set(report["skip"]) <= {c.id for c in CASES if c.skip or c.needs}
    assert len(report["pass"]) + len(report["skip"]) == len(CASES)


def test_runner_device_option():
    # run_case/run_all(device=...) create inputs and gradient weights on that device (the
    # browser suite passes "webgl"); "cpu" must give the same results as no device
    case = next(c for c in CASES if c.id == "to_device_str")
    inputs = runner.make_inputs(case, SEED, "small")
    want = runner.run_case(torch, case, inputs, SEED, device="cpu")
    got = runner.run_case(distml, case, inputs, SEED, device="cpu")
    assert runner.compare(got, want, case.rtol, case.atol) == []
    assert got == runner.run_case(distml, case, inputs, SEED)
