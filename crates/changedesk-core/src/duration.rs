//! Durations as people write them: `30d`, `2w`, `12h`, `90m`, `1d12h`.

/// A duration that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a duration (expected e.g. 30d, 2w, 12h, 90m or 1d12h)")]
pub struct DurationError(pub String);

/// Parses a sequence of `<number><unit>` with units `w`, `d`, `h`, `m`, `s`.
pub fn parse_duration(s: &str) -> Result<time::Duration, DurationError> {
    let err = || DurationError(s.chars().take(40).collect());
    let t = s.trim();
    if t.is_empty() {
        return Err(err());
    }
    let mut total = time::Duration::ZERO;
    let mut digits = String::new();
    for ch in t.chars() {
        if ch.is_ascii_digit() {
            digits.push(ch);
            continue;
        }
        let n: i64 = digits.parse().map_err(|_| err())?;
        digits.clear();
        let unit = match ch.to_ascii_lowercase() {
            'w' => time::Duration::weeks(1),
            'd' => time::Duration::days(1),
            'h' => time::Duration::hours(1),
            'm' => time::Duration::minutes(1),
            's' => time::Duration::seconds(1),
            _ => return Err(err()),
        };
        total = unit
            .checked_mul(i32::try_from(n).map_err(|_| err())?)
            .and_then(|d| total.checked_add(d))
            .ok_or_else(err)?;
    }
    if !digits.is_empty() {
        return Err(err());
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_common_forms() {
        assert_eq!(parse_duration("30d").unwrap(), time::Duration::days(30));
        assert_eq!(parse_duration("2w").unwrap(), time::Duration::days(14));
        assert_eq!(parse_duration("1d12h").unwrap(), time::Duration::hours(36));
        assert_eq!(
            parse_duration(" 90m ").unwrap(),
            time::Duration::minutes(90)
        );
        for bad in ["", "30", "d", "3x", "-1d", "99999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
