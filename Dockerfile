# chat-smoke: one image for the GitHub action, GitLab CI, Jenkins and plain `docker run`.
#
# GitHub's rules for a Docker container action (docs "Dockerfile support for GitHub
# Actions"; actions/runner's container handler):
#   - no USER: the action runs as root so it can write into the mounted workspace;
#   - no reliance on WORKDIR: the runner mounts the workspace over it (--workdir
#     /github/workspace), so nothing here lives in, or is found through, the working dir;
#   - an absolute, exec-form ENTRYPOINT; a workflow's `args` replace CMD, so there is none.
# Jenkins' `docker.image(...).inside {}` runs `docker run -u UID:GID ... IMAGE cat` as a
# non-root user, so everything installed here must be readable (and the scripts runnable)
# by any uid, and entrypoint.py must run a command it is given (`cat`, `sh -c ...`).
# GitLab runs the image with `entrypoint: [""]` and calls `chat-smoke` from PATH.

# A patch-level tag so rebuilds of the action do not drift between Python releases;
# Dependabot (.github/dependabot.yml, docker ecosystem) proposes the next patch. Users get
# immutability from the published image's digest (release.yml), not from this line.
FROM python:3.12.12-slim-bookworm

ARG VERSION=0.1.0
# The name the image is published under (release.yml passes it): the SDK-parity hint
# names it in the two lines that build an image with the openai SDK (docs/container.md).
ARG IMAGE=ghcr.io/chat-smoke/chat-smoke

LABEL org.opencontainers.image.title="chat-smoke" \
      org.opencontainers.image.description="Release gate for OpenAI-compatible Chat Completions endpoints" \
      org.opencontainers.image.source="https://github.com/chat-smoke/chat-smoke" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}"

# PYTHONUNBUFFERED: the runner gives the container a pipe, not a tty, and a block-buffered
# stdout would hold back `::` workflow commands and the log until exit.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    CHAT_SMOKE_IMAGE=${IMAGE}

# procps gives `ps` and `kill`: Jenkins aborts a step inside docker.image().inside {} by
# running them through `docker exec`; without them an abort falls through to `docker stop`.
# Pinned to bookworm's version (hadolint DL3008); when Debian moves it, the build fails
# here: take the version `apt-cache policy procps` shows in the base. Lists are removed in
# the same layer.
RUN apt-get update \
    && apt-get install -y --no-install-recommends procps=2:4.0.2-3 \
    && rm -rf /var/lib/apt/lists/*

# The `sdk` extra (the openai SDK, for --sdk-parity only) is left out: installed, openai and
# its dependencies (pydantic, httpx, compiled parts) take about 45 MB next to the project's
# 10 MB, for one optional check. docs/container.md, "SDK parity in the image", gives the
# two lines of an image with it.
COPY requirements.txt pyproject.toml README.md entrypoint.py /opt/chat-smoke/
COPY smoke/ /opt/chat-smoke/smoke/

# One layer, so that setuptools (the build backend) never ships: it is needed only to
# build the package, and a later layer could hide it but not make the image smaller.
# (The price: a code change reinstalls the dependencies, a few seconds; the runner builds
# without a cache anyway.)
# - Every file pip fetches is checked against a hash in the lock (setuptools included);
#   --no-deps keeps anything not in the lock out.
# - --no-build-isolation --no-index: build with the hash-checked setuptools and fetch
#   nothing.
# - The source copy of smoke/ goes once installed: python puts the script's folder first
#   on sys.path, and entrypoint.py must import the installed (byte-compiled) package.
# - The chmod makes the rest readable for the non-root uid Jenkins runs as, whatever the
#   modes of the files in the build context were.
RUN pip install --require-hashes --no-deps -r /opt/chat-smoke/requirements.txt \
    && pip install --no-deps --no-build-isolation --no-index /opt/chat-smoke \
    && pip uninstall -y setuptools \
    && rm -rf /opt/chat-smoke/build /opt/chat-smoke/*.egg-info /opt/chat-smoke/smoke \
    && chmod -R a+rX /opt/chat-smoke \
    && chat-smoke --help > /dev/null

# No arguments: GitHub action mode (inputs from INPUT_* variables). With arguments,
# entrypoint.py (smoke/action.py) hands `chat-smoke`, `run`, `stub`, `demo` and options to
# the CLI, and execs any other program (`cat`, `sh -c ...`).
ENTRYPOINT ["/usr/local/bin/python", "/opt/chat-smoke/entrypoint.py"]
