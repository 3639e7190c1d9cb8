//! Reading a column out of either backend's row, and the JSON text columns. Both schemas name
//! and type their columns alike (TEXT, 64-bit integers, a boolean where the record has one,
//! bytes), so one reading serves both. Below `rows` (records) and `sealing` (sealed columns),
//! which both use it.

use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Postgres, Row, Sqlite};

use crate::StoreError;

/// A column value both backends can decode.
pub(crate) trait Value:
    for<'r> sqlx::Decode<'r, Sqlite>
    + sqlx::Type<Sqlite>
    + for<'r> sqlx::Decode<'r, Postgres>
    + sqlx::Type<Postgres>
{
}

impl<T> Value for T where
    T: for<'r> sqlx::Decode<'r, Sqlite>
        + sqlx::Type<Sqlite>
        + for<'r> sqlx::Decode<'r, Postgres>
        + sqlx::Type<Postgres>
{
}

/// A row of either backend, read by column name.
pub(crate) trait Columns {
    fn col<T: Value>(&self, name: &str) -> Result<T, StoreError>;
}

impl Columns for SqliteRow {
    fn col<T: Value>(&self, name: &str) -> Result<T, StoreError> {
        Ok(self.try_get(name)?)
    }
}

impl Columns for PgRow {
    fn col<T: Value>(&self, name: &str) -> Result<T, StoreError> {
        Ok(self.try_get(name)?)
    }
}

pub(crate) fn json_req<T: serde::de::DeserializeOwned>(
    row: &impl Columns,
    column: &str,
) -> Result<T, StoreError> {
    let raw: String = row.col(column)?;
    Ok(serde_json::from_str(&raw)?)
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    Ok(serde_json::to_string(value)?)
}

pub(crate) fn to_json_opt<T: serde::Serialize>(
    value: &Option<T>,
) -> Result<Option<String>, StoreError> {
    value.as_ref().map(to_json).transpose()
}
