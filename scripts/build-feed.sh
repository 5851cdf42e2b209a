#!/bin/sh
# Writes Packages and Packages.gz for a folder of .ipk files, so the folder can be served as
# an opkg feed (src/gz reseaulibre http://<server>/<folder>). Each entry is the package's
# control file plus Filename, Size and SHA256sum, as opkg-lede reads them; entries are
# sorted by file name and separated by an empty line.
#
# Usage: scripts/build-feed.sh [DIR]      (default: dist)
# opkg checks signatures by default: sign the index with usign (see README) or the router
# must have 'option check_signature' removed from /etc/opkg.conf.
set -eu
export LC_ALL=C
dir="${1:-dist}"
[ -d "$dir" ] || { echo "build-feed: no folder $dir" >&2; exit 1; }
cd "$dir"

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
found=0
for ipk in *.ipk; do
	[ -f "$ipk" ] || continue
	# the control file, without trailing empty lines
	control=$(tar -xzOf "$ipk" ./control.tar.gz | tar -xzOf - ./control) || {
		echo "build-feed: $ipk is not an ipk (gzip'd tar holding ./control.tar.gz)" >&2
		exit 1
	}
	{
		printf '%s\n' "$control"
		echo "Filename: $ipk"
		echo "Size: $(wc -c <"$ipk" | tr -d ' ')"
		echo "SHA256sum: $(sha256sum "$ipk" | cut -d' ' -f1)"
		echo
	} >>"$tmp"
	found=$((found + 1))
done
[ "$found" -gt 0 ] || { echo "build-feed: no .ipk in $dir" >&2; exit 1; }

mv "$tmp" Packages
chmod 0644 Packages
gzip -n -9 <Packages >Packages.gz
echo "$dir/Packages: $found package(s)"
