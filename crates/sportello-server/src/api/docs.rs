//! The OpenAPI 3.1 document, generated from the handlers, served at `/openapi.json`, with
//! Swagger UI (embedded assets) at `/docs`.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use sportello_domain::catalog::Catalog;

use super::{
    admin, admin_conti, admin_outbox, admin_providers, consegne, conto, documento, form_tool,
    fornitori, invito, operator, reference, richiesta, system, visure,
};
use crate::state::Limits;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Sportello",
        description = "Patronato and CAF practices: a client API compatible with Visengine, and the operators' API.",
        license(name = "AGPL-3.0-or-later")
    ),
    paths(
        visure::list, visure::get, visure::schema,
        richiesta::create, richiesta::list, richiesta::get, richiesta::update, richiesta::cancel,
        richiesta::add_search, richiesta::choose_search, richiesta::mandato, richiesta::add_document,
        invito::invite, invito::revoke,
        documento::get, documento::download,
        operator::queue, operator::detail, operator::claim, operator::release,
        operator::ask_integration, operator::attach_result, operator::close, operator::cancel,
        operator::file, operator::counts,
        admin::list, admin::verify, admin::sla_dashboard,
        consegne::list, consegne::replay,
        admin_outbox::list, admin_outbox::replay, admin_outbox::webhook, admin_outbox::set_webhook,
        admin_outbox::rotate_secret,
        conto::quote, conto::conto, conto::estratto,
        admin_conti::wallet, admin_conti::topup, admin_conti::adjustment, admin_conti::statement,
        admin_conti::settlement, admin_conti::verify,
        admin_providers::update, admin_providers::informativa, admin_providers::mandato,
        admin_providers::versioni, admin_providers::informativa_versione,
        admin_providers::mandato_versione,
        fornitori::informativa,
        system::healthz, system::readyz,
        form_tool::script,
        operator::fascicolo, admin::export_subject,
    ),
    components(schemas(crate::envelope::ErrorEnvelope, crate::envelope::Detail, crate::envelope::Credito)),
    modifiers(&BearerAuth),
    tags(
        (name = "catalogo", description = "The services"),
        (name = "richieste", description = "Requests"),
        (name = "documenti", description = "Results"),
        (name = "operatore", description = "Operators of a CAF or Patronato"),
        (name = "consegne", description = "Deliveries of callbacks, webhooks and e-mails"),
        (name = "conto", description = "Prices, the wallet, statements"),
        (name = "admin", description = "Administrators: the audit trail, wallets, statements, the books, deliveries, providers"),
        (name = "sistema", description = "Operations"),
        (name = "modulo", description = "The embeddable form: a script a client's page includes to render a service's form"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI document with each service's form schema added to its components, as
/// `json_visura_<hash_visura>` (the catalog is data, so these are added at start-up), and the
/// examples and error codes of [`reference`].
pub fn document(catalog: &Catalog, limits: &Limits) -> serde_json::Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(serde_json::Value::as_object_mut)
    {
        for service in catalog.services() {
            schemas.insert(
                format!("json_visura_{}", service.hash_visura),
                visure::form_schema(service, limits),
            );
        }
    }
    reference::complete(&mut doc);
    doc
}
