use std::fmt;

/// What an API key may do on `/v1/public/*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    SendEmail,
    ReadEmail,
    SendSms,
    ReadSms,
    SendWhatsapp,
    ReadWhatsapp,
}

impl Scope {
    pub const ALL: [Scope; 6] = [
        Scope::SendEmail,
        Scope::ReadEmail,
        Scope::SendSms,
        Scope::ReadSms,
        Scope::SendWhatsapp,
        Scope::ReadWhatsapp,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::SendEmail => "send:email",
            Scope::ReadEmail => "read:email",
            Scope::SendSms => "send:sms",
            Scope::ReadSms => "read:sms",
            Scope::SendWhatsapp => "send:whatsapp",
            Scope::ReadWhatsapp => "read:whatsapp",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        Scope::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| {
                let all: Vec<_> = Scope::ALL.iter().map(|s| s.as_str()).collect();
                format!("unknown scope {raw:?}; expected one of {}", all.join(", "))
            })
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A non-empty, de-duplicated, ordered set of scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scopes(Vec<Scope>);

impl Scopes {
    pub fn parse(raw: &[String]) -> Result<Self, String> {
        if raw.is_empty() {
            return Err("at least one scope is required".into());
        }
        let mut v = raw
            .iter()
            .map(|s| Scope::parse(s))
            .collect::<Result<Vec<_>, _>>()?;
        v.sort();
        v.dedup();
        Ok(Scopes(v))
    }

    /// Scopes read back from the database, where only valid ones were ever written.
    pub fn from_stored(raw: &[String]) -> Self {
        Scopes(raw.iter().filter_map(|s| Scope::parse(s).ok()).collect())
    }

    pub fn contains(&self, s: Scope) -> bool {
        self.0.contains(&s)
    }

    pub fn to_strings(&self) -> Vec<String> {
        self.0.iter().map(|s| s.as_str().to_owned()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_dedupe_and_refuse_unknown_ones() {
        let s = Scopes::parse(&["read:sms".into(), "send:sms".into(), "send:sms".into()]).unwrap();
        assert_eq!(s.to_strings(), vec!["send:sms", "read:sms"]);
        assert!(Scopes::parse(&["send:fax".into()]).is_err());
        assert!(Scopes::parse(&[]).is_err());
    }
}
