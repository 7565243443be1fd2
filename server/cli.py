"""What the server's command lines share: one-line answers to a user's mistakes.

A mistake (a missing or non-Python experiment file, an experiment without `make_model`,
a port out of range or in use) ends the program with ONE line on stderr naming the
problem and what to do, and exit code 2: no usage dump, no traceback.
"""
import argparse
import errno
import sys
from pathlib import Path

from distml.distributed.codec import parse_compression
from distml.distributed.experiment import REQUIRED, load_experiment

DEFAULT_PORT = 8000


class UsageError(Exception):
    """A user's mistake: main() prints it as one line and exits with code 2."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse with a one-line error (`prog: error: ... (see --help)`), exit code 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def compression_flag(text):
    """argparse type: none, float16, int8 or topk:F with 0 < F <= 1."""
    try:
        parse_compression(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def port_number(text):
    """argparse type: a TCP port, 1-65535, or 0 for any free port."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a port number: use 1-65535, or 0 for any free port") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(
            f"port {port} is out of range: use 1-65535, or 0 for any free port")
    return port


def experiment_problem(path):
    """Why `path` is not a usable experiment file (one line), or None."""
    p = Path(path)
    what = "a .py file defining " + ", ".join(REQUIRED)
    if not p.exists():
        return f"experiment file {path} does not exist: give the path of {what}"
    if not p.is_file():
        return f"{path} is not a file: give the path of {what}"
    source = p.read_bytes()
    try:
        compile(source, str(p), "exec")
    except (SyntaxError, ValueError) as e:
        if p.suffix != ".py":
            return f"{path} is not a Python file: an experiment is {what}"
        line = f" (line {e.lineno})" if getattr(e, "lineno", None) else ""
        return f"{path} is not valid Python{line}: {getattr(e, 'msg', e)}"
    try:
        load_experiment(source, p.stem)
    except ValueError as e:  # a required name is missing, or hyperparameters is no dict
        return f"{e} (see examples/mnist_distributed.py)"
    except Exception as e:  # noqa: BLE001 - the experiment's own import-time error
        return f"experiment {path} failed to load: {type(e).__name__}: {e}"
    return None


def bind_problem(port, error):
    """The one line for a server socket that could not be opened."""
    if error.errno == errno.EADDRINUSE:
        return (f"port {port} is already in use (another server?): stop it, or pass "
                f"--port N for another port (--port 0: any free port)")
    if error.errno == errno.EACCES:
        return f"no permission to listen on port {port}: use a port above 1023"
    return f"cannot listen on port {port}: {error.strerror or error}"


def fail(prog, message):
    """Print the one line and return the exit code for main()."""
    print(f"{prog}: error: {message}", file=sys.stderr)
    return 2
