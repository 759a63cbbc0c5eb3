"""A webhook receiver for the tests: an HTTP server on 127.0.0.1 that records every POST (its
event id, body, headers), can fail a number of times before accepting, answer slowly, and
notes whether an event was ever received twice at the same time."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    event_id: int
    body: bytes
    headers: dict[str, str]

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    fail_first: int = 0  # answer 500 to the first N posts of each event
    status: int = 200  # the answer after that
    delay: float = 0.0  # seconds before answering
    got: list[Received] = field(default_factory=list)  # accepted, in arrival order
    tries: Counter[int] = field(default_factory=Counter)
    overlaps: list[int] = field(default_factory=list)  # events received twice at once
    _busy: Counter[int] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def ids(self) -> list[int]:
        with self._lock:
            return [r.event_id for r in self.got]

    def start(self) -> Receiver:
        me = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                event_id = int(self.headers.get("X-Safecredit-Event-Id", "0"))
                with me._lock:
                    if me._busy[event_id]:
                        me.overlaps.append(event_id)
                    me._busy[event_id] += 1
                    me.tries[event_id] += 1
                    failing = me.tries[event_id] <= me.fail_first
                try:
                    if me.delay:
                        time.sleep(me.delay)
                    code = 500 if failing else me.status
                    if not failing and 200 <= code < 300:
                        with me._lock:
                            me.got.append(Received(event_id, body, dict(self.headers.items())))
                    self.send_response(code)
                    if 300 <= code < 400:
                        self.send_header("Location", "http://10.0.0.1/")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                finally:
                    with me._lock:
                        me._busy[event_id] -= 1

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
