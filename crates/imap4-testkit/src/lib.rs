//! Test fixtures for imap4 (placeholder, being written).
#![forbid(unsafe_code)]
