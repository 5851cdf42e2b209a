#!/bin/sh
# Writes Packages and Packages.gz for a folder of .ipk files, so the folder can be served as
# an opkg feed (src/gz reseaulibre http://<server>/<folder>). Each entry is the package's
# control file plus Filename, Size and SHA256sum, as opkg-lede reads them; entries are
# sorted by file name and separated by an empty line.
#
# Usage: scripts/build-feed.sh [--key SECRET_KEY] [DIR]      (DIR default: dist)
#   --key SECRET_KEY  also write Packages.sig, the usign signature opkg checks (option
#                     check_signature). The key is usign's (usign -G) or signify's made
#                     without a passphrase (signify-openbsd -G -n): the same Ed25519 format.
#                     usign, signify-openbsd or signify signs, whichever is installed.
# Without --key a Packages.sig left from an earlier run is removed (it would not match).
set -eu
export LC_ALL=C
key=
if [ "${1:-}" = --key ]; then
	[ $# -ge 2 ] || { echo "build-feed: --key needs a secret key file" >&2; exit 2; }
	key="$2"
	shift 2
fi
dir="${1:-dist}"
[ -d "$dir" ] || { echo "build-feed: no folder $dir" >&2; exit 1; }
if [ -n "$key" ]; then
	[ -f "$key" ] || { echo "build-feed: no secret key $key" >&2; exit 1; }
	key=$(cd "$(dirname "$key")" && pwd)/$(basename "$key")
	signer=
	for tool in usign signify-openbsd signify; do
		command -v "$tool" >/dev/null 2>&1 && { signer="$tool"; break; }
	done
	[ -n "$signer" ] || { echo "build-feed: --key needs usign, signify-openbsd or signify installed" >&2; exit 1; }
fi
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

rm -f Packages.sig
[ -n "$key" ] || exit 0
"$signer" -S -m Packages -s "$key" -x Packages.sig || {
	echo "build-feed: $signer could not sign with $key (a key with a passphrase? usign needs none)" >&2
	rm -f Packages.sig
	exit 1
}
chmod 0644 Packages.sig
# The key's fingerprint as 'usign -F' prints it (the 8 key-number bytes after 'Ed', in hex,
# no leading zeros): opkg looks for the public key under that name in /etc/opkg/keys/.
fp=$(sed -n 2p Packages.sig | base64 -d | od -An -tx1 -j2 -N8 | tr -d ' \n' | sed 's/^0*//')
echo "$dir/Packages.sig: signed by key ${fp:-0}; routers need its public key as /etc/opkg/keys/${fp:-0}"
