#!/usr/bin/env bash
# Builds the Debian root file system the e2e test's helper images share (tests/docker/e2e.sh):
# Debian 12 minbase with PostgreSQL 15 (the Postgres service), nginx-light (the proxy in
# front of the replicas), Python 3 (also moto's S3 server), Node.js 18 and curl (the client
# container that runs the SDK suites inside the compose network). No image
# registry is needed: debootstrap fetches Debian packages from the apt mirror this machine
# already uses, and `docker import` turns the tarball into an image.
#
# Usage: build-rootfs.sh OUT.tar   (root; writes OUT.tar only when everything succeeded)
set -euo pipefail

out=$1
suite=bookworm
# The mirror apt already uses (deb822 "URIs:" or one-line "deb URL"), else Debian's CDN.
mirror=$(sed -n -e 's/^URIs:[[:space:]]*\(http[^[:space:]]*\/debian\)[[:space:]]*$/\1/p' \
  -e 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\(http[^[:space:]]*\/debian\)[[:space:]]\+bookworm[[:space:]].*$/\2/p' \
  /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
  head -n1 || true)
mirror=${mirror:-http://deb.debian.org/debian}

dir=$(mktemp -d "${TMPDIR:-/tmp}/uc-rootfs.XXXXXX")
chmod 0755 "$dir" # becomes the image's /: every user must be able to enter it
unset TMPDIR       # the host's, meaningless inside the chroot
cleanup() {
  umount "$dir/proc" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

echo "debootstrap $suite from $mirror" >&2
debootstrap --variant=minbase --include=python3,nodejs,curl,ca-certificates \
  "$suite" "$dir" "$mirror" >"$dir.log" 2>&1 || { tail -n 30 "$dir.log" >&2; rm -f "$dir.log"; exit 1; }
rm -f "$dir.log"

# PostgreSQL and nginx in a second step: no cluster created and no service started by their
# postinst.
printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
chmod +x "$dir/usr/sbin/policy-rc.d"
mkdir -p "$dir/etc/postgresql-common"
echo "create_main_cluster = false" >"$dir/etc/postgresql-common/createcluster.conf"
cp /etc/resolv.conf "$dir/etc/resolv.conf"
mount -t proc proc "$dir/proc"
chroot "$dir" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  postgresql-15 nginx-light >"$dir.log" 2>&1 || { tail -n 30 "$dir.log" >&2; rm -f "$dir.log"; exit 1; }
rm -f "$dir.log"
umount "$dir/proc"
# The data directory the image's entrypoint initialises (a named volume copies its owner).
chroot "$dir" install -d -o postgres -g postgres -m 0700 /var/lib/postgresql/data
chroot "$dir" install -d -o postgres -g postgres -m 2775 /var/run/postgresql
chroot "$dir" apt-get clean
rm -rf "$dir"/var/lib/apt/lists/* "$dir"/usr/share/doc/* "$dir"/usr/share/man/* \
  "$dir/usr/sbin/policy-rc.d" "$dir/etc/resolv.conf"
: >"$dir/etc/resolv.conf"

mkdir -p "$(dirname "$out")"
tar --numeric-owner -C "$dir" -cf "$out.part" .
mv "$out.part" "$out"
du -h "$out" >&2
