"""The warm worker: jobs handed to it give the same files, output and exit codes as jobs run
on their own; a job whose caller is killed dies with it; without a worker nothing changes."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from psp_eval.engine import warm

BIN = Path(sys.executable).parent


def _notebook(path: Path, source: str) -> Path:
    params = new_code_cell('out_dir = "."')
    params.metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=[params, new_code_cell(source)])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


def _serving(sock, serve_args: str, env=None) -> subprocess.Popen:
    """A worker started with `serve(sock, <serve_args>)`, once it listens on `sock`."""
    code = f"from pathlib import Path; from psp_eval.engine.warm import serve; serve(Path({str(sock)!r}), {serve_args})"
    process = subprocess.Popen([sys.executable, "-c", code], env=env)
    for _ in range(200):
        if sock.exists():
            break
        time.sleep(0.05)
    return process


@pytest.fixture
def worker(tmp_path):
    """A worker with nothing preloaded (quick to start), listening on a socket in tmp_path."""
    sock = tmp_path / "w.sock"
    process = _serving(sock, "preload=(), optional=()")
    yield sock, process
    sock.unlink(missing_ok=True)
    process.wait(timeout=10)


def _execute(args, cwd, sock=None, **kwargs):
    env = (
        {**os.environ, warm.ENV: str(sock)}
        if sock
        else {k: v for k, v in os.environ.items() if k != warm.ENV}
    )
    return subprocess.Popen(
        [str(BIN / "psp-eval"), "execute", *args], cwd=cwd, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs,
    )  # fmt: skip


def test_a_job_in_the_worker_matches_a_job_on_its_own(tmp_path, worker):
    sock, _ = worker
    nb = _notebook(tmp_path / "nb.ipynb", "import os\nprint(os.getcwd(), os.getpid())")
    here = tmp_path / "here"
    here.mkdir()
    stdout, stderr = _execute(
        [str(nb), "out_warm.ipynb", "-p", "out_dir=x"], here, sock
    ).communicate()
    assert "Executed" in stdout, stderr
    executed = nbformat.read(here / "out_warm.ipynb", as_version=4)
    printed = executed.cells[-1].outputs[0]["text"].split()
    assert printed[0] == str(here)  # the caller's folder
    assert int(printed[1]) != os.getpid()
    alone = _execute([str(nb), "out_alone.ipynb", "-p", "out_dir=x"], here).communicate()
    assert "Executed" in alone[0]


def test_a_job_in_the_worker_has_the_threads_snakemake_gave_it(tmp_path):
    # BLAS reads its thread count when it loads, in the worker: a child must still get its
    # job's (Snakemake passes it as OMP_NUM_THREADS), or side-by-side jobs oversubscribe
    sock = tmp_path / "w.sock"
    process = _serving(sock, "preload=('numpy',)", env={**os.environ, "OMP_NUM_THREADS": "4"})
    nb = _notebook(
        tmp_path / "nb.ipynb",
        "from threadpoolctl import threadpool_info\n"
        "print(sorted({pool['num_threads'] for pool in threadpool_info()}))",
    )
    env = {**os.environ, warm.ENV: str(sock), "OMP_NUM_THREADS": "1"}
    try:
        subprocess.run(
            [str(BIN / "psp-eval"), "execute", str(nb), "out.ipynb", "-p", "out_dir=x"],
            cwd=tmp_path, env=env, check=True, capture_output=True,
        )  # fmt: skip
    finally:
        sock.unlink(missing_ok=True)
        process.wait(timeout=10)
    executed = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    assert executed.cells[-1].outputs[0]["text"].strip() == "[1]"


def test_a_job_finds_the_optional_modules_imported_and_a_missing_one_is_skipped(tmp_path):
    sock = tmp_path / "w.sock"
    optional = ("wave", "no_such_module_of_psp_eval")  # wave: imported by nothing else
    process = _serving(sock, f"preload=(), optional={optional!r}")
    nb = _notebook(tmp_path / "nb.ipynb", "import sys\nprint('wave' in sys.modules)")
    try:
        stdout, stderr = _execute(
            [str(nb), "out.ipynb", "-p", "out_dir=x"], tmp_path, sock
        ).communicate()
    finally:
        sock.unlink(missing_ok=True)
        process.wait(timeout=10)
    assert "Executed" in stdout, stderr
    executed = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    assert executed.cells[-1].outputs[0]["text"].strip() == "True"


def test_errors_and_exit_codes_reach_the_caller(tmp_path, worker):
    sock, _ = worker
    nb = _notebook(tmp_path / "nb.ipynb", "raise ValueError('planted')")
    job = _execute([str(nb), "out.ipynb", "-p", "out_dir=x"], tmp_path, sock)
    _, stderr = job.communicate()
    assert job.returncode == 1
    assert "ValueError: planted" in stderr and "Traceback" not in stderr
    assert not (tmp_path / "out.ipynb").exists()


def test_a_killed_caller_takes_its_job_with_it(tmp_path, worker):
    sock, _ = worker
    marker = tmp_path / "still-running"
    nb = _notebook(
        tmp_path / "nb.ipynb",
        f"import time\nfor _ in range(100):\n    open({str(marker)!r}, 'w').close()\n    time.sleep(0.1)",
    )
    job = _execute([str(nb), "out.ipynb", "-p", "out_dir=x"], tmp_path, sock)
    for _ in range(100):
        if marker.exists():
            break
        time.sleep(0.1)
    assert marker.exists(), "the job never started"
    job.send_signal(signal.SIGKILL)
    job.wait()
    time.sleep(1)
    marker.unlink()
    time.sleep(1)
    assert not marker.exists(), "the job went on after its caller was killed"
    assert not (tmp_path / "out.ipynb").exists()


def test_a_job_ends_for_its_caller_while_a_later_job_still_runs(tmp_path, worker):
    # a child forked for a later job must not hold the earlier job's connection open
    sock, _ = worker
    release = tmp_path / "release"
    release.touch()
    short = _notebook(
        tmp_path / "short.ipynb",
        f"import time, pathlib\nwhile not pathlib.Path({str(tmp_path / 'long-started')!r}).exists():"
        "\n    time.sleep(0.05)",
    )
    long = _notebook(
        tmp_path / "long.ipynb",
        f"import time, pathlib\npathlib.Path({str(tmp_path / 'long-started')!r}).touch()"
        f"\nwhile pathlib.Path({str(release)!r}).exists():\n    time.sleep(0.05)",
    )
    first = _execute([str(short), "short_out.ipynb", "-p", "out_dir=x"], tmp_path, sock)
    time.sleep(0.5)  # the short job's child is forked first, then the long one's
    second = _execute([str(long), "long_out.ipynb", "-p", "out_dir=x"], tmp_path, sock)
    try:
        stdout, stderr = first.communicate(timeout=30)
        assert "Executed" in stdout, stderr
        assert second.poll() is None, "the later job ended first: nothing was tested"
    finally:
        release.unlink()
    assert "Executed" in second.communicate(timeout=60)[0]


def test_without_a_worker_the_job_runs_on_its_own(tmp_path, monkeypatch):
    nb = _notebook(tmp_path / "nb.ipynb", "print('alone')")
    for sock in (None, tmp_path / "no-such.sock"):
        stdout, stderr = _execute(
            [str(nb), "out.ipynb", "-p", "out_dir=x"], tmp_path, sock
        ).communicate()
        assert "Executed" in stdout, stderr
    monkeypatch.delenv(warm.ENV, raising=False)
    assert warm.delegate(["execute", "x.ipynb", "y.ipynb"]) is None
    monkeypatch.setenv(warm.ENV, str(tmp_path / "no-such.sock"))
    assert warm.delegate(["execute", "x.ipynb", "y.ipynb"]) is None


def test_the_worker_leaves_when_stopped_idle_or_orphaned(tmp_path, worker):
    sock, process = worker
    warm.stop(sock)
    assert process.wait(timeout=5) == 0
    idle = tmp_path / "idle.sock"
    code = f"from pathlib import Path; from psp_eval.engine.warm import serve; serve(Path({str(idle)!r}), idle_seconds=0.5, preload=(), optional=())"
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", code], check=True, timeout=20)
    assert time.monotonic() - started < 15
    assert not idle.exists()
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    orphan = f"from pathlib import Path; from psp_eval.engine.warm import serve; serve(Path({str(idle)!r}), {int(gone.stdout)}, preload=(), optional=())"
    subprocess.run([sys.executable, "-c", orphan], check=True, timeout=20)  # its Snakemake is gone


def test_a_render_in_the_worker_says_what_it_says_on_its_own(tmp_path, worker):
    sock, _ = worker
    args = ["render", "--template", "missing.qmd", "--qmd", "out/report.qmd", "--html", "r.html",
            "--pdf", "r.pdf", "--trial", "demo", "--scope", "trial", "--scope-name", "Trial",
            "--arm-treated", "SFFC", "--arm-control", "Usual", "--data-dir", "raw"]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != warm.ENV}
    runs = [
        subprocess.run([str(BIN / "psp-eval"), *args], cwd=tmp_path, env=e, text=True,
                       capture_output=True, check=False)
        for e in ({**env, warm.ENV: str(sock)}, env)
    ]  # fmt: skip
    assert runs[0].returncode == runs[1].returncode != 0
    assert runs[0].stderr == runs[1].stderr and "missing.qmd" in runs[0].stderr


def _parent_pid_printed(tmp_path: Path, sock: Path) -> tuple[int, float]:
    """Run a job that prints its process's parent pid; that pid and how long the job took."""
    nb = _notebook(tmp_path / "nb.ipynb", "import os\nprint(os.getppid())")
    started = time.monotonic()
    stdout, stderr = _execute(
        [str(nb), "out.ipynb", "-p", "out_dir=x"], tmp_path, sock
    ).communicate(timeout=60)
    assert "Executed" in stdout, stderr
    executed = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    return int(executed.cells[-1].outputs[0]["text"]), time.monotonic() - started


def test_a_job_waits_for_a_worker_still_importing_and_runs_in_it(tmp_path):
    # as start() leaves it: the socket's path holds the pid of a worker that does not listen yet
    sock = tmp_path / "w.sock"
    sock.write_text("", encoding="ascii")
    code = (
        "import time; from pathlib import Path; from psp_eval.engine.warm import serve;"
        f" time.sleep(1.0); serve(Path({str(sock)!r}), preload=(), optional=())"
    )
    process = subprocess.Popen([sys.executable, "-c", code])
    sock.write_text(str(process.pid), encoding="ascii")
    try:
        parent, _ = _parent_pid_printed(tmp_path, sock)
        assert sock.is_socket(), "the worker never listened: nothing was tested"
    finally:
        sock.unlink(missing_ok=True)
        process.wait(timeout=10)
    assert parent == process.pid  # forked by the worker, not run by the caller


def test_a_job_does_not_wait_for_a_worker_that_died_importing(tmp_path):
    sock = tmp_path / "w.sock"
    dead = subprocess.Popen([sys.executable, "-c", "raise SystemExit(1)"])
    for _ in range(200):  # not reaped: a zombie, as under the run that started it
        if Path(f"/proc/{dead.pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z":
            break
        time.sleep(0.05)
    sock.write_text(str(dead.pid), encoding="ascii")
    try:
        parent, seconds = _parent_pid_printed(tmp_path, sock)
    finally:
        dead.wait()
    assert parent == os.getpid()  # the caller (our child) ran it itself
    assert seconds < warm.READY_SECONDS / 2


def test_a_worker_stopped_while_importing_leaves_at_once(tmp_path, monkeypatch):
    # a run with nothing to do ends while its worker still imports the analysis libraries
    monkeypatch.delenv(warm.ENV, raising=False)
    sock = warm.start(tmp_path / "w.sock")
    worker = warm._worker
    time.sleep(0.3)
    assert not sock.is_socket(), "it listened already: nothing was tested"
    started = time.monotonic()
    warm.stop(sock)
    assert worker.poll() is not None and time.monotonic() - started < 2
    assert not sock.exists()
    monkeypatch.setattr(warm, "_worker", None)
