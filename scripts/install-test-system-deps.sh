#!/usr/bin/env bash
# Installs the Debian packages the test suite needs, only those that are missing.
#
# - a real RTSP server for the camera tests: GStreamer's RTSP server, driven through PyGObject by Debian's own
#   interpreter (/usr/bin/python3), serving an MJPEG test pattern (videotestsrc, jpegenc, rtpjpegpay);
# - ffmpeg, to write a video whose container carries rotation metadata (OpenCV's writer cannot);
# - Chromium and its WebDriver for the dashboard's browser test (tests/dashboard/, driven by Selenium), and a CJK
#   font so that the hall's Chinese names render in its screenshots.
#
# Idempotent: `dpkg -s` decides what is missing; `apt-get update` runs only when something must be installed.
set -euo pipefail

PACKAGES=(
  python3-gi                    # PyGObject for /usr/bin/python3 (tests/support/rtsp_server.py)
  gir1.2-gst-rtsp-server-1.0    # GstRtspServer typelib (pulls gir1.2-gstreamer-1.0 and libgstrtspserver)
  gstreamer1.0-plugins-base     # videotestsrc, videoconvert
  gstreamer1.0-plugins-good     # jpegenc, rtpjpegpay
  ffmpeg                        # writes rotation metadata into an mp4 (-metadata:s:v rotate=N)
  chromium                      # headless browser for tests/dashboard (/usr/bin/chromium)
  chromium-driver               # its WebDriver, same version (/usr/bin/chromedriver)
  fonts-wqy-microhei            # a small CJK font: the dashboard's Chinese text renders in screenshots
  poppler-utils                 # pdftoppm: tests/reports renders the PDF report to an image
)

say() { printf '[install-test-system-deps] %s\n' "$*"; }

missing=()
for pkg in "${PACKAGES[@]}"; do
  # "install ok installed" is the only status that means usable; a removed package can leave a dpkg record.
  if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    say "present: $pkg"
  else
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  say "all test system packages are installed"
  exit 0
fi

say "missing: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo -n)
  else
    say "ERROR: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
else
  SUDO=()
fi

export DEBIAN_FRONTEND=noninteractive
say "running apt-get update"
if ! "${SUDO[@]}" apt-get update -q; then
  say "ERROR: apt-get update failed; cannot install: ${missing[*]}" >&2
  exit 1
fi
say "installing: ${missing[*]}"
if ! "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"; then
  say "ERROR: apt-get install failed for: ${missing[*]}" >&2
  exit 1
fi

for pkg in "${missing[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    say "ERROR: $pkg is still not installed" >&2
    exit 1
  fi
done
say "installed: ${missing[*]}"
