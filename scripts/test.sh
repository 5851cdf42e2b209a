#!/bin/sh
# The README's test command: installs what the tests need on a fresh Debian machine (the
# real BitTorrent programs the interop tests drive, and the npm packages), then runs every
# test: type check, build, codec tables, state machines, loopback and interop tests.
set -eu
cd "$(dirname "$0")/.."

# Debian packages of the real peers and tools the tests use.
DEBS="aria2 transmission-cli transmission-daemon python3-libtorrent qbittorrent-nox opentracker mktorrent wrk busybox iproute2 procps nginx-light chromium signify-openbsd curl"
missing=""
for p in $DEBS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  echo "installing Debian packages:$missing"
  $SUDO apt-get update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
fi

npm ci --no-audit --no-fund
npm test
