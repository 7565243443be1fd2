import os

import pytest

from .harness import BrowserPython, missing_requirements


def _under_ci():
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="package")
def browser_python():
    """One headless Chromium page with Pyodide + the distml wheel in a Web Worker, shared by
    the browser tests. Skipped (with the reason) when Chromium, the Pyodide dist, the wheel
    or playwright is missing, except under CI, where that is a failure."""
    reasons = missing_requirements()
    if reasons:
        message = "browser tests cannot run: " + "; ".join(reasons)
        if _under_ci():
            pytest.fail(message + " (CI is set: browser tests must run)", pytrace=False)
        pytest.skip(message)
    py = BrowserPython(start_timeout=120, call_timeout=120).start()
    try:
        yield py
    finally:
        py.close()
