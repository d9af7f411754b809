use std::fmt;

/// An SMS sender ID: 3–11 letters, digits or spaces with at least one letter, or 3–15 digits.
/// Its case is kept; comparisons ignore case.
#[derive(Debug, Clone)]
pub struct SenderId(String);

impl SenderId {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let s = raw.trim();
        let len = s.chars().count();
        let all_digits = !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
        if all_digits {
            if !(3..=15).contains(&len) {
                return Err("a numeric sender ID must have 3 to 15 digits".into());
            }
        } else {
            if !s.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ') {
                return Err("may contain only letters, digits and spaces".into());
            }
            if !(3..=11).contains(&len) {
                return Err("an alphanumeric sender ID must have 3 to 11 characters".into());
            }
        }
        Ok(SenderId(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl PartialEq for SenderId {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}

impl fmt::Display for SenderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alphanumeric_and_numeric_sender_ids_parse() {
        for ok in [
            "Herald",
            "ACME Co",
            "abc",
            "Shop2Go",
            "123",
            "234806700011122",
        ] {
            assert!(SenderId::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn bad_sender_ids_are_refused() {
        for bad in [
            "ab",
            "TwelveLetter",
            "a-b-c",
            "12",
            "1234567890123456",
            "   ",
            "Ünicode",
        ] {
            assert!(SenderId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn comparison_ignores_case_but_keeps_it() {
        let a = SenderId::parse("Herald").unwrap();
        assert_eq!(a, SenderId::parse("HERALD").unwrap());
        assert_eq!(a.as_str(), "Herald");
    }
}
