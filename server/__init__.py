"""distml's server side: `server/` in a checkout, `distml.server` in the wheel.

Flower's split: `server.transport` (one `websockets.serve` port: static files, the
experiment at /experiment.py, workers on /ws), `server.orchestrator` (the training loop,
made of `server.session`: connections and authentication, `server.rounds`: assignments,
deadlines, aggregation, versions, checkpoints, and `server.status`: the dashboard's
data), with `distml.distributed.codec` for frames and `distml.distributed.strategy` for
aggregation. `python -m server EXPERIMENT.py` runs the parameter server (installed:
`distml-server EXPERIMENT.py` or `python -m distml.server`); `server.static` alone serves
the browser side's files. Imports inside are relative, so the same files work under both
names.
"""
