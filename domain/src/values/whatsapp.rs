//! What a WhatsApp send is made of: a text body, or a template's name and language.

/// The longest text message Meta takes.
pub const MAX_TEXT_CHARS: usize = 4096;

/// A text message's body: 1 to 4,096 characters, not only whitespace, no NUL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhatsappText(String);

impl WhatsappText {
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.trim().is_empty() {
            return Err("must not be empty".into());
        }
        if raw.chars().count() > MAX_TEXT_CHARS {
            return Err(format!("must be at most {MAX_TEXT_CHARS} characters"));
        }
        if raw.contains('\0') {
            return Err("must not contain NUL characters".into());
        }
        Ok(WhatsappText(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An approved template's name as Meta keeps it: lower-case letters, digits and underscores, at
/// most 512 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateName(String);

impl TemplateName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let ok = (1..=512).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !ok {
            return Err(
                "must be 1 to 512 lower-case letters, digits and underscores (the template's name)"
                    .into(),
            );
        }
        Ok(TemplateName(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A template language code as Meta names them: `en`, `en_US`, `pt_BR`, `fil`, `zh_HK`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LanguageCode(String);

impl LanguageCode {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let (lang, region) = match raw.split_once('_') {
            Some((l, r)) => (l, Some(r)),
            None => (raw, None),
        };
        let lang_ok = (2..=3).contains(&lang.len()) && lang.bytes().all(|b| b.is_ascii_lowercase());
        let region_ok = region.is_none_or(|r| {
            (2..=4).contains(&r.len()) && r.bytes().all(|b| b.is_ascii_alphabetic())
        });
        if !(lang_ok && region_ok) {
            return Err("must be a language code like en or en_US".into());
        }
        Ok(LanguageCode(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_bodies_are_bounded() {
        assert!(WhatsappText::parse("hello").is_ok());
        assert!(WhatsappText::parse(&"é".repeat(4096)).is_ok());
        for bad in ["", "   ", "a\0b", &"x".repeat(4097)] {
            assert!(WhatsappText::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn template_names_and_languages_follow_metas_forms() {
        assert!(TemplateName::parse("order_update_2").is_ok());
        for bad in ["", "Order", "order update", "order-update", "../x"] {
            assert!(TemplateName::parse(bad).is_err(), "{bad:?}");
        }
        for ok in ["en", "en_US", "pt_BR", "fil", "zh_HK"] {
            assert!(LanguageCode::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "EN", "english", "en-US", "en_", "e"] {
            assert!(LanguageCode::parse(bad).is_err(), "{bad:?}");
        }
    }
}
