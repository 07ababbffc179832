//! Sans-IO IMAP core (being written).
#![forbid(unsafe_code)]
