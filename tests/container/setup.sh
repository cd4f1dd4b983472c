#!/usr/bin/env bash
# Set up a container engine for the container test suite on a machine with no Docker engine
# and no Docker Hub: podman from Debian (as root), a private config and storage, and a
# stand-in base image built with mmdebstrap and tagged as the Dockerfile's FROM.
#
#   tests/container/setup.sh [DOCKERFILE]     # prints KEY=VALUE lines on its last lines
#
# Everything lives under $CHAT_SMOKE_CONTAINER_DIR (default /var/cache/chat-smoke-container),
# including podman's storage, so a second run finds the base there and does not rebuild it.
# The stand-in is Debian bookworm's Python 3.11 in a venv at /usr/local (so /usr/local/bin/python
# and pip exist, as in the official image), not the official CPython 3.12 image. Results
# measured on it must say so.
set -euo pipefail

DOCKERFILE=${1:-$(cd "$(dirname "$0")/../.." && pwd)/Dockerfile}
DIR=${CHAT_SMOKE_CONTAINER_DIR:-/var/cache/chat-smoke-container}
log() { printf 'setup.sh: %s\n' "$*" >&2; }
fail() { printf 'setup.sh: %s\n' "$*" >&2; exit 1; }

FROM=$(awk 'toupper($1) == "FROM" { print $2; exit }' "$DOCKERFILE")
[ -n "$FROM" ] || fail "no FROM line in $DOCKERFILE"
TAG=${FROM##*:}                      # python:3.12.12-slim-bookworm -> 3.12.12-slim-bookworm
NAME=${FROM%:*}; NAME=${NAME##*/}    # python

# ---------------------------------------------------------------- 1. packages
need=()
for tool in podman buildah runc mmdebstrap catatonit; do
  command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/libexec/podman/$tool" ] || [ -x "/usr/bin/$tool" ] || need+=("$tool")
done
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || fail "missing ${need[*]}; install them as root (apt-get install podman buildah runc mmdebstrap catatonit) or run this script as root"
  command -v apt-get >/dev/null || fail "missing ${need[*]} and no apt-get to install them"
  log "installing podman buildah runc mmdebstrap catatonit with apt-get (once)"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    podman buildah runc mmdebstrap catatonit fuse-overlayfs uidmap slirp4netns >&2 \
    || fail "apt-get install failed (see above)"
fi

# ---------------------------------------------------------------- 2. private config
mkdir -p "$DIR"/{conf,storage,run,tmp,base}
# One setup at a time (two test sessions may start together).
exec 9>"$DIR/setup.lock"
flock 9
cat > "$DIR/conf/storage.conf" <<EOF
[storage]
driver = "overlay"
runroot = "$DIR/run"
graphroot = "$DIR/storage"
EOF
cat > "$DIR/conf/containers.conf" <<EOF
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$DIR/run/events.log"
# crun 1.8.1 refuses a hybrid cgroup v1/v2 layout; runc is fine.
runtime = "runc"
tmp_dir = "$DIR/tmp"
image_copy_tmp_dir = "$DIR/tmp"

[containers]
# Without CAP_SYS_RESOURCE podman's default nofile=1048576 cannot be set.
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
EOF
export CONTAINERS_STORAGE_CONF=$DIR/conf/storage.conf CONTAINERS_CONF=$DIR/conf/containers.conf
podman info --format '{{.Store.GraphDriverName}} runtime={{.Host.OCIRuntime.Name}}' >&2 \
  || fail "podman cannot start with $DIR/conf (see above)"

# ---------------------------------------------------------------- 3. stand-in base
# The Containerfile of the stand-in is written every run; the cached base is reused only
# when it was built from this very file (a change here rebuilds it).
rm -f "$DIR"/base/*.crt
# A TLS-inspecting proxy re-signs PyPI: the base must trust the host's extra CAs.
cp /usr/local/share/ca-certificates/*.crt "$DIR/base/" 2>/dev/null || true
certs=''
if ls "$DIR"/base/*.crt >/dev/null 2>&1; then
  certs='COPY *.crt /usr/local/share/ca-certificates/
RUN update-ca-certificates'
fi
# The official Debian images (debuerreotype) ship these apt settings: no package caches
# or downloaded .debs kept in a layer, no translations. Without them every apt-get in the
# Dockerfile would leave 80 MB of /var/cache/apt behind and the layer sizes would lie.
cat > "$DIR/base/docker-clean" <<'CONF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CONF
printf 'Acquire::Languages "none";\n' > "$DIR/base/docker-no-languages"
printf 'Acquire::GzipIndexes "true";\n' > "$DIR/base/docker-gzip-indexes"
printf 'Apt::AutoRemove::SuggestsImportant "false";\n' > "$DIR/base/docker-autoremove-suggests"
cat > "$DIR/base/Containerfile.new" <<CONF
FROM localhost/chat-smoke-rootfs:bookworm
ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
COPY docker-clean docker-no-languages docker-gzip-indexes docker-autoremove-suggests /etc/apt/apt.conf.d/
$certs
RUN python3 -m venv /usr/local \\
 && /usr/local/bin/pip install --no-cache-dir --disable-pip-version-check \\
        --cert /etc/ssl/certs/ca-certificates.crt pip==25.0.1 \\
 && /usr/local/bin/pip uninstall -y --disable-pip-version-check setuptools \\
 && find /usr/local -depth -name __pycache__ -exec rm -rf {} + \\
 && rm -rf /var/cache/apt/*.bin /var/lib/apt/lists/* \\
 && /usr/local/bin/python --version
CMD ["python3"]
CONF

if podman image exists "localhost/$NAME:$TAG" && podman image exists "docker.io/library/$NAME:$TAG" \
   && cmp -s "$DIR/base/Containerfile.new" "$DIR/base/Containerfile"; then
  log "stand-in base $FROM cached in $DIR/storage"
else
  if ! podman image exists localhost/chat-smoke-rootfs:bookworm; then
    log "building a Debian bookworm rootfs with mmdebstrap (about a minute, once)"
    mmdebstrap --variant=minbase \
      --include=python3,python3-venv,ca-certificates,netbase,tzdata \
      --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
      --dpkgopt='path-include=/usr/share/doc/*/copyright' \
      --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
      --format=tar bookworm "$DIR/rootfs.tar" > "$DIR/mmdebstrap.log" 2>&1 \
      || { tail -20 "$DIR/mmdebstrap.log" >&2; fail "mmdebstrap failed (log: $DIR/mmdebstrap.log)"; }
    podman import --change 'CMD ["/bin/bash"]' "$DIR/rootfs.tar" localhost/chat-smoke-rootfs:bookworm >&2
    rm -f "$DIR/rootfs.tar"  # the image in $DIR/storage is the cache
  fi
  log "building the stand-in base $FROM (Debian python3 in a venv at /usr/local)"
  rm -f "$DIR/base/Containerfile"
  podman build -q --pull=never --network host -f "$DIR/base/Containerfile.new" \
    -t "localhost/$NAME:$TAG" -t "docker.io/library/$NAME:$TAG" "$DIR/base" >&2 \
    || fail "building the stand-in base failed (see above)"
  mv "$DIR/base/Containerfile.new" "$DIR/base/Containerfile"
  podman image prune -f >/dev/null 2>&1 || true  # the base it replaces
fi

echo "CONTAINERS_CONF=$CONTAINERS_CONF"
echo "CONTAINERS_STORAGE_CONF=$CONTAINERS_STORAGE_CONF"
echo "BASE=$FROM"
