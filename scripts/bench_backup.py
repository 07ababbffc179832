#!/usr/bin/env python3
"""End-to-end backup benchmark: `imap4 backup` against mbsync and OfflineIMAP
(Debian's isync and offlineimap3, configured as in the project's CLI notes),
one test-kit Dovecot, the same run.

Usage: scripts/bench_backup.py [--messages N] [--runs N] [--no-offlineimap]

Needs `cargo build --release -p imap4-cli --examples -p imap4-testkit`
(target/release/imap4 and target/release/examples/serve). Prints a Markdown
report on stdout.

Per client, in a fresh directory each round (directories are kept, also after
the run: deleting 10,000 files just before a run makes ext4 search its recently
freed inodes at every create, which costs any client seconds):
  initial   download of INBOX into an empty Maildir
  no-change the same again, nothing changed on the server
then, once for all clients (each on its own copy from the last round):
  +100      100 new messages appended on the server, a run
  flags     1,000 messages flagged on the server, a run
Measured for each run: wall time, user+sys CPU of the client process and its
children (getrusage), peak RSS (ru_maxrss). Fidelity: how many of the stored
messages are byte-identical to what the server sends (the kit's Maildir files
with bare LF turned into CRLF, as Dovecot sends them).
"""

import argparse
import hashlib
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REL = os.path.join(ROOT, "target", "release")
USER = "alice"
PASSWORD = "secret"


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def measure(cmd, env=None):
    """Runs cmd, returns (wall s, cpu s, peak RSS MiB)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        sys.exit(f"{cmd[0]} failed ({p.returncode}): {p.stderr.decode(errors='replace')[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # ru_maxrss of RUSAGE_CHILDREN is the largest child so far: use /usr/bin/time instead
    return wall, cpu


def measure_rss(cmd, env=None):
    out = tempfile.NamedTemporaryFile(delete=False)
    out.close()
    wall, cpu = measure(["/usr/bin/time", "-o", out.name, "-f", "%M"] + cmd, env)
    with open(out.name) as f:
        rss = int(f.read().split()[-1]) / 1024
    os.unlink(out.name)
    return wall, cpu, rss


def settle():
    """Before a timed run: the disk written (`sync`), and the directories
    more than a second old, since mbsync sleeps a second when its Maildir
    changed within the current second (timestamp granularity)."""
    sh(["sync"])
    time.sleep(1.1)


def crlf(data):
    return re.sub(rb"(?<!\r)\n", b"\r\n", data)


def digests(paths):
    out = {}
    for p in paths:
        with open(p, "rb") as f:
            h = hashlib.sha256(f.read()).hexdigest()
        out[h] = out.get(h, 0) + 1
    return out


def maildir_files(d):
    files = []
    for sub in ("cur", "new"):
        s = os.path.join(d, sub)
        if os.path.isdir(s):
            files += [os.path.join(s, n) for n in os.listdir(s)]
    return files


def identical(reference, files):
    got = digests(files)
    return sum(min(n, reference.get(h, 0)) for h, n in got.items())


class Client:
    def __init__(self, name, label, port, work):
        self.name, self.label, self.port, self.work = name, label, port, work

    def prepare(self, run_dir):
        """Writes its configuration for run_dir; returns (command, env, INBOX maildir)."""
        env = dict(os.environ, IMAP4_PASSWORD=PASSWORD)
        if self.name.startswith("imap4"):
            cmd = [os.path.join(REL, "imap4"), "--tls", "none", "--host", "127.0.0.1",
                   "--port", str(self.port), "-u", USER, "backup", "--to", run_dir,
                   "--folder", "INBOX"]
            if self.name == "imap4-nofsync":
                cmd.append("--no-fsync")
            return cmd, env, os.path.join(run_dir, "INBOX")
        if self.name.startswith("mbsync"):
            cfg = os.path.join(run_dir, "mbsyncrc")
            os.makedirs(os.path.join(run_dir, "mail"), exist_ok=True)
            head = "FSync no\n\n" if self.name == "mbsync-fast" else ""
            with open(cfg, "w") as f:
                f.write(f"""{head}IMAPAccount bench
Host 127.0.0.1
Port {self.port}
User {USER}
Pass {PASSWORD}
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account bench

MaildirStore local
Path {run_dir}/mail/
Inbox {run_dir}/mail/INBOX
SubFolders Verbatim

Channel bench
Far :remote:
Near :local:
Patterns INBOX
Create Near
Sync All
SyncState *
""")
            return ["mbsync", "-q", "-c", cfg, "bench"], env, os.path.join(run_dir, "mail", "INBOX")
        if self.name == "offlineimap":
            cfg = os.path.join(run_dir, "offlineimaprc")
            with open(cfg, "w") as f:
                f.write(f"""[general]
accounts = bench
metadata = {run_dir}/meta
ui = quiet

[Account bench]
localrepository = local
remoterepository = remote

[Repository local]
type = Maildir
localfolders = {run_dir}/mail

[Repository remote]
type = IMAP
remotehost = 127.0.0.1
remoteport = {self.port}
remoteuser = {USER}
remotepass = {PASSWORD}
ssl = no
starttls = no
folderfilter = lambda f: f == 'INBOX'
""")
            return ["offlineimap", "-c", cfg, "-o"], env, os.path.join(run_dir, "mail", "INBOX")
        raise ValueError(self.name)


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if xs else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-offlineimap", action="store_true")
    a = ap.parse_args()

    work = tempfile.mkdtemp(prefix="imap4-bench-backup-")
    serve = subprocess.Popen([os.path.join(REL, "examples", "serve"), "dovecot", str(a.messages)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = serve.stdout.readline()
    m = re.search(r"port (\d+) tls \d+ dir (\S+)", line)
    if not m:
        sys.exit(f"serve: {line}")
    port, kit = int(m.group(1)), m.group(2)
    server_cur = os.path.join(kit, "home", USER, "Maildir", "cur")
    reference = {}
    for n in os.listdir(server_cur):
        with open(os.path.join(server_cur, n), "rb") as f:
            h = hashlib.sha256(crlf(f.read())).hexdigest()
        reference[h] = reference.get(h, 0) + 1

    names = [("imap4", "`imap4 backup` (durable: one syncfs per batch of 500)"),
             ("imap4-nofsync", "`imap4 backup --no-fsync`"),
             ("mbsync", "mbsync (defaults: fsync per message)"),
             ("mbsync-fast", "mbsync `FSync no`")]
    have_oi = shutil.which("offlineimap") and not a.no_offlineimap
    if have_oi:
        names.append(("offlineimap", "OfflineIMAP (1 round)"))
    clients = [Client(n, l, port, work) for n, l in names if shutil.which(n.split("-")[0]) or n.startswith("imap4")]

    results = {c.name: {"initial": [], "nochange": [], "identical": None} for c in clients}
    last_dir = {}
    for r in range(a.runs):
        order = clients[r % len(clients):] + clients[:r % len(clients)]
        for c in order:
            if c.name == "offlineimap" and r > 0:
                continue
            d = os.path.join(work, f"{c.name}-{r}")
            os.makedirs(d)
            cmd, env, inbox = c.prepare(d)
            settle()
            results[c.name]["initial"].append(measure_rss(cmd, env))
            settle()
            results[c.name]["nochange"].append(measure_rss(cmd, env))
            if results[c.name]["identical"] is None:
                files = maildir_files(inbox)
                results[c.name]["identical"] = (identical(reference, files), len(files))
            last_dir[c.name] = (cmd, env)

    # +100 new, then 1,000 flag changes: one run of each client on its last copy
    imap4 = os.path.join(REL, "imap4")
    base = [imap4, "--tls", "none", "--host", "127.0.0.1", "--port", str(port), "-u", USER]
    env = dict(os.environ, IMAP4_PASSWORD=PASSWORD)
    msgs = []
    for i in range(100):
        p = os.path.join(work, f"new{i}.eml")
        with open(p, "wb") as f:
            f.write(f"Message-ID: <bench-new-{i}@example.org>\r\nSubject: new {i}\r\n\r\nbody {i}\r\n".encode())
        msgs.append(p)
    sh(base + ["append"] + msgs, env=env, stdout=subprocess.DEVNULL)
    for c in clients:
        cmd, cenv = last_dir[c.name]
        settle()
        results[c.name]["new100"] = measure_rss(cmd, cenv)
    sh(base + ["flag", "add", "1:1000", "\\Flagged"], env=env, stdout=subprocess.DEVNULL)
    for c in clients:
        cmd, cenv = last_dir[c.name]
        settle()
        results[c.name]["flags"] = measure_rss(cmd, cenv)

    serve.stdin.close()
    serve.wait()
    # not deleted here: deleting many files slows the next minute's file
    # creation on ext4 (recently freed inodes are skipped one by one)
    print(f"bench_backup: the clients' copies are in {work}; delete it when done", file=sys.stderr)

    vers = []
    for prog, arg in (("mbsync", "--version"), ("offlineimap", "--version")):
        if shutil.which(prog):
            o = subprocess.run([prog, arg], capture_output=True, text=True)
            vers.append(f"{prog}: {(o.stdout or o.stderr).strip().splitlines()[0]}")
    print(f"## Backup: imap4 vs mbsync and OfflineIMAP ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})\n")
    print(f"`scripts/bench_backup.py --messages {a.messages} --runs {a.runs}`: the test kit's Dovecot "
          f"with {a.messages} generated messages in INBOX, plaintext on loopback. Median of {a.runs} "
          "rounds (OfflineIMAP: 1), each client in a fresh directory, the order rotating; `sync` and a "
          "1.1 s pause before every timed run (mbsync sleeps a second after a Maildir change in the same second). CPU = user + sys of the client and its children; RSS = peak. "
          f"{'; '.join(vers)}. Load average (1 min) at the end: {os.getloadavg()[0]:.2f}.\n")
    print("| client | initial wall (s) | initial CPU (s) | peak RSS (MiB) | no-change wall (ms) | +100 new (ms) | 1,000 flags (ms) | byte-identical |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for c in clients:
        r = results[c.name]
        ini = r["initial"]
        nc = r["nochange"]
        ident, total = r["identical"]
        print(f"| {c.label} | {median([x[0] for x in ini]):.2f} | {median([x[1] for x in ini]):.2f} | "
              f"{max(x[2] for x in ini):.1f} | {median([x[0] for x in nc]) * 1000:.0f} | "
              f"{r['new100'][0] * 1000:.0f} | {r['flags'][0] * 1000:.0f} | {ident} of {total} |")


if __name__ == "__main__":
    main()
