//! How e-mail leaves changedesk (`[notify.email]`): SMTP, Microsoft Graph
//! `sendMail`, or a directory of `.eml` files (a local capture, the demo's).
//!
//! Each recipient gets a message of their own (recipients never see each
//! other's addresses), with a `Message-ID` stable across attempts:
//! `<delivery's message id>.r<n>@<sender's domain>`.

use std::path::PathBuf;
use std::sync::Arc;

use changedesk_core::config::{EmailSettings, EmailTransport, TenantConfig};
use changedesk_notify::SendOutcome;
use changedesk_notify::email::{EmailMessage, SmtpAuth, SmtpMailer, SmtpSecurity, SmtpSettings};

use super::compose::StoredEmail;

/// A configured e-mail transport.
#[derive(Clone)]
pub enum Mailer {
    Smtp(SmtpMailer),
    Graph {
        client: Arc<changedesk_graph::GraphClient>,
        tenant: Box<TenantConfig>,
        sender: String,
    },
    Directory(PathBuf),
}

/// The sender, and how mail is sent.
#[derive(Clone)]
pub struct MailSetup {
    pub from: String,
    pub reply_to: Option<String>,
    pub mailer: Mailer,
}

impl std::fmt::Debug for MailSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let how = match &self.mailer {
            Mailer::Smtp(_) => "smtp",
            Mailer::Graph { .. } => "graph",
            Mailer::Directory(_) => "directory",
        };
        f.debug_struct("MailSetup")
            .field("from", &self.from)
            .field("mailer", &how)
            .finish()
    }
}

/// A recipient's own links in a message.
#[derive(Debug, Clone, Default)]
pub struct RecipientLinks {
    /// Their unsubscribe link, if the message carries one.
    pub unsubscribe: Option<String>,
    /// A communication's (Got it, Read more) links for them.
    pub comms: Option<(String, String)>,
}

impl MailSetup {
    /// The setup `settings` describe. `tenants` are the configured
    /// tenants (the Graph transport sends through one); `ca_pem` the
    /// content of `ca_file`, read by the caller. Errors say what is wrong.
    pub fn from_settings(
        settings: &EmailSettings,
        tenants: &[TenantConfig],
        ca_pem: Option<Vec<u8>>,
        graph: impl FnOnce() -> Result<changedesk_graph::GraphClient, String>,
    ) -> Result<MailSetup, String> {
        let mailer = match &settings.transport {
            EmailTransport::Directory(p) => Mailer::Directory(p.clone()),
            EmailTransport::Smtp(s) => {
                let security = match s.security.as_str() {
                    "tls" => SmtpSecurity::Tls,
                    "none" => SmtpSecurity::Plain,
                    _ => SmtpSecurity::StartTls,
                };
                let user = s.user.clone().unwrap_or_default();
                let secret = || {
                    s.password
                        .clone()
                        .ok_or_else(|| "[notify.email.smtp] password_file was not read".to_string())
                };
                let auth = match s.auth.as_str() {
                    "plain" => SmtpAuth::Plain {
                        user,
                        password: secret()?,
                    },
                    "login" => SmtpAuth::Login {
                        user,
                        password: secret()?,
                    },
                    "xoauth2" => SmtpAuth::XOAuth2 {
                        user,
                        token: secret()?,
                    },
                    _ => SmtpAuth::None,
                };
                Mailer::Smtp(
                    SmtpMailer::new(SmtpSettings {
                        host: s.host.clone(),
                        port: s.port,
                        security,
                        auth,
                        from: settings.from.clone(),
                        reply_to: settings.reply_to.clone(),
                        timeout: std::time::Duration::from_secs(30),
                        extra_root_pem: ca_pem,
                    })
                    .map_err(|e| format!("[notify.email.smtp]: {e}"))?,
                )
            }
            EmailTransport::Graph { tenant, sender } => {
                let t = tenants
                    .iter()
                    .find(|t| &t.name == tenant)
                    .ok_or_else(|| format!("[notify.email.graph] names no tenant `{tenant}`"))?;
                Mailer::Graph {
                    client: Arc::new(graph()?),
                    tenant: Box::new(t.clone()),
                    sender: sender.clone(),
                }
            }
        };
        Ok(MailSetup {
            from: settings.from.clone(),
            reply_to: settings.reply_to.clone(),
            mailer,
        })
    }

    /// The domain of the sender's address (for `Message-ID`s).
    pub fn domain(&self) -> String {
        let addr = self
            .from
            .rsplit_once('<')
            .map_or(self.from.as_str(), |(_, a)| a.trim_end_matches('>'));
        addr.rsplit_once('@')
            .map(|(_, d)| d.trim().to_ascii_lowercase())
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| "changedesk.invalid".to_string())
    }

    /// Sends `mail` (one message per recipient) as message `message_id`,
    /// each with its recipient's links (`links` of an address): the
    /// unsubscribe link in place of [`super::unsubscribe::PLACEHOLDER`] and,
    /// where the transport allows headers, as `List-Unsubscribe`; a
    /// communication's own "Got it" and "Read more" links in place of
    /// theirs. Delivered when every recipient's was; the first retryable
    /// or failed outcome otherwise (a retry sends to every recipient again:
    /// at least once).
    pub async fn send(
        &self,
        message_id: &str,
        mail: &StoredEmail,
        links: &(dyn Fn(&str) -> RecipientLinks + Send + Sync),
    ) -> SendOutcome {
        if mail.to.is_empty() {
            return SendOutcome::Failed {
                status: None,
                error: "the message has no recipient (an owner without an e-mail address?)".into(),
            };
        }
        let domain = self.domain();
        let mut last = SendOutcome::Delivered { status: 250 };
        for (i, to) in mail.to.iter().enumerate() {
            let RecipientLinks { unsubscribe, comms } = links(to);
            let mut swaps: Vec<(&str, String)> = Vec::new();
            if let Some(l) = &unsubscribe {
                swaps.push((super::unsubscribe::PLACEHOLDER, l.clone()));
            }
            if mail.comms.is_some() {
                let Some((ack, read)) = comms else {
                    return SendOutcome::Failed {
                        status: None,
                        error: "a communication's links cannot be made: set [server] public_url and the secret key".into(),
                    };
                };
                swaps.push((crate::comms::ACK_PLACEHOLDER, ack));
                swaps.push((crate::comms::READ_PLACEHOLDER, read));
            }
            let (mut text, mut html) = (mail.text.clone(), mail.html.clone());
            for (placeholder, link) in &swaps {
                text = text.replace(placeholder, link);
                html = html.replace(placeholder, &changedesk_core::text::escape_html(link));
            }
            let msg = EmailMessage {
                message_id: format!("{message_id}.r{i}@{domain}"),
                to: vec![to.clone()],
                subject: mail.subject.clone(),
                text,
                html,
                list_unsubscribe: unsubscribe,
            };
            let outcome = self.send_one(&msg).await;
            match outcome {
                SendOutcome::Delivered { .. } => last = outcome,
                other => return other,
            }
        }
        last
    }

    async fn send_one(&self, msg: &EmailMessage) -> SendOutcome {
        match &self.mailer {
            Mailer::Smtp(m) => m.send(msg).await,
            Mailer::Directory(dir) => {
                write_eml(dir, &self.from, self.reply_to.as_deref(), msg).await
            }
            Mailer::Graph {
                client,
                tenant,
                sender,
            } => {
                let mail = changedesk_graph::GraphMail {
                    internet_message_id: format!("<{}>", msg.message_id),
                    to: msg.to.clone(),
                    reply_to: self.reply_to.clone(),
                    subject: msg.subject.clone(),
                    html: msg.html.clone(),
                    // Graph takes only `x-` headers: List-Unsubscribe cannot
                    // be set, the link is in the body
                    headers: Vec::new(),
                };
                graph_outcome(client.send_mail(tenant, sender, &mail).await)
            }
        }
    }
}

/// Writes the message as `<dir>/<message id>.eml` (atomically: a
/// temporary file renamed; the same id overwrites, as a re-send would be
/// recognised by its `Message-ID`).
async fn write_eml(
    dir: &std::path::Path,
    from: &str,
    reply_to: Option<&str>,
    msg: &EmailMessage,
) -> SendOutcome {
    let message = match changedesk_notify::email::build_message(from, reply_to, msg) {
        Ok(m) => m,
        Err(e) => {
            return SendOutcome::Failed {
                status: None,
                error: e.to_string(),
            };
        }
    };
    let bytes = message.formatted();
    let name: String = msg
        .message_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-' || c == '@' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let path = dir.join(format!("{name}.eml"));
    let tmp = dir.join(format!(".{name}.tmp"));
    let result = async {
        tokio::fs::create_dir_all(dir).await?;
        tokio::fs::write(&tmp, &bytes).await?;
        tokio::fs::rename(&tmp, &path).await
    }
    .await;
    match result {
        Ok(()) => SendOutcome::Delivered { status: 250 },
        Err(e) => SendOutcome::Retry {
            status: None,
            retry_after: None,
            error: format!("writing {}: {e}", path.display()),
        },
    }
}

fn graph_outcome(r: Result<(), changedesk_graph::GraphError>) -> SendOutcome {
    match r {
        Ok(()) => SendOutcome::Delivered { status: 202 },
        Err(e) if e.is_retryable() => SendOutcome::Retry {
            status: None,
            retry_after: e.retry_after(),
            error: e.to_string(),
        },
        Err(e) => SendOutcome::Failed {
            status: None,
            error: e.to_string(),
        },
    }
}
