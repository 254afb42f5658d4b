//! changedesk notification channels: the IO boundary that delivers one
//! already-rendered message to one destination and classifies the outcome.
//!
//! This crate never touches a database. A worker elsewhere claims a
//! delivery from the store, calls in here, and records the returned
//! outcome (retrying on the [`backoff`] schedule, dead-lettering after
//! [`MAX_ATTEMPTS`], disabling an endpoint on [`SendOutcome::Gone`]).
//!
//! Channels:
//!
//! - [`webhook`]: signed outgoing webhooks per the Standard Webhooks spec
//!   (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<HMAC-SHA256>`),
//!   with an SSRF guard ([`ssrf`]) that checks every address actually
//!   connected to.
//!
//! - [`email`]: e-mail over SMTP (`lettre`: STARTTLS or implicit TLS, PLAIN,
//!   LOGIN or XOAUTH2), HTML with a plain-text part, a stable `Message-ID`.
//! - [`teams`]: Microsoft Teams Workflows webhooks (Adaptive Cards).
//! - [`slack`]: Slack incoming webhooks (Block Kit).

#![cfg_attr(not(test), deny(clippy::string_slice, clippy::indexing_slicing))]

pub mod email;
mod redact;
pub mod render;
pub mod retry;
pub mod slack;
pub mod ssrf;
pub mod teams;
pub mod webhook;

pub use email::{
    DEFAULT_SMTP_TIMEOUT, EmailError, EmailMessage, SmtpAuth, SmtpMailer, SmtpSecurity,
    SmtpSettings, build_message, parse_address,
};
pub use retry::{MAX_ATTEMPTS, backoff};
pub use webhook::{
    DEFAULT_TIMEOUT, SendOutcome, WebhookEndpoint, WebhookError, WebhookSecret, WebhookSender, sign,
};
pub use webhook::{HttpReply, PlainTarget};
