"""Files and folders only the service's own user may open: the database and everything under DATA_DIR.

They hold images and records of named staff members (snapshots, clips, sampled frames, incident logs), so they are
created 0600 (files) and 0700 (folders) whatever the process umask is. A data folder or database file that an
earlier version left open to other users is tightened when the service starts (`tighten`): once DATA_DIR is 0700,
nobody else can reach anything inside it, whatever the modes of the files there.
"""
from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

logger = logging.getLogger("counterwatch.files")

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700
_OTHERS = 0o077  # group and other permission bits


def private_dir(path: str | Path) -> Path:
    """Create the folder `path` and any missing parents 0700; folders that exist already are left as they are."""
    path = Path(path)
    missing: list[Path] = []
    probe = path
    while not probe.exists() and probe.parent != probe:
        missing.append(probe)
        probe = probe.parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, PRIVATE_DIR_MODE)
        except FileExistsError:  # another process made it between the check and here
            continue
        os.chmod(folder, PRIVATE_DIR_MODE)  # mkdir's mode is filtered by the umask; this is exact
    if not path.is_dir():
        raise NotADirectoryError(f"{path} exists and is not a folder")
    return path


def open_private(path: str | Path, flags: int) -> int:
    """os.open with O_CREAT: a new file is created 0600 (an existing one keeps its mode)."""
    return os.open(path, flags | os.O_CREAT, PRIVATE_FILE_MODE)


def tighten(path: str | Path) -> bool:
    """Take the group and other permissions off an existing file or folder that this user owns; True if changed.

    Missing paths and paths of other owners are left alone (the latter with a warning: only their owner can fix
    them).
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return False
    mode = stat.S_IMODE(info.st_mode)
    if not mode & _OTHERS:
        return False
    if info.st_uid != os.getuid():
        logger.warning("%s is open to other users (mode %o) and owned by uid %d, not this user (uid %d): "
                       "chmod go-rwx it", path, mode, info.st_uid, os.getuid())
        return False
    os.chmod(path, mode & ~_OTHERS)
    logger.warning("%s was open to other users (mode %o): now %o", path, mode, mode & ~_OTHERS)
    return True


def private_data_dir(path: str | Path) -> Path:
    """DATA_DIR on start: created 0700, or tightened to 0700 if it exists and is open to others."""
    path = private_dir(path)
    tighten(path)
    return path
