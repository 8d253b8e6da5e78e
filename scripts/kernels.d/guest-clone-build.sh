#!/bin/sh
# Run as root in a bare Debian root booted with its own kernel, with network
# to the mirrors (scripts/kernels.d/install): the README's first command on a
# clone, as a user runs it there.
#   guest-clone-build.sh CLONE [CA_FILE]
# Copies CLONE (a fresh git clone, shared read-only) to /root/acceptq and runs
# ./acceptq --version, which installs what is missing and builds. CA_FILE: the
# CA of a TLS-inspecting proxy on the host's way out, for Node (npm).
set -u
say() { echo "@@ $*"; }
cp -a "$1" /root/acceptq || { say build copy-failed; exit 1; }
[ -z "${2:-}" ] || export NODE_EXTRA_CA_CERTS="$2"
# npm's cache on the guest's tmpfs: renames inside it fail on the 9p root
# ("syscall rename", seen on 6.12), which a server's own disk does not do
export npm_config_cache=/tmp/npm-cache
cd /root/acceptq
start=$(date +%s)
./acceptq --version >/tmp/build.out 2>/tmp/build.err
rc=$?
say build $rc
say build-seconds $(( $(date +%s) - start ))
say build-version "$(cat /tmp/build.out)"
say build-said "$(grep -v '^acceptq: first run' /tmp/build.err | tail -n 1)"
tail -n 20 /tmp/build.err
exit 0
