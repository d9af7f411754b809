//! Every column that holds sealed secrets, and their re-sealing at start-up: values of the earlier
//! unbound form (`v1:`) and values under a retired key are sealed again with the current key, bound
//! to their rows. A key rotation is: add the new key, keep the old one in `SECRETS_PREVIOUS_KEYS`,
//! start once; every value is then under the new key.

use sqlx::PgPool;
use uuid::Uuid;

use crate::{Config, Result};

/// A column of sealed values, each bound to its row by `aad(id)`.
struct SealedColumn {
    table: &'static str,
    column: &'static str,
    aad: fn(Uuid) -> String,
}

const COLUMNS: [SealedColumn; 4] = [
    SealedColumn {
        table: "webhook_endpoints",
        column: "secret",
        aad: crate::webhooks::secret_aad,
    },
    SealedColumn {
        table: "webhook_endpoints",
        column: "previous_secret",
        aad: crate::webhooks::secret_aad,
    },
    SealedColumn {
        table: "email_domains",
        column: "dkim_private_key",
        aad: crate::email::domains::key_aad,
    },
    SealedColumn {
        table: "organizations",
        column: "whatsapp_access_token",
        aad: crate::whatsapp::lines::token_aad,
    },
];

/// Re-seals what needs it in every sealed column, in batches; returns how many values changed.
/// Only rows whose values do not already begin with the current form are read, so a start with
/// nothing to do reads nothing.
pub async fn reseal_all(pool: &PgPool, config: &Config) -> Result<u64> {
    let mut done = 0;
    for c in &COLUMNS {
        done += reseal(pool, config, c).await?;
    }
    Ok(done)
}

async fn reseal(pool: &PgPool, config: &Config, c: &SealedColumn) -> Result<u64> {
    let boxed = &config.secrets;
    let current = boxed.current_prefix();
    let (table, column) = (c.table, c.column);
    let mut done = 0;
    let mut after = Uuid::nil();
    loop {
        let rows: Vec<(Uuid, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT id, {column} FROM {table}
             WHERE id > $1 AND {column} IS NOT NULL AND left({column}, length($2)) <> $2
             ORDER BY id LIMIT 500"
        )))
        .bind(after)
        .bind(&current)
        .fetch_all(pool)
        .await?;
        let Some(last) = rows.last() else {
            return Ok(done);
        };
        after = last.0;
        for (id, sealed) in rows {
            let aad = (c.aad)(id);
            let plain = match boxed.open(&sealed, &aad) {
                Ok(_) if !boxed.needs_reseal(&sealed) => continue,
                Ok(p) => p,
                Err(_) => boxed
                    .open_unbound(&sealed)
                    .map_err(|e| anyhow::anyhow!("{table} {id}: {column}: {e}"))?,
            };
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE {table} SET {column} = $2 WHERE id = $1 AND {column} = $3"
            )))
            .bind(id)
            .bind(boxed.seal(&plain, &aad))
            .bind(&sealed)
            .execute(pool)
            .await?;
            done += 1;
        }
    }
}
