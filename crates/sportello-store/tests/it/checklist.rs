//! Every method of `Store` and the story that drives it. The test below reads the traits from
//! the crate's source and fails when a method has no row here, when a row names a method the
//! trait no longer has, or when the story named does not call the method itself: a new method
//! comes with its story, on both backends.
#![allow(clippy::unwrap_used)]

/// The trait, as the crate declares it.
const TRAIT_SOURCE: &str = include_str!("../../src/lib.rs");

/// The stories' sources, by module.
const STORIES: &[(&str, &str)] = &[
    ("accounts", include_str!("accounts.rs")),
    ("audit", include_str!("audit.rs")),
    ("backoffice", include_str!("backoffice.rs")),
    ("keys", include_str!("keys.rs")),
    ("ledger", include_str!("ledger.rs")),
    ("outbox", include_str!("outbox.rs")),
    ("requests", include_str!("requests.rs")),
    ("retention", include_str!("retention.rs")),
    ("sla", include_str!("sla.rs")),
];

/// Method → `module::story` that calls it and asserts on what it answers.
#[rustfmt::skip]
const COVERAGE: &[(&str, &str)] = &[
    ("setup_lock", "accounts::the_setup_lock_is_held_by_one_process_at_a_time"),
    ("create_client", "accounts::clients_are_kept_as_given_and_listed_oldest_first"),
    ("get_client", "accounts::clients_are_kept_as_given_and_listed_oldest_first"),
    ("list_clients", "accounts::clients_are_kept_as_given_and_listed_oldest_first"),
    ("create_token", "accounts::a_token_is_found_by_the_hash_of_its_secret_and_revoked_once"),
    ("find_token", "accounts::a_token_is_found_by_the_hash_of_its_secret_and_revoked_once"),
    ("revoke_token", "accounts::a_token_is_found_by_the_hash_of_its_secret_and_revoked_once"),
    ("list_tokens", "accounts::a_token_is_found_by_the_hash_of_its_secret_and_revoked_once"),
    ("create_provider", "accounts::providers_keep_their_services_which_can_be_replaced"),
    ("list_providers", "accounts::providers_keep_their_services_which_can_be_replaced"),
    ("get_provider", "accounts::providers_keep_their_services_which_can_be_replaced"),
    ("create_operator", "accounts::operators_are_found_by_email_whatever_its_case_and_can_be_disabled"),
    ("get_operator", "accounts::operators_are_found_by_email_whatever_its_case_and_can_be_disabled"),
    ("list_operators", "accounts::operators_are_found_by_email_whatever_its_case_and_can_be_disabled"),
    ("insert_request", "requests::a_creation_writes_the_request_and_everything_that_comes_with_it"),
    ("get_request", "requests::a_creation_writes_the_request_and_everything_that_comes_with_it"),
    ("list_requests", "requests::requests_are_listed_by_filter_newest_first_oldest_first_or_by_due_time"),
    ("update_request", "requests::an_update_is_refused_when_someone_else_changed_the_request_first"),
    ("data_key", "requests::a_creation_writes_the_request_and_everything_that_comes_with_it"),
    ("rewrap_keys", "keys::a_new_master_key_rewraps_every_data_key_and_secret_and_the_old_one_can_go"),
    ("expired", "retention::closed_requests_expire_by_service_and_test_requests_by_age"),
    ("expired_tests", "retention::closed_requests_expire_by_service_and_test_requests_by_age"),
    ("expired_drafts", "retention::drafts_expire_by_their_last_change"),
    ("record_fascicolo", "retention::a_processed_request_waits_for_its_case_file"),
    ("awaiting_fascicolo", "retention::a_processed_request_waits_for_its_case_file"),
    ("purge_request", "retention::a_purge_destroys_the_personal_data_and_keeps_the_accounts"),
    ("list_files", "requests::a_creation_writes_the_request_and_everything_that_comes_with_it"),
    ("named_files", "requests::an_update_is_refused_when_someone_else_changed_the_request_first"),
    ("history", "requests::a_creation_writes_the_request_and_everything_that_comes_with_it"),
    ("find_idempotency", "requests::a_creation_writes_the_request_and_everything_that_comes_with_it"),
    ("find_by_invitation", "requests::an_invitation_finds_its_request_by_its_link_until_revoked_or_purged"),
    ("index_subjects", "requests::subjects_are_indexed_by_keyed_hash_and_found_by_code"),
    ("find_by_subject", "requests::subjects_are_indexed_by_keyed_hash_and_found_by_code"),
    ("audit", "audit::the_trail_is_a_chain_read_in_order_from_any_point"),
    ("audit_entries", "audit::the_trail_is_a_chain_read_in_order_from_any_point"),
    ("audit_head", "audit::the_trail_is_a_chain_read_in_order_from_any_point"),
    ("update_provider", "accounts::providers_are_parties_with_versioned_paperwork"),
    ("add_provider_document", "accounts::providers_are_parties_with_versioned_paperwork"),
    ("provider_documents", "accounts::providers_are_parties_with_versioned_paperwork"),
    ("current_provider_document", "accounts::providers_are_parties_with_versioned_paperwork"),
    ("provider_document", "accounts::providers_are_parties_with_versioned_paperwork"),
    ("current_provider_versions", "accounts::providers_are_parties_with_versioned_paperwork"),
    ("route", "accounts::a_new_request_goes_to_the_provider_with_the_least_open_work"),
    ("create_admin", "backoffice::admins_are_found_by_email_whatever_its_case"),
    ("get_admin", "backoffice::admins_are_found_by_email_whatever_its_case"),
    ("find_admin_by_email", "backoffice::admins_are_found_by_email_whatever_its_case"),
    ("list_admins", "backoffice::admins_are_found_by_email_whatever_its_case"),
    ("find_operators_by_email", "accounts::operators_are_found_by_email_whatever_its_case_and_can_be_disabled"),
    ("set_operator_disabled", "accounts::operators_are_found_by_email_whatever_its_case_and_can_be_disabled"),
    ("set_password", "backoffice::a_password_is_kept_per_account_and_replaced"),
    ("password", "backoffice::a_password_is_kept_per_account_and_replaced"),
    ("create_session", "backoffice::sessions_are_found_by_hash_touched_forward_and_ended"),
    ("session", "backoffice::sessions_are_found_by_hash_touched_forward_and_ended"),
    ("touch_session", "backoffice::sessions_are_found_by_hash_touched_forward_and_ended"),
    ("delete_session", "backoffice::sessions_are_found_by_hash_touched_forward_and_ended"),
    ("delete_sessions", "backoffice::sessions_are_found_by_hash_touched_forward_and_ended"),
    ("reserve_login", "backoffice::logins_are_reserved_up_to_a_limit_and_a_success_forgets_the_address"),
    ("login_succeeded", "backoffice::logins_are_reserved_up_to_a_limit_and_a_success_forgets_the_address"),
    ("delete_expired_sessions", "backoffice::sessions_are_found_by_hash_touched_forward_and_ended"),
    ("delete_login_failures_before", "backoffice::logins_are_reserved_up_to_a_limit_and_a_success_forgets_the_address"),
    ("add_note", "backoffice::notes_are_sealed_with_the_request_and_gone_with_its_key"),
    ("notes", "backoffice::notes_are_sealed_with_the_request_and_gone_with_its_key"),
    ("put_totp_key", "backoffice::a_totp_key_is_set_up_then_enabled_then_removed"),
    ("enable_totp", "backoffice::a_totp_key_is_set_up_then_enabled_then_removed"),
    ("delete_totp", "backoffice::a_totp_key_is_set_up_then_enabled_then_removed"),
    ("totp_key", "backoffice::a_totp_key_is_set_up_then_enabled_then_removed"),
    ("accept_totp_step", "backoffice::a_totp_step_is_accepted_once_and_never_an_older_one"),
    ("set_provider_services", "accounts::providers_keep_their_services_which_can_be_replaced"),
    ("claim_deliveries", "outbox::due_deliveries_are_leased_to_one_worker_which_records_its_attempts"),
    ("finish_delivery", "outbox::due_deliveries_are_leased_to_one_worker_which_records_its_attempts"),
    ("release_leases", "outbox::a_stopping_worker_releases_its_leases"),
    ("get_delivery", "outbox::a_change_makes_an_event_and_a_delivery_per_destination"),
    ("list_deliveries", "outbox::a_change_makes_an_event_and_a_delivery_per_destination"),
    ("replay_delivery", "outbox::a_failed_callback_is_announced_to_the_webhook_and_a_replay_starts_over"),
    ("events", "outbox::a_change_makes_an_event_and_a_delivery_per_destination"),
    ("webhook_settings", "outbox::a_client_has_a_webhook_endpoint_and_rotating_signing_secrets"),
    ("set_webhook_url", "outbox::a_client_has_a_webhook_endpoint_and_rotating_signing_secrets"),
    ("rotate_webhook_secret", "outbox::a_client_has_a_webhook_endpoint_and_rotating_signing_secrets"),
    ("overdue_candidates", "sla::overdue_candidates_are_open_running_and_past_due_most_overdue_first"),
    ("queue_counts", "sla::a_queue_counts_its_requests_per_state_drafts_never"),
    ("gauges", "sla::the_gauges_count_open_work_and_the_outbox_backlog"),
    ("sla_facts", "sla::the_dashboard_sees_open_requests_and_those_closed_lately"),
    ("post", "ledger::money_put_in_and_taken_out_moves_the_balance_and_is_audited"),
    ("post_keyed", "ledger::a_keyed_top_up_posts_once_and_its_retries_get_the_same_answer"),
    ("balance", "ledger::money_put_in_and_taken_out_moves_the_balance_and_is_audited"),
    ("transactions", "ledger::money_put_in_and_taken_out_moves_the_balance_and_is_audited"),
    ("record_calls", "ledger::metered_calls_are_counted_then_billed_once_per_day"),
    ("unbilled_calls", "ledger::metered_calls_are_counted_then_billed_once_per_day"),
    ("check_ledger", "ledger::the_books_check_names_what_does_not_add_up"),
    ("processed", "ledger::a_provider_is_settled_for_the_live_requests_it_processed"),
];

/// The names of the async methods of the traits `Store` is the sum of (declared in src/lib.rs
/// before `Store`), in declaration order.
fn trait_methods() -> Vec<&'static str> {
    let start = TRAIT_SOURCE
        .find("pub trait ")
        .expect("the store's traits in src/lib.rs");
    let end = TRAIT_SOURCE
        .find("pub trait Store")
        .expect("`pub trait Store` in src/lib.rs");
    TRAIT_SOURCE[start..end]
        .split("async fn ")
        .skip(1)
        .map(|rest| {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .collect()
}

/// The text of `async fn story(` in `module`, up to the next function.
fn story_body(module: &str, story: &str) -> Option<&'static str> {
    let (_, source) = STORIES.iter().find(|(m, _)| *m == module)?;
    let start = source.find(&format!("async fn {story}("))?;
    let body = &source[start..];
    let end = body[1..]
        .find("\nasync fn ")
        .or_else(|| body[1..].find("\nfn "))
        .map_or(body.len(), |i| i + 1);
    Some(&body[..end])
}

#[test]
fn every_store_method_has_a_story_that_calls_it() {
    let methods = trait_methods();
    assert!(
        methods.len() >= 78,
        "the trait was not read right: {methods:?}"
    );
    let listed: Vec<&str> = COVERAGE.iter().map(|(m, _)| *m).collect();
    let without_row: Vec<&&str> = methods.iter().filter(|m| !listed.contains(m)).collect();
    assert!(
        without_row.is_empty(),
        "Store methods without a story: {without_row:?}. Write one in tests/it (run on both \
         backends by `stories!`) and add a row to COVERAGE in tests/it/checklist.rs."
    );
    let gone: Vec<&&str> = listed.iter().filter(|m| !methods.contains(m)).collect();
    assert!(
        gone.is_empty(),
        "rows for methods the trait no longer has: {gone:?}"
    );

    for (method, story) in COVERAGE {
        let (module, name) = story.split_once("::").unwrap();
        let body = story_body(module, name)
            .unwrap_or_else(|| panic!("no story `{story}` (covering `{method}`)"));
        assert!(
            body.contains(&format!(".{method}(")),
            "`{story}` does not call `{method}` itself"
        );
        assert!(
            body.contains("assert"),
            "`{story}` asserts nothing about `{method}`"
        );
        // Each story runs on both backends: it is listed in its module's `stories!`.
        let (_, source) = STORIES.iter().find(|(m, _)| *m == module).unwrap();
        let listed_in_macro = source
            .split("stories!(")
            .nth(1)
            .and_then(|rest| rest.split(");").next())
            .is_some_and(|list| list.contains(name));
        assert!(listed_in_macro, "`{story}` is not run by `stories!`");
    }
}
