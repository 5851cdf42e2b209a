#!/bin/sh
# Screenshots of the front page at phone (360x800) and desktop (1280x800) widths, with
# Debian's headless Chromium. PNGs are for looking at, never committed (.gitignore).
#   scripts/screenshot.sh                  the browser test's node (three torrents, one hostile name)
#   scripts/screenshot.sh URL [OUTDIR]     any running node, e.g. http://127.0.0.1:6969/
set -eu
cd "$(dirname "$0")/.."
out=${2:-screenshots}
mkdir -p "$out"
if [ $# -eq 0 ]; then
	npm run build >/dev/null
	MESHSEED_SCREENSHOTS="$out" node scripts/run-tests.mjs test/interop/front-page-browser.test.ts
else
	profile=$(mktemp -d)
	trap 'rm -rf "$profile"' EXIT
	for size in 360,800 1280,800; do
		chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$profile" \
			--window-size="$size" --screenshot="$out/front-page-${size%,*}.png" "$1" 2>/dev/null
	done
fi
ls -l "$out"/front-page-*.png
