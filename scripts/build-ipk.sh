#!/bin/sh
# Builds dist/meshseed_<version>-r<release>_all.ipk with tar and gzip only, the way opkg-lede
# reads it: a gzip'd tar (not ar) of ./debian-binary, ./data.tar.gz and ./control.tar.gz, GNU
# format, owner 0:0, sorted names, one mtime, gzip -n. Two builds give the same bytes.
# Also writes dist/meshseed-<version>.tar.gz, the release tarball openwrt-feed/Makefile uses,
# and dist/feed/net/meshseed/Makefile, that Makefile with the tarball's sha256 as PKG_HASH,
# ready to copy into the feed.
#
# Usage: scripts/build-ipk.sh [--no-build] [--out DIR] [--source-url URL]
#   --no-build        package the existing dist/meshseed.js instead of running 'npm run build'
#   --out DIR         write the ipk, tarball and feed Makefile there (default: dist)
#   --source-url URL  the folder the tarball is published in, for the feed Makefile's
#                     PKG_SOURCE_URL (default: the one in openwrt-feed/Makefile)
# SOURCE_DATE_EPOCH, when set, is the mtime of every file; otherwise the last commit's time.
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)

build=1
out=dist
source_url=
while [ $# -gt 0 ]; do
	case "$1" in
	--no-build) build=0 ;;
	--out) out="$2"; shift ;;
	--source-url) source_url="$2"; shift ;;
	*) echo "usage: $0 [--no-build] [--out DIR] [--source-url URL]" >&2; exit 2 ;;
	esac
	shift
done

die() { echo "build-ipk: $*" >&2; exit 1; }

# The package's facts live in openwrt-feed/Makefile; the version must match package.json.
mk=openwrt-feed/Makefile
mkvar() { sed -n "s/^$1:=//p" "$mk"; }
name=$(mkvar PKG_NAME)
version=$(mkvar PKG_VERSION)
release=$(mkvar PKG_RELEASE)
license=$(mkvar PKG_LICENSE)
maintainer=$(mkvar PKG_MAINTAINER)
userid=$(sed -n 's/^[[:space:]]*USERID:=//p' "$mk")
section=$(sed -n 's/^[[:space:]]*SECTION:=//p' "$mk")
title=$(sed -n 's/^[[:space:]]*TITLE:=//p' "$mk")
# Depends: libc (OpenWrt adds it to every package) and the Makefile's DEPENDS (+node -> node)
depends=libc
for dep in $(sed -n 's/^[[:space:]]*DEPENDS:=//p' "$mk"); do
	case "$dep" in
	+*) depends="$depends, ${dep#+}" ;;
	*) die "$mk: DEPENDS entry '$dep' is not a plain +package (build-ipk.sh cannot translate it)" ;;
	esac
done
npm_version=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' package.json)
[ "$version" = "$npm_version" ] || die "$mk has PKG_VERSION $version but package.json has $npm_version"
[ -n "$name" ] && [ -n "$release" ] && [ -n "$maintainer" ] || die "$mk lacks PKG_NAME, PKG_RELEASE or PKG_MAINTAINER"

if [ "$build" = 1 ]; then
	npm run --silent build
fi
[ -s dist/meshseed.js ] || die "dist/meshseed.js is missing: run 'npm run build'"

if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || echo 1700000000)
fi

umask 022
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# tar for packages: GNU format (opkg does not read PAX headers), numeric owner 0, sorted,
# every mtime the same.
ptar() {
	LC_ALL=C tar --format=gnu --owner=0 --group=0 --numeric-owner --sort=name \
		--mtime="@$SOURCE_DATE_EPOCH" "$@"
}

# ---- data: the files as installed on the router (openwrt-feed/Makefile installs the same) ----
d="$tmp/data"
put() { # put MODE SOURCE DEST
	mkdir -p "$d$(dirname "$3")"
	cp "$2" "$d$3"
	chmod "$1" "$d$3"
}
put 0644 dist/meshseed.js /usr/lib/meshseed/meshseed.js
put 0755 files/usr/bin/meshseed /usr/bin/meshseed
put 0644 files/usr/share/meshseed/firewall.sh /usr/share/meshseed/firewall.sh
put 0755 files/etc/init.d/meshseed /etc/init.d/meshseed
put 0644 files/etc/config/meshseed /etc/config/meshseed
put 0755 files/etc/uci-defaults/90-meshseed-firewall /etc/uci-defaults/90-meshseed-firewall
find "$d" -type d -exec chmod 0755 {} +

ptar -C "$d" -cf "$tmp/data.tar" .
installed_size=$(wc -c <"$tmp/data.tar" | tr -d ' ')
gzip -n -9 <"$tmp/data.tar" >"$tmp/data.tar.gz"

# ---- control ----
c="$tmp/control"
mkdir -p "$c"
{
	echo "Package: $name"
	echo "Version: $version-r$release"
	echo "Depends: $depends"
	echo "Source: feeds/reseaulibre/net/$name"
	echo "SourceName: $name"
	echo "License: $license"
	echo "Section: $section"
	echo "SourceDateEpoch: $SOURCE_DATE_EPOCH"
	echo "Maintainer: $maintainer"
	echo "Require-User: $userid"
	echo "Architecture: all"
	echo "Installed-Size: $installed_size"
	echo "Description: $title"
	# the description block of the Makefile, one space before each line
	sed -n '/^define Package\/meshseed\/description$/,/^endef$/p' "$mk" | sed '1d;$d' | sed 's/^[[:space:]]*/ /'
} >"$c/control"
echo /etc/config/meshseed >"$c/conffiles"
cp scripts/ipk/postinst scripts/ipk/postrm scripts/ipk/prerm scripts/ipk/prerm-pkg "$c/"
chmod 0644 "$c/control" "$c/conffiles" "$c/prerm-pkg"
chmod 0755 "$c/postinst" "$c/postrm" "$c/prerm"
ptar -C "$c" -cf - . | gzip -n -9 >"$tmp/control.tar.gz"

# ---- the package ----
printf '2.0\n' >"$tmp/debian-binary"
chmod 0644 "$tmp/debian-binary" "$tmp/data.tar.gz" "$tmp/control.tar.gz"
ipk="$out/${name}_${version}-r${release}_all.ipk"
ptar -C "$tmp" -cf - ./debian-binary ./data.tar.gz ./control.tar.gz | gzip -n -9 >"$ipk.tmp"
mv "$ipk.tmp" "$ipk"

# ---- the release tarball for openwrt-feed/Makefile: the bundle and the files it installs ----
rel="$out/$name-$version.tar.gz"
ptar --transform "s,^,$name-$version/," --mode=a+rX,go-w -cf - \
	LICENSE README.md package.json dist/meshseed.js files scripts/ipk openwrt-feed/Makefile \
	| gzip -n -9 >"$rel.tmp"
mv "$rel.tmp" "$rel"

sha=$(sha256sum "$rel" | cut -d' ' -f1)

# ---- the feed's Makefile: the template with the tarball's hash (and where it is published) ----
feed="$out/feed/net/$name/Makefile"
mkdir -p "$(dirname "$feed")"
sed -e "s|^PKG_HASH:=.*|PKG_HASH:=$sha|" \
	${source_url:+-e "s|^PKG_SOURCE_URL:=.*|PKG_SOURCE_URL:=$source_url|"} "$mk" >"$feed.tmp"
mv "$feed.tmp" "$feed"

echo "$ipk ($(wc -c <"$ipk" | tr -d ' ') bytes)"
echo "$rel (sha256 $sha)"
echo "$feed (PKG_HASH $sha)"
