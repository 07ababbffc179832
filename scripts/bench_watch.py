#!/usr/bin/env python3
"""`imap4 watch` latency: from a delivery (APPEND by a second connection,
its tagged OK) to the `new` event and to the end of the `--exec` hook, against
the floor: a minimal raw-socket IDLE client in Python on the same server,
measured in the same run (the time until `* n EXISTS` reaches it). Also the
watcher's resident memory after the deliveries.

Usage: scripts/bench_watch.py [--deliveries N]

Needs `cargo build --release -p imap4-cli -p imap4-testkit --examples`.
Prints a Markdown report on stdout.
"""

import argparse
import imaplib
import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_backup import REL, PASSWORD, median  # noqa: E402
from bench_copy import serve  # noqa: E402


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def deliver(port, n):
    c = imaplib.IMAP4("127.0.0.1", port)
    c.login("alice", PASSWORD)
    msg = f"Message-ID: <bench{n}@example>\r\nSubject: bench {n}\r\n\r\nbody\r\n".encode()
    c.append("INBOX", None, None, msg)
    t = time.monotonic()
    c.logout()
    return t


def raw_idle_floor(port, deliveries):
    """A raw IDLE client: the time from APPEND's OK to `* n EXISTS`."""
    s = socket.create_connection(("127.0.0.1", port))
    f = s.makefile("rb")
    f.readline()
    s.sendall(f"a LOGIN alice {PASSWORD}\r\nb EXAMINE INBOX\r\n".encode())
    while not f.readline().startswith(b"b "):
        pass
    lat = []
    for i in range(deliveries):
        s.sendall(b"c IDLE\r\n")
        while not f.readline().startswith(b"+"):
            pass
        got = queue.Queue()

        def read():
            while True:
                line = f.readline()
                if line.endswith(b"EXISTS\r\n"):
                    got.put(time.monotonic())
                    return

        th = threading.Thread(target=read)
        th.start()
        t = deliver(port, 100000 + i)
        lat.append(got.get(timeout=60) - t)
        th.join()
        s.sendall(b"DONE\r\n")
        while not f.readline().startswith(b"c "):
            pass
    s.close()
    return lat


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--deliveries", type=int, default=20)
    a = ap.parse_args()
    srv, port = serve(100)
    try:
        floor = raw_idle_floor(port, a.deliveries)
        env = dict(os.environ, IMAP4_PASSWORD=PASSWORD)
        w = subprocess.Popen(
            [os.path.join(REL, "imap4"), "--json", "--tls", "none", "--host", "127.0.0.1",
             "--port", str(port), "-u", "alice", "watch", "--exec", "true"],
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env)
        events = queue.Queue()

        def pump():
            for line in w.stdout:
                events.put((time.monotonic(), json.loads(line)))

        threading.Thread(target=pump, daemon=True).start()

        def until(kind):
            while True:
                t, e = events.get(timeout=60)
                if e["event"] == kind:
                    return t

        until("connected")
        new, hook = [], []
        for i in range(a.deliveries):
            t = deliver(port, i)
            new.append(until("new") - t)
            hook.append(until("hook") - t)
        with open(f"/proc/{w.pid}/status") as st:
            rss = next(int(line.split()[1]) for line in st if line.startswith("VmRSS"))
        w.kill()
        w.wait()
    finally:
        srv.kill()
    ms = lambda x: f"{x * 1000:.0f} ms"  # noqa: E731
    print(f"### `imap4 watch`: delivery to event ({a.deliveries} deliveries, Dovecot, loopback)\n")
    print("| client | median | p90 | max |")
    print("|---|---|---|---|")
    print(f"| raw IDLE client (Python socket): `* n EXISTS` | {ms(median(floor))} | "
          f"{ms(pct(floor, 90))} | {ms(max(floor))} |")
    print(f"| `imap4 watch`: `new` event (UID known) | {ms(median(new))} | "
          f"{ms(pct(new, 90))} | {ms(max(new))} |")
    print(f"| `imap4 watch --exec true`: hook finished | {ms(median(hook))} | "
          f"{ms(pct(hook, 90))} | {ms(max(hook))} |")
    print(f"\nRatio, median `new` / raw floor: {median(new) / median(floor):.2f}x; "
          f"watcher RSS after the deliveries: {rss / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
