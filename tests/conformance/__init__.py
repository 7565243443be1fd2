"""Op conformance suite: library-agnostic cases (cases/, one module per topic), a runner
(runner.py) and a torch reference generator (make_reference.py). Only the standard library is
imported here, so the package runs unchanged under Pyodide, where neither torch nor numpy
exist."""
