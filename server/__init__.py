"""distml's server side (not part of the distml wheel).

`server.static`: static files (the page, Pyodide, the wheel, MNIST) served over HTTP by the
same `websockets.serve` that will carry the parameter server's `/ws` connections.
"""
