import pytest

import distml
from distml import backends


@pytest.fixture
def cpu_backend():
    """Call with "numpy" or "python" to choose what serves the cpu device in this test."""
    before = backends.cpu_backend_name()

    def use(name):
        if name == "python":
            pytest.importorskip("distml.backends.python_backend")
        distml.set_cpu_backend(name)
    yield use
    distml.set_cpu_backend(before)
