//! imaplib's methods, sans-IO: each one checks and queues its command
//! ([`Begin`]) and its finishing step shapes the result as imaplib does.
//! The drivers call these and only move bytes.

use bytes::Bytes;

use crate::encode::{normalize_crlf, EncodeError};
use crate::response::{Data, Response};
use crate::session::{Begin, Finish, Session, SessionError, State};

type R = Result<Begin, SessionError>;

fn wrap_parens(s: &str) -> String {
    if s.len() >= 2 && s.starts_with('(') && s.ends_with(')') {
        s.to_string()
    } else {
        format!("({s})")
    }
}

impl Session {
    fn simple(&mut self, name: &str, finish: Finish, args: &[&str]) -> R {
        self.command(name, finish, false, |c| {
            for a in args {
                c.imaplib_arg(a)?;
            }
            Ok(())
        })
    }

    fn untagged(&mut self, name: &str, result_name: &str, args: &[&str]) -> R {
        self.simple(name, Finish::Untagged(result_name.to_string()), args)
    }

    /// APPEND: `flags` wrapped in parentheses, `date_time` sent as given if
    /// it is already double-quoted (else quoted), bare LF and CR turned into
    /// CRLF; an empty mailbox name means INBOX.
    pub fn append(
        &mut self,
        mailbox: &str,
        flags: Option<&str>,
        date_time: Option<&str>,
        message: &[u8],
    ) -> R {
        let mailbox = if mailbox.is_empty() { "INBOX" } else { mailbox };
        let flags = flags.filter(|f| !f.is_empty()).map(wrap_parens);
        let date_time = date_time.filter(|d| !d.is_empty());
        let literal = Bytes::from(normalize_crlf(message));
        self.command("APPEND", Finish::Simple, false, |c| {
            c.imaplib_arg(mailbox)?;
            if let Some(f) = &flags {
                c.raw(f.as_bytes())?;
            }
            if let Some(d) = date_time {
                if d.len() >= 2 && d.starts_with('"') && d.ends_with('"') {
                    c.raw(d.as_bytes())?;
                } else {
                    c.string(d.as_bytes())?;
                }
            }
            c.literal(literal)?;
            Ok(())
        })
    }

    /// AUTHENTICATE `mechanism` (upper-cased). Answer each
    /// [`crate::Poll::Challenge`] with [`Session::answer_challenge`].
    pub fn authenticate(&mut self, mechanism: &str) -> R {
        let mech = mechanism.to_uppercase();
        self.command(
            "AUTHENTICATE",
            Finish::Login { decode_error: true },
            true,
            |c| {
                c.imaplib_arg(&mech)?;
                Ok(())
            },
        )
    }

    /// CAPABILITY. Like imaplib, this does not change
    /// [`Session::capabilities`]; see [`Session::refresh_capabilities`].
    pub fn capability(&mut self) -> R {
        self.simple("CAPABILITY", Finish::Capability { refresh: false }, &[])
    }

    /// CAPABILITY, replacing [`Session::capabilities`] with the answer
    /// (imaplib's `_get_capabilities`, run after the greeting and after
    /// STARTTLS). Fails if the server sends no CAPABILITY data, or if it
    /// does not speak IMAP4rev1 or IMAP4.
    pub fn refresh_capabilities(&mut self) -> R {
        self.simple("CAPABILITY", Finish::Capability { refresh: true }, &[])
    }

    /// CHECK.
    pub fn check(&mut self) -> R {
        self.simple("CHECK", Finish::Simple, &[])
    }

    /// CLOSE (state becomes AUTH whatever the outcome).
    pub fn close(&mut self) -> R {
        self.leave_selected("CLOSE")
    }

    /// CLOSE and UNSELECT: like imaplib's `try: ... finally: state = AUTH`,
    /// the state is AUTH afterwards even when the command could not be
    /// sent (illegal in the state, or the connection is gone); a sent
    /// command sets it when it completes.
    fn leave_selected(&mut self, name: &str) -> R {
        let r = self.simple(name, Finish::LeaveSelected, &[]);
        if r.is_err() {
            self.state = State::Auth;
        }
        r
    }

    /// COPY.
    pub fn copy(&mut self, message_set: &str, new_mailbox: &str) -> R {
        self.simple("COPY", Finish::Simple, &[message_set, new_mailbox])
    }

    /// CREATE.
    pub fn create(&mut self, mailbox: &str) -> R {
        self.simple("CREATE", Finish::Simple, &[mailbox])
    }

    /// DELETE.
    pub fn delete(&mut self, mailbox: &str) -> R {
        self.simple("DELETE", Finish::Simple, &[mailbox])
    }

    /// DELETEACL.
    pub fn deleteacl(&mut self, mailbox: &str, who: &str) -> R {
        self.simple("DELETEACL", Finish::Simple, &[mailbox, who])
    }

    /// ENABLE (refused unless the server advertises ENABLE).
    pub fn enable(&mut self, capability: &str) -> R {
        if !self.has_capability("ENABLE") {
            return Err(SessionError::Usage("Server does not support ENABLE".into()));
        }
        let utf8 = capability.to_uppercase().contains("UTF8=ACCEPT");
        self.simple("ENABLE", Finish::Enable { utf8 }, &[capability])
    }

    /// EXPUNGE.
    pub fn expunge(&mut self) -> R {
        self.untagged("EXPUNGE", "EXPUNGE", &[])
    }

    /// FETCH.
    pub fn fetch(&mut self, message_set: &str, message_parts: &str) -> R {
        self.untagged("FETCH", "FETCH", &[message_set, message_parts])
    }

    /// GETACL.
    pub fn getacl(&mut self, mailbox: &str) -> R {
        self.untagged("GETACL", "ACL", &[mailbox])
    }

    /// GETANNOTATION.
    pub fn getannotation(&mut self, mailbox: &str, entry: &str, attribute: &str) -> R {
        self.untagged("GETANNOTATION", "ANNOTATION", &[mailbox, entry, attribute])
    }

    /// GETQUOTA.
    pub fn getquota(&mut self, root: &str) -> R {
        self.untagged("GETQUOTA", "QUOTA", &[root])
    }

    /// GETQUOTAROOT: data is `[quotaroot, quota]`.
    pub fn getquotaroot(&mut self, mailbox: &str) -> R {
        self.simple("GETQUOTAROOT", Finish::QuotaRoot, &[mailbox])
    }

    /// LIST.
    pub fn list(&mut self, directory: &str, pattern: &str) -> R {
        self.untagged("LIST", "LIST", &[directory, pattern])
    }

    /// LOGIN (the password is always quoted, and never traced).
    pub fn login(&mut self, user: &str, password: &str) -> R {
        self.command(
            "LOGIN",
            Finish::Login {
                decode_error: false,
            },
            false,
            |c| {
                c.imaplib_arg(user)?;
                c.secret_string(password.as_bytes())?;
                Ok(())
            },
        )
    }

    /// LOGOUT (state becomes LOGOUT first, as in imaplib).
    pub fn logout(&mut self) -> R {
        self.set_state(State::Logout);
        self.simple("LOGOUT", Finish::Logout, &[])
    }

    /// LSUB.
    pub fn lsub(&mut self, directory: &str, pattern: &str) -> R {
        self.untagged("LSUB", "LSUB", &[directory, pattern])
    }

    /// MYRIGHTS.
    pub fn myrights(&mut self, mailbox: &str) -> R {
        self.untagged("MYRIGHTS", "MYRIGHTS", &[mailbox])
    }

    /// NAMESPACE.
    pub fn namespace(&mut self) -> R {
        self.untagged("NAMESPACE", "NAMESPACE", &[])
    }

    /// NOOP.
    pub fn noop(&mut self) -> R {
        self.simple("NOOP", Finish::Simple, &[])
    }

    /// PARTIAL (obsolete; RFC 2060).
    pub fn partial(&mut self, message_num: &str, message_part: &str, start: u32, length: u32) -> R {
        let (s, l) = (start.to_string(), length.to_string());
        self.untagged("PARTIAL", "FETCH", &[message_num, message_part, &s, &l])
    }

    /// PROXYAUTH.
    pub fn proxyauth(&mut self, user: &str) -> R {
        self.simple("PROXYAUTH", Finish::Simple, &[user])
    }

    /// RECENT: the RECENT data already received, or a NOOP to prompt for it.
    pub fn recent(&mut self) -> R {
        if let Some(data) = self.take_untagged("RECENT") {
            if data.last().is_some_and(Data::is_truthy) {
                return Ok(Begin::Done(Response::new("OK", data)));
            }
        }
        self.simple("NOOP", Finish::Recent, &[])
    }

    /// RENAME.
    pub fn rename(&mut self, oldmailbox: &str, newmailbox: &str) -> R {
        self.simple("RENAME", Finish::Simple, &[oldmailbox, newmailbox])
    }

    /// SEARCH, with `CHARSET charset` when given (refused in UTF-8 mode).
    pub fn search(&mut self, charset: Option<&str>, criteria: &[&str]) -> R {
        let mut args: Vec<&str> = Vec::with_capacity(criteria.len() + 2);
        if let Some(cs) = charset.filter(|c| !c.is_empty()) {
            if self.utf8_enabled() {
                return Err(SessionError::Usage(
                    "Non-None charset not valid in UTF8 mode".into(),
                ));
            }
            args.extend(["CHARSET", cs]);
        }
        args.extend_from_slice(criteria);
        self.untagged("SEARCH", "SEARCH", &args)
    }

    /// SELECT, or EXAMINE when `readonly`. Flushes all untagged data first.
    pub fn select(&mut self, mailbox: &str, readonly: bool) -> R {
        self.clear_untagged();
        self.set_readonly(readonly);
        self.reset_mailbox(readonly);
        let name = if readonly { "EXAMINE" } else { "SELECT" };
        let finish = Finish::Select {
            mailbox: mailbox.to_string(),
            readonly,
        };
        self.simple(name, finish, &[mailbox])
    }

    /// SETACL.
    pub fn setacl(&mut self, mailbox: &str, who: &str, what: &str) -> R {
        self.simple("SETACL", Finish::Simple, &[mailbox, who, what])
    }

    /// SETANNOTATION `mailbox args...`.
    pub fn setannotation(&mut self, mailbox: &str, args: &[&str]) -> R {
        let mut all = vec![mailbox];
        all.extend_from_slice(args);
        self.untagged("SETANNOTATION", "ANNOTATION", &all)
    }

    /// SETQUOTA.
    pub fn setquota(&mut self, root: &str, limits: &str) -> R {
        self.untagged("SETQUOTA", "QUOTA", &[root, limits])
    }

    /// SORT (sort criteria wrapped in parentheses).
    pub fn sort(&mut self, sort_criteria: &str, charset: &str, criteria: &[&str]) -> R {
        let sc = wrap_parens(sort_criteria);
        let mut args = vec![sc.as_str(), charset];
        args.extend_from_slice(criteria);
        self.untagged("SORT", "SORT", &args)
    }

    /// STARTTLS (refused if not advertised). After an OK, the driver must
    /// switch the transport to TLS with nothing buffered, then call
    /// [`Session::tls_established`].
    ///
    /// Refused too once COMPRESS=DEFLATE is on: TLS must come first
    /// (RFC 4978), compressing before encrypting.
    pub fn starttls(&mut self) -> R {
        if self.is_compressed() {
            return Err(SessionError::Usage(
                "STARTTLS after COMPRESS is not allowed: TLS must be negotiated first".into(),
            ));
        }
        if !self.has_capability("STARTTLS") {
            return Err(SessionError::Abort("TLS not supported by server".into()));
        }
        self.simple("STARTTLS", Finish::StartTls, &[])
    }

    /// Forgets everything learned in plaintext after a STARTTLS handshake;
    /// the driver then asks for capabilities again.
    pub fn tls_established(&mut self) {
        self.forget_pre_tls();
    }

    /// STATUS.
    pub fn status(&mut self, mailbox: &str, names: &str) -> R {
        self.untagged("STATUS", "STATUS", &[mailbox, names])
    }

    /// STORE (flags wrapped in parentheses).
    pub fn store(&mut self, message_set: &str, command: &str, flag_list: &str) -> R {
        let flags = wrap_parens(flag_list);
        self.untagged("STORE", "FETCH", &[message_set, command, &flags])
    }

    /// SUBSCRIBE.
    pub fn subscribe(&mut self, mailbox: &str) -> R {
        self.simple("SUBSCRIBE", Finish::Simple, &[mailbox])
    }

    /// THREAD.
    pub fn thread(&mut self, threading_algorithm: &str, charset: &str, criteria: &[&str]) -> R {
        let mut args = vec![threading_algorithm, charset];
        args.extend_from_slice(criteria);
        self.untagged("THREAD", "THREAD", &args)
    }

    /// UID `command args...`.
    pub fn uid(&mut self, command: &str, args: &[&str]) -> R {
        let command = command.to_uppercase();
        if !self.is_known_command(&command) {
            return Err(SessionError::Usage(format!(
                "Unknown IMAP4 UID command: {command}"
            )));
        }
        self.check_state(&command)?;
        let result = match command.as_str() {
            "SEARCH" | "SORT" | "THREAD" => command.clone(),
            _ => "FETCH".to_string(),
        };
        let mut all = vec![command.as_str()];
        all.extend_from_slice(args);
        self.untagged("UID", &result, &all)
    }

    /// UNSELECT (state becomes AUTH whatever the outcome).
    pub fn unselect(&mut self) -> R {
        self.leave_selected("UNSELECT")
    }

    /// UNSUBSCRIBE.
    pub fn unsubscribe(&mut self, mailbox: &str) -> R {
        self.simple("UNSUBSCRIBE", Finish::Simple, &[mailbox])
    }

    /// An extension command `name args...` (upper-cased). An unknown name
    /// becomes allowed in the current state, as in imaplib.
    pub fn xatom(&mut self, name: &str, args: &[&str]) -> R {
        let name = name.to_uppercase();
        if name.is_empty() || name.bytes().any(|b| !b.is_ascii_graphic()) {
            return Err(EncodeError::LineBreak.into());
        }
        self.register_command(&name);
        self.simple(&name, Finish::Simple, args)
    }

    /// imaplib's `response(code)`: the data received for `code` (removed),
    /// or `[None]`. No I/O.
    pub fn response(&mut self, code: &str) -> Response {
        self.untagged_response(code.to_string(), vec![Data::None], &code.to_uppercase())
    }

    /// Each method's finishing step, after imaplib's `_command_complete`.
    pub(crate) fn finish(
        &mut self,
        finish: Finish,
        typ: String,
        data: Vec<Data>,
    ) -> Result<Response, SessionError> {
        match finish {
            Finish::Simple | Finish::LeaveSelected | Finish::Logout | Finish::Typed(_) => {
                Ok(Response::new(typ, data))
            }
            Finish::Untagged(name) => Ok(self.untagged_response(typ, data, &name)),
            Finish::Recent => Ok(self.untagged_response(typ, data, "RECENT")),
            Finish::Capability { refresh } => {
                let r = self.untagged_response(typ, data, "CAPABILITY");
                if refresh {
                    self.set_capabilities(&r.data)?;
                }
                Ok(r)
            }
            Finish::Select { mailbox, readonly } => {
                if typ != "OK" {
                    self.set_state(State::Auth);
                    return Ok(Response::new(typ, data));
                }
                self.set_state(State::Selected);
                if self.contains_untagged("READ-ONLY") && !readonly {
                    return Err(SessionError::ReadOnly(format!("{mailbox} is not writable")));
                }
                let exists = self
                    .get_untagged("EXISTS")
                    .cloned()
                    .unwrap_or_else(|| vec![Data::None]);
                Ok(Response::new(typ, exists))
            }
            Finish::Login { decode_error } => {
                if typ != "OK" {
                    let text = match data.last() {
                        Some(Data::Line(b)) => b.clone(),
                        _ => Bytes::new(),
                    };
                    let message = if decode_error {
                        String::from_utf8_lossy(&text).into_owned()
                    } else {
                        crate::python_repr(&text)
                    };
                    return Err(SessionError::Command {
                        message,
                        status: typ,
                        text,
                    });
                }
                self.set_state(State::Auth);
                Ok(Response::new(typ, data))
            }
            Finish::QuotaRoot => {
                let quota = self.untagged_response(typ.clone(), data.clone(), "QUOTA");
                let root = self.untagged_response(quota.typ, data, "QUOTAROOT");
                Ok(Response::new(
                    root.typ,
                    vec![Data::List(root.data), Data::List(quota.data)],
                ))
            }
            Finish::Enable { utf8 } => {
                if typ == "OK" && utf8 {
                    self.set_utf8();
                }
                Ok(Response::new(typ, data))
            }
            Finish::StartTls => {
                if typ != "OK" {
                    return Err(SessionError::Usage("Couldn't establish TLS session".into()));
                }
                if self.has_unprocessed() {
                    // STARTTLS injection: bytes the server sent after its OK
                    // and before the handshake are never processed.
                    let why = "server sent data between its STARTTLS reply and the TLS handshake; connection closed";
                    self.fail_transport(why);
                    return Err(SessionError::Closed(why.into()));
                }
                Ok(self.untagged_response(typ, data, "STARTTLS"))
            }
        }
    }
}
