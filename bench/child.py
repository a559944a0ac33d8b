"""One way to run a child server for a test or a benchmark: start it, wait until it answers, stop it.

Used by the OpenAI-compatible server tests (``llama_cpp.server``), the browser tests and benchmarks
(``streamlit run``) and the Chroma server of the scale benchmark, so each stops the same way:
terminate, wait, then kill, and a server that dies or never answers fails with the end of its log.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

POLL_S = 0.2  # between readiness checks: a server answers within a few of them once it has loaded
LOG_TAIL = 3000  # characters of the server's log quoted when it fails


class ChildFailed(RuntimeError):
    """The child exited, or did not answer in time; the message ends with its log's last lines."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def listening(port: int, host: str = "127.0.0.1") -> Callable[[], bool]:
    """A readiness check: something accepts connections on ``host:port``."""

    def check() -> bool:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            return False

    return check


def _tail(log: Path) -> str:
    try:
        return log.read_text(errors="replace")[-LOG_TAIL:]
    except OSError:
        return "(no log)"


@contextlib.contextmanager
def running(
    command: Sequence[str],
    *,
    ready: Callable[[], bool],
    log: Path,
    timeout_s: float = 90.0,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    stop_timeout_s: float = 20.0,
) -> Iterator[tuple[subprocess.Popen[bytes], float]]:
    """Run ``command`` (output to ``log``) until ``ready()`` is true; yield the process and seconds it took.

    Raises :class:`ChildFailed` if the process exits first or ``timeout_s`` passes. On leaving, the child is
    terminated, given ``stop_timeout_s`` to exit, then killed.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.Popen(list(command), cwd=cwd, env=dict(env) if env is not None else os.environ.copy(),
                                stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
        try:
            while not ready():
                if proc.poll() is not None:
                    raise ChildFailed(f"{command[0]} exited with {proc.returncode}:\n{_tail(log)}")
                if time.perf_counter() - started > timeout_s:
                    raise ChildFailed(f"{command[0]} did not answer within {timeout_s:.0f} s:\n{_tail(log)}")
                time.sleep(POLL_S)
            yield proc, time.perf_counter() - started
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=stop_timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


__all__ = ["ChildFailed", "free_port", "listening", "running"]
