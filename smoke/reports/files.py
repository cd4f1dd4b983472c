"""Writing report files: scrubbed, atomic, owned like the workspace."""

from __future__ import annotations

import os
from pathlib import Path

from smoke.errors import ReportError
from smoke.output import redact


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (scrubbed) to ``path``, creating folders; give the file the owner
    of the folder it lands in, so later steps on self-hosted runners can change it
    (a container action writes as root: actions/runner#1282)."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
        tmp.write_text(redact.scrub(text), encoding="utf-8")
        os.replace(tmp, target)
    except OSError as exc:
        raise ReportError(f"cannot write {target}: {exc.strerror or exc}") from None
    match_owner(target)
    return target


def match_owner(path: Path, workspace: Path | None = None) -> None:
    """As root, hand ``path`` and the folders between it and the workspace (the working
    directory) to the workspace's owner."""
    if os.geteuid() != 0:
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
