"""Start one Deephaven Community worker in this Python process and keep it running.

This file is executed as a script by the python launch method, possibly with the
interpreter of another virtual environment, so it depends only on the standard library and
``deephaven_server``. It deliberately does not import ``deephaven_mcp``.

Why not ``deephaven server`` directly: the JVM starts inside this process through JNI, so a
pre-shared key handed over in the environment never appears on any process command line,
and binding port 0 lets the operating system pick a free port without a race.

Contract with the launcher:
    argv     --host H --port P (0 = any free port) --ready-file F [--jvm-arg A ...]
             [--init-script FILE] [--parent-pid PID] [--instance-id ID] [--session-name NAME]
             (with --parent-pid the worker dies when that process does, even by SIGKILL;
             the launcher passes it when no sandbox ties the two lives together)
             (the last two are not used by the worker: they mark its command line so the
             launcher's orphan cleanup can tell its own workers from unrelated processes)
    env      DH_MCP_WORKER_PSK: pre-shared key (removed from the environment once read);
             absent means anonymous authentication.
    output   once serving, F is written atomically with {"port", "pid", "create_time"}.
    stop     SIGTERM or SIGINT ends the process (immediately while the server is still
             starting, since the JVM is then busy inside a native call).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import signal
import sys
import tempfile
import threading
import time

PSK_ENV = "DH_MCP_WORKER_PSK"
PSK_HANDLER = "io.deephaven.authentication.psk.PskAuthenticationHandler"
ANONYMOUS_HANDLER = "io.deephaven.auth.AnonymousAuthenticationHandler"


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ready-file", required=True)
    parser.add_argument("--jvm-arg", action="append", default=[])
    parser.add_argument("--init-script", default=None)
    parser.add_argument("--parent-pid", type=int, default=None)
    parser.add_argument("--instance-id", default=None)
    parser.add_argument("--session-name", default=None)
    return parser.parse_args(argv)


def _write_ready_file(path: str, port: int) -> None:
    create_time = _process_create_time()
    payload = {"port": port, "pid": os.getpid(), "create_time": create_time}
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".ready-")
    with os.fdopen(fd, "w") as handle:
        json.dump(payload, handle)
    os.replace(tmp, path)


def _process_create_time() -> float | None:
    """Process start time in seconds since the epoch (Linux), used to rule out PID reuse."""
    try:
        with open(f"/proc/{os.getpid()}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        ticks = int(fields[19])
        with open("/proc/stat") as handle:
            boot = next(int(line.split()[1]) for line in handle if line.startswith("btime"))
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, StopIteration, IndexError):
        return None


_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent_pid: int) -> None:
    """Ask Linux to SIGKILL this process when its parent ends, then make sure the parent
    did not end before the request took effect (it would never fire then)."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
        print("deephaven-mcp worker: cannot set the parent-death signal", file=sys.stderr)
    if os.getppid() != parent_pid:
        os._exit(1)


def main(argv: list[str] | None = None) -> int:
    """Run a Deephaven server until SIGTERM or SIGINT, writing the ready file once it serves."""
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    if args.parent_pid is not None:
        _die_with_parent(args.parent_pid)
    psk = os.environ.pop(PSK_ENV, "")
    jvm_args = list(args.jvm_arg)
    if psk:
        jvm_args += [f"-DAuthHandlers={PSK_HANDLER}", f"-Dauthentication.psk={psk}"]
    else:
        jvm_args.append(f"-DAuthHandlers={ANONYMOUS_HANDLER}")

    stop = threading.Event()

    def _on_signal(signum: int, _frame: object) -> None:
        stop.set()

    # Until the server is up, the default action applies: a Python-level handler would only
    # run after the long native start-up call returns, delaying a stop by many seconds.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)

    from deephaven_server import Server

    started = time.monotonic()
    server = Server(host=args.host, port=args.port, jvm_args=jvm_args)
    server.start()
    del psk, jvm_args
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)

    if args.init_script:
        with open(args.init_script, encoding="utf-8") as handle:
            code = handle.read()
        # Tables must live in __main__'s globals to be visible to client sessions.
        exec(compile(code, args.init_script, "exec"), vars(sys.modules["__main__"]))  # noqa: S102

    _write_ready_file(args.ready_file, server.port)
    print(
        f"deephaven-mcp worker ready on port {server.port} after {time.monotonic() - started:.1f}s",
        file=sys.__stderr__,
        flush=True,
    )
    while not stop.wait(1.0):
        pass
    # Skip interpreter teardown: the JVM shuts down with the process.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
