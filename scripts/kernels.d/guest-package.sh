#!/bin/sh
# Run as root in a bare Debian root booted with its own kernel (test/install.test.ts):
#   package.sh DEB LAB
# installs the .deb with apt from the mirror, uses acceptq as a user would,
# counts an overflow the kernel counts too, purges it, and looks for anything
# left behind. Each finding is a line "@@ NAME VALUE" for the test to read.
set -u
deb=$1 lab=$2
say() { echo "@@ $*"; }
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/tmp/apt.log 2>&1 || { tail -n 5 /tmp/apt.log; say apt-update failed; exit 1; }
apt-get install -y -qq "$deb" >/tmp/apt.log 2>&1
say install $?
tail -n 3 /tmp/apt.log
say node "$(command -v node || command -v nodejs || echo none)"
say compiler "$(command -v cc || command -v gcc || command -v clang || echo none)"
say version "$(acceptq --version 2>&1)"
say man "$(test -f /usr/share/man/man8/acceptq.8.gz && echo yes || echo no)"
say unit "$(test -f /lib/systemd/system/acceptq-export.service && echo yes || echo no)"
say enabled "$(ls /etc/systemd/system/*.wants/ 2>/dev/null | grep -c acceptq)"
say files "$(dpkg -L acceptq | wc -l)"

acceptq --once --interval 1 >/tmp/once 2>&1
say once $?
head -n 3 /tmp/once
acceptq --json --interval 1 --duration 3 >/tmp/json 2>/tmp/json.err
say json $?
say json-records "$(grep -c '^{' /tmp/json)"
say json-probe "$(sed -n 's/.*"probe":"\([a-z]*\)".*/\1/p' /tmp/json | head -n 1)"
head -c 300 /tmp/json.err
# the dashboard on a terminal (script gives it one), until --duration ends it
TERM=xterm-256color script -qec "stty rows 40 cols 120; acceptq --duration 3" /dev/null >/tmp/dash 2>&1 </dev/null
say dashboard $?
say dashboard-drew "$(grep -c 'accept queues' /tmp/dash)"

# an overflow the kernel counts: the lab's SYN path in a namespace of its own,
# the kernel's counter of that namespace read there before it goes
acceptq run --json -- unshare -n sh -c "'$lab' syn --hold 0 >/dev/null && nstat -az TcpExtListenOverflows >/tmp/kernel" >/tmp/run 2>/tmp/run.err
say run $?
say run-overflows "$(sed -n 's/.*"overflows":\([0-9]*\).*/\1/p' /tmp/run | head -n 1)"
say kernel-overflows "$(awk '$1 == "TcpExtListenOverflows" { print $2 }' /tmp/kernel)"
head -c 300 /tmp/run.err

apt-get purge -y -qq acceptq >/tmp/apt.log 2>&1
say purge $?
say left "$(find / -xdev \( -path /proc -o -path /sys -o -path /tmp -o -path /run -o -path /var/log \) -prune -o -name '*acceptq*' -print | tr '\n' ' ')"
