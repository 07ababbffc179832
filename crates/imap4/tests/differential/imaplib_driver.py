#!/usr/bin/env python3
"""Runs a shared call list with CPython's imaplib (the reference side of
crates/imap4/tests/differential.rs).

Usage: imaplib_driver.py CALLS_JSON HOST PORT USER PASSWORD OTHER_USER
                         DOVECOT_CONFIG [--stream COMMAND] [--skip I,J,...]

The mode decides how every connection is opened:

  (default)          imaplib.IMAP4(HOST, PORT): TCP to the Dovecot daemon
  --stream COMMAND   imaplib.IMAP4_stream(COMMAND): COMMAND (run with
                     `sh -c`) is Dovecot's imap binary, pre-authenticated as
                     USER (PREAUTH, so the connection starts in AUTH state);
                     HOST and PORT are not used. IMAP4_stream leaves the
                     child's stderr alone, so Dovecot's log lines end up on
                     this script's stderr (the test shows it on failure)

--skip I,J,... leaves out the sessions with those 0-based indices (no output
at all for them); which ones, and why, is decided by the caller
(differential.rs), so that the rule lives in one place.

CALLS_JSON holds {"sessions": [{"name": ..., "calls": [call, ...]}, ...]};
each session starts with a fresh connection (see the mode above) and
each call is a JSON array [method, arg, ...]; ["#", text] is a comment. In
string arguments "$USER", "$PASS" and "$OTHER" are replaced by this side's
user name, password and the other side's user name.
Calls whose name starts with "@" read an attribute instead of calling a
method (@welcome, @capabilities, @state, @readonly, @protocol_version), and
["@use", n] switches to connection n of the session (opened on first use;
connection 0 is opened when the session starts); it prints {"value": null}.
["@doveadm", arg, ...] runs `doveadm -c DOVECOT_CONFIG arg ...` (e.g. to kick
this side's user; after a kick it polls `doveadm who` until the user's
connections are gone, so the BYE is on the socket), and prints
{"value": true} if doveadm succeeded.

One JSON line is printed per call, in order:

  {"typ": str, "data": VALUE}            the method returned (typ, data)
  {"value": VALUE}                       an attribute
  {"error": "readonly"|"abort"|"error", "message": str}
  {"error": "exception", "message": str} any other exception (a driver bug,
                                         or an OSError imaplib let through)

where VALUE encodes Python values losslessly:

  None -> null, bool -> true/false, bytes -> latin-1 decoded string,
  list -> array, tuple -> {"tuple": [...]}, str -> {"str": ...},
  int -> {"int": ...}, anything else -> {"repr": repr(x)}.
"""

import imaplib
import json
import subprocess
import sys
import time



def wait_until_disconnected(config, user):
    """Polls `doveadm who` (bounded) until `user` has no connection left."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        who = subprocess.run(["doveadm", "-c", config, "who", "-1", user],
                             stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if not any(line.split()[:1] == [user] for line in who.stdout.splitlines()):
            return
        time.sleep(0.01)
    raise RuntimeError("%s still connected 10 s after doveadm kick" % user)

def encode(v):
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).decode("latin-1")
    if isinstance(v, list):
        return [encode(x) for x in v]
    if isinstance(v, tuple):
        return {"tuple": [encode(x) for x in v]}
    if isinstance(v, str):
        return {"str": v}
    if isinstance(v, int):
        return {"int": v}
    return {"repr": repr(v)}


def error_kind(e):
    # readonly subclasses abort, which subclasses error: most specific first.
    if isinstance(e, imaplib.IMAP4.readonly):
        return "readonly"
    if isinstance(e, imaplib.IMAP4.abort):
        return "abort"
    if isinstance(e, imaplib.IMAP4.error):
        return "error"
    return "exception"


def run_call(m, call, user, password):
    name, args = call[0], list(call[1:])
    if name == "@welcome":
        return {"value": encode(m.welcome)}
    if name == "@capabilities":
        return {"value": encode(list(m.capabilities))}
    if name == "@state":
        return {"value": encode(m.state)}
    if name == "@readonly":
        return {"value": encode(bool(m.is_readonly))}
    if name == "@protocol_version":
        return {"value": encode(m.PROTOCOL_VERSION)}
    if name == "authenticate":
        # ["authenticate", mech] answers every challenge with PLAIN
        # credentials of this side (other mechanisms are refused by the
        # server first); ["authenticate", mech, user, password] with those;
        # ["authenticate", mech, null] cancels (the authobject returns None).
        mech = args[0]
        if len(args) == 2 and args[1] is None:
            typ, data = m.authenticate(mech, lambda _challenge: None)
        else:
            u, p = args[1:3] if len(args) == 3 else (user, password)
            creds = ("\0%s\0%s" % (u, p)).encode()
            typ, data = m.authenticate(mech, lambda _challenge: creds)
    elif name == "append":
        mailbox, flags, date_time, message = args
        typ, data = m.append(mailbox, flags, date_time, message.encode("utf-8"))
    elif name == "partial":
        # imaplib's partial() concatenates its arguments as bytes, so start
        # and length must be strings in Python 3.
        num, part, start, length = args
        typ, data = m.partial(num, part, str(start), str(length))
    elif name == "response":
        # response() does no I/O and never raises.
        typ, data = m.response(*args)
    else:
        typ, data = getattr(m, name)(*args)
    return {"typ": encode(typ) if not isinstance(typ, str) else typ,
            "data": encode(data)}


def parse_args(argv):
    """The seven positional arguments, then the options --stream, --skip."""
    if len(argv) < 7:
        sys.exit(__doc__)
    positional, options = argv[:7], argv[7:]
    stream, skip = None, set()
    while options:
        if options[0] == "--stream" and len(options) >= 2:
            stream = options[1]
        elif options[0] == "--skip" and len(options) >= 2:
            skip = {int(i) for i in options[1].split(",") if i}
        else:
            sys.exit("bad options %r\n%s" % (options, __doc__))
        options = options[2:]
    return positional, stream, skip


def main():
    positional, stream, skip = parse_args(sys.argv[1:])
    calls_path, host, port, user, password, other, config = positional
    with open(calls_path, encoding="utf-8") as f:
        spec = json.load(f)

    # The only place the mode matters: how a connection is opened.
    if stream is None:
        def connect():
            return imaplib.IMAP4(host, int(port))
    else:
        def connect():
            return imaplib.IMAP4_stream(stream)

    def subst(a):
        if isinstance(a, str):
            return (a.replace("$USER", user)
                     .replace("$PASS", password)
                     .replace("$OTHER", other))
        return a

    out = sys.stdout
    for index, session in enumerate(spec["sessions"]):
        if index in skip:
            continue
        # ["@use", n] switches to connection n, opening it the first time.
        conns = {0: connect()}
        m = conns[0]
        try:
            for call in session["calls"]:
                if call[0] == "#":
                    continue
                call = [subst(a) for a in call]
                if call[0] == "@doveadm":
                    done = subprocess.run(["doveadm", "-c", config] + call[1:],
                                          stdin=subprocess.DEVNULL,
                                          capture_output=True)
                    if call[1:2] == ["kick"] and len(call) == 3:
                        wait_until_disconnected(config, call[2])
                    out.write(json.dumps({"value": done.returncode == 0}) + "\n")
                    continue
                if call[0] == "@use":
                    n = call[1]
                    if n not in conns:
                        conns[n] = connect()
                    m = conns[n]
                    out.write(json.dumps({"value": None}) + "\n")
                    continue
                try:
                    result = run_call(m, call, user, password)
                except Exception as e:  # noqa: BLE001 - classified below
                    result = {"error": error_kind(e), "message": str(e)}
                    if result["error"] == "exception":
                        result["message"] = "%s: %s" % (type(e).__name__, e)
                out.write(json.dumps(result, ensure_ascii=True) + "\n")
                out.flush()
        finally:
            for c in conns.values():
                try:
                    c.shutdown()
                except OSError:
                    pass


if __name__ == "__main__":
    main()
