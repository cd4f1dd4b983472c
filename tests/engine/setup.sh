#!/usr/bin/env bash
# Install the Prometheus engine for tests/engine: Debian's prometheus (with promtool),
# prometheus-alertmanager (with amtool) and prometheus-pushgateway, once, as root.
# Later runs find them installed (apt keeps its own cache) and do nothing.
#   tests/engine/setup.sh        # prints KEY=VALUE lines (the binaries) on its last lines
set -euo pipefail
log() { printf 'setup.sh: %s\n' "$*" >&2; }
fail() { printf 'setup.sh: %s\n' "$*" >&2; exit 1; }

find_tool() {
  for candidate in "$@"; do
    if command -v "$candidate" >/dev/null 2>&1; then command -v "$candidate"; return 0; fi
  done
  return 1
}

have_all() {
  find_tool prometheus >/dev/null && find_tool promtool >/dev/null \
    && find_tool prometheus-alertmanager alertmanager >/dev/null && find_tool amtool >/dev/null \
    && find_tool prometheus-pushgateway pushgateway >/dev/null
}

if ! have_all; then
  [ "$(id -u)" = 0 ] || fail "prometheus, prometheus-alertmanager or prometheus-pushgateway is missing; install them as root (apt-get install prometheus prometheus-alertmanager prometheus-pushgateway) or run the tests as root"
  command -v apt-get >/dev/null || fail "prometheus is missing and there is no apt-get to install it"
  exec 9>/var/lock/chat-smoke-engine-setup.lock
  flock 9
  if ! have_all; then
    log "installing prometheus prometheus-alertmanager prometheus-pushgateway with apt-get (once)"
    apt-get -o DPkg::Lock::Timeout=600 update -qq >&2 || fail "apt-get update failed (see above)"
    # No services started: a container has no init to start them, and the tests run
    # their own instances on free ports.
    DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
      --no-install-recommends prometheus prometheus-alertmanager prometheus-pushgateway >&2 \
      || fail "apt-get install failed (see above)"
  fi
fi
have_all || fail "the engine's binaries are still missing after the install"
echo "PROMETHEUS=$(find_tool prometheus)"
echo "PROMTOOL=$(find_tool promtool)"
echo "ALERTMANAGER=$(find_tool prometheus-alertmanager alertmanager)"
echo "AMTOOL=$(find_tool amtool)"
echo "PUSHGATEWAY=$(find_tool prometheus-pushgateway pushgateway)"
