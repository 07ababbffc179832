//! imaplib utility functions (being written).
