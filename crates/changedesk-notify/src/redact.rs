//! Redacting secrets from texts a server or a library may have echoed them
//! into (error bodies, SMTP replies), before an outcome leaves this crate.

use secrecy::zeroize::Zeroizing;

use crate::SendOutcome;

/// Replaces each of its needles (secrets, and the forms they travel in)
/// with `[redacted]`, longer needles first. Needles are zeroized on drop.
pub(crate) struct Redactor {
    needles: Vec<Zeroizing<String>>,
}

impl Redactor {
    /// A redactor of `needles` (empty ones are ignored).
    pub(crate) fn new(needles: impl IntoIterator<Item = Zeroizing<String>>) -> Redactor {
        let mut needles: Vec<Zeroizing<String>> =
            needles.into_iter().filter(|n| !n.is_empty()).collect();
        needles.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        needles.dedup();
        Redactor { needles }
    }

    /// `text` with every needle replaced.
    pub(crate) fn text(&self, text: String) -> String {
        self.needles.iter().fold(text, |acc, needle| {
            if acc.contains(needle.as_str()) {
                acc.replace(needle.as_str(), "[redacted]")
            } else {
                acc
            }
        })
    }

    /// `outcome` with its error text redacted.
    pub(crate) fn outcome(&self, outcome: SendOutcome) -> SendOutcome {
        match outcome {
            SendOutcome::Retry {
                status,
                retry_after,
                error,
            } => SendOutcome::Retry {
                status,
                retry_after,
                error: self.text(error),
            },
            SendOutcome::Failed { status, error } => SendOutcome::Failed {
                status,
                error: self.text(error),
            },
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longer_needles_go_first_and_outcomes_are_redacted() {
        let r = Redactor::new(
            ["abc", "abcdef", "", "abc"]
                .into_iter()
                .map(|s| Zeroizing::new(s.to_string())),
        );
        assert_eq!(r.text("x abcdef y abc".into()), "x [redacted] y [redacted]");
        let o = r.outcome(SendOutcome::Failed {
            status: Some(400),
            error: "echo abcdef".into(),
        });
        assert_eq!(o.error(), Some("echo [redacted]"));
        assert_eq!(
            r.outcome(SendOutcome::Delivered { status: 200 }),
            SendOutcome::Delivered { status: 200 }
        );
    }
}
