//! Security headers on every answer. The API serves JSON and files, never pages, so its policy
//! forbids everything; the Swagger UI under `/docs` gets only what it needs from our own origin.

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

const API_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";
/// The back office: our own style sheet and forms posting to ourselves; no script at all.
const BACKOFFICE_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
const DOCS_POLICY: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'";

pub async fn secure(req: Request, next: Next) -> Response {
    let docs = req.uri().path().starts_with("/docs");
    // The person's pages follow the back office's policy: our style sheet, forms to ourselves.
    let backoffice =
        req.uri().path().starts_with("/backoffice") || req.uri().path().starts_with("/compila");
    let mut response = next.run(req).await;
    let h = response.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(if docs {
            DOCS_POLICY
        } else if backoffice {
            BACKOFFICE_POLICY
        } else {
            API_POLICY
        }),
    );
    if !docs {
        // Answers carry personal data: no shared cache may keep them.
        h.entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-store"));
    }
    response
}
