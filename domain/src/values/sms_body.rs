/// The body of an SMS, with the encoding a carrier will use for it and the number of segments it
/// takes: GSM-7 (160 characters, or 153 per segment when concatenated; extension characters count
/// twice) or UCS-2 (70 UTF-16 code units, or 67 per segment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsBody {
    text: String,
    encoding: SmsEncoding,
    segments: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsEncoding {
    Gsm7,
    Ucs2,
}

impl SmsEncoding {
    pub fn as_str(self) -> &'static str {
        match self {
            SmsEncoding::Gsm7 => "GSM7",
            SmsEncoding::Ucs2 => "UCS2",
        }
    }
}

const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM7_EXTENSION: &str = "^{}\\[~]|€\u{000C}";

pub const MAX_SMS_CHARS: usize = 1600;

impl SmsBody {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let chars = raw.chars().count();
        if chars == 0 || raw.trim().is_empty() {
            return Err("must not be empty".into());
        }
        if chars > MAX_SMS_CHARS {
            return Err(format!("must be at most {MAX_SMS_CHARS} characters"));
        }
        let mut septets = 0usize;
        let mut gsm = true;
        for c in raw.chars() {
            if GSM7_BASIC.contains(c) {
                septets += 1;
            } else if GSM7_EXTENSION.contains(c) {
                septets += 2;
            } else {
                gsm = false;
                break;
            }
        }
        let (encoding, units, single, multi) = if gsm {
            (SmsEncoding::Gsm7, septets, 160, 153)
        } else {
            (SmsEncoding::Ucs2, raw.encode_utf16().count(), 70, 67)
        };
        let segments = if units <= single {
            1
        } else {
            units.div_ceil(multi)
        };
        Ok(SmsBody {
            text: raw.to_owned(),
            encoding,
            segments: segments as u32,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn encoding(&self) -> SmsEncoding {
        self.encoding
    }

    pub fn segments(&self) -> u32 {
        self.segments
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_gsm7_and_counts_segments() {
        let b = SmsBody::parse(&"a".repeat(160)).unwrap();
        assert_eq!((b.encoding(), b.segments()), (SmsEncoding::Gsm7, 1));
        let b = SmsBody::parse(&"a".repeat(161)).unwrap();
        assert_eq!(b.segments(), 2);
        let b = SmsBody::parse(&"a".repeat(306)).unwrap();
        assert_eq!(b.segments(), 2);
        let b = SmsBody::parse(&"a".repeat(307)).unwrap();
        assert_eq!(b.segments(), 3);
    }

    #[test]
    fn extension_characters_count_twice() {
        let b = SmsBody::parse(&"€".repeat(80)).unwrap();
        assert_eq!((b.encoding(), b.segments()), (SmsEncoding::Gsm7, 1));
        let b = SmsBody::parse(&"€".repeat(81)).unwrap();
        assert_eq!(b.segments(), 2);
    }

    #[test]
    fn other_characters_switch_to_ucs2() {
        let b = SmsBody::parse("Your code is 1234 ✅").unwrap();
        assert_eq!((b.encoding(), b.segments()), (SmsEncoding::Ucs2, 1));
        let b = SmsBody::parse(&"ж".repeat(71)).unwrap();
        assert_eq!(b.segments(), 2);
        // An emoji takes two UTF-16 code units.
        let b = SmsBody::parse(&"😀".repeat(35)).unwrap();
        assert_eq!(b.segments(), 1);
        let b = SmsBody::parse(&"😀".repeat(36)).unwrap();
        assert_eq!(b.segments(), 2);
    }

    #[test]
    fn empty_and_overlong_bodies_are_refused() {
        assert!(SmsBody::parse("").is_err());
        assert!(SmsBody::parse("   ").is_err());
        assert!(SmsBody::parse(&"a".repeat(1601)).is_err());
        assert!(SmsBody::parse(&"a".repeat(1600)).is_ok());
    }
}
