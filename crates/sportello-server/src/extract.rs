//! Our own extractors, so malformed input is answered in our envelope with our codes and never
//! with axum's plain-text rejections.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use std::marker::PhantomData;

use crate::body::members::{self, Members, ParseError, Shape};
pub use crate::body::JsonShape;
use crate::body::{self as request_body, ReadError};
use crate::error::ApiError;
use crate::state::AppState;

/// A JSON body read as the route's [`JsonShape`] says, whatever the `Content-Type` says: the
/// official PHP SDK posts JSON labelled as a form, the Node SDK labels it not at all. An empty
/// body is an empty object.
pub struct JsonBody<S>(pub Members, pub PhantomData<fn() -> S>);

impl<S: JsonShape> FromRequest<AppState> for JsonBody<S> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let bytes = read_body(req, S::LIMIT.bytes(&state.limits)).await?;
        let members = parse::<S>(&bytes, state.limits.max_json_depth)?;
        Ok(JsonBody(members, PhantomData))
    }
}

/// A JSON body as [`JsonBody`] reads it, with the SHA-256 of its bytes, for idempotency.
pub struct RawJson<S> {
    pub members: Members,
    pub sha256: String,
    shape: PhantomData<fn() -> S>,
}

impl<S: JsonShape> FromRequest<AppState> for RawJson<S> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let bytes = read_body(req, S::LIMIT.bytes(&state.limits)).await?;
        let members = parse::<S>(&bytes, state.limits.max_json_depth)?;
        Ok(RawJson {
            members,
            sha256: sportello_store::ids::sha256_hex(&bytes),
            shape: PhantomData,
        })
    }
}

async fn read_body(req: Request, limit: usize) -> Result<Vec<u8>, ApiError> {
    let (parts, body) = req.into_parts();
    request_body::read(&parts.headers, body, limit)
        .await
        .map_err(|e| match e {
            ReadError::TooLarge => ApiError::too_large(limit),
            ReadError::Broken => ApiError::malformed("the request body could not be read"),
        })
}

fn parse<S: Shape>(bytes: &[u8], max_depth: usize) -> Result<Members, ApiError> {
    members::parse::<S>(bytes, max_depth).map_err(|e| match e {
        ParseError::TooDeep => ApiError::malformed(format!(
            "the body nests arrays and objects deeper than {max_depth} levels"
        )),
        // Only the position is reported: the parser's own message may quote the input, which
        // can be personal data.
        ParseError::Syntax { line, column } => ApiError::malformed(format!(
            "the body is not valid JSON (line {line}, column {column})"
        )),
        ParseError::TooManyEntries(name) => ApiError::invalid_member(
            &name,
            "too_many_entries",
            &format!("{name} has more than {} entries", members::MAX_ENTRIES),
        ),
    })
}

/// Query parameters, rejected in our envelope.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        let raw = parts.uri.query().unwrap_or("");
        serde_urlencoded_like(raw).map(Query)
    }
}

fn serde_urlencoded_like<T: DeserializeOwned>(raw: &str) -> Result<T, ApiError> {
    axum::extract::Query::<T>::try_from_uri(
        &format!("/?{raw}")
            .parse()
            .map_err(|_| ApiError::bad_query("the query string is not valid"))?,
    )
    .map(|q| q.0)
    .map_err(|e| ApiError::bad_query(format!("invalid query parameters: {}", e.body_text())))
}
