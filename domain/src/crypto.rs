//! Secrets at rest, key hashing, signatures and random tokens.

use aes_gcm::{
    Aes256Gcm,
    aead::{Aead, KeyInit, Payload},
};
use base64::{
    Engine,
    engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL},
};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// AES-256-GCM for secrets kept in the database (DKIM keys, provider tokens, webhook secrets).
///
/// The stored form is `v2:<key id>:<base64 nonce ‖ ciphertext>`: a random 96-bit nonce per value and
/// the id of the key that sealed it, so that a new key can be introduced while old values still open.
/// Every value is bound to the row it belongs to (associated data such as
/// `webhook_endpoints:secret:<id>`), so a sealed value copied into another row does not open. The
/// earlier unbound form `v1:…` opens only through [`SecretBox::open_unbound`], which the start-up
/// re-sealing uses.
#[derive(Clone)]
pub struct SecretBox {
    current: (String, Aes256Gcm),
    previous: Vec<(String, Aes256Gcm)>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OpenError {
    #[error("the sealed value is malformed")]
    Malformed,
    #[error("no key with id {0:?} is configured")]
    UnknownKey(String),
    #[error("the sealed value does not authenticate")]
    Tampered,
}

fn cipher_from_base64(key: &str) -> Result<Aes256Gcm, String> {
    let bytes = B64
        .decode(key.trim())
        .map_err(|_| "expected 32 bytes in base64".to_string())?;
    if bytes.len() != 32 {
        return Err(format!(
            "expected 32 bytes in base64, got {} bytes",
            bytes.len()
        ));
    }
    Aes256Gcm::new_from_slice(&bytes).map_err(|_| "expected 32 bytes in base64".to_string())
}

fn valid_key_id(id: &str) -> Result<(), String> {
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!("key id {id:?} must be letters, digits, - or _"));
    }
    Ok(())
}

impl SecretBox {
    pub fn new(key_id: &str, key_base64: &str) -> Result<Self, String> {
        valid_key_id(key_id)?;
        Ok(Self {
            current: (key_id.to_owned(), cipher_from_base64(key_base64)?),
            previous: Vec::new(),
        })
    }

    /// Adds a retired key that may still open values sealed before a rotation.
    pub fn with_previous_key(mut self, key_id: &str, key_base64: &str) -> Result<Self, String> {
        valid_key_id(key_id)?;
        self.previous
            .push((key_id.to_owned(), cipher_from_base64(key_base64)?));
        Ok(self)
    }

    /// Seals `plaintext` bound to `aad` (the row it is stored in).
    pub fn seal(&self, plaintext: &[u8], aad: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let (id, cipher) = &self.current;
        let payload = Payload {
            msg: plaintext,
            aad: aad.as_bytes(),
        };
        let ciphertext = cipher
            .encrypt(&nonce.into(), payload)
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ciphertext);
        format!("v2:{id}:{}", B64.encode(out))
    }

    /// Opens a value sealed by [`SecretBox::seal`] for the same `aad`.
    pub fn open(&self, sealed: &str, aad: &str) -> Result<Vec<u8>, OpenError> {
        self.open_as("v2", sealed, aad.as_bytes())
    }

    /// Opens a value of the earlier, unbound form (`v1:`), to re-seal it bound to its row.
    pub fn open_unbound(&self, sealed: &str) -> Result<Vec<u8>, OpenError> {
        self.open_as("v1", sealed, b"")
    }

    fn open_as(&self, version: &str, sealed: &str, aad: &[u8]) -> Result<Vec<u8>, OpenError> {
        let mut parts = sealed.splitn(3, ':');
        let (Some(v), Some(id), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(OpenError::Malformed);
        };
        if v != version {
            return Err(OpenError::Malformed);
        }
        let cipher = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|(k, _)| k == id)
            .map(|(_, c)| c)
            .ok_or_else(|| OpenError::UnknownKey(id.to_owned()))?;
        let raw = B64.decode(body).map_err(|_| OpenError::Malformed)?;
        if raw.len() < 12 + 16 {
            return Err(OpenError::Malformed);
        }
        let (nonce, ciphertext) = raw.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| OpenError::Malformed)?;
        cipher
            .decrypt(
                &nonce.into(),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .map_err(|_| OpenError::Tampered)
    }

    /// How every value sealed now begins (`v2:<current key id>:`); a stored value that does not
    /// begin so needs re-sealing.
    pub fn current_prefix(&self) -> String {
        format!("v2:{}:", self.current.0)
    }

    /// Whether a value was sealed with a key other than the current one (and so should be re-sealed).
    pub fn needs_reseal(&self, sealed: &str) -> bool {
        sealed.split(':').nth(1) != Some(self.current.0.as_str())
    }
}

pub fn sha256(data: &[u8]) -> Vec<u8> {
    Sha256::digest(data).to_vec()
}

/// Compares two byte strings in constant time (for tokens, signatures and key hashes).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

pub fn random_token_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    rand::rng().fill_bytes(&mut b);
    b
}

/// A URL-safe random token of `N` bytes of entropy.
pub fn random_token<const N: usize>() -> String {
    B64URL.encode(random_token_bytes::<N>())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sb(id: &str, byte: u8) -> SecretBox {
        SecretBox::new(id, &B64.encode([byte; 32])).unwrap()
    }

    #[test]
    fn sealed_values_open_and_use_a_fresh_nonce_each_time() {
        let b = sb("k1", 1);
        let a1 = b.seal(b"whatsapp-token", "t:c:1");
        let a2 = b.seal(b"whatsapp-token", "t:c:1");
        assert_ne!(a1, a2);
        assert!(a1.starts_with("v2:k1:"));
        assert_eq!(b.open(&a1, "t:c:1").unwrap(), b"whatsapp-token");
        assert_eq!(b.open(&a2, "t:c:1").unwrap(), b"whatsapp-token");
    }

    #[test]
    fn a_value_moved_to_another_row_does_not_open() {
        let b = sb("k1", 1);
        let sealed = b.seal(b"whsec_x", "webhook_endpoints:secret:a");
        assert_eq!(
            b.open(&sealed, "webhook_endpoints:secret:b"),
            Err(OpenError::Tampered)
        );
        assert_eq!(b.open_unbound(&sealed), Err(OpenError::Malformed));
    }

    #[test]
    fn a_tampered_value_does_not_open() {
        let b = sb("k1", 1);
        let sealed = b.seal(b"secret", "r");
        let mut raw = B64.decode(sealed.rsplit(':').next().unwrap()).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        let forged = format!("v2:k1:{}", B64.encode(raw));
        assert_eq!(b.open(&forged, "r"), Err(OpenError::Tampered));
        assert_eq!(b.open("nonsense", "r"), Err(OpenError::Malformed));
    }

    #[test]
    fn rotation_keeps_old_values_readable() {
        let old = sb("k1", 1);
        let sealed = old.seal(b"dkim-private-key", "r");
        let rotated = sb("k2", 2)
            .with_previous_key("k1", &B64.encode([1u8; 32]))
            .unwrap();
        assert_eq!(rotated.open(&sealed, "r").unwrap(), b"dkim-private-key");
        assert!(rotated.needs_reseal(&sealed));
        assert!(!rotated.needs_reseal(&rotated.seal(b"x", "r")));
        assert!(
            rotated
                .seal(b"x", "r")
                .starts_with(&rotated.current_prefix())
        );
        assert!(!sealed.starts_with(&rotated.current_prefix()));
        assert_eq!(
            sb("k3", 3).open(&sealed, "r"),
            Err(OpenError::UnknownKey("k1".into()))
        );
    }

    #[test]
    fn a_key_of_the_wrong_length_is_refused() {
        assert!(SecretBox::new("k1", &B64.encode([0u8; 16])).is_err());
        assert!(SecretBox::new("bad id", &B64.encode([0u8; 32])).is_err());
    }

    #[test]
    fn constant_time_eq_compares_contents_and_lengths() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
