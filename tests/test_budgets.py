"""The size budgets of the design (issue 13), so that they cannot be lost unnoticed:
- no source file (package, server, page code, benchmarks, tests) over 700 lines;
- each backend's Python under 1,000 lines of code;
- the core Tensor and autograd (distml/_tensor, autograd.py, function.py) under 2,500.

Lines of code are counted as tinygrad's sz.py counts them (the layering this project
follows): the lines where a name, number, operator or string token starts, so blank
lines, comments and the continuation lines of a docstring are not code. A file's length
is its physical lines.
"""
import pathlib
import token
import tokenize

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
_CODE_TOKENS = {token.NAME, token.NUMBER, token.OP, token.STRING}


def code_lines(path):
    with tokenize.open(path) as f:
        return len({t.start[0] for t in tokenize.generate_tokens(f.readline)
                    if t.type in _CODE_TOKENS})


def _python_files(*parts):
    return sorted((ROOT.joinpath(*parts)).rglob("*.py"))


def test_no_source_file_over_700_lines():
    files = [p for area in ("distml", "server", "web", "bench", "tests")
             for p in _python_files(area)]
    files += [p for area in ("distml", "web", "bench") for p in sorted((ROOT / area).rglob("*.js"))]
    assert files
    long = {str(p.relative_to(ROOT)): n for p in files
            if (n := len(p.read_text().splitlines())) > 700}
    assert not long, f"files over 700 lines: {long}"


@pytest.mark.parametrize("backend", ["numpy", "python", "webgl"])
def test_backend_under_1000_lines_of_code(backend):
    files = _python_files("distml", "backends", backend)
    assert files
    total = sum(code_lines(p) for p in files)
    assert total < 1000, f"the {backend} backend has {total} lines of code"


def test_tensor_and_autograd_under_2500_lines_of_code():
    files = _python_files("distml", "_tensor") + [ROOT / "distml" / "autograd.py",
                                                   ROOT / "distml" / "function.py"]
    total = sum(code_lines(p) for p in files)
    assert total < 2500, f"Tensor and autograd have {total} lines of code"


def test_code_lines_skip_comments_blanks_and_docstring_bodies(tmp_path):
    src = tmp_path / "m.py"
    src.write_text('"""A docstring\nover three\nlines."""\n\n# a comment\nx = (1 +\n     2)\n')
    assert code_lines(src) == 3  # the docstring's first line and both lines of x
