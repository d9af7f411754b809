use std::fmt;

/// A phone number in E.164 form (`+2348067000111`), parsed with libphonenumber's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let normalized = raw.trim();
        if !normalized.starts_with('+') {
            return Err("must be in E.164 format, starting with + and the country code".into());
        }
        if !normalized[1..].chars().all(|c| c.is_ascii_digit()) {
            return Err("must contain only digits after the +".into());
        }
        let digits = normalized.len() - 1;
        if !(8..=15).contains(&digits) {
            return Err("must have 8 to 15 digits".into());
        }
        let parsed = phonenumber::parse(None, normalized)
            .map_err(|e| format!("is not a phone number: {e}"))?;
        let e164 = parsed.format().mode(phonenumber::Mode::E164).to_string();
        Ok(PhoneNumber(e164))
    }

    /// Reads a number from a path or query string, where a `+` may arrive decoded as a space.
    pub fn parse_lenient(raw: &str) -> Result<Self, String> {
        match raw.trim_end().strip_prefix(' ') {
            Some(rest) => Self::parse(&format!("+{}", rest.trim_start())),
            None => Self::parse(raw),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_numbers_parse() {
        assert_eq!(
            PhoneNumber::parse("+2348067000111").unwrap().as_str(),
            "+2348067000111"
        );
        assert_eq!(
            PhoneNumber::parse(" +14155550100 ").unwrap().as_str(),
            "+14155550100"
        );
    }

    #[test]
    fn a_plus_decoded_as_a_space_is_read_as_plus() {
        for raw in [" 2348067000111", "+2348067000111"] {
            assert_eq!(
                PhoneNumber::parse_lenient(raw).unwrap().as_str(),
                "+2348067000111"
            );
        }
    }

    #[test]
    fn numbers_without_plus_or_with_letters_are_refused() {
        for bad in [
            "2348067000111",
            "+23480abc0111",
            "+",
            "+123",
            "+1234567890123456",
            "",
        ] {
            assert!(PhoneNumber::parse(bad).is_err(), "{bad}");
        }
    }
}
