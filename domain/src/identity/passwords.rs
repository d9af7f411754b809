use argon2::{
    Argon2,
    password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash},
};

pub const MIN_PASSWORD_CHARS: usize = 10;

/// How long a request waits for a hashing slot before it is answered 503 with `Retry-After`.
const HASH_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Each argon2 hash holds 19 MiB for tens of milliseconds of CPU: at most one per CPU runs at a
/// time, on the blocking pool, never on the async runtime's threads. Without this bound, 400
/// concurrent signups took the process to 1.4 GB resident.
fn hashing_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| {
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        tokio::sync::Semaphore::new(cpus)
    })
}

/// Runs password work (hashing or verifying) in a bounded slot on the blocking pool.
async fn bounded<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> crate::Result<T> {
    let permit = tokio::time::timeout(HASH_WAIT, hashing_slots().acquire())
        .await
        .map_err(|_| crate::Error::Busy {
            message: "too many password checks at once; try again shortly".into(),
            retry_after_secs: 1,
        })?
        .map_err(|e| anyhow::anyhow!("hashing slots: {e}"))?;
    let out = tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| anyhow::anyhow!("password work: {e}"))?;
    drop(permit);
    Ok(out)
}

/// Hashes a password in a bounded slot (see `hashing_slots`).
pub async fn hash_bounded(password: &str) -> crate::Result<String> {
    let password = password.to_owned();
    Ok(bounded(move || hash_password(&password)).await??)
}

/// Verifies a password against a PHC hash in a bounded slot; `None` checks a decoy hash, so that
/// an unknown account takes as long as a wrong password.
pub async fn verify_bounded(password: &str, phc: Option<String>) -> crate::Result<bool> {
    let password = password.to_owned();
    bounded(move || match phc {
        Some(h) => verify_password(&password, &h),
        None => {
            verify_password(&password, decoy_hash());
            false
        }
    })
    .await
}

/// Hashes a password with argon2id and a random salt (PHC string form).
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash that verifies nothing, checked when the account does not exist so that an unknown user
/// and a wrong password take the same time.
pub(crate) fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password that nobody has").expect("hash"))
}

pub(crate) fn check_new_password(field: &str, password: &str) -> Result<(), crate::FieldError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(crate::FieldError::new(
            field,
            format!("must be at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if password.len() > 1024 {
        return Err(crate::FieldError::new(field, "must be at most 1024 bytes"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_against_their_argon2id_hash_only() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("wrong horse battery", &h));
        assert!(!verify_password("anything", "not a hash"));
    }
}
