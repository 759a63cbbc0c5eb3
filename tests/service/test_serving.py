"""``serve --workers N``: each worker listens on a socket of its own on the one port, and the
kernel spreads new connections over them (a shared socket lets one worker take most)."""

from __future__ import annotations

import selectors
import socket

from service.cli.serving import listening

WORKERS = 2
CONNECTIONS = 200


def test_connections_spread_over_the_workers_sockets() -> None:
    first = listening("127.0.0.1", 0)
    port = first.getsockname()[1]
    socks = [first, *(listening("127.0.0.1", port) for _ in range(WORKERS - 1))]
    clients = []
    try:
        for _ in range(CONNECTIONS):
            clients.append(socket.create_connection(("127.0.0.1", port)))
        accepted = dict.fromkeys(range(WORKERS), 0)
        with selectors.DefaultSelector() as selector:
            for i, s in enumerate(socks):
                s.setblocking(False)
                selector.register(s, selectors.EVENT_READ, i)
            while sum(accepted.values()) < CONNECTIONS:
                events = selector.select(timeout=5)
                assert events, f"accepted {accepted} of {CONNECTIONS}"
                for key, _ in events:
                    try:
                        conn, _ = key.fileobj.accept()  # type: ignore[union-attr]
                    except BlockingIOError:
                        continue
                    conn.close()
                    accepted[key.data] += 1
        # by the connection's address hash: close to even, never all on one
        assert min(accepted.values()) >= CONNECTIONS // (WORKERS * 3), accepted
    finally:
        for c in clients:
            c.close()
        for s in socks:
            s.close()
