"""A real HTTP server on 127.0.0.1 standing in for Herald: it answers from a script (or a router)
and records every request it receives, so tests check what the SDK really sent over the wire."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Deque, Dict, List, Optional
from urllib.parse import parse_qsl, urlsplit


@dataclasses.dataclass
class Answer:
    status: int = 200
    body: Any = None
    headers: Dict[str, str] = dataclasses.field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False  # close the connection without answering
    raw: Optional[bytes] = None  # a body that is not JSON


@dataclasses.dataclass
class Received:
    method: str
    path: str
    query: Dict[str, str]
    headers: Dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class StandIn:
    def __init__(self) -> None:
        self.received: List[Received] = []
        self.answers: Deque[Answer] = deque()
        self.router: Optional[Callable[[Received], Answer]] = None
        self._count = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def answer(self, status: int = 200, body: Any = None, **kwargs: Any) -> None:
        """Queues the answer to the next request."""
        self.answers.append(Answer(status, body, **kwargs))

    def start(self) -> StandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next_answer(self, request: Received) -> Answer:
        with self._lock:
            self.received.append(request)
            self._count += 1
            if self.answers:
                return self.answers.popleft()
        if self.router is None:
            return Answer(599, {"error": {"code": "STAND_IN", "message": "no answer was scripted"}})
        try:
            return self.router(request)
        except Exception as exc:  # reported to the client, which fails the test with it
            return Answer(599, {"error": {"code": "STAND_IN", "message": f"the router failed: {exc!r}"}})

    def _handler_class(self) -> type:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                request = Received(
                    method=self.command,
                    path=url.path,
                    query=dict(parse_qsl(url.query, keep_blank_values=True)),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length),
                )
                answer = stand_in._next_answer(request)
                if answer.delay:
                    time.sleep(answer.delay)
                if answer.drop:
                    self.close_connection = True
                    return
                payload = answer.raw if answer.raw is not None else json.dumps(answer.body).encode()
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("X-Request-Id", answer.headers.get("X-Request-Id", f"req-{stand_in._count}"))
                for name, value in answer.headers.items():
                    if name != "X-Request-Id":
                        self.send_header(name, value)
                self.end_headers()
                try:
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a time-out test)

            do_GET = do_POST = do_DELETE = do_PATCH = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
