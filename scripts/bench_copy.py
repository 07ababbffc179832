#!/usr/bin/env python3
"""End-to-end server-to-server copy benchmark: `imap4 copy` against mbsync
(Debian's isync, an IMAP->IMAP channel as in the project's CLI notes), two
test-kit Dovecots, the same run.

Usage: scripts/bench_copy.py [--messages N] [--runs N]

Needs `cargo build --release -p imap4-cli -p imap4-testkit --examples`
(target/release/imap4 and target/release/examples/serve). Prints a Markdown
report on stdout.

Source: user alice's INBOX on Dovecot 1 (N generated messages). Destination:
user bob on Dovecot 2, a fresh folder per client and round (`run<r>-<client>`,
created by the client), so every initial copy starts from an empty folder.
Per client and round: the initial copy, then a rerun with nothing changed.
Measured: wall time, user+sys CPU of the client (getrusage), peak RSS
(/usr/bin/time), and how many destination messages are byte-identical to the
source's (SHA-256 of BODY.PEEK[] on both servers, via Python's imaplib).
"""

import argparse
import hashlib
import imaplib
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_backup import REL, PASSWORD, measure_rss, median  # noqa: E402


def serve(count):
    p = subprocess.Popen([os.path.join(REL, "examples", "serve"), "dovecot", str(count)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    m = re.search(r"port (\d+) ", line)
    if not m:
        sys.exit(f"serve: {line}")
    return p, int(m.group(1))


def digests(port, user, mailbox):
    c = imaplib.IMAP4("127.0.0.1", port)
    c.login(user, PASSWORD)
    typ, data = c.select(f'"{mailbox}"', readonly=True)
    out = {}
    if int(data[0]) > 0:
        typ, data = c.uid("FETCH", "1:*", "(BODY.PEEK[])")
        for item in data:
            if isinstance(item, tuple):
                h = hashlib.sha256(item[1]).hexdigest()
                out[h] = out.get(h, 0) + 1
    c.logout()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()

    work = tempfile.mkdtemp(prefix="imap4-bench-copy-")
    s1, p1 = serve(a.messages)
    s2, p2 = serve(0)
    reference = digests(p1, "alice", "INBOX")
    env = dict(os.environ, IMAP4_PASSWORD=PASSWORD)
    imap4 = os.path.join(REL, "imap4")

    def prepare(name, r):
        folder = f"run{r}-{name}"
        d = os.path.join(work, f"{name}-{r}")
        os.makedirs(d)
        if name == "imap4":
            cmd = [imap4, "--tls", "none", "copy", f"imap://alice@127.0.0.1:{p1}",
                   f"imap://bench@127.0.0.1:{p2}", "--folder", "INBOX", "--map", f"INBOX={folder}",
                   "--state", os.path.join(d, "state.sqlite")]
            return cmd, folder
        cfg = os.path.join(d, "mbsyncrc")
        with open(cfg, "w") as f:
            f.write(f"""IMAPAccount src
Host 127.0.0.1
Port {p1}
User alice
Pass {PASSWORD}
SSLType None
AuthMechs LOGIN

IMAPAccount dst
Host 127.0.0.1
Port {p2}
User bench
Pass {PASSWORD}
SSLType None
AuthMechs LOGIN

IMAPStore src
Account src

IMAPStore dst
Account dst

Channel s2s
Far :src:INBOX
Near :dst:{folder}
Sync Pull
Create Near
SyncState {d}/state/
""")
        os.makedirs(os.path.join(d, "state"))
        return ["mbsync", "-q", "-c", cfg, "s2s"], folder

    clients = ["imap4"] + (["mbsync"] if shutil.which("mbsync") else [])
    res = {c: {"initial": [], "rerun": [], "identical": None} for c in clients}
    for r in range(a.runs):
        for c in clients[r % len(clients):] + clients[:r % len(clients)]:
            cmd, folder = prepare(c, r)
            res[c]["initial"].append(measure_rss(cmd, env))
            res[c]["rerun"].append(measure_rss(cmd, env))
            if res[c]["identical"] is None:
                got = digests(p2, "bench", folder)
                same = sum(min(n, reference.get(h, 0)) for h, n in got.items())
                res[c]["identical"] = (same, sum(got.values()))
    for s in (s1, s2):
        s.stdin.close()
        s.wait()

    print(f"{a.messages} messages, {a.runs} rounds, medians (min-max); work dir {work}\n")
    print("| client | initial s | CPU s | peak RSS MiB | rerun ms | rerun CPU ms | byte-identical |")
    print("|---|---|---|---|---|---|---|")
    for c in clients:
        i, n = res[c]["initial"], res[c]["rerun"]
        same, total = res[c]["identical"]
        print(f"| {c} | {median([x[0] for x in i]):.2f} ({min(x[0] for x in i):.2f}-"
              f"{max(x[0] for x in i):.2f}) | {median([x[1] for x in i]):.2f} | "
              f"{max(x[2] for x in i):.1f} | {median([x[0] for x in n]) * 1000:.1f} | "
              f"{median([x[1] for x in n]) * 1000:.0f} | {same}/{total} |")


if __name__ == "__main__":
    main()
