"""The parameter server.

    python -m server EXPERIMENT.py [--port 8000] [--workers-token T]    # in a checkout
    distml-server EXPERIMENT.py ...      # installed (pip install distml[server]); the same
    python -m distml.server EXPERIMENT.py ...
        [--aggregate mean|median|trimmed_mean|krum] [--max-grad-norm X]
        [--compression none|float16|int8|topk:F] [--checkpoint-dir DIR] [--checkpoint-every K]
        [--resume] [--max-rounds N] [--max-samples N] [--min-workers N] [--deadline S]
        [--epochs N] [--eval-every N] [--link-rate-mbps R] [--link-delay-ms D] [-q]
        [--view-token V] [--hello-timeout S] [--login-delay S] [--max-connections N]
        [--max-connections-per-address N] [--max-norm-ratio K] [--deadline-factor F]
        [--deadline-floor S] [--pyodide-dir DIR]

Workers connect to ws://HOST:PORT/ws (CPython: `distml-worker URL --token T` or
`python -m distml.distributed.worker URL --token T`, a browser: open
http://HOST:PORT/worker?token=T); the experiment's source is served at /experiment.py on
the same port, the dashboard at /. `--link-rate-mbps` and `--link-delay-ms` shape every
worker connection (both directions) like a slow link, for benchmarks on one machine
(server/transport.py). The dashboard at / and /status.json need the workers' token or
the read-only `--view-token` (`/?token=V`). Without --port the server listens on 8000,
or on a free port (which it prints) when 8000 is taken.
"""
import asyncio
import errno
import os
import shutil
import sys

from .cli import (
    DEFAULT_PORT, ArgumentParser, UsageError, bind_problem, compression_flag,
    experiment_problem, fail, port_number)
from .orchestrator import Orchestrator, default_token
from .static import default_mounts, pyodide_dir
from .transport import (
    DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_PER_ADDRESS, DEFAULT_MAX_SIZE, Link, Transport)


def server_overrides(args):
    """Hyperparameters the command line overrides."""
    names = {"min_workers": "min_workers", "deadline": "deadline_s", "epochs": "epochs",
             "max_samples": "max_samples", "eval_every": "eval_every"}
    return {key: getattr(args, flag) for flag, key in names.items()
            if getattr(args, flag) is not None}


def make_orchestrator(args, overrides=None):
    return Orchestrator(args.experiment, args.workers_token, aggregate=args.aggregate,
                        max_grad_norm=args.max_grad_norm, compression=args.compression,
                        checkpoint_dir=args.checkpoint_dir,
                        checkpoint_every=args.checkpoint_every, resume=args.resume,
                        max_rounds=args.max_rounds,
                        overrides=dict(server_overrides(args), **(overrides or {})),
                        progress=not args.quiet, max_frame=args.max_size,
                        view_token=args.view_token, hello_timeout_s=args.hello_timeout,
                        login_delay_s=args.login_delay, max_norm_ratio=args.max_norm_ratio,
                        deadline_factor=args.deadline_factor,
                        deadline_floor_s=args.deadline_floor)


async def start(args, overrides=None):
    """The orchestrator and its transport, listening; prints what it serves."""
    orch = make_orchestrator(args, overrides)
    link = Link.from_flags(args.link_rate_mbps, args.link_delay_ms)
    pyodide = getattr(args, "pyodide_dir", None)
    mounts = default_mounts(pyodide)

    def transport(port):
        return Transport(orch.handle, args.host, port, max_size=args.max_size,
                         routes=orch.routes(), link=link, mounts=mounts,
                         max_connections=args.max_connections,
                         max_per_address=args.max_connections_per_address).start()

    port = DEFAULT_PORT if args.port is None else args.port
    try:
        transport = await transport(port)
    except OSError as e:
        if args.port is not None or e.errno != errno.EADDRINUSE:
            raise UsageError(bind_problem(port, e)) from None
        transport = await transport(0)  # no --port and 8000 is taken: any free port
        print(f"port {DEFAULT_PORT} is in use: using port {transport.port} instead "
              f"(--port N chooses one)", flush=True)
    hp = orch.hp
    epochs = f"{hp['epochs']} epoch" + ("s" if hp["epochs"] != 1 else "")
    print(f"distml parameter server: {args.experiment} ({hp['mode']}, global batch "
          f"{hp['global_batch']}, {epochs}, aggregate {args.aggregate}, "
          f"compression {args.compression})" + (f", link {link}" if link else ""), flush=True)
    print(f"listening on {transport.url} (port {transport.port})", flush=True)
    if not (pyodide_dir(pyodide) / "pyodide.mjs").is_file():
        print(f"note: no Pyodide in {pyodide_dir(pyodide)}, so browsers cannot join (CPython "
              f"workers can): pass --pyodide-dir DIR (README: Installed with pip)", flush=True)
    return orch, transport


def worker_command():
    """How to start a CPython worker here: the console script when it is on PATH."""
    return "distml-worker" if shutil.which("distml-worker") else \
        "python -m distml.distributed.worker"


async def amain(args):
    orch, transport = await start(args)
    base = f"http://{args.host}:{transport.port}"
    print(f"dashboard: {base}/?token={args.workers_token}", flush=True)
    if args.view_token:
        print(f"read-only dashboard: {base}/?token={args.view_token}", flush=True)
    print(f"workers: open {base}/worker?token={args.workers_token} in a browser, or "
          f"{worker_command()} {transport.url} "
          f"--token {args.workers_token}", flush=True)
    try:
        await orch.run()
    finally:
        await transport.close()
    if orch.accuracy:
        print(f"test accuracy {orch.accuracy[-1][1] * 100:.2f}% after {orch.round} rounds")


def add_arguments(ap):
    """The server's flags (shared with server.demo)."""
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=port_number, default=None,
                    help=f"TCP port (default {DEFAULT_PORT}, or a free one when that is "
                         f"taken; 0: any free port)")
    ap.add_argument("--workers-token", default=None,
                    help="the token workers must present (default: $DISTML_TOKEN or random)")
    ap.add_argument("--aggregate", default="mean",
                    choices=["mean", "median", "trimmed_mean", "krum"])
    ap.add_argument("--max-grad-norm", type=float, default=None,
                    help="clip each worker's gradient to this global L2 norm")
    ap.add_argument("--compression", default="none", type=compression_flag,
                    help="how workers encode their gradients: none, float16, int8 or "
                         "topk:F (the largest F of each tensor with error feedback, "
                         "e.g. topk:0.01)")
    ap.add_argument("--checkpoint-dir", default=None)
    ap.add_argument("--checkpoint-every", type=int, default=10, help="rounds between checkpoints")
    ap.add_argument("--resume", action="store_true",
                    help="continue from the checkpoint in --checkpoint-dir")
    ap.add_argument("--max-rounds", type=int, default=None, help="stop after this many rounds")
    ap.add_argument("--max-samples", type=int, default=None,
                    help="stop after this many training samples")
    ap.add_argument("--min-workers", type=int, default=None,
                    help="wait for this many workers before a round")
    ap.add_argument("--deadline", type=float, default=None, help="seconds per assignment")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--eval-every", type=int, default=None,
                    help="also evaluate every N rounds (the dashboard's accuracy curve)")
    ap.add_argument("--max-size", type=int, default=DEFAULT_MAX_SIZE,
                    help="largest websocket frame in bytes")
    ap.add_argument("--link-rate-mbps", type=float, default=None,
                    help="shape each worker connection to this many megabits/s per "
                         "direction (a token bucket; for benchmarks)")
    ap.add_argument("--link-delay-ms", type=float, default=None,
                    help="and delay its frames by this many milliseconds one way")
    ap.add_argument("--view-token", default=None,
                    help="a second token that may only read the dashboard and the status")
    ap.add_argument("--hello-timeout", type=float, default=30.0,
                    help="seconds a new connection has, in all, to say hello")
    ap.add_argument("--login-delay", type=float, default=1.0,
                    help="an address's wait after a wrong token, doubling with each one "
                         "in a row (at most 60 s)")
    ap.add_argument("--max-connections", type=int, default=DEFAULT_MAX_CONNECTIONS,
                    help="websocket connections open at once")
    ap.add_argument("--max-connections-per-address", type=int,
                    default=DEFAULT_MAX_PER_ADDRESS, help="... from one host")
    ap.add_argument("--max-norm-ratio", type=float, default=50.0,
                    help="reject an update whose norm is more than this many times the "
                         "median of the round's and recent rounds' (0: no norm check)")
    ap.add_argument("--deadline-factor", type=float, default=3.0,
                    help="an assignment's samples go to others after this many times the "
                         "recent rounds' median time (0: only --deadline)")
    ap.add_argument("--deadline-floor", type=float, default=10.0,
                    help="... but never sooner than this many seconds")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    ap.add_argument("--pyodide-dir", default=None,
                    help="the Pyodide distribution browsers load (a folder with pyodide.mjs; "
                         "default: $DISTML_PYODIDE_DIR or the set-up cache)")
    ap.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                    help="hierarchical aggregation on Ray: start a local Ray instance, or "
                         "join the cluster at ADDRESS (server/ray/)")
    ap.add_argument("--gateways", type=int, default=2,
                    help="with --ray: gateway actors, listening on --port, --port + 1, ...")


def check_arguments(ap, args):
    problem = experiment_problem(args.experiment)
    if problem:
        ap.exit(2, f"{ap.prog}: error: {problem}\n")
    if args.workers_token is None:
        args.workers_token = default_token()
    if args.resume and not args.checkpoint_dir:
        ap.error("--resume needs --checkpoint-dir")
    if args.link_rate_mbps is not None and args.link_rate_mbps <= 0:
        ap.error("--link-rate-mbps must be positive")
    if args.link_delay_ms is not None and args.link_delay_ms < 0:
        ap.error("--link-delay-ms must be >= 0")
    for flag in ("hello_timeout", "deadline_floor", "login_delay"):
        if getattr(args, flag) <= 0:
            ap.error(f"--{flag.replace('_', '-')} must be positive")
    for flag in ("max_connections", "max_connections_per_address"):
        if getattr(args, flag) < 1:
            ap.error(f"--{flag.replace('_', '-')} must be at least 1")
    if args.max_norm_ratio != 0 and not args.max_norm_ratio > 1:
        ap.error("--max-norm-ratio must be > 1 (or 0: no norm check)")
    if args.deadline_factor < 0:
        ap.error("--deadline-factor must be >= 0")


def prog_name(package):
    """`python -m PACKAGE` when run so, else the console script's name."""
    name = os.path.basename(sys.argv[0] or "")
    return f"python -m {package}" if name.endswith(".py") or name in ("", "-c") else name


def main(argv=None):
    ap = ArgumentParser(prog=prog_name(__package__ or "server"),
                        description="distml's data-parallel parameter server.")
    ap.add_argument("experiment", help="the experiment file (make_model, make_dataset, ...)")
    add_arguments(ap)
    args = ap.parse_args(argv)
    check_arguments(ap, args)
    if args.ray is not None:  # imports Ray; the single server never does
        from .ray.launch import run
        return run(args, server_overrides(args))
    try:
        asyncio.run(amain(args))
    except UsageError as e:
        return fail(ap.prog, e)
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
