"""Shared by the appraisal tests (tests/scoring/test_http.py, tests/api/http/test_webhook_period_close.py): a real
loopback receiver of the webhook that records every POST and checks its signature as a receiver would, and the
scores the endpoint serves."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from monitor_api.scoring.webhook import verify
from tests.api.http.world import World

SECRET = "s3cret-for-the-appraisal-webhook"


class Receiver:
    """Answers 500 to the first `failures` requests and 200 afterwards; records body, Idempotency-Key and whether
    X-Counterwatch-Signature verifies against X-Counterwatch-Timestamp with SECRET."""

    def __init__(self, failures: int = 0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.failures = failures
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({
                    "body": body, "key": self.headers["Idempotency-Key"],
                    "timestamp": self.headers["X-Counterwatch-Timestamp"],
                    "valid": verify(SECRET, self.headers["X-Counterwatch-Timestamp"], body,
                                    self.headers["X-Counterwatch-Signature"])})
                self.send_response(500 if len(receiver.requests) <= receiver.failures else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, count: int, timeout: float = 10.0) -> None:
        """Until `count` requests have arrived (or the timeout passed: the caller asserts the number)."""
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def running_receiver(failures: int = 0) -> Iterator[Receiver]:
    """The body of a receiver fixture: started, yielded, stopped."""
    server = Receiver(failures)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A receiver that accepts every delivery at once."""
    yield from running_receiver()


def served_scores(world: World, period: str, principal: str = "key_appraisal", hall: str = "hall-a") -> dict[str, Any]:
    """GET /api/v1/appraisal/scores over HTTP: {"period", "halls": [...]}, asserting 200."""
    with world.client() as client:
        response = client.get("/api/v1/appraisal/scores", params={"period": period, "hall": hall},
                              headers=world.headers(principal))
    assert response.status_code == 200, response.text
    return response.json()


def staff_entry(document: dict[str, Any], staff_id: str) -> dict[str, Any]:
    """One staff member's entry of a period document."""
    return next(item for item in document["staff"] if item["staff_id"] == staff_id)
