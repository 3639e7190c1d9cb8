//! Installation secrets, kept wrapped by the master key in the `secrets` table.

use sqlx::PgPool;

use crate::crypto::{DataKey, Keyring};
use crate::rows::wrapped_from;
use crate::StoreError;

/// An installation secret, created on first use and kept wrapped by the master key, so it
/// rotates with the data keys and is never in the clear on disk.
pub(super) async fn load_or_create_secret(
    pool: &PgPool,
    keyring: &Keyring,
    name: &str,
) -> Result<DataKey, StoreError> {
    let context = format!("secret:{name}");
    let fresh = DataKey::generate();
    let wrapped = keyring.wrap(&fresh, &context);
    // Two processes starting at once: the first insert wins and both read it back.
    sqlx::query(
        "INSERT INTO secrets (name, key_id, wrapped) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(name)
    .bind(&wrapped.key_id)
    .bind(&wrapped.bytes)
    .execute(pool)
    .await?;
    let row = sqlx::query("SELECT key_id, wrapped FROM secrets WHERE name = $1")
        .bind(name)
        .fetch_one(pool)
        .await?;
    Ok(keyring.unwrap(&wrapped_from(&row)?, &context)?)
}
