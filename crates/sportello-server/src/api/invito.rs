//! `POST|DELETE /richiesta/{_id}/invito`: the person's own page, where they complete the draft,
//! upload their documents, accept the mandate and follow the practice.

use axum::extract::{Path, State};
use axum::response::Response;

use super::ok;
use crate::auth::ClientCaller;
use crate::error::ApiResult;
use crate::extract::JsonBody;
use crate::service::{body, invitations};
use crate::state::AppState;
use crate::wire::Richiesta;

/// Invites the person to their own page.
///
/// On a draft, `{"email": "…", "consegna": "email" | "link", "messaggio": "…", "scadenza_giorni":
/// 7, "risultato_visibile": false}`. With `consegna: "email"` Sportello mails the person an
/// Italian message (naming the client and the service, nothing else) holding a single-use link;
/// with `"link"` this answer carries `invito.url` once, for the client to deliver through its
/// own channel. Either way the person proves the link is theirs with a 6-digit code sent to
/// `email`. On the page they read who asks and why (the assigned provider and its privacy
/// notice), fill the fields left empty, upload files and documents, accept or sign the mandate,
/// and submit the draft as `PUT … state: 1` would (the client's wallet pays). The link opens the
/// page until `scadenza_giorni` (1 to 90, default 7) have passed, and once submitted until
/// `invito_giorni_dopo_chiusura` days after the close; the result is offered there only with
/// `risultato_visibile`. A new invitation revokes the previous one. Events:
/// `request.invitation_opened` (the first code entered), `request.invitation_completed`
/// (submitted from the page). 409/923 once submitted; 409/925 when the server has no e-mail.
#[utoipa::path(post, path = "/richiesta/{id}/invito", tag = "richieste",
    params(("id" = String, Path, description = "The request's `_id`")),
    request_body(content = Object, description = "email, consegna, messaggio, scadenza_giorni, risultato_visibile"),
    responses(
        (status = 200, description = "The request, with `invito` (and, for `consegna: \"link\"`, `invito.url`)", body = inline(crate::envelope::Envelope<Richiesta>)),
        (status = 400, description = "Invalid id (201); an invalid member (915)", body = crate::envelope::ErrorEnvelope),
        (status = 404, description = "no such request (202)", body = crate::envelope::ErrorEnvelope),
        (status = 409, description = "not a draft (923); no e-mail configured (925)", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([201, 202, 913, 915, 917, 923, 925]))),
    security(("bearer" = [])))]
pub async fn invite(
    State(state): State<AppState>,
    caller: ClientCaller,
    Path(id): Path<String>,
    JsonBody(members, _): JsonBody<body::Invite>,
) -> ApiResult<Response> {
    let parsed = body::parse_invite(&members)?;
    Ok(ok(invitations::invite(&state, &caller, &id, parsed).await?))
}

/// Revokes the invitation.
///
/// The link stops working at once (its page says it is no longer valid); `invito.stato` becomes
/// `revocato`. 409/924 when there is no current invitation.
#[utoipa::path(delete, path = "/richiesta/{id}/invito", tag = "richieste",
    params(("id" = String, Path, description = "The request's `_id`")),
    responses(
        (status = 200, description = "The request, its invitation revoked", body = inline(crate::envelope::Envelope<Richiesta>)),
        (status = 400, description = "Invalid id (201)", body = crate::envelope::ErrorEnvelope),
        (status = 404, description = "no such request (202)", body = crate::envelope::ErrorEnvelope),
        (status = 409, description = "no current invitation (924)", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([201, 202, 913, 924]))),
    security(("bearer" = [])))]
pub async fn revoke(
    State(state): State<AppState>,
    caller: ClientCaller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    Ok(ok(invitations::revoke(&state, &caller, &id).await?))
}
