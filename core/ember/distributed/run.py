"""``ember run -n N script.py [args]`` (also ``python -m ember.distributed.run``): start N
ranks of a script, prefix their output with the rank, and stop every rank when one fails.

Ranks start through ``mpiexec`` when one is found (on ``PATH`` or beside the Python
interpreter, where the ``mpich`` wheel puts it), under mpi4py's runner, which aborts the
whole job when a rank raises; otherwise as local processes with PyTorch's environment
rendezvous (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``),
which engines with their own rendezvous use (the ``mpi`` engine needs ``mpiexec``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

__all__ = ["main", "add_arguments", "launch"]


def _mpiexec() -> str | None:
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return beside if os.access(beside, os.X_OK) else shutil.which("mpiexec")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _kill(procs) -> None:
    for p in procs:
        if p.poll() is None:
            with _quiet():
                os.killpg(p.pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    for p in procs:
        try:
            p.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with _quiet():
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()


class _quiet:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return exc[0] is not None and issubclass(exc[0], ProcessLookupError)


def _pump(stream, prefix: str, out) -> None:
    for line in iter(stream.readline, ""):
        out.write(prefix + line)
        out.flush()
    stream.close()


def _wait(procs, timeout: float | None) -> int:
    """The job's exit status: the first failing rank's, else 0; stops the others."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        codes = [p.poll() for p in procs]
        failed = [c for c in codes if c not in (None, 0)]
        if failed:
            _kill(procs)
            return failed[0] if failed[0] > 0 else 128 - failed[0]
        if all(c == 0 for c in codes):
            return 0
        if deadline is not None and time.monotonic() > deadline:
            print(f"ember run: stopping every rank after the timeout of {timeout} s",
                  file=sys.stderr)
            _kill(procs)
            return 124
        time.sleep(0.05)


def launch(nprocs: int, argv: list[str], launcher: str = "auto",
           timeout: float | None = None) -> int:
    """Run ``python argv...`` as ``nprocs`` ranks; returns the job's exit status."""
    if nprocs < 1:
        raise ValueError(f"ember run: -n must be at least 1, got {nprocs}")
    mpiexec = _mpiexec() if launcher in ("auto", "mpiexec") else None
    if launcher == "mpiexec" and mpiexec is None:
        raise RuntimeError("ember run --launcher mpiexec: no mpiexec found (pip install "
                           "'ember[distributed]' brings MPICH's)")
    if mpiexec is not None:
        version = subprocess.run([mpiexec, "--version"], capture_output=True, text=True)
        tag = ["-prepend-rank"] if "HYDRA" in version.stdout else ["--tag-output"]
        cmd = [mpiexec, "-n", str(nprocs), *tag, sys.executable, "-m", "mpi4py", *argv]
        proc = subprocess.Popen(cmd, start_new_session=True)
        return _wait([proc], timeout)
    env = dict(os.environ, WORLD_SIZE=str(nprocs), MASTER_ADDR="127.0.0.1",
               MASTER_PORT=str(_free_port()), PYTHONUNBUFFERED="1")
    procs, pumps = [], []
    for r in range(nprocs):
        p = subprocess.Popen([sys.executable, *argv], start_new_session=True,
                             env=dict(env, RANK=str(r), LOCAL_RANK=str(r)),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(p)
        for stream, out in ((p.stdout, sys.stdout), (p.stderr, sys.stderr)):
            t = threading.Thread(target=_pump, args=(stream, f"[{r}] ", out), daemon=True)
            t.start()
            pumps.append(t)
    code = _wait(procs, timeout)
    for t in pumps:
        t.join(5)
    return code


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The launcher's arguments (shared by ``ember run`` and ``python -m``)."""
    p.add_argument("-n", "--nprocs", type=int, required=True, help="number of ranks")
    p.add_argument("--launcher", choices=("auto", "mpiexec", "local"), default="auto",
                   help="mpiexec when found (auto), or local processes with env:// variables")
    p.add_argument("--timeout", type=float, default=None,
                   help="stop every rank after this many seconds (exit status 124)")
    p.add_argument("script", help="the Python script each rank runs")
    p.add_argument("args", nargs=argparse.REMAINDER, help="the script's arguments")


def _run(args) -> int:
    return launch(args.nprocs, [args.script, *args.args], args.launcher, args.timeout)


def main(argv: list[str] | None = None) -> int:
    """``python -m ember.distributed.run -n N script.py [args]``."""
    p = argparse.ArgumentParser(prog="ember run", description=__doc__.split("\n\n")[0])
    add_arguments(p)
    return _run(p.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
