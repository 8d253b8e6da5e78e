#!/usr/bin/env python3
"""Listening and connecting sockets on command, for test/exact-figures.test.ts.

Run inside a network namespace of its own (`unshare -n`): it brings up
loopback there and touches nothing else. Reads one command a line on stdin
and answers one JSON line on stdout:

  listen PORT BACKLOG [reuseport]   listen(2) through libc (a negative backlog
                                    reaches the kernel as is); -> {"id": N}
  pylisten PORT BACKLOG             Python's socket.listen(BACKLOG) (it turns
                                    a negative backlog into 0); -> {"id": N}
  connect PORT N                    N connections to 127.0.0.1:PORT, kept open
  accept ID N                       accept N connections of listener ID
  close ID                          close listener ID
  quit

The first line it writes is {"netns": INODE, "pid": PID}.
"""
import ctypes
import json
import os
import socket
import subprocess
import sys

libc = ctypes.CDLL(None, use_errno=True)
libc.listen.argtypes = [ctypes.c_int, ctypes.c_int]
listeners = {}
clients = []
accepted = []


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def bound(port, reuseport):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuseport:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(("127.0.0.1", port))
    return s


def keep(s):
    listeners[s.fileno()] = s
    return {"id": s.fileno()}


def run(words):
    cmd = words[0]
    if cmd == "listen":
        s = bound(int(words[1]), len(words) > 3 and words[3] == "reuseport")
        if libc.listen(s.fileno(), int(words[2])) != 0:
            raise OSError(ctypes.get_errno(), "listen")
        return keep(s)
    if cmd == "pylisten":
        s = bound(int(words[1]), False)
        s.listen(int(words[2]))
        return keep(s)
    if cmd == "connect":
        for _ in range(int(words[2])):
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            c.settimeout(2)
            c.connect(("127.0.0.1", int(words[1])))
            clients.append(c)
        return {"connected": int(words[2])}
    if cmd == "accept":
        s = listeners[int(words[1])]
        s.settimeout(2)
        for _ in range(int(words[2])):
            accepted.append(s.accept()[0])
        return {"accepted": int(words[2])}
    if cmd == "close":
        listeners.pop(int(words[1])).close()
        return {"closed": int(words[1])}
    raise ValueError("unknown command " + cmd)


def main():
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    out({"netns": os.stat("/proc/self/ns/net").st_ino, "pid": os.getpid()})
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "quit":
            break
        try:
            out(run(words))
        except Exception as e:  # the test reads the error as the answer
            out({"error": str(e)})


if __name__ == "__main__":
    main()
