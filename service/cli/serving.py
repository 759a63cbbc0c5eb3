"""What ``safecredit serve --workers N`` runs: N uvicorn servers, each a process of its own with
a listening socket of its own on the one port (``SO_REUSEPORT``), so that the kernel spreads
new connections evenly over the workers. Sharing one listening socket instead (as uvicorn's
``--workers`` does) lets whichever worker wakes first accept: with keep-alive connections a few
of them stay with one worker for good, and two workers answered little more than one.

The parent only watches: a worker that dies is started again; SIGTERM or SIGINT stops them all
(each finishes its answers and writes its queued decisions first)."""

from __future__ import annotations

import multiprocessing as mp
import signal
import socket
import time
from typing import Any

APP = "service.http.app:create_app"
BACKLOG = 2048
STARTING_SECONDS = 10.0  # a worker dying sooner after its start failed to start


def listening(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` that other processes may listen on too (port 0:
    any free port; read it from the socket)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(BACKLOG)
    sock.set_inheritable(True)
    return sock


def _worker(host: str, port: int) -> None:
    import uvicorn

    config = uvicorn.Config(APP, factory=True, host=host, port=port)
    uvicorn.Server(config).run(sockets=[listening(host, port)])


def run(host: str, port: int, workers: int) -> int:
    """``workers`` servers on ``host:port`` until SIGTERM or SIGINT (0), or until a worker
    fails as it starts (1: the address is taken, the settings are wrong, …)."""
    context = mp.get_context("spawn")  # a fresh interpreter each: nothing inherited half-made
    stopping = False

    def start() -> tuple[Any, float]:
        process = context.Process(target=_worker, args=(host, port), daemon=False)
        process.start()
        return process, time.monotonic()

    def stop(_signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    started = [start() for _ in range(workers)]
    failed = False
    while not stopping and not failed:
        time.sleep(0.5)
        for i, (process, at) in enumerate(started):
            if stopping or process.is_alive():
                continue
            if time.monotonic() - at < STARTING_SECONDS:
                failed = True  # it did not get as far as serving: starting again would too
                break
            started[i] = start()
    for process, _ in started:
        process.terminate()  # SIGTERM: uvicorn's graceful shutdown
    for process, _ in started:
        process.join(30)
        if process.is_alive():
            process.kill()
    return 1 if failed else 0
