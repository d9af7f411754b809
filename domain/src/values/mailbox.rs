use std::fmt;

/// An email recipient or sender as a message carries it: `ada@example.com` or
/// `Ada Lovelace <Ada@Example.com>`. The display name is kept; the local part keeps its case (it
/// may matter to the receiving server); the domain is lower-cased. Nothing that could break out of
/// a mail header (CR, LF, other control characters) is accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    name: Option<String>,
    local: String,
    domain: String,
}

const MAX_NAME_CHARS: usize = 200;

fn local_ok(local: &str) -> bool {
    // RFC 5322 dot-atom: atext characters and single dots, not at either end.
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
    !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.chars().all(|c| atext(c) || c == '.')
}

/// Whether `domain` is a domain name (letters, digits and hyphens in dot-separated labels).
pub(crate) fn domain_ok(domain: &str) -> bool {
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    domain.len() <= 253 && domain.contains('.') && domain.split('.').all(label_ok)
}

impl Mailbox {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let s = raw.trim();
        if s.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        let (name, address) = match (s.rfind('<'), s.ends_with('>')) {
            (Some(open), true) => {
                let name = s[..open].trim().trim_matches('"').trim();
                (
                    (!name.is_empty()).then(|| name.to_owned()),
                    &s[open + 1..s.len() - 1],
                )
            }
            _ => (None, s),
        };
        if name
            .as_deref()
            .is_some_and(|n| n.chars().count() > MAX_NAME_CHARS || n.contains(['<', '>']))
        {
            return Err(format!(
                "has a display name over {MAX_NAME_CHARS} characters or with < or >"
            ));
        }
        let Some((local, domain)) = address.trim().rsplit_once('@') else {
            return Err("is not an email address".into());
        };
        if !local_ok(local) || !domain_ok(domain) || address.len() > 254 {
            return Err("is not an email address".into());
        }
        Ok(Mailbox {
            name,
            local: local.to_owned(),
            domain: domain.to_ascii_lowercase(),
        })
    }

    /// The address alone, `local@domain`.
    pub fn address(&self) -> String {
        format!("{}@{}", self.local, self.domain)
    }

    /// The address as suppressions and searches compare it (case-insensitive).
    pub fn normalized(&self) -> String {
        self.address().to_lowercase()
    }

    pub fn local_part(&self) -> &str {
        &self.local
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }

    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}

impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(n) => write!(f, "{} <{}>", n, self.address()),
            None => f.write_str(&self.address()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_and_the_local_parts_case_are_kept() {
        let m = Mailbox::parse(" \"Ada Lovelace\" <Ada.L@Example.COM> ").unwrap();
        assert_eq!(m.name(), Some("Ada Lovelace"));
        assert_eq!(m.address(), "Ada.L@example.com");
        assert_eq!(m.normalized(), "ada.l@example.com");
        assert_eq!(m.to_string(), "Ada Lovelace <Ada.L@example.com>");
        assert_eq!(
            Mailbox::parse("ops+alerts@acme.io").unwrap().to_string(),
            "ops+alerts@acme.io"
        );
    }

    #[test]
    fn what_could_break_a_header_or_is_not_an_address_is_refused() {
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "ada@@example.com",
            "a..b@example.com",
            ".a@example.com",
            "ada@exa_mple.com",
            "Ada <ada@example.com>\r\nBcc: x@evil.com",
            "Ad<a <ada@example.com>",
            "ada lovelace@example.com",
        ] {
            assert!(Mailbox::parse(bad).is_err(), "{bad:?}");
        }
    }
}
