"""A warm worker: one process imports the analysis libraries once and forks a child per job.

Why: every notebook job imports pandas, SciPy, statsmodels, lifelines and matplotlib before it
computes anything, about two CPU seconds of a job that computes for three, paid again by each
of the pipeline's notebook jobs. While Snakemake runs, a worker that has already imported them
takes each `psp-eval execute` and `psp-eval render` call instead, and the other commands that
import them (`DELEGATED`: about a second of imports each; the index and the audit's last
step run last, one after the other, while the other core idles): it forks, the child takes the caller's
stdin, stdout and stderr (passed over a Unix socket), working folder and environment, and
runs the command; the caller gets its exit code. A forked child starts with everything
imported, in a few milliseconds.

`psp-eval run` starts it before Snakemake, which takes two seconds to plan the run while a
core is idle: the worker imports then, and the first jobs fork from it. Until it listens, its
socket's path holds its pid; a job that finds that waits for it (about a second) rather than
import everything itself (the demo's first two notebooks took 4 s more each that way). When
Snakemake has finished, `stop` ends it at once, importing or not.

Nothing depends on it: with no worker (cluster jobs, a notebook run by hand, a worker gone) the
command runs in its own process as before, with the same result.
The worker leaves when Snakemake finishes, after `IDLE_SECONDS` without a job, or when it is
killed with the run (it stays in Snakemake's process group); a child whose caller died is
killed, so a killed run leaves nothing behind writing.

Standard library (and `psp_eval.engine.atomic`) only at import: the caller side (`delegate`) must
start in milliseconds.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from psp_eval.engine.atomic import process_alive

ENV = "PSP_EVAL_WARM"  # the worker's socket, for the jobs Snakemake starts
IDLE_SECONDS = 120
READY_SECONDS = 30  # the longest a job waits for a worker still importing
_worker: subprocess.Popen | None = None  # the worker this process started
# What the notebook jobs import (see notebooks/*.ipynb): imported once, in the worker.
PRELOAD = (
    "pandas",
    "scipy.stats",
    "statsmodels.api",
    "statsmodels.formula.api",
    "lifelines",
    "matplotlib.pyplot",
    "pyarrow.parquet",
    "threadpoolctl",
    "papermill",
    "IPython.core.interactiveshell",
    "psp_eval.engine.inprocess",
    "psp_eval.engine.execution",
    "psp_eval.data.scope",
    "psp_eval.analyses.process",
    "psp_eval.analyses.funnel",
    "psp_eval.analyses.impact",
    "psp_eval.analyses.survival",
    "psp_eval.analyses.consort",
    "psp_eval.analyses.cost_benefit",
    "psp_eval.analyses.payment",
    "psp_eval.analyses.need",
    "psp_eval.analyses.power",
    "psp_eval.analyses.monitoring",
    "psp_eval.present.tables",
    "psp_eval.present.process",
    "psp_eval.present.impact",
    "psp_eval.present.payment",
    "psp_eval.present.figures.process",
    "psp_eval.present.figures.impact",
    "psp_eval.present.figures.cost_benefit",
    "psp_eval.present.figures.need",
    "psp_eval.present.figures.monitoring",
    "psp_eval.report.outputs",
    "psp_eval.report.render",
    "psp_eval.report.index",
    "psp_eval.data.scoring",
    "psp_eval.governance.audit",
    "psp_eval.cli",
)
# Imported too where installed: papermill formats the parameters it injects with black when
# black is there (it is, for snakefmt): 0.1 s of every notebook job, imported once instead.
OPTIONAL_PRELOAD = ("black",)
# The `psp-eval` subcommands a worker takes, and the command line a child runs them with: by
# name, as the worker is a fork server for the command line above it (the engine layer does
# not import the cli).
DELEGATED = ("execute", "render", "score", "index", "audit", "identifiers")
COMMAND_LINE = "psp_eval.cli"


def socket_path() -> Path:
    """A short path (Unix sockets allow about 100 characters) unique to this Snakemake run."""
    return Path(tempfile.gettempdir()) / f"psp-eval-warm-{os.getuid()}-{os.getpid()}.sock"


# --- the caller: `psp-eval execute` inside a Snakemake job -----------------------------------


def delegate(argv: list[str]) -> int | None:
    """Run `psp-eval <argv>` (a `DELEGATED` subcommand and its arguments) in the warm worker;
    its exit code, or None when there is none."""
    path = os.environ.get(ENV)
    if not path or not _listening(Path(path)):
        return None
    request = json.dumps({"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ)}).encode()
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        client.connect(path)
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        # the length first: the connection stays open both ways, and its closing tells the
        # worker that this caller (so its job) is gone
        socket.send_fds(client, [len(request).to_bytes(8, "big")], [0, 1, 2])
        client.sendall(request)
        reply = b""
        while chunk := client.recv(64):
            reply += chunk
    except OSError:
        return None  # no worker listening after all: run here
    finally:
        client.close()
    return int(reply) if reply.strip() else None


def _listening(path: Path) -> bool:
    """Whether a worker listens at `path`, waiting while one that is starting imports."""
    import time

    deadline = time.monotonic() + READY_SECONDS
    while not path.is_socket():
        try:
            pid = int(path.read_text(encoding="ascii"))
        except (OSError, ValueError):  # no worker, or it began to listen just now
            return path.is_socket()
        if not _running(pid) or time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _running(pid: int) -> bool:
    """Whether `pid` runs: a worker that died while importing is a zombie until the run that
    started it ends, and a zombie answers signal 0, so Linux's process state decides."""
    if not Path("/proc/self").exists():  # no /proc (macOS): signal 0 it is
        return process_alive(pid)
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:  # no such process
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


# --- the worker ------------------------------------------------------------------------------


def start(path: Path | None = None) -> Path:
    """Start a worker in the background (from `psp-eval run`, or the Snakefile's `onstart`
    when Snakemake was started otherwise); its socket path. Until the worker listens, the path
    holds its pid.

    The jobs find it through the environment they inherit from Snakemake.
    """
    given = os.environ.get(ENV)
    if path is None and given and Path(given).exists():  # psp-eval run started one
        return Path(given)
    path = Path(path or socket_path())
    for old in path.parent.glob(f"psp-eval-warm-{os.getuid()}-*.sock"):
        owner = old.stem.rsplit("-", 1)[-1]
        if owner.isdigit() and not process_alive(int(owner)):  # left by a killed run
            old.unlink(missing_ok=True)
    path.unlink(missing_ok=True)
    global _worker
    _worker = subprocess.Popen(
        [sys.executable, "-m", "psp_eval.engine.warm", str(path), str(os.getpid())],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    path.write_text(str(_worker.pid), encoding="ascii")  # until it listens there
    os.environ[ENV] = str(path)
    return path


def stop(path: Path | None = None) -> None:
    """Ask the worker to leave (from `onsuccess` / `onerror`, and `psp-eval run` after
    Snakemake): removing its socket's path does it; the worker this process started is ended
    at once (SIGTERM), even while it imports, and waited for."""
    path = Path(path or os.environ.get(ENV) or socket_path())
    path.unlink(missing_ok=True)
    if _worker is not None:  # Snakemake has finished: no job is left, it may still import
        _worker.terminate()
        try:  # wait, so that its time and memory count as the run's
            _worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _worker.kill()
            _worker.wait()


def serve(
    path: Path,
    owner: int | None = None,
    *,
    idle_seconds: float = IDLE_SECONDS,
    preload: tuple[str, ...] = PRELOAD,
    optional: tuple[str, ...] = OPTIONAL_PRELOAD,
) -> None:
    """Import `preload` (and those of `optional` that are installed), then fork a child per
    request until the socket is removed, the owner process (Snakemake) is gone or no job came
    for `idle_seconds`."""
    import importlib
    import time

    # from stop(): now, even while importing. Not by raising SystemExit there: code that runs
    # then may swallow it (an import's bare `except:`, a `__del__` or callback, whose errors
    # Python only prints): on CI a worker stopped while importing outlived its SIGTERM by 10 s.
    signal.signal(signal.SIGTERM, _leave_now)
    for module in preload:
        importlib.import_module(module)
    for module in optional:
        with contextlib.suppress(ImportError):
            importlib.import_module(module)
    # The imported modules' objects are never freed: the children's collections skip them
    # (a hub's process notebook at 50,000 families: 0.30 -> 0.13 s of garbage collection)
    # and leave their memory pages shared with the worker.
    gc.freeze()
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(tmp))
    listener.listen(16)
    signal.signal(signal.SIGTERM, _leave)  # from now on, with serve's cleanup
    os.replace(tmp, path)  # appears only once it accepts connections
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    running: dict[int, socket.socket] = {}  # child pid -> its caller's connection
    idle_since = time.monotonic()
    try:
        while path.exists() and (owner is None or process_alive(owner)):
            for key, _ in selector.select(timeout=0.05):  # also how soon an ended job is seen
                if key.fileobj is listener:
                    connection, _ = listener.accept()
                    pid = _fork_job(connection, [listener, selector, *running.values()])
                    running[pid] = connection
                    selector.register(connection, selectors.EVENT_READ, pid)
                else:  # a caller hung up before its child finished: its job was killed
                    os.kill(key.data, signal.SIGKILL)
            for pid, code in _finished(running):
                connection = running.pop(pid)
                selector.unregister(connection)
                with contextlib.suppress(OSError):
                    connection.sendall(str(code).encode())
                connection.close()
            if running:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > idle_seconds:
                break
    finally:
        for pid in running:
            os.kill(pid, signal.SIGKILL)
        listener.close()
        if path.exists() and path.is_socket():
            path.unlink(missing_ok=True)


def _leave_now(signum: int, frame: object) -> None:
    os._exit(0)  # still importing: no listener, no job, nothing to clean up


def _leave(signum: int, frame: object) -> None:
    raise SystemExit(0)  # serve's cleanup runs: its jobs' children are killed


def _fork_job(connection: socket.socket, worker_files: list) -> int:
    """Fork a child that runs one request with the caller's streams, folder and environment.

    The child closes the worker's files (`worker_files`: its listener, selector and the other
    jobs' connections): a caller learns that its job ended when its connection closes, and a
    copy held open by a later job's child kept it waiting until that job ended too (2 to 3 s
    a job on the demo)."""
    header, fds, _, _ = socket.recv_fds(connection, 8, 3)
    while len(header) < 8 and (chunk := connection.recv(8 - len(header))):
        header += chunk
    size, message = int.from_bytes(header, "big"), b""
    while len(message) < size and (chunk := connection.recv(size - len(message))):
        message += chunk
    request = json.loads(message)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        for fd in fds:
            os.close(fd)
        return pid
    code = 1
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        for file in [*worker_files, connection]:
            file.close()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        os.environ.pop(ENV, None)  # the child runs the command itself
        _limit_threads(request["env"])
        import importlib

        code = importlib.import_module(COMMAND_LINE).main(request["argv"])
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _limit_threads(env: dict[str, str]) -> None:
    """Give the child's numerical libraries the threads Snakemake gave its job.

    Why: Snakemake tells a job how many threads it has through OMP_NUM_THREADS (and
    OPENBLAS_NUM_THREADS, ...), which the libraries read once, when they load: in the worker,
    before any job. Without this every child used one BLAS thread per core, and two jobs side
    by side on 2 cores spun against each other (the trial's and a hub's impact notebooks at
    50,000 families: 54 s each instead of about 40 s and 5 s)."""
    threads = env.get("OMP_NUM_THREADS", "")
    if threads.isdigit() and int(threads) > 0:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=int(threads))


def _finished(running: dict[int, socket.socket]) -> list[tuple[int, int]]:
    """(pid, exit code) of every child that has ended; killed ones as 128 + signal."""
    done = []
    for pid in list(running):
        ended, status = os.waitpid(pid, os.WNOHANG)
        if ended:
            code = os.waitstatus_to_exitcode(status)
            done.append((pid, code if code >= 0 else 128 - code))
    return done


if __name__ == "__main__":
    serve(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else None)
