"""CPython imaplib side of imap4-bench (run by it as `python3 -c <this> MODE HOST PORT`).

MODE is `envelope` (UID FETCH 1:* (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE))
or `bodies` (every message's BODY.PEEK[] in UID chunks of 100). imaplib
returns the bytes unparsed; nothing more is done with them than counting.
Prints one line: RESULT key=value ... (see imap4-bench's main.rs).
"""

import imaplib
import resource
import sys
import time

CHUNK = 100


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime, r.ru_stime


def vm_hwm_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def main():
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    u0, s0 = cpu()
    t0 = time.perf_counter()
    m = imaplib.IMAP4(host, port)
    m.login("bench", "secret")
    typ, data = m.select("INBOX", readonly=True)
    assert typ == "OK", (typ, data)
    n = int(data[0])
    items = 0
    nbytes = 0
    if mode == "envelope":
        typ, data = m.uid("FETCH", "1:*", "(FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)")
        assert typ == "OK", typ
        # one bytes item ends each response (literals come as tuples before it)
        for it in data:
            if isinstance(it, tuple):
                nbytes += len(it[0]) + len(it[1])
            else:
                items += 1
                nbytes += len(it)
    elif mode == "bodies":
        for a in range(1, n + 1, CHUNK):
            b = min(a + CHUNK - 1, n)
            typ, data = m.uid("FETCH", "%d:%d" % (a, b), "(BODY.PEEK[])")
            assert typ == "OK", typ
            for it in data:
                if isinstance(it, tuple):
                    items += 1
                    nbytes += len(it[1])
    else:
        raise SystemExit("unknown mode %r" % mode)
    m.logout()
    wall = time.perf_counter() - t0
    u1, s1 = cpu()
    print(
        "RESULT wall=%.6f user=%.6f sys=%.6f proc_cpu=%.6f rss_kb=%d items=%d bytes=%d"
        % (wall, u1 - u0, s1 - s0, u1 + s1, vm_hwm_kb(), items, nbytes)
    )


main()
