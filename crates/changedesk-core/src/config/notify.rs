//! The `[notify]` section: how changedesk sends e-mail, and where message
//! templates may be overridden. Channels themselves live in the database
//! (`changedesk notify channel add`, the API, the web UI).
//!
//! ```toml
//! [notify]
//! templates_dir = "/etc/changedesk/templates"   # optional
//!
//! [notify.email]
//! from = "changedesk <changedesk@contoso.com>"
//! reply_to = "m365-changes@contoso.com"          # optional
//! transport = "smtp"                              # smtp, graph or directory
//!
//! [notify.email.smtp]
//! host = "smtp.contoso.com"
//! port = 587                                      # default: 587, 465 for tls, 25 for none
//! security = "starttls"                           # starttls, tls or none
//! auth = "login"                                  # none, plain, login or xoauth2
//! user = "changedesk@contoso.com"
//! password_file = "/etc/changedesk/smtp-password" # the password, or the XOAUTH2 token
//! ca_file = "/etc/changedesk/relay-ca.pem"        # optional: a private CA to trust
//!
//! [notify.email.graph]                            # Microsoft Graph sendMail (Mail.Send)
//! tenant = "contoso"                              # a configured tenant's app registration
//! sender = "changedesk@contoso.com"               # the mailbox it sends as
//!
//! [notify.email.directory]                        # a local capture: one .eml file per message
//! path = "mail"
//! ```

use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;
use toml::Spanned;

use super::merge::{Origin, Reporter};

/// `[notify]`.
#[derive(Debug, Clone, Default)]
pub struct NotifySettings {
    /// Files here replace the shipped templates of the same name.
    pub templates_dir: Option<PathBuf>,
    /// How e-mail is sent; `None`: e-mail channels cannot deliver.
    pub email: Option<EmailSettings>,
}

/// `[notify.email]`.
#[derive(Debug, Clone)]
pub struct EmailSettings {
    /// The sender mailbox (`Name <address>` or `address`).
    pub from: String,
    pub reply_to: Option<String>,
    pub transport: EmailTransport,
}

/// How e-mail leaves changedesk.
#[derive(Debug, Clone)]
pub enum EmailTransport {
    Smtp(SmtpConfig),
    /// Microsoft Graph `sendMail` through `tenant`'s app registration,
    /// as the mailbox `sender`.
    Graph {
        tenant: String,
        sender: String,
    },
    /// One `.eml` file per message in a directory (a local capture).
    Directory(PathBuf),
}

impl EmailTransport {
    /// `smtp host:port`, `graph as sender (tenant)`, `directory path`.
    pub fn describe(&self) -> String {
        match self {
            EmailTransport::Smtp(s) => format!("SMTP {}:{} ({})", s.host, s.port, s.security),
            EmailTransport::Graph { tenant, sender } => {
                format!("Microsoft Graph sendMail as {sender} (tenant {tenant})")
            }
            EmailTransport::Directory(p) => format!("the directory {}", p.display()),
        }
    }
}

/// `[notify.email.smtp]`.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    /// `starttls`, `tls` or `none`.
    pub security: String,
    /// `none`, `plain`, `login` or `xoauth2`.
    pub auth: String,
    pub user: Option<String>,
    pub password_file: Option<PathBuf>,
    /// The password (or XOAUTH2 token) read from `password_file` by
    /// [`super::load`]; `None` after [`super::check`].
    pub password: Option<SecretString>,
    pub ca_file: Option<PathBuf>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNotify {
    pub templates_dir: Option<Spanned<String>>,
    pub email: Option<Spanned<RawEmail>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEmail {
    pub from: Option<Spanned<String>>,
    pub reply_to: Option<Spanned<String>>,
    pub transport: Option<Spanned<String>>,
    pub smtp: Option<Spanned<RawSmtp>>,
    pub graph: Option<Spanned<RawGraph>>,
    pub directory: Option<Spanned<RawDirectory>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSmtp {
    pub host: Option<Spanned<String>>,
    pub port: Option<Spanned<i64>>,
    pub security: Option<Spanned<String>>,
    pub auth: Option<Spanned<String>>,
    pub user: Option<Spanned<String>>,
    pub password_file: Option<Spanned<String>>,
    pub ca_file: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGraph {
    pub tenant: Option<Spanned<String>>,
    pub sender: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDirectory {
    pub path: Option<Spanned<String>>,
}

fn at<T>(s: &Spanned<T>) -> Origin {
    Origin::File(s.span().start)
}

/// A loose mailbox check (`Name <a@b>` or `a@b`): one `@`, no spaces or
/// line breaks in the address. The e-mail crate checks strictly.
pub fn looks_like_mailbox(s: &str) -> bool {
    let t = s.trim();
    let addr = match (t.rfind('<'), t.ends_with('>')) {
        (Some(i), true) => t.get(i + 1..t.len() - 1).unwrap_or(""),
        (None, false) => t,
        _ => return false,
    };
    if addr.contains(['<', '>']) {
        return false;
    }
    let mut parts = addr.split('@');
    matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some(l), Some(d), None) if !l.is_empty() && d.contains('.') && !d.starts_with('.')
    ) && !addr.chars().any(|c| c.is_whitespace() || c.is_control())
        && !t.chars().any(|c| c == '\r' || c == '\n')
}

/// Merges `[notify]` from the file. `tenants`: the configured tenants'
/// names (the Graph transport must name one).
pub(super) fn build(
    rep: &mut Reporter<'_>,
    raw: Option<RawNotify>,
    tenants: &[String],
) -> NotifySettings {
    let Some(raw) = raw else {
        return NotifySettings::default();
    };
    let templates_dir = raw.templates_dir.and_then(|d| {
        if d.get_ref().trim().is_empty() {
            rep.error(
                &at(&d),
                "notify.templates_dir",
                "is empty: give a directory or leave it out",
            );
            None
        } else {
            Some(PathBuf::from(d.get_ref().trim()))
        }
    });
    let email = raw.email.and_then(|e| {
        let origin = at(&e);
        build_email(rep, origin, e.into_inner(), tenants)
    });
    NotifySettings {
        templates_dir,
        email,
    }
}

fn build_email(
    rep: &mut Reporter<'_>,
    origin: Origin,
    e: RawEmail,
    tenants: &[String],
) -> Option<EmailSettings> {
    let from = match e.from {
        Some(f) if looks_like_mailbox(f.get_ref()) => Some(f.get_ref().trim().to_string()),
        Some(f) => {
            rep.error(
                &at(&f),
                "notify.email.from",
                "is not a mailbox (`changedesk <changedesk@contoso.com>`)",
            );
            None
        }
        None => {
            rep.error(
                &origin,
                "notify.email.from",
                "is required: the sender (`changedesk <changedesk@contoso.com>`)",
            );
            None
        }
    };
    let reply_to = match e.reply_to {
        Some(r) if looks_like_mailbox(r.get_ref()) => Some(r.get_ref().trim().to_string()),
        Some(r) => {
            rep.error(&at(&r), "notify.email.reply_to", "is not a mailbox");
            None
        }
        None => None,
    };
    let transport_name = e
        .transport
        .as_ref()
        .map(|t| t.get_ref().trim().to_ascii_lowercase());
    let transport_origin = e.transport.as_ref().map_or(origin.clone(), at);
    let transport = match transport_name.as_deref() {
        None => {
            rep.error(
                &origin,
                "notify.email.transport",
                "is required: smtp, graph or directory",
            );
            None
        }
        Some("smtp") => match e.smtp {
            Some(s) => {
                let o = at(&s);
                build_smtp(rep, o, s.into_inner()).map(EmailTransport::Smtp)
            }
            None => {
                rep.error(
                    &transport_origin,
                    "notify.email.smtp",
                    "is required for transport = \"smtp\"",
                );
                None
            }
        },
        Some("graph") => {
            match e.graph {
                Some(g) => {
                    let o = at(&g);
                    let g = g.into_inner();
                    let tenant = g.tenant.map(|t| t.into_inner().trim().to_string());
                    let sender = g.sender.map(|s| s.into_inner().trim().to_string());
                    match (tenant, sender) {
                        (Some(t), Some(s)) => {
                            let mut ok = true;
                            if !tenants.iter().any(|n| n == &t) {
                                rep.error(
                                    &o,
                                    "notify.email.graph.tenant",
                                    format!(
                                        "names no configured tenant (`{}`)",
                                        crate::text::clip_chars(&t, 60)
                                    ),
                                );
                                ok = false;
                            }
                            if !looks_like_mailbox(&s) {
                                rep.error(&o, "notify.email.graph.sender", "is not a mailbox (the user principal name of the sending mailbox)");
                                ok = false;
                            }
                            ok.then_some(EmailTransport::Graph {
                                tenant: t,
                                sender: s,
                            })
                        }
                        _ => {
                            rep.error(&o, "notify.email.graph", "needs `tenant` (a configured tenant) and `sender` (the mailbox it sends as)");
                            None
                        }
                    }
                }
                None => {
                    rep.error(
                        &transport_origin,
                        "notify.email.graph",
                        "is required for transport = \"graph\"",
                    );
                    None
                }
            }
        }
        Some("directory") => match e.directory.and_then(|d| d.into_inner().path) {
            Some(p) if !p.get_ref().trim().is_empty() => {
                Some(EmailTransport::Directory(PathBuf::from(p.get_ref().trim())))
            }
            _ => {
                rep.error(
                    &transport_origin,
                    "notify.email.directory.path",
                    "is required for transport = \"directory\"",
                );
                None
            }
        },
        Some(_) => {
            rep.error(
                &transport_origin,
                "notify.email.transport",
                "must be smtp, graph or directory",
            );
            None
        }
    };
    Some(EmailSettings {
        from: from?,
        reply_to,
        transport: transport?,
    })
}

fn build_smtp(rep: &mut Reporter<'_>, origin: Origin, s: RawSmtp) -> Option<SmtpConfig> {
    let mut ok = true;
    let host = match s.host {
        Some(h) if !h.get_ref().trim().is_empty() && !h.get_ref().contains(char::is_whitespace) => {
            h.get_ref().trim().to_string()
        }
        Some(h) => {
            rep.error(&at(&h), "notify.email.smtp.host", "is not a host name");
            ok = false;
            String::new()
        }
        None => {
            rep.error(&origin, "notify.email.smtp.host", "is required");
            ok = false;
            String::new()
        }
    };
    let security = match &s.security {
        None => "starttls".to_string(),
        Some(v) => {
            let t = v.get_ref().trim().to_ascii_lowercase();
            if !["starttls", "tls", "none"].contains(&t.as_str()) {
                rep.error(
                    &at(v),
                    "notify.email.smtp.security",
                    "must be starttls, tls or none",
                );
                ok = false;
            }
            t
        }
    };
    let port = match &s.port {
        None => match security.as_str() {
            "tls" => 465,
            "none" => 25,
            _ => 587,
        },
        Some(p) => match u16::try_from(*p.get_ref()) {
            Ok(n) if n > 0 => n,
            _ => {
                rep.error(
                    &at(p),
                    "notify.email.smtp.port",
                    "must be a port number from 1 to 65535",
                );
                ok = false;
                0
            }
        },
    };
    let auth = match &s.auth {
        None => "none".to_string(),
        Some(v) => {
            let t = v.get_ref().trim().to_ascii_lowercase();
            if !["none", "plain", "login", "xoauth2"].contains(&t.as_str()) {
                rep.error(
                    &at(v),
                    "notify.email.smtp.auth",
                    "must be none, plain, login or xoauth2",
                );
                ok = false;
            }
            t
        }
    };
    let user = s.user.map(|u| u.into_inner().trim().to_string());
    let password_file = s
        .password_file
        .map(|p| PathBuf::from(p.into_inner().trim()));
    if auth != "none" && (user.is_none() || password_file.is_none()) {
        rep.error(
            &origin,
            "notify.email.smtp",
            format!("auth = \"{auth}\" needs `user` and `password_file` (the password, or the OAuth token for xoauth2)"),
        );
        ok = false;
    }
    if auth != "none" && security == "none" {
        rep.error(
            &origin,
            "notify.email.smtp.auth",
            "sends a password: it needs security = \"starttls\" or \"tls\"",
        );
        ok = false;
    }
    let ca_file = s.ca_file.map(|p| PathBuf::from(p.into_inner().trim()));
    ok.then_some(SmtpConfig {
        host,
        port,
        security,
        auth,
        user,
        password_file,
        password: None,
        ca_file,
    })
}

#[cfg(test)]
mod tests {
    use super::looks_like_mailbox;

    #[test]
    fn mailboxes_are_checked_loosely() {
        for good in [
            "a@b.c",
            "changedesk <changedesk@contoso.com>",
            " x.y@sub.example.org ",
        ] {
            assert!(looks_like_mailbox(good), "{good}");
        }
        for bad in [
            "",
            "a",
            "a@b",
            "a b@c.d",
            "a@b.c\r\nBcc: e@f.g",
            "<a@b.c",
            "@b.c",
            "a@@b.c",
            "日本語",
            "x <>",
        ] {
            assert!(!looks_like_mailbox(bad), "{bad}");
        }
    }
}
