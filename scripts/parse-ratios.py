#!/usr/bin/env python3
"""Ratio tables for the parser benchmark (crates/imap4-proto/benches/parse.rs).

    python3 scripts/parse-ratios.py                 # from criterion's results (run `cargo bench -p imap4-proto --bench parse` first)
    python3 scripts/parse-ratios.py --callgrind     # instructions per parse, counted by callgrind (load-independent)
    ... --append BENCHMARKS.md                      # also append the tables there

A ratio is peer / imap4: above 1 means imap4 is faster. Time is criterion's
median estimate; callgrind counts the instructions executed inside the bench
binary's `parse_loop` (IMAP4_PARSE_LOOP mode), divided by the iterations.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEERS = ["imap4", "imap-proto", "imap-codec"]
INPUTS = [
    ("status", "(a) status line `a1 OK done`", 12),
    ("fetch_envelope_bodystructure", "(b) FETCH ENVELOPE + nested multipart BODYSTRUCTURE (Dovecot, 1,120 B)", 1120),
    ("fetch_literal_64KiB", "(c) FETCH BODY[] literal, 64 KiB", 64 << 10),
    ("fetch_literal_1MiB", "(c) FETCH BODY[] literal, 1 MiB", 1 << 20),
    ("fetch_literal_16MiB", "(c) FETCH BODY[] literal, 16 MiB", 16 << 20),
    ("search_100k", "(d) SEARCH, 100,000 numbers", 588_905),
    ("list", "(e) LIST (Dovecot)", 46),
]
TARGET_INPUT = "fetch_envelope_bodystructure"
TARGET = 3.0


def fmt_time(ns):
    if ns is None:
        return "—"
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return "%.3g %s" % (ns / scale, unit)
    return "%.3g ns" % ns


def fmt_count(n):
    if n is None:
        return "—"
    return "{:,}".format(int(round(n)))


def ratio(peer, ours):
    if peer is None or ours is None or ours == 0:
        return "— (cannot parse)" if ours else "—"
    return "%.2f×" % (peer / ours)


def criterion_results():
    base = os.path.join(ROOT, "target", "criterion")
    out = {}
    for name, _, _ in INPUTS:
        for peer in PEERS:
            path = os.path.join(base, name, peer, "new", "estimates.json")
            try:
                with open(path) as f:
                    out[(name, peer)] = json.load(f)["median"]["point_estimate"]
            except FileNotFoundError:
                out[(name, peer)] = None
    return out


def bench_binary():
    cmd = ["cargo", "bench", "-p", "imap4-proto", "--bench", "parse", "--no-run", "--message-format=json"]
    out = subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
    exe = None
    for line in out.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg.get("target", {}).get("name") == "parse" and msg.get("executable"):
            exe = msg["executable"]
    if not exe:
        sys.exit("cannot find the parse bench binary")
    return exe


def callgrind_results():
    exe = bench_binary()
    out = {}
    for name, _, size in INPUTS:
        iters = max(3, min(20_000, 4_000_000 // max(size, 1)))
        for peer in PEERS:
            env = dict(os.environ, IMAP4_PARSE_LOOP="%s:%s:%d" % (name, peer, iters))
            r = subprocess.run(
                ["valgrind", "--tool=callgrind", "--toggle-collect=*parse_loop*", "--callgrind-out-file=/dev/null", exe],
                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
            counts = [int(c.replace(",", "")) for c in re.findall(r"Collected : ([\d,]+)", r.stderr)]
            if r.returncode != 0 or not counts:
                print("note: %s on %s failed under callgrind:\n%s" % (peer, name, r.stderr[-2000:]), file=sys.stderr)
                out[(name, peer)] = None
                continue
            out[(name, peer)] = max(counts) / iters
            print("callgrind: %-30s %-10s %14s instructions/parse" % (name, peer, fmt_count(out[(name, peer)])), file=sys.stderr)
    return out


def table(results, fmt, unit):
    lines = [
        "| input | imap4 | imap-proto | imap-codec | imap-proto / imap4 | imap-codec / imap4 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, label, _ in INPUTS:
        ours = results[(name, "imap4")]
        p = results[(name, "imap-proto")]
        c = results[(name, "imap-codec")]
        lines.append("| %s | %s | %s | %s | **%s** | **%s** |" % (label, fmt(ours), fmt(p), fmt(c), ratio(p, ours), ratio(c, ours)))
    ours = results[(TARGET_INPUT, "imap4")]
    peers = [v for v in (results[(TARGET_INPUT, "imap-proto")], results[(TARGET_INPUT, "imap-codec")]) if v]
    notes = []
    if ours and peers:
        r = min(peers) / ours
        notes.append(
            "- Target (%s): imap4 at least %.0f× faster than the faster peer on FETCH ENVELOPE+BODYSTRUCTURE: "
            "%.2f× — **%s**." % (unit, TARGET, r, "met" if r >= TARGET else "missed")
        )
    lit = [results[("fetch_literal_%s" % s, "imap4")] for s in ("64KiB", "1MiB", "16MiB")]
    if all(lit):
        notes.append(
            "- Literal size, imap4 (%s): 64 KiB %s, 1 MiB %s, 16 MiB %s — 16 MiB / 64 KiB = %.2f (256× the bytes): %s."
            % (unit, fmt(lit[0]), fmt(lit[1]), fmt(lit[2]), lit[2] / lit[0], "flat" if lit[2] / lit[0] < 2 else "NOT flat")
        )
    return "\n".join(lines) + "\n\n" + "\n".join(notes) + "\n"


def machine():
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    rustc = subprocess.run(["rustc", "--version"], stdout=subprocess.PIPE, text=True).stdout.strip()
    return "%d cores (%s), Linux %s, %s" % (os.cpu_count() or 0, model, os.uname().release, rustc)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--callgrind", action="store_true", help="count instructions with callgrind instead of reading criterion's times")
    ap.add_argument("--append", metavar="FILE", help="append the table to FILE (e.g. BENCHMARKS.md)")
    args = ap.parse_args()
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    if args.callgrind:
        body = table(callgrind_results(), fmt_count, "instructions")
        head = "## Parser: instructions per parse, callgrind (%s)\n\nCommand: `python3 scripts/parse-ratios.py --callgrind` " \
               "(valgrind's instruction count inside `parse_loop` of the bench binary; independent of machine load).\n" % stamp
    else:
        body = table(criterion_results(), fmt_time, "time")
        head = "## Parser: time per parse, criterion (%s)\n\nCommand: `cargo bench -p imap4-proto --bench parse` then " \
               "`python3 scripts/parse-ratios.py` (criterion's median).\n" % stamp
    report = "%s\nMachine: %s\n\n%s" % (head, machine(), body)
    print(report)
    if args.append:
        with open(args.append, "a") as f:
            f.write("\n" + report)


main()
