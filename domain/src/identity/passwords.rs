use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::{Engine, engine::general_purpose::STANDARD_NO_PAD as PHC_B64};

pub const MIN_PASSWORD_CHARS: usize = 10;

/// How long a request waits for a hashing slot before it is answered 503 with `Retry-After`.
const HASH_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Argon2id with the library's default cost (19 MiB, two passes, one lane).
const M_COST: u32 = Params::DEFAULT_M_COST;
const T_COST: u32 = Params::DEFAULT_T_COST;
const P_COST: u32 = Params::DEFAULT_P_COST;
/// The largest memory cost a stored hash may ask of a verification (64 MiB).
const MAX_M_COST: u32 = 64 * 1024;

thread_local! {
    /// Each thread's argon2 working memory, allocated once and reused: allocating 19 MiB aligned
    /// afresh for every hash fragments the allocator's heap, and resident memory grew by about
    /// 19 MiB a hash until it held some 400 MiB.
    static BLOCKS: std::cell::RefCell<Vec<Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn argon2id(password: &[u8], salt: &[u8], params: Params, out: &mut [u8]) -> anyhow::Result<()> {
    let need = params.block_count();
    BLOCKS.with(|blocks| {
        let mut blocks = blocks.borrow_mut();
        if blocks.len() < need {
            blocks.resize(need, Block::new());
        }
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into_with_memory(password, salt, out, &mut blocks[..need])
            .map_err(|e| anyhow::anyhow!("argon2: {e}"))
    })
}

/// Hashes a password with argon2id and a random salt, in PHC string form
/// (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`).
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt: [u8; 16] = crate::crypto::random_token_bytes();
    let params = Params::new(M_COST, T_COST, P_COST, Some(32))
        .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
    let mut out = [0u8; 32];
    argon2id(password.as_bytes(), &salt, params, &mut out)?;
    Ok(format!(
        "$argon2id$v=19$m={M_COST},t={T_COST},p={P_COST}${}${}",
        PHC_B64.encode(salt),
        PHC_B64.encode(out)
    ))
}

/// A stored argon2id hash, read from its PHC string.
struct Stored {
    params: Params,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

fn parse_phc(phc: &str) -> Option<Stored> {
    let mut parts = phc.split('$');
    let ("", "argon2id", "v=19") = (parts.next()?, parts.next()?, parts.next()?) else {
        return None;
    };
    let (mut m, mut t, mut p) = (None, None, None);
    for pair in parts.next()?.split(',') {
        let (k, v) = pair.split_once('=')?;
        let v: u32 = v.parse().ok()?;
        match k {
            "m" => m = Some(v),
            "t" => t = Some(v),
            "p" => p = Some(v),
            _ => return None,
        }
    }
    let salt = PHC_B64.decode(parts.next()?).ok()?;
    let hash = PHC_B64.decode(parts.next()?).ok()?;
    if parts.next().is_some() || !(4..=64).contains(&hash.len()) {
        return None;
    }
    let (m, t, p) = (m?, t?, p?);
    if m > MAX_M_COST || t > 10 || p > 4 {
        return None;
    }
    let params = Params::new(m, t, p, Some(hash.len())).ok()?;
    Some(Stored { params, salt, hash })
}

/// Whether `password` is the one `phc` was made from (compared in constant time).
pub fn verify_password(password: &str, phc: &str) -> bool {
    let Some(stored) = parse_phc(phc) else {
        return false;
    };
    let mut out = vec![0u8; stored.hash.len()];
    argon2id(password.as_bytes(), &stored.salt, stored.params, &mut out).is_ok()
        && crate::crypto::constant_time_eq(&out, &stored.hash)
}

/// Each argon2 hash holds 19 MiB for tens of milliseconds of CPU: at most one per CPU runs at a
/// time, on threads of their own (each with its working memory, see `BLOCKS`), never on the async
/// runtime's. Without this bound, 400 concurrent signups took the process to 1.4 GB resident.
struct Hashers {
    slots: tokio::sync::Semaphore,
    work: std::sync::mpsc::Sender<Box<dyn FnOnce() + Send>>,
}

fn hashers() -> &'static Hashers {
    static HASHERS: std::sync::OnceLock<Hashers> = std::sync::OnceLock::new();
    HASHERS.get_or_init(|| {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let (work, queue) = std::sync::mpsc::channel::<Box<dyn FnOnce() + Send>>();
        let queue = std::sync::Arc::new(parking_lot::Mutex::new(queue));
        for i in 0..threads {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("password-{i}"))
                .spawn(move || {
                    loop {
                        let next = queue.lock().recv();
                        match next {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                })
                .expect("password threads start");
        }
        Hashers {
            slots: tokio::sync::Semaphore::new(threads),
            work,
        }
    })
}

/// Runs password work (hashing or verifying) in a bounded slot on the password threads.
async fn bounded<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> crate::Result<T> {
    let hashers = hashers();
    let _permit = tokio::time::timeout(HASH_WAIT, hashers.slots.acquire())
        .await
        .map_err(|_| crate::Error::Busy {
            message: "too many password checks at once; try again shortly".into(),
            retry_after_secs: 1,
        })?
        .map_err(|e| anyhow::anyhow!("password slots: {e}"))?;
    let (done, result) = tokio::sync::oneshot::channel();
    hashers
        .work
        .send(Box::new(move || {
            let _ = done.send(work());
        }))
        .map_err(|_| anyhow::anyhow!("the password threads stopped"))?;
    Ok(result
        .await
        .map_err(|_| anyhow::anyhow!("a password thread dropped its work"))?)
}

/// Hashes a password in a bounded slot (see `Hashers`).
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
    fn hashes_are_standard_phc_strings_both_ways() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
        let ours = hash_password("correct horse battery").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse battery", &parsed)
                .is_ok()
        );
        let theirs = Argon2::default()
            .hash_password(b"correct horse battery")
            .unwrap()
            .to_string();
        assert!(verify_password("correct horse battery", &theirs));
        assert!(!verify_password("correct horse batterx", &theirs));
        assert!(!verify_password(
            "x",
            "$argon2id$v=19$m=9999999,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"
        ));
    }

    #[test]
    fn passwords_verify_against_their_argon2id_hash_only() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("wrong horse battery", &h));
        assert!(!verify_password("anything", "not a hash"));
    }
}
