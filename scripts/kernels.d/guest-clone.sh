#!/bin/sh
# Run as root in a bare Debian root booted with its own kernel, after the
# clone at /root/acceptq was built there by the README's first command
# (test/install.test.ts): uses it as a user would and counts an overflow the
# kernel counts too. Each finding is a line "@@ NAME VALUE".
set -u
say() { echo "@@ $*"; }
cd /root/acceptq || { say cd failed; exit 1; }
say version "$(./acceptq --version 2>&1)"
./acceptq --once --interval 1 >/tmp/once 2>&1
say once $?
head -n 3 /tmp/once
./acceptq run --json -- unshare -n sh -c "build/acceptq-lab syn --hold 0 >/dev/null && nstat -az TcpExtListenOverflows >/tmp/kernel" >/tmp/run 2>/tmp/run.err
say run $?
say run-overflows "$(sed -n 's/.*"overflows":\([0-9]*\).*/\1/p' /tmp/run | head -n 1)"
say kernel-overflows "$(awk '$1 == "TcpExtListenOverflows" { print $2 }' /tmp/kernel)"
head -c 300 /tmp/run.err
