"""Captured steps (distml.compile): the floor above nn and optim that records a training
step's device ops, lines two recordings up and replays them (capture.py), with the webgl
device's graph runner (webgl.py: one FFI call per step) and its exact elementwise fusion
(fusion.py). Like tinygrad's graph runners, it sits beside the backends, not inside them:
a backend only records what it draws when `backend.recording` is set."""
