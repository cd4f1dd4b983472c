"""What to do when an optional extra is missing, said for the place the gate runs in.

The published image leaves the ``sdk`` extra out (see docs/container.md, "SDK parity in
the image"), and a running container cannot install into itself for the next run: there
the fix is an image of one's own. Anywhere else the fix is to install the SDK into the
interpreter that runs chat-smoke, named exactly, so the command works wherever the user
pastes it (a clone's venv, pipx, the system Python).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from smoke._version import __version__

# Set by the Dockerfile (ENV); nothing else sets it.
IMAGE_VARIABLE = "CHAT_SMOKE_IMAGE"
SDK_REQUIREMENT = "openai>=1.40"  # the `sdk` extra of pyproject.toml
DOCS = "https://github.com/chat-smoke/chat-smoke/blob/main/docs/"

_SDK = "{where}: SDK parity sends the request through the official openai SDK, which is not "
_SDK_HERE = (
    _SDK + "installed: {python} -m pip install '{req}' (with pipx: pipx inject chat-smoke "
    "openai), or turn sdk_parity off. See " + DOCS + "compatibility.md#sdk-parity"
)
_SDK_IMAGE = (
    _SDK + "installed in this image (it is left out to keep the image small): build an image "
    "of your own from two lines, `FROM {image}:{version}` and `RUN pip install '{req}'`, "
    "or turn sdk_parity off. See " + DOCS + "container.md#sdk-parity-in-the-image"
)


def missing_sdk(where: str, env: Mapping[str, str] | None = None) -> str:
    """The one-line fix for ``--sdk-parity`` without the openai package."""
    env = os.environ if env is None else env
    image = env.get(IMAGE_VARIABLE, "").strip()
    if image:
        return _SDK_IMAGE.format(where=where, image=image, version=__version__,
                                 req=SDK_REQUIREMENT)
    python = sys.executable or "python3"
    if " " in python:
        python = f'"{python}"'
    return _SDK_HERE.format(where=where, python=python, req=SDK_REQUIREMENT)
