//! The integration tests of `sportello-server`, linked into one binary: each file is a module.
//! One binary instead of one per file keeps CI's link time and disk use small.

mod abuse;
mod api_reference;
mod audit;
mod auth;
mod authorization;
mod backoffice;
mod backoffice_admin;
mod backoffice_auth;
mod billing;
mod bodies;
mod checklist;
mod client_api;
mod client_api_flows;
mod common;
mod documents;
mod fascicolo;
mod field_types;
mod form_schema;
mod form_tool;
mod group_commit;
mod limits;
mod mandate;
mod metrics;
mod operator_api;
mod outbox;
mod parties;
mod privacy;
mod proxy;
mod readiness;
mod retention;
mod sandbox;
mod seed_flows;
mod sla;
mod snapshots;
mod supporting_documents;
