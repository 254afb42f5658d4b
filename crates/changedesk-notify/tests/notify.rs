//! Integration tests of changedesk-notify (the crate's one test binary).
//!
//! - `smtp`: e-mail against a real SMTP server (aiosmtpd, started per test
//!   from `tests/smtp_capture.py`); runs when `CHANGEDESK_TEST_SMTP` is set.

#[path = "notify/chat.rs"]
mod chat;
#[path = "notify/smtp.rs"]
mod smtp;
