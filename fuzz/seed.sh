#!/usr/bin/env bash
# Regenerates the seed corpora fuzz/corpus/<target>/ from the project's
# test fixtures:
#   - crates/imap4-proto/tests/fixtures/dovecot/*.imap (real server output;
#     lines starting with "C: " are the client's and are dropped),
#   - server response strings in crates/imap4-proto/tests/*.rs,
#     crates/imap4-proto/src/**/*.rs and crates/imap4/tests/transcripts.rs.
# Each seed is laid out as its target expects (see the header comment of
# each fuzz_targets/<target>.rs). Files are named by a hash of their
# content, so rerunning is idempotent. Needs python3.
#
# Usage: fuzz/seed.sh        (from anywhere; rewrites fuzz/corpus/)
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 - "$@" <<'PY'
import hashlib, os, re, glob, shutil

ROOT = os.getcwd()
OUT = os.path.join(ROOT, "fuzz", "corpus")
MAX_SEED = 4096          # bytes per seed: keeps libFuzzer's -max_len sane
TARGETS = ["frame", "parse", "frame_parse", "session", "encode", "utf7"]

def unescape(body, raw):
    """Rust string literal body -> bytes."""
    if raw:
        return body.encode("utf-8")
    out = bytearray()
    i = 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out += c.encode("utf-8"); i += 1; continue
        n = body[i + 1]
        i += 2
        if n == "n": out += b"\n"
        elif n == "r": out += b"\r"
        elif n == "t": out += b"\t"
        elif n == "0": out += b"\0"
        elif n == "\\": out += b"\\"
        elif n == '"': out += b'"'
        elif n == "'": out += b"'"
        elif n == "x": out.append(int(body[i:i + 2], 16)); i += 2
        elif n == "u":
            j = body.index("}", i)
            out += chr(int(body[i + 1:j], 16)).encode("utf-8"); i = j + 1
        elif n == "\n":
            while i < len(body) and body[i] in " \t\n": i += 1
        else:
            out += ("\\" + n).encode()
    return bytes(out)

LIT = re.compile(r'(b?)(r(#*)"(.*?)"\3|"((?:[^"\\]|\\.)*)")', re.S)
RESPONSE = re.compile(rb"^(\* |\+|[A-Za-z][A-Za-z0-9]*\d+ (OK|NO|BAD)|\[)")

def rust_strings(path):
    text = open(path, encoding="utf-8").read()
    for m in LIT.finditer(text):
        raw = m.group(4) is not None
        body = m.group(4) if raw else m.group(5)
        try:
            yield unescape(body, raw)
        except (ValueError, IndexError):
            pass

def split_responses(data):
    """Server bytes -> complete responses (line plus literals)."""
    out = []
    while data:
        end = 0
        while True:
            nl = data.find(b"\n", end)
            nl = len(data) if nl < 0 else nl + 1
            line = data[end:nl].rstrip(b"\r\n")
            end = nl
            m = re.search(rb"\{(\d+)\+?\}$", line)
            if m and end + int(m.group(1)) <= len(data):
                end += int(m.group(1))
                continue
            break
        out.append(data[:end])
        data = data[end:]
    return out

def server_bytes(transcript):
    lines = transcript.splitlines(keepends=True)
    client = [l for l in lines if l.startswith(b"C: ")]
    server = b"".join(l for l in lines if not l.startswith(b"C: "))
    return client, server

# ----- collect ------------------------------------------------------------------
transcripts = []   # (name, client lines, server bytes)
for f in sorted(glob.glob("crates/imap4-proto/tests/fixtures/dovecot/*.imap")):
    client, server = server_bytes(open(f, "rb").read())
    transcripts.append((os.path.basename(f), client, server))

responses = set()
for _, _, server in transcripts:
    responses.update(split_responses(server))
sources = (glob.glob("crates/imap4-proto/tests/*.rs")
           + glob.glob("crates/imap4-proto/src/**/*.rs", recursive=True)
           + ["crates/imap4/tests/transcripts.rs"])
test_strings = []
for path in sorted(sources):
    for s in rust_strings(path):
        if RESPONSE.match(s) and len(s) < MAX_SEED:
            if not s.endswith(b"\n"):
                s += b"\r\n"
            test_strings.append(s)
            responses.update(split_responses(s))
responses = sorted(r for r in responses if 0 < len(r) <= MAX_SEED)

mailboxes = set()
for r in responses:
    if r.startswith((b"* LIST", b"* LSUB")):
        name = r.rstrip(b"\r\n").rsplit(b" ", 1)[-1].strip(b'"')
        mailboxes.add(name)
for path in sorted(sources):
    for s in rust_strings(path):
        if b"&" in s and len(s) < 200 and re.fullmatch(rb"[\x20-\x7e]+", s):
            mailboxes.add(s)
        try:
            t = s.decode("utf-8")
            if len(t) < 100 and any(ord(c) > 127 for c in t):
                mailboxes.add(s)
        except UnicodeDecodeError:
            pass

# ----- write ----------------------------------------------------------------------
seeds = {t: set() for t in TARGETS}

for r in responses:
    seeds["parse"].add(b"\x10" + r)          # depth byte 16
    seeds["frame_parse"].add(b"\x00" + r)

for name, client, server in transcripts:
    body = server[:MAX_SEED]
    seeds["frame"].add(b"\x00\x00" + body)                       # whole, default limits
    seeds["frame_parse"].add(b"\x00" + body)
for s in test_strings:
    seeds["frame"].add(b"\x00\x03\x01\x07\x40" + s)              # chunks 1, 7, 64
    seeds["frame"].add(b"\x80\x20\x10\x04\x03\x01\x05" + s)      # small limits, chunks of 5

# session: the first queued command's tag, by state: NONAUTH A1, AUTH A2,
# SELECTED A3 (the scripted setup uses the tags before it).
COMMAND = [  # (verb in the fixture's first client line, command byte, state)
    ("AUTHENTICATE", 3, 0), ("LOGIN", 27, 0), ("STARTTLS", 4, 0),
    ("UID FETCH", 5, 2), ("FETCH", 1, 2), ("UID SEARCH", 6, 2), ("SEARCH", 16, 2),
    ("EXAMINE", 7, 1), ("SELECT", 15, 1), ("UID STORE", 8, 2), ("STORE", 8, 2),
    ("LIST", 9, 1), ("LSUB", 24, 1), ("STATUS", 10, 1), ("APPEND", 11, 1),
    ("UID MOVE", 12, 2), ("UID COPY", 12, 2), ("UID EXPUNGE", 13, 2),
    ("EXPUNGE", 13, 2), ("LOGOUT", 14, 0), ("CAPABILITY", 17, 0),
    ("GETQUOTAROOT", 19, 1), ("ENABLE", 22, 1), ("NAMESPACE", 26, 1),
    ("CLOSE", 25, 2), ("UNSELECT", 25, 2), ("NOOP", 20, 2),
]
TAGGED = re.compile(rb"^[A-Za-z]+\d+ (?=(OK|NO|BAD)\b)", re.M)
for name, client, server in transcripts:
    first = client[0][3:].decode("utf-8", "replace") if client else ""
    words = first.split(" ", 2)
    verb = " ".join(words[1:3]) if len(words) > 2 else (words[1] if len(words) > 1 else "")
    cmd, state = 0, 2
    for v, c, s in COMMAND:
        if verb.upper().startswith(v):
            cmd, state = c, s
            break
    tag = b"A%d" % (1 + state if state < 2 else 3)
    body = TAGGED.sub(tag + b" ", server)[:MAX_SEED]
    flags = state | 4                                      # LITERAL+
    seeds["session"].add(bytes([flags, 0, cmd, 0]) + body)
    seeds["session"].add(bytes([state, 0, cmd, 2, 1, 9]) + body)    # chunks 1, 9
for s in test_strings[:400]:
    seeds["session"].add(bytes([2, 1, 0, 5, 0]) + TAGGED.sub(b"A3 ", s))

for name, client, _ in transcripts:
    for l in client:
        seeds["encode"].add(l[3:].rstrip(b"\r\n")[:MAX_SEED])

for m in mailboxes:
    seeds["utf7"].add(m)
for r in responses:
    if b"&" in r and len(r) < 512:
        seeds["utf7"].add(r.rstrip(b"\r\n"))

for t in TARGETS:
    d = os.path.join(OUT, t)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for s in seeds[t]:
        h = hashlib.sha1(s).hexdigest()[:16]
        with open(os.path.join(d, h), "wb") as f:
            f.write(s)
    size = sum(len(s) for s in seeds[t])
    print(f"{t}: {len(seeds[t])} seeds, {size} bytes")
PY
