//! Communications of changes to the people they affect (issue 21, item 4),
//! without IO: the life of a communication, the checks of what people
//! write into one, and how its reach is measured.
//!
//! A communication is requested for a post (by a person, or by the rules
//! when they mark an item as requiring one), drafted from the post, edited,
//! approved, then sent once through a channel to its audience; or
//! cancelled before it is sent:
//!
//! ```text
//! draft ──approve──► approved ──send──► sent
//!   ▲ │                 │
//!   │ └─edit (stays)    └─edit──► draft (an approved text edited needs approving again)
//!   └────────── cancel from draft or approved ──► cancelled
//! ```
//!
//! Its measure ([`reach`]): **delivered** when the channel took the message
//! (the outbox's delivery), reaching its whole audience (a group's member
//! count as given, else its individual recipients); **acknowledged** by the
//! distinct people who pressed "Got it" on its page (the rate is those over
//! the audience); **before the rollout** when it was delivered before the
//! rollout started (the day the post's timeline gives, else Graph's start),
//! unknown when the post gives no start.

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// The longest subject, in characters.
pub const MAX_SUBJECT_CHARS: usize = 200;
/// The longest text, in characters.
pub const MAX_BODY_CHARS: usize = 20_000;
/// The longest audience label (`All staff`, `Finance team`), in characters.
pub const MAX_AUDIENCE_LABEL_CHARS: usize = 200;
/// The largest audience a communication may declare.
pub const MAX_AUDIENCE: u64 = 1_000_000;
/// The longest acknowledger (an e-mail address or a name), in characters.
pub const MAX_ACKNOWLEDGER_CHARS: usize = 254;

/// Where a communication stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommsState {
    /// Being written (made from the post; edited by the comms lead).
    Draft,
    /// Approved as written, waiting to be sent.
    Approved,
    /// Handed to its channel (see the delivery for whether it went out).
    Sent,
    /// Given up before it was sent.
    Cancelled,
}

impl CommsState {
    pub const ALL: [CommsState; 4] = [
        CommsState::Draft,
        CommsState::Approved,
        CommsState::Sent,
        CommsState::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CommsState::Draft => "draft",
            CommsState::Approved => "approved",
            CommsState::Sent => "sent",
            CommsState::Cancelled => "cancelled",
        }
    }

    /// Whether nothing more happens to it.
    pub fn is_final(self) -> bool {
        matches!(self, CommsState::Sent | CommsState::Cancelled)
    }
}

impl std::fmt::Display for CommsState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for CommsState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        CommsState::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!("unknown communication state `{s}` (expected draft, approved, sent or cancelled)")
            })
    }
}

/// What a person does to a communication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommsAction {
    /// Changes its text, audience or channel.
    Edit,
    Approve,
    Send,
    Cancel,
}

impl CommsAction {
    pub fn as_str(self) -> &'static str {
        match self {
            CommsAction::Edit => "edit",
            CommsAction::Approve => "approve",
            CommsAction::Send => "send",
            CommsAction::Cancel => "cancel",
        }
    }
}

/// The state `action` moves a communication in `state` to, or why it
/// cannot (for people). Editing an approved text takes it back to draft:
/// what is sent is what was approved.
pub fn next_state(state: CommsState, action: CommsAction) -> Result<CommsState, String> {
    use CommsAction as A;
    use CommsState as S;
    match (state, action) {
        (S::Draft | S::Approved, A::Edit) => Ok(S::Draft),
        (S::Draft, A::Approve) => Ok(S::Approved),
        (S::Approved, A::Send) => Ok(S::Sent),
        (S::Draft | S::Approved, A::Cancel) => Ok(S::Cancelled),
        (S::Draft, A::Send) => Err("a draft is approved before it is sent".into()),
        (S::Approved, A::Approve) => Err("the communication is already approved".into()),
        (s, a) => Err(format!(
            "a {} communication cannot be {}",
            s.as_str(),
            match a {
                A::Edit => "edited",
                A::Approve => "approved",
                A::Send => "sent",
                A::Cancel => "cancelled",
            }
        )),
    }
}

/// A communication's text as a person wrote it, checked.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CommsText {
    pub subject: String,
    pub body: String,
}

impl CommsText {
    /// The subject on one line (whitespace runs made one space, control
    /// characters dropped) and the body with `\r\n` made `\n`; an empty
    /// subject or body, or one over its limit, is an error for people.
    pub fn checked(subject: &str, body: &str) -> Result<CommsText, String> {
        let subject = crate::text::one_line(subject);
        if subject.is_empty() {
            return Err("the subject is empty".into());
        }
        if subject.chars().count() > MAX_SUBJECT_CHARS {
            return Err(format!(
                "the subject is over {MAX_SUBJECT_CHARS} characters"
            ));
        }
        let body: String = body
            .replace("\r\n", "\n")
            .chars()
            .filter(|c| *c == '\n' || *c == '\t' || !c.is_control())
            .collect();
        let body = body.trim_end().to_string();
        if body.trim().is_empty() {
            return Err("the text is empty".into());
        }
        if body.chars().count() > MAX_BODY_CHARS {
            return Err(format!("the text is over {MAX_BODY_CHARS} characters"));
        }
        Ok(CommsText { subject, body })
    }

    /// The body's paragraphs (blank lines apart), each its lines joined as
    /// written: how the e-mail's HTML and the page lay it out.
    pub fn paragraphs(&self) -> Vec<Vec<String>> {
        let mut out: Vec<Vec<String>> = Vec::new();
        let mut current: Vec<String> = Vec::new();
        for line in self.body.lines() {
            if line.trim().is_empty() {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            } else {
                current.push(line.trim_end().to_string());
            }
        }
        if !current.is_empty() {
            out.push(current);
        }
        out
    }
}

/// Whom a communication goes to, as a person declared it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Audience {
    /// A name for people: `All staff`, `Finance team`.
    #[serde(default)]
    pub label: String,
    /// The group's member count (a distribution list, a Teams channel):
    /// the base of the acknowledgement rate. None: the e-mail channel's
    /// individual recipients are the audience.
    #[serde(default)]
    pub size: Option<u64>,
}

impl Audience {
    /// The label trimmed and on one line, at most
    /// [`MAX_AUDIENCE_LABEL_CHARS`]; a size from 1 to [`MAX_AUDIENCE`].
    pub fn checked(label: &str, size: Option<u64>) -> Result<Audience, String> {
        let label = crate::text::one_line(label);
        if label.chars().count() > MAX_AUDIENCE_LABEL_CHARS {
            return Err(format!(
                "the audience's name is over {MAX_AUDIENCE_LABEL_CHARS} characters"
            ));
        }
        if let Some(n) = size
            && !(1..=MAX_AUDIENCE).contains(&n)
        {
            return Err(format!(
                "the audience's size is 1 to {MAX_AUDIENCE} people, not {n}"
            ));
        }
        Ok(Audience { label, size })
    }

    /// How many people it reaches when sent to `recipients` individual
    /// addresses: the group's size when given, else the recipients.
    pub fn size_with(&self, recipients: usize) -> u64 {
        self.size
            .unwrap_or_else(|| u64::try_from(recipients).unwrap_or(u64::MAX))
    }
}

/// Who acknowledged, as a key: an e-mail address or a name, trimmed, on
/// one line and in lower case, so the same person counts once. Empty or
/// over [`MAX_ACKNOWLEDGER_CHARS`] is an error for people.
pub fn acknowledger(text: &str) -> Result<String, String> {
    let key: String = crate::text::one_line(text)
        .chars()
        .flat_map(char::to_lowercase)
        .collect();
    if key.is_empty() {
        return Err("say who you are (your e-mail address)".into());
    }
    if key.chars().count() > MAX_ACKNOWLEDGER_CHARS {
        return Err(format!("that is over {MAX_ACKNOWLEDGER_CHARS} characters"));
    }
    Ok(key)
}

/// What is known of a sent communication, for its measure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommsFacts {
    pub id: i64,
    pub post_id: String,
    pub state: CommsState,
    /// When a person sent it (handed it to the channel).
    pub sent_at: Option<Timestamp>,
    /// When the channel took it (the delivery delivered).
    pub delivered_at: Option<Timestamp>,
    /// Whether its delivery failed for good.
    pub failed: bool,
    /// How many people it is for (fixed when sent).
    pub audience: u64,
    /// Distinct acknowledgers.
    pub acks: u64,
    /// When the rollout starts (the timeline's, else Graph's), if known.
    pub rollout_start: Option<Timestamp>,
}

/// How far a communication got.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reach {
    pub delivered: bool,
    /// People reached: the audience once delivered, else 0.
    pub reached: u64,
    pub acks: u64,
    /// Acknowledgers over the audience (0 to 1); None without an audience.
    pub ack_rate: Option<f64>,
    /// Delivered before the rollout started; None when not delivered or
    /// the post gives no start.
    pub before_rollout: Option<bool>,
}

/// The measure of one communication.
pub fn reach(f: &CommsFacts) -> Reach {
    let delivered = f.delivered_at.is_some();
    // the store keeps acknowledgers within the audience; never more here
    let acks = f.acks.min(f.audience);
    Reach {
        delivered,
        reached: if delivered { f.audience } else { 0 },
        acks,
        ack_rate: (f.audience > 0).then(|| (acks as f64 / f.audience as f64).min(1.0)),
        before_rollout: match (f.delivered_at, f.rollout_start) {
            (Some(d), Some(r)) => Some(d < r),
            _ => None,
        },
    }
}

/// The communications sent in a period, measured together.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CommsSummary {
    /// Sent in the period.
    pub sent: usize,
    pub delivered: usize,
    /// Whose delivery failed for good.
    pub failed: usize,
    /// Delivered before their rollout started, after it, or for a post
    /// without a start.
    pub before_rollout: usize,
    pub after_rollout: usize,
    pub rollout_unknown: usize,
    /// People reached (the delivered ones' audiences) and distinct
    /// acknowledgers among them.
    pub reached: u64,
    pub acks: u64,
    /// Acknowledgers over people reached; None when nobody was reached.
    pub ack_rate: Option<f64>,
    /// Delivered before the rollout over those with a known start.
    pub before_rollout_rate: Option<f64>,
}

/// The communications of `facts` sent in `[from, to)`, measured.
pub fn summarize(facts: &[CommsFacts], from: Timestamp, to: Timestamp) -> CommsSummary {
    let mut s = CommsSummary {
        sent: 0,
        delivered: 0,
        failed: 0,
        before_rollout: 0,
        after_rollout: 0,
        rollout_unknown: 0,
        reached: 0,
        acks: 0,
        ack_rate: None,
        before_rollout_rate: None,
    };
    for f in facts {
        let Some(sent) = f.sent_at else { continue };
        if f.state != CommsState::Sent || sent < from || sent >= to {
            continue;
        }
        s.sent += 1;
        s.failed += usize::from(f.failed);
        let r = reach(f);
        if !r.delivered {
            continue;
        }
        s.delivered += 1;
        s.reached += r.reached;
        s.acks += r.acks;
        match r.before_rollout {
            Some(true) => s.before_rollout += 1,
            Some(false) => s.after_rollout += 1,
            None => s.rollout_unknown += 1,
        }
    }
    s.ack_rate = (s.reached > 0).then(|| (s.acks as f64 / s.reached as f64).min(1.0));
    let known = s.before_rollout + s.after_rollout;
    s.before_rollout_rate = (known > 0).then(|| s.before_rollout as f64 / known as f64);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn sent(
        id: i64,
        sent: &str,
        delivered: Option<&str>,
        audience: u64,
        acks: u64,
        start: Option<&str>,
    ) -> CommsFacts {
        CommsFacts {
            id,
            post_id: format!("MC{id}"),
            state: CommsState::Sent,
            sent_at: Some(ts(sent)),
            delivered_at: delivered.map(ts),
            failed: false,
            audience,
            acks,
            rollout_start: start.map(ts),
        }
    }

    #[test]
    fn the_life_of_a_communication() {
        use CommsAction as A;
        use CommsState as S;
        assert_eq!(next_state(S::Draft, A::Edit), Ok(S::Draft));
        assert_eq!(next_state(S::Draft, A::Approve), Ok(S::Approved));
        assert_eq!(
            next_state(S::Approved, A::Edit),
            Ok(S::Draft),
            "edited: approve again"
        );
        assert_eq!(next_state(S::Approved, A::Send), Ok(S::Sent));
        assert_eq!(next_state(S::Approved, A::Cancel), Ok(S::Cancelled));
        assert!(
            next_state(S::Draft, A::Send)
                .unwrap_err()
                .contains("approved before")
        );
        for a in [A::Edit, A::Approve, A::Send, A::Cancel] {
            assert!(next_state(S::Sent, a).is_err(), "{a:?}");
            assert!(next_state(S::Cancelled, a).is_err(), "{a:?}");
        }
        assert_eq!(
            next_state(S::Sent, A::Cancel).unwrap_err(),
            "a sent communication cannot be cancelled"
        );
        for s in S::ALL {
            assert_eq!(s.as_str().parse::<S>(), Ok(s));
        }
        assert!("Sent".parse::<S>().is_ok() && "gone".parse::<S>().is_err());
    }

    #[test]
    fn text_is_checked_and_laid_out() {
        let t = CommsText::checked(
            "  Teams:\tnew\nmeeting  view ",
            "Hello,\r\n\r\nFrom May\nyou will see…\n\n\n",
        )
        .unwrap();
        assert_eq!(t.subject, "Teams: new meeting view");
        assert_eq!(t.body, "Hello,\n\nFrom May\nyou will see…");
        assert_eq!(
            t.paragraphs(),
            vec![
                vec!["Hello,".to_string()],
                vec!["From May".to_string(), "you will see…".to_string()]
            ]
        );
        assert!(CommsText::checked(" ", "x").is_err());
        assert!(CommsText::checked("s", " \n ").is_err());
        assert!(CommsText::checked(&"é".repeat(201), "x").is_err());
        assert!(CommsText::checked(&"é".repeat(200), "x").is_ok());
        assert!(CommsText::checked("s", &"ü".repeat(MAX_BODY_CHARS + 1)).is_err());
        assert_eq!(
            CommsText::checked("a\u{7}b", "x\u{1b}[2Jy").unwrap().body,
            "x[2Jy"
        );
    }

    #[test]
    fn audiences_and_acknowledgers() {
        assert_eq!(
            Audience::checked(" All\nstaff ", Some(40)).unwrap().label,
            "All staff"
        );
        assert!(Audience::checked("x", Some(0)).is_err());
        assert!(Audience::checked("x", Some(MAX_AUDIENCE + 1)).is_err());
        assert_eq!(Audience::checked("", None).unwrap().size_with(3), 3);
        assert_eq!(Audience::checked("", Some(40)).unwrap().size_with(3), 40);
        assert_eq!(
            acknowledger("  Ana@Contoso.COM ").unwrap(),
            "ana@contoso.com"
        );
        assert_eq!(acknowledger("ÉLODIE  Martin").unwrap(), "élodie martin");
        assert!(acknowledger(" \t").is_err());
        assert!(acknowledger(&"a".repeat(255)).is_err());
    }

    #[test]
    fn reach_counts_delivery_acknowledgements_and_the_rollout() {
        // hand-computed: 40 people, 10 acknowledged, delivered the day before
        let f = sent(
            1,
            "2026-04-01T09:00:00Z",
            Some("2026-04-01T09:00:05Z"),
            40,
            10,
            Some("2026-04-02T00:00:00Z"),
        );
        let r = reach(&f);
        assert!(r.delivered);
        assert_eq!((r.reached, r.acks), (40, 10));
        assert_eq!(r.ack_rate, Some(0.25));
        assert_eq!(r.before_rollout, Some(true));
        // delivered on the rollout's first day: not before it
        let late = sent(
            2,
            "2026-04-02T00:00:00Z",
            Some("2026-04-02T00:00:00Z"),
            4,
            0,
            Some("2026-04-02T00:00:00Z"),
        );
        assert_eq!(reach(&late).before_rollout, Some(false));
        // not delivered (yet): nobody reached, before-rollout unknown
        let pending = sent(
            3,
            "2026-04-01T09:00:00Z",
            None,
            4,
            0,
            Some("2026-05-01T00:00:00Z"),
        );
        assert_eq!(
            (reach(&pending).reached, reach(&pending).before_rollout),
            (0, None)
        );
        // no start known
        let unknown = sent(
            4,
            "2026-04-01T09:00:00Z",
            Some("2026-04-01T09:01:00Z"),
            3,
            3,
            None,
        );
        assert_eq!(reach(&unknown).before_rollout, None);
        assert_eq!(reach(&unknown).ack_rate, Some(1.0));
    }

    #[test]
    fn a_period_is_summed_from_its_sent_communications() {
        let mut facts = vec![
            sent(
                1,
                "2026-04-01T09:00:00Z",
                Some("2026-04-01T09:00:05Z"),
                40,
                10,
                Some("2026-04-02T00:00:00Z"),
            ),
            sent(
                2,
                "2026-04-03T09:00:00Z",
                Some("2026-04-03T09:00:05Z"),
                10,
                5,
                Some("2026-04-02T00:00:00Z"),
            ),
            sent(
                3,
                "2026-04-04T09:00:00Z",
                Some("2026-04-04T09:00:05Z"),
                50,
                0,
                None,
            ),
            sent(4, "2026-04-05T09:00:00Z", None, 7, 0, None),
            // outside the period
            sent(
                5,
                "2026-03-31T23:59:59Z",
                Some("2026-04-01T00:00:01Z"),
                99,
                99,
                None,
            ),
        ];
        facts[3].failed = true;
        let mut draft = sent(6, "2026-04-05T09:00:00Z", None, 1, 0, None);
        draft.state = CommsState::Draft;
        facts.push(draft);
        let s = summarize(
            &facts,
            ts("2026-04-01T00:00:00Z"),
            ts("2026-05-01T00:00:00Z"),
        );
        assert_eq!((s.sent, s.delivered, s.failed), (4, 3, 1));
        assert_eq!(
            (s.before_rollout, s.after_rollout, s.rollout_unknown),
            (1, 1, 1)
        );
        assert_eq!((s.reached, s.acks), (100, 15));
        assert_eq!(s.ack_rate, Some(0.15));
        assert_eq!(s.before_rollout_rate, Some(0.5));
        let none = summarize(&[], ts("2026-04-01T00:00:00Z"), ts("2026-05-01T00:00:00Z"));
        assert_eq!(
            (none.sent, none.ack_rate, none.before_rollout_rate),
            (0, None, None)
        );
    }
}
