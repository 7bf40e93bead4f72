"""What every command does with the files named on its command line: a hall config or an image that cannot be used
exits 2 (EXIT_BAD_INPUT) naming the file. Re-exported by counterwatch.cli, where other code imports it from."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, overload

import click

from counterwatch.config import ConfigError, HallConfig, load_config

if TYPE_CHECKING:
    import numpy as np

EXIT_BAD_INPUT = 2


@overload
def load_config_or_exit(path: str | Path) -> HallConfig: ...
@overload
def load_config_or_exit(path: None) -> None: ...
@overload
def load_config_or_exit(path: str | Path | None) -> HallConfig | None: ...


def load_config_or_exit(path: str | Path | None) -> HallConfig | None:
    """The hall config at `path` (None for None), or exit 2 listing every bad field with its line."""
    if path is None:
        return None
    try:
        return load_config(path)
    except ConfigError as exc:
        for issue in exc.issues:
            click.echo(issue.format(exc.filename), err=True)
        sys.exit(EXIT_BAD_INPUT)


def read_image_or_exit(path: str) -> np.ndarray:
    """The image at `path` (BGR), or exit 2 naming the file: missing, unreadable, not an image, or over the
    counterwatch.image_input.MAX_IMAGE_PIXELS cap (checked on the header, before decoding)."""
    from counterwatch.image_input import ImageInputError, read_image

    try:
        return read_image(path)
    except ImageInputError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_BAD_INPUT)
