"""Reading an image named on the command line (`counterwatch detect`), its size checked before it is decoded.

The size comes from the file's header (Pillow reads the header only; nothing is decoded), so a file whose header
claims 60000x60000 costs nothing to refuse, and a 20000x20000 image is refused before OpenCV allocates 1.2 GB for
it. Formats whose header Pillow cannot read are refused too: their size could only be learnt by decoding them.
"""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

# 50 megapixels: 150 MB once decoded (BGR). Camera frames are 1-12 megapixels; a larger image is a photo or a file
# made to exhaust memory, and the perception cascade would only scale it down.
MAX_IMAGE_PIXELS = 50_000_000

_pillow_limit_lock = threading.Lock()


class ImageInputError(ValueError):
    """An image that cannot be used; the message names the file and what is wrong with it."""


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:g} megapixels"


def header_size(handle, path: str | Path) -> tuple[int, int]:
    """(width, height) from the header of the open image file `handle`; ImageInputError if it has none we can read."""
    from PIL import Image, UnidentifiedImageError

    # Pillow's own decompression-bomb check refuses huge headers without saying their size; the cap here replaces
    # it for this header-only read (nothing is decoded), so the message can name the width and height.
    with _pillow_limit_lock:
        previous = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            with Image.open(handle) as image:
                return image.size
        except (UnidentifiedImageError, ImportError):  # ImportError: a library patched Image.open to load a
            # format plugin on demand (ultralytics: pi-heif), which is not installed
            raise ImageInputError(f"{path} is not an image in a format whose size can be read from its header (PNG, "
                                  "JPEG, BMP, TIFF, WebP, ...)") from None
        except (SyntaxError, ValueError, IndexError, TypeError, EOFError, OSError) as exc:  # a malformed header
            raise ImageInputError(f"{path} has a malformed image header: {exc}") from None
        finally:
            Image.MAX_IMAGE_PIXELS = previous


def read_image(path: str | Path, max_pixels: int = MAX_IMAGE_PIXELS) -> np.ndarray:
    """The image at `path` as BGR, refused (ImageInputError naming the file) when it is missing or unreadable, not
    an image, larger than `max_pixels` by its header, or cannot be decoded."""
    import cv2

    try:
        with open(path, "rb") as handle:
            width, height = header_size(handle, path)
            if width * height > max_pixels:
                raise ImageInputError(
                    f"{path} is {width}x{height} pixels ({_megapixels(width * height)}), over the cap of "
                    f"{_megapixels(max_pixels)}: scale it down (camera frames are 1-12 megapixels)")
            handle.seek(0)
            data = np.frombuffer(handle.read(), dtype=np.uint8)
    except OSError as exc:
        raise ImageInputError(f"cannot read image {path}: {exc.strerror or exc}") from None
    try:
        image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    except cv2.error as exc:
        raise ImageInputError(f"{path} cannot be decoded: {str(exc).strip()}") from None
    if image is None:
        raise ImageInputError(f"{path} is not a readable image (empty, truncated or not an image format OpenCV "
                              "decodes)")
    if image.shape[0] * image.shape[1] > max_pixels:  # the decoder disagreed with the header
        raise ImageInputError(f"{path} decoded to {image.shape[1]}x{image.shape[0]} pixels, over the cap of "
                              f"{_megapixels(max_pixels)}")
    return image
