//! `matches "words"`: whole words, in sequence, ASCII-case-insensitively.
//!
//! Words are maximal runs of letters and digits (`char::is_alphanumeric`);
//! everything else separates them. A phrase matches when its words occur as
//! consecutive words of the text.

use regex::Regex;

/// A compiled phrase.
#[derive(Debug, Clone)]
pub(crate) struct Phrase {
    /// ASCII-lowercased words.
    words: Vec<String>,
    /// The longest word: texts without it are rejected at once.
    longest: usize,
    /// A literal search for the first word (vectorised), when it compiles.
    first: Option<Regex>,
}

/// The words of `s`, ASCII-lowercased.
pub(crate) fn phrase_words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_ascii_lowercase())
        .collect()
}

fn boundary_before(text: &str, i: usize) -> bool {
    text.get(..i)
        .and_then(|t| t.chars().next_back())
        .is_none_or(|c| !c.is_alphanumeric())
}

fn boundary_after(text: &str, i: usize) -> bool {
    text.get(i..)
        .and_then(|t| t.chars().next())
        .is_none_or(|c| !c.is_alphanumeric())
}

impl Phrase {
    /// The phrase of `s`; `None` when it has no words.
    pub(crate) fn new(s: &str) -> Option<Phrase> {
        let words = phrase_words(s);
        let first = Regex::new(&regex::escape(words.first()?)).ok();
        let longest = words
            .iter()
            .enumerate()
            .max_by_key(|(_, w)| w.len())
            .map_or(0, |(i, _)| i);
        Some(Phrase {
            words,
            longest,
            first,
        })
    }

    /// Whether the phrase occurs in `text`, which is already
    /// ASCII-lowercased.
    pub(crate) fn is_in(&self, text: &str) -> bool {
        let Some((first, rest)) = self.words.split_first() else {
            return false;
        };
        // `contains` is vectorised: most texts lack the longest word
        if !text.contains(self.words.get(self.longest).map_or("", String::as_str)) {
            return false;
        }
        let mut from = 0;
        loop {
            let found = match &self.first {
                Some(re) => re.find_at(text, from).map(|m| m.start()),
                None => text
                    .get(from..)
                    .and_then(|t| t.find(first.as_str()))
                    .map(|i| from + i),
            };
            let Some(start) = found else {
                return false;
            };
            let end = start + first.len();
            if boundary_before(text, start)
                && boundary_after(text, end)
                && rest_follows(text, end, rest)
            {
                return true;
            }
            from = start
                + text
                    .get(start..)
                    .and_then(|t| t.chars().next())
                    .map_or(1, char::len_utf8);
        }
    }
}

fn rest_follows(text: &str, mut i: usize, rest: &[String]) -> bool {
    for w in rest {
        let Some(skip) = text
            .get(i..)
            .and_then(|t| t.char_indices().find(|(_, c)| c.is_alphanumeric()))
            .map(|(k, _)| k)
        else {
            return false;
        };
        i += skip;
        if !text.get(i..).is_some_and(|t| t.starts_with(w.as_str())) {
            return false;
        }
        i += w.len();
        if !boundary_after(text, i) {
            return false;
        }
    }
    true
}
