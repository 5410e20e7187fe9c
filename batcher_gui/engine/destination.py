"""Writing a file the user named (an export) into whatever that name is.

A regular file (or a new one) appears whole or not at all: the rows go to a temporary file
beside it, renamed over it at the end, which keeps the mode (and, where allowed, the owner) of
the file it replaces. A symbolic link is followed: its target is written, the link stays. A
FIFO, a terminal or a device like /dev/null is written directly: replacing it would break
whoever reads it (and, as root, /dev/null for everyone).

Temporary files are named ``.batcher-export-<host>-<pid>-<random>.tmp``, short whatever the
user's file is called (a 255-byte name must work), and recognisable: one left behind by a
killed export is removed by the next export into that folder once its process is gone.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import secrets
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from batcher_gui.domain.errors import InvalidInput
from batcher_gui.storage.lease import holder_is_dead

#: The longest file name most file systems take (ext4, APFS, NTFS...), in bytes.
NAME_MAX = 255
_TEMP = re.compile(r"\.batcher-export-([0-9a-f]{6})-(\d+)-[0-9a-f]{8}\.tmp")
#: Where a process cannot be asked about (not POSIX), a temporary file this old is stale.
_STALE_AFTER = 86_400.0

_WHAT_TO_DO = {
    errno.EACCES: "you may not write there: choose another folder",
    errno.EPERM: "you may not write there: choose another folder",
    errno.EROFS: "that place is read-only: choose another folder",
    errno.ENOSPC: "the disk is full: free some space or choose another disk",
    errno.EDQUOT: "your disk quota is used up: free some space or choose another disk",
    errno.ENAMETOOLONG: "the name is too long for that file system: choose a shorter one",
    errno.EPIPE: "the program reading it stopped before the end",
    errno.EISDIR: "it is a folder: give a file name",
}


def name_max(folder: Path) -> int:
    """The longest file name (in bytes) ``folder``'s file system takes: asked of the nearest
    folder that exists; :data:`NAME_MAX` where the system cannot say."""
    probe = folder
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    try:
        return int(os.pathconf(probe, "PC_NAME_MAX"))
    except (AttributeError, OSError, ValueError):  # no pathconf (Windows) or no answer
        return NAME_MAX


def fit_name(stem: str, tail: str, limit: int) -> str:
    """``stem + tail``, the stem cut (at a character boundary) so the whole name takes at
    most ``limit`` bytes in UTF-8, the encoding file names get."""
    room = limit - len(tail.encode("utf-8", "surrogateescape"))
    encoded = stem.encode("utf-8", "surrogateescape")
    if len(encoded) <= room:
        return stem + tail
    return encoded[:max(room, 0)].decode("utf-8", "ignore").rstrip() + tail


def user_file_mode() -> int:
    """The mode a new file gets under the user's umask (temporary files are made 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def cannot_write(target: Path, exc: OSError) -> InvalidInput:
    """The error a user sees when ``target`` cannot be written: the path, the system's
    reason, and what to do about it."""
    reason = exc.strerror or str(exc)
    hint = _WHAT_TO_DO.get(exc.errno or 0, "choose a file in a folder you can write to")
    return InvalidInput(f"cannot write {target}: {reason}; {hint}")


@contextlib.contextmanager
def written_file(target: Path) -> Iterator[BinaryIO]:
    """A binary file to write ``target``'s new content into.

    On a normal exit the content becomes ``target``; on an exception (a stopped export
    among them) a regular file is left as it was. An :class:`OSError` on the way (the
    folder cannot take files, the disk is full...) becomes an :class:`InvalidInput`
    saying so.
    """
    dest = Path(os.path.realpath(target))  # a symbolic link: its target is written
    try:
        try:
            old = os.stat(dest)
        except FileNotFoundError:
            old = None
        if old is not None and not stat.S_ISREG(old.st_mode):  # a folder fails to open
            with open(dest, "wb") as direct:  # a FIFO's open waits for its reader
                yield direct
            return
        dest.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temp_files(dest.parent)
        with _replacing(dest, old) as fh:
            yield fh
    except OSError as exc:
        raise cannot_write(target, exc) from None


@contextlib.contextmanager
def _replacing(dest: Path, old: os.stat_result | None) -> Iterator[BinaryIO]:
    tmp = dest.parent / temp_name(os.getpid(), secrets.token_hex(4))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
            _take_over(fh.fileno(), old)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(dest.parent)


def _take_over(fd: int, old: os.stat_result | None) -> None:
    """Give the new file the mode (and owner, where allowed) of the one it replaces; a new
    file gets the user's umask, as a file any program makes."""
    if os.name != "posix":  # no modes or owners of this kind to keep
        return
    if old is None:
        os.fchmod(fd, user_file_mode())
        return
    if (old.st_uid, old.st_gid) != (os.geteuid(), os.getegid()):
        with contextlib.suppress(PermissionError):  # only root may give a file away
            os.fchown(fd, old.st_uid, old.st_gid)
    os.fchmod(fd, stat.S_IMODE(old.st_mode))


def temp_name(pid: int, token: str) -> str:
    """The temporary file an export by process ``pid`` of this machine writes (``token``:
    eight hex digits, so two exports into one folder never share one)."""
    return f".batcher-export-{_host_tag()}-{pid}-{token}.tmp"


def remove_stale_temp_files(folder: Path) -> int:
    """Remove the temporary files of exports into ``folder`` whose process is gone (killed
    before it could clean up). Returns how many were removed."""
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        found = _TEMP.fullmatch(entry.name)
        if found is None or found.group(1) != _host_tag() or not _gone(entry, found.group(2)):
            continue
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
            removed += 1
    return removed


def _gone(entry: os.DirEntry[str], pid: str) -> bool:
    if os.name == "posix":  # elsewhere os.kill(pid, 0) would end that process
        return holder_is_dead(socket.gethostname(), int(pid))
    try:
        return time.time() - entry.stat().st_mtime > _STALE_AFTER
    except OSError:
        return False


def _host_tag() -> str:
    """This machine, in six characters: a folder shared between machines holds others'
    temporary files, whose processes cannot be asked about from here."""
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable where the system allows it (not Windows: no directory fds)."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
