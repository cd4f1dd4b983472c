"""Writing report files: scrubbed, atomic for regular files, owned like the workspace.

A report path is one of three things:
- ``-``, ``/dev/stdout`` or ``/dev/stderr``: written to the process's own stream (the same
  file offset as the console, so the two do not overwrite each other). A reader that went
  away (``| head``) is not an error: it asked for no more.
- a device, a pipe or anything under /dev or /proc (``/dev/null``, ``/dev/full``): written
  to in place, never replaced by a regular file.
- anything else: a regular file, written to a temporary file in the same folder and moved
  into place (``os.replace``), so a reader, or a run killed half-way, never sees half a
  report. Missing parent folders are created.
"""

from __future__ import annotations

import itertools
import os
import stat
import sys
from pathlib import Path
from typing import TextIO

from smoke.config.targets import STREAMS as _STREAMS
from smoke.errors import ReportError
from smoke.output import redact
from smoke.output.console import safe_write

_SPECIAL = ("/dev/", "/proc/")
_CANNOT_WRITE = (
    "cannot write {path}: {cause}. Give a path to a file in a folder this user can write "
    "(the other reports were written; see docs/failures.md#config)"
)
_serial = itertools.count()


def stream_of(path: str) -> TextIO | None:
    """The stream a path stands for, or None for a path in the file system."""
    which = _STREAMS.get(path)
    if which is None:
        return None
    return sys.stdout if which == "stdout" else sys.stderr


def is_stream(path: str) -> bool:
    return path in _STREAMS


def replaceable(path: str) -> bool:
    """Whether ``path`` is (or will be) a regular file: the only kind written by atomic
    replace, and the only kind a provisional report goes to."""
    if is_stream(path) or os.path.abspath(path).startswith(_SPECIAL):
        return False
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except FileNotFoundError:
        return True
    except OSError:
        return False


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (scrubbed) to ``path``; give a new file the owner of the folder it
    lands in, so later steps on self-hosted runners can change it (a container action
    writes as root: actions/runner#1282)."""
    name = os.fspath(path)
    target = Path(name)
    scrubbed = redact.scrub(text)
    if is_stream(name):
        safe_write(stream_of(name), scrubbed)
        return target
    try:
        if replaceable(name):
            try:
                _replace(target, scrubbed)
            except PermissionError:
                if not target.is_file():
                    raise
                # The folder is closed to new files but the report may be writable: keep
                # the evidence, without the atomic replace.
                target.write_text(scrubbed, encoding="utf-8")
        else:
            # Through the link and into the device: /dev/null stays a device. A link to a
            # regular file elsewhere is rewritten through the link, not appended to.
            regular = os.path.isfile(name) and not os.path.abspath(name).startswith(_SPECIAL)
            with open(target, "w" if regular else "a", encoding="utf-8") as handle:
                handle.write(scrubbed)
            return target
    except OSError as exc:
        raise ReportError(_CANNOT_WRITE.format(path=name, cause=exc.strerror or exc)) from None
    match_owner(target)
    return target


def _replace(target: Path, text: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp{os.getpid()}.{next(_serial)}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def match_owner(path: Path, workspace: Path | None = None) -> None:
    """As root, hand ``path`` and the folders between it and the workspace (the working
    directory) to the workspace's owner."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:  # Windows has no uids
        return
    try:
        root = (workspace or Path.cwd()).resolve()
        target = path.resolve()
        owner = root.stat()
        if owner.st_uid == 0 or root not in target.parents:
            return
        for item in [target, *target.parents]:
            if item == root:
                break
            os.chown(item, owner.st_uid, owner.st_gid)
    except OSError:
        pass
