"""A tiny RTSP server for the camera tests: GStreamer's RTSP server serving a live MJPEG test pattern.

Run with Debian's system interpreter, which has PyGObject (the project venv cannot import `gi`):

    /usr/bin/python3 tests/support/rtsp_server.py --port 8554 --path /cam

It prints `READY <port>` on stdout once the port is bound, so a test fixture can wait for it, and serves until killed.
MJPEG over RTP (jpegenc ! rtpjpegpay) needs only gstreamer1.0-plugins-good, and every frame is a key frame, so a
client that (re)connects decodes from its first packet.
"""
from __future__ import annotations

import argparse
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/cam")
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--fps", type=int, default=15)
    args = parser.parse_args()

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address(args.host)
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        "( videotestsrc is-live=true pattern=ball "
        f"! video/x-raw,format=I420,width={args.width},height={args.height},framerate={args.fps}/1 "
        "! jpegenc quality=80 ! rtpjpegpay name=pay0 pt=26 )"
    )
    # One pipeline shared by all clients: a reconnecting reader joins the running stream instead of a new one.
    factory.set_shared(True)
    server.get_mount_points().add_factory(args.path, factory)
    if server.attach(None) == 0:
        print(f"cannot bind {args.host}:{args.port}", file=sys.stderr, flush=True)
        return 2
    print(f"READY {server.get_bound_port()}", flush=True)
    GLib.MainLoop().run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
