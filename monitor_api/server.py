"""Run the API with uvicorn: in a background thread beside the runner (`counterwatch run`), or in the foreground
(`counterwatch serve`)."""
from __future__ import annotations

import logging
import threading
import time

import uvicorn
from fastapi import FastAPI

logger = logging.getLogger("counterwatch.api")


class ApiServerError(RuntimeError):
    """The server could not start; the message names the address."""


def uvicorn_config(app: FastAPI, host: str, port: int, *, log_level: str = "warning") -> uvicorn.Config:
    # No proxy headers (X-Forwarded-For is honoured only by ApiSettings.trust_forwarded_for) and no server header.
    return uvicorn.Config(app, host=host, port=port, log_level=log_level, access_log=False, lifespan="on",
                          proxy_headers=False, server_header=False, ws="websockets-sansio", timeout_graceful_shutdown=3)


class ApiServer:
    """uvicorn in a daemon thread. It installs no signal handlers there: the main thread (the runner's pump)
    handles Ctrl-C and SIGTERM and stops the server."""

    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int = 8000, *, log_level: str = "warning"):
        self.host = host
        self.app = app
        self._server = uvicorn.Server(uvicorn_config(app, host, port, log_level=log_level))
        self._thread = threading.Thread(target=self._server.run, name="counterwatch-api", daemon=True)

    def start(self, timeout: float = 20.0) -> ApiServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise ApiServerError(f"the API could not listen on {self.host}:{self._server.config.port} (address "
                                     "in use? choose another with --port)")
            if time.monotonic() > deadline:
                raise ApiServerError(f"the API did not start within {timeout:.0f} s")
            time.sleep(0.02)
        return self

    @property
    def port(self) -> int:
        servers = getattr(self._server, "servers", [])
        for server in servers:
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        return int(self._server.config.port)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
