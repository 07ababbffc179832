//! Connection states and imaplib's table of the states each command is
//! allowed in.

use std::fmt;

/// Connection state, printed as imaplib names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Connected, not logged in (`NONAUTH`).
    NonAuth,
    /// Logged in (`AUTH`).
    Auth,
    /// A mailbox is selected (`SELECTED`).
    Selected,
    /// Logged out or not connected (`LOGOUT`).
    Logout,
}

impl State {
    /// imaplib's name of the state.
    pub fn as_str(self) -> &'static str {
        match self {
            State::NonAuth => "NONAUTH",
            State::Auth => "AUTH",
            State::Selected => "SELECTED",
            State::Logout => "LOGOUT",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

use State::{Auth, Logout, NonAuth, Selected};

/// imaplib's table of commands and the states each is allowed in.
pub const COMMANDS: &[(&str, &[State])] = &[
    ("APPEND", &[Auth, Selected]),
    ("AUTHENTICATE", &[NonAuth]),
    ("CAPABILITY", &[NonAuth, Auth, Selected, Logout]),
    ("CHECK", &[Selected]),
    ("CLOSE", &[Selected]),
    ("COPY", &[Selected]),
    ("CREATE", &[Auth, Selected]),
    ("DELETE", &[Auth, Selected]),
    ("DELETEACL", &[Auth, Selected]),
    ("ENABLE", &[Auth]),
    ("EXAMINE", &[Auth, Selected]),
    ("EXPUNGE", &[Selected]),
    ("FETCH", &[Selected]),
    ("GETACL", &[Auth, Selected]),
    ("GETANNOTATION", &[Auth, Selected]),
    ("GETQUOTA", &[Auth, Selected]),
    ("GETQUOTAROOT", &[Auth, Selected]),
    ("MYRIGHTS", &[Auth, Selected]),
    ("LIST", &[Auth, Selected]),
    ("LOGIN", &[NonAuth]),
    ("LOGOUT", &[NonAuth, Auth, Selected, Logout]),
    ("LSUB", &[Auth, Selected]),
    ("MOVE", &[Selected]),
    ("NAMESPACE", &[Auth, Selected]),
    ("NOOP", &[NonAuth, Auth, Selected, Logout]),
    ("PARTIAL", &[Selected]),
    ("PROXYAUTH", &[Auth]),
    ("RENAME", &[Auth, Selected]),
    ("SEARCH", &[Selected]),
    ("SELECT", &[Auth, Selected]),
    ("SETACL", &[Auth, Selected]),
    ("SETANNOTATION", &[Auth, Selected]),
    ("SETQUOTA", &[Auth, Selected]),
    ("SORT", &[Selected]),
    ("STARTTLS", &[NonAuth]),
    ("STATUS", &[Auth, Selected]),
    ("STORE", &[Selected]),
    ("SUBSCRIBE", &[Auth, Selected]),
    ("THREAD", &[Selected]),
    ("UID", &[Selected]),
    ("UNSUBSCRIBE", &[Auth, Selected]),
    ("UNSELECT", &[Selected]),
];
