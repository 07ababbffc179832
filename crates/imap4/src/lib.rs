//! imap4 (being written).
#![forbid(unsafe_code)]
pub mod util;
