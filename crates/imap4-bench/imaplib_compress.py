"""CPython imaplib reference for `imap4-bench compress` (run by it as
`python3 -c <this> PORT PASSWORD BATCH`).

imaplib has no COMPRESS: plain only. Every message's UID and BODY.PEEK[]
in UID FETCH batches of BATCH; the bytes read and written are counted at
imaplib's read/readline/send (everything the socket carried, once LOGOUT
has been read); the SHA-256 is the bench's (UID as 4 bytes big-endian,
body length as 8 bytes big-endian, body, in UID order), the CPU spent
hashing left out of `cpu`. Prints one RESULT line (see compress.rs).
"""

import hashlib
import imaplib
import re
import resource
import struct
import sys
import time

UID = re.compile(rb"\bUID (\d+)")


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Counted(imaplib.IMAP4):
    read_bytes = 0
    written_bytes = 0

    def read(self, size):
        data = super().read(size)
        self.read_bytes += len(data)
        return data

    def readline(self):
        line = super().readline()
        self.read_bytes += len(line)
        return line

    def send(self, data):
        self.written_bytes += len(data)
        super().send(data)


def main():
    port, password, batch = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    h = hashlib.sha256()
    hash_cpu = 0.0
    messages = 0
    next_uid = 1
    c0 = cpu()
    t0 = time.perf_counter()
    m = Counted("127.0.0.1", port)
    m.login("bench", password)
    typ, data = m.select("INBOX")
    assert typ == "OK", (typ, data)
    n = int(data[0])
    for a in range(1, n + 1, batch):
        b = min(a + batch - 1, n)
        typ, data = m.uid("FETCH", "%d:%d" % (a, b), "(UID BODY.PEEK[])")
        assert typ == "OK", typ
        got = []
        for it in data:
            if isinstance(it, tuple):
                got.append((int(UID.search(it[0]).group(1)), it[1]))
        h0 = cpu()
        got.sort(key=lambda g: g[0])
        for uid, body in got:
            assert uid == next_uid, (uid, next_uid)
            h.update(struct.pack(">IQ", uid, len(body)))
            h.update(body)
            next_uid += 1
            messages += 1
        hash_cpu += cpu() - h0
    m.logout()
    wall = time.perf_counter() - t0
    total = cpu() - c0
    print(
        "RESULT wall=%.6f cpu=%.6f hash_cpu=%.6f read=%d written=%d messages=%d sha256=%s"
        % (wall, total - hash_cpu, hash_cpu, m.read_bytes, m.written_bytes, messages, h.hexdigest())
    )


main()
