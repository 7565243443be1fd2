import os

import pytest

import distml
from distml import backends

# tests/pyodide runs under pytest-pyodide in its own virtualenv (`bash run.sh test`,
# tests/pyodide/conftest.py), which sets DISTML_PYODIDE_TESTS; the main suite skips it
collect_ignore = [] if os.environ.get("DISTML_PYODIDE_TESTS") else ["pyodide"]


@pytest.fixture(params=["numpy", "python"])
def backend(request):
    """Runs a test once on each cpu backend (numpy, pure Python), the cpu device's backend
    set for its duration. test_ops.py adds the "minimal" one with its own fixture."""
    before = backends.cpu_backend_name()
    distml.set_cpu_backend(request.param)
    yield request.param
    distml.set_cpu_backend(before)


@pytest.fixture
def cpu_backend():
    """Call with "numpy" or "python" to choose what serves the cpu device in this test."""
    before = backends.cpu_backend_name()

    def use(name):
        if name == "python":
            pytest.importorskip("distml.backends.python")
        distml.set_cpu_backend(name)
    yield use
    distml.set_cpu_backend(before)
