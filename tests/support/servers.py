"""Real servers on loopback for the camera tests: GStreamer's RTSP server and small HTTP servers."""
from __future__ import annotations

import functools
import http.server
import selectors
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import cv2

from tests.support.video import numbered_image

SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's interpreter has PyGObject (python3-gi); the project venv does not
RTSP_SERVER_SCRIPT = Path(__file__).with_name("rtsp_server.py")


def free_port() -> int:
    """A loopback TCP port nobody listens on (bound once by the OS, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RtspServer:
    """tests/support/rtsp_server.py in a child process; `kill()` is a SIGKILL, `start()` may be called again."""

    def __init__(self, port: int, path: str = "/cam", fps: int = 15, width: int = 320, height: int = 240) -> None:
        self.port = port
        self.path = path
        self.width = width
        self.height = height
        self._fps = fps
        self._process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}{self.path}"

    def start(self, timeout_s: float = 20.0) -> None:
        """Starts the server and waits for its READY line. The port of a killed server can stay busy for a
        moment, so a failed bind is retried until the timeout."""
        deadline = time.monotonic() + timeout_s
        while True:
            error = self._start_once(deadline)
            if error is None:
                return
            if "cannot bind" not in error or time.monotonic() + 0.3 > deadline:
                raise RuntimeError(f"RTSP server on port {self.port} did not start: {error}")
            time.sleep(0.2)

    def _start_once(self, deadline: float) -> str | None:
        """None when the server is ready, else why not (the process is gone by then)."""
        command = [
            SYSTEM_PYTHON, str(RTSP_SERVER_SCRIPT), "--port", str(self.port), "--path", self.path,
            "--fps", str(self._fps), "--width", str(self.width), "--height", str(self.height),
        ]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self._process = process
        assert process.stdout is not None and process.stderr is not None
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            while time.monotonic() < deadline:
                if selector.select(timeout=0.1) and process.stdout.readline().startswith("READY"):
                    return None
                if process.poll() is not None:
                    error = f"exit status {process.returncode}: {process.stderr.read().strip()}"
                    self.kill()
                    return error
        self.kill()
        return "no READY line before the timeout"

    def freeze(self) -> None:
        """SIGSTOP: connections stay open but no byte flows (a hung camera)."""
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self._process is not None
        self._process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)  # a frozen process dies from SIGKILL too
        process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


class _NumberedMjpegHandler(http.server.BaseHTTPRequestHandler):
    """An IP camera's HTTP MJPEG stream: numbered frames as multipart/x-mixed-replace, at the server's rate."""

    server: MjpegHttpServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's signature
        pass

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        if self.path != "/stream.mjpg":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        self.end_headers()
        number = 0
        try:
            while not self.server.stopping.is_set():
                ok, jpeg = cv2.imencode(".jpg", numbered_image(number % 1024))
                assert ok
                data = jpeg.tobytes()
                self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(data))
                self.wfile.write(data + b"\r\n")
                number += 1
                time.sleep(1.0 / self.server.fps)
        except (BrokenPipeError, ConnectionResetError):
            pass


class MjpegHttpServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fps: float = 20.0) -> None:
        super().__init__(("127.0.0.1", 0), _NumberedMjpegHandler)
        self.fps = fps
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/stream.mjpg"

    def __enter__(self) -> MjpegHttpServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()


class _QuietFileHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's signature
        pass


class FileHttpServer(http.server.ThreadingHTTPServer):
    """Serves one directory over plain HTTP (no range requests), like a simple web server with a video on it."""

    daemon_threads = True

    def __init__(self, directory: Path) -> None:
        super().__init__(("127.0.0.1", 0), functools.partial(_QuietFileHandler, directory=str(directory)))
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/{name}"

    def __enter__(self) -> FileHttpServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
