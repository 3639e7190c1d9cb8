//! The [`Store`](crate::Store) implementation both backends share: every method delegates to
//! the function of the same name in the backend's topic module (`accounts`, `requests`, …), so
//! the two stores are split the same way and cannot drift apart in what they offer.

/// Implements `Store` for `$store`, whose module has the topic modules as children. Expanded in
/// that module: the topic modules' paths resolve there.
macro_rules! delegate_store {
    ($store:ty) => {
        #[async_trait]
        impl Store for $store {
            async fn setup_lock(&self) -> Result<crate::SetupLock, StoreError> {
                accounts::setup_lock(self).await
            }

            async fn create_client(&self, c: &ClientRecord) -> Result<(), StoreError> {
                accounts::create_client(self, c).await
            }

            async fn get_client(&self, id: &str) -> Result<Option<ClientRecord>, StoreError> {
                accounts::get_client(self, id).await
            }

            async fn list_clients(&self) -> Result<Vec<ClientRecord>, StoreError> {
                accounts::list_clients(self).await
            }

            async fn create_token(
                &self,
                t: &TokenRecord,
                secret_hash: &str,
            ) -> Result<(), StoreError> {
                accounts::create_token(self, t, secret_hash).await
            }

            async fn find_token(
                &self,
                secret_hash: &str,
            ) -> Result<Option<TokenRecord>, StoreError> {
                accounts::find_token(self, secret_hash).await
            }

            async fn revoke_token(&self, id: &str, at: i64) -> Result<bool, StoreError> {
                accounts::revoke_token(self, id, at).await
            }

            async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
                accounts::list_tokens(self).await
            }

            async fn create_provider(&self, p: &ProviderRecord) -> Result<(), StoreError> {
                providers::create_provider(self, p).await
            }

            async fn list_providers(&self) -> Result<Vec<ProviderRecord>, StoreError> {
                providers::list_providers(self).await
            }

            async fn get_provider(&self, id: &str) -> Result<Option<ProviderRecord>, StoreError> {
                providers::get_provider(self, id).await
            }

            async fn create_operator(&self, o: &OperatorRecord) -> Result<(), StoreError> {
                accounts::create_operator(self, o).await
            }

            async fn get_operator(&self, id: &str) -> Result<Option<OperatorRecord>, StoreError> {
                accounts::get_operator(self, id).await
            }

            async fn list_operators(&self) -> Result<Vec<OperatorRecord>, StoreError> {
                accounts::list_operators(self).await
            }

            async fn insert_request(&self, new: NewRequest<'_>) -> Result<(), StoreError> {
                requests::insert_request(self, new).await
            }

            async fn get_request(&self, id: &str) -> Result<Option<RequestRecord>, StoreError> {
                requests::get_request(self, id).await
            }

            async fn list_requests(
                &self,
                f: &RequestFilter,
            ) -> Result<Vec<RequestRecord>, StoreError> {
                requests::list_requests(self, f).await
            }

            async fn update_request(
                &self,
                r: &RequestRecord,
                files: &[FileRecord],
                history: Option<&HistoryEntry>,
                ledger: Option<&crate::ledger::Transaction>,
            ) -> Result<bool, StoreError> {
                requests::update_request(self, r, files, history, ledger).await
            }

            async fn expired(
                &self,
                hash_visura: &str,
                closed_before: i64,
                limit: u32,
            ) -> Result<Vec<String>, StoreError> {
                retention::expired(self, hash_visura, closed_before, limit).await
            }

            async fn expired_tests(
                &self,
                created_by: i64,
                limit: u32,
            ) -> Result<Vec<String>, StoreError> {
                retention::expired_tests(self, created_by, limit).await
            }

            async fn expired_drafts(
                &self,
                updated_before: i64,
                limit: u32,
            ) -> Result<Vec<String>, StoreError> {
                retention::expired_drafts(self, updated_before, limit).await
            }

            async fn purge_request(
                &self,
                id: &str,
                at: i64,
                actor: &str,
            ) -> Result<Option<Purged>, StoreError> {
                retention::purge_request(self, id, at, actor).await
            }

            async fn list_files(&self, request_id: &str) -> Result<Vec<FileRecord>, StoreError> {
                files::list_files(self, request_id).await
            }

            async fn history(&self, request_id: &str) -> Result<Vec<HistoryEntry>, StoreError> {
                history::history(self, request_id).await
            }

            async fn data_key(&self, request_id: &str) -> Result<Option<DataKey>, StoreError> {
                keys::data_key(self, request_id).await
            }

            async fn rewrap_keys(&self) -> Result<u64, StoreError> {
                keys::rewrap_keys(self).await
            }

            async fn find_idempotency(
                &self,
                client_id: &str,
                key: &str,
            ) -> Result<Option<IdempotencyRecord>, StoreError> {
                requests::find_idempotency(self, client_id, key).await
            }

            async fn audit(&self, e: &AuditEvent) -> Result<AuditEntry, StoreError> {
                audit::audit(self, e).await
            }

            async fn audit_entries(
                &self,
                after_seq: i64,
                limit: u32,
                request_id: Option<&str>,
            ) -> Result<Vec<AuditEntry>, StoreError> {
                audit::audit_entries(self, after_seq, limit, request_id).await
            }

            async fn index_subjects(
                &self,
                request_id: &str,
                codes: &[String],
            ) -> Result<(), StoreError> {
                subjects::index_subjects(self, request_id, codes).await
            }

            async fn find_by_subject(&self, code: &str) -> Result<Vec<String>, StoreError> {
                subjects::find_by_subject(self, code).await
            }

            async fn audit_head(&self) -> Result<crate::audit::Head, StoreError> {
                audit::audit_head(self).await
            }

            fn audit_key(&self) -> &crate::audit::ChainKey {
                &self.chain
            }

            async fn route(&self, hash_visura: &str) -> Result<Option<String>, StoreError> {
                providers::route(self, hash_visura).await
            }

            async fn create_admin(&self, a: &AdminRecord) -> Result<(), StoreError> {
                backoffice::create_admin(self, a).await
            }

            async fn get_admin(&self, id: &str) -> Result<Option<AdminRecord>, StoreError> {
                backoffice::get_admin(self, id).await
            }

            async fn find_admin_by_email(
                &self,
                email: &str,
            ) -> Result<Option<AdminRecord>, StoreError> {
                backoffice::find_admin_by_email(self, email).await
            }

            async fn list_admins(&self) -> Result<Vec<AdminRecord>, StoreError> {
                backoffice::list_admins(self).await
            }

            async fn find_operators_by_email(
                &self,
                email: &str,
            ) -> Result<Vec<OperatorRecord>, StoreError> {
                backoffice::find_operators_by_email(self, email).await
            }

            async fn set_operator_disabled(
                &self,
                id: &str,
                disabled: bool,
            ) -> Result<bool, StoreError> {
                backoffice::set_operator_disabled(self, id, disabled).await
            }

            async fn set_password(
                &self,
                account: &str,
                phc: &str,
                at: i64,
            ) -> Result<(), StoreError> {
                backoffice::set_password(self, account, phc, at).await
            }

            async fn password(&self, account: &str) -> Result<Option<String>, StoreError> {
                backoffice::password(self, account).await
            }

            async fn create_session(&self, s: &SessionRecord) -> Result<(), StoreError> {
                backoffice::create_session(self, s).await
            }

            async fn session(&self, id_hash: &str) -> Result<Option<SessionRecord>, StoreError> {
                backoffice::session(self, id_hash).await
            }

            async fn touch_session(&self, id_hash: &str, at: i64) -> Result<(), StoreError> {
                backoffice::touch_session(self, id_hash, at).await
            }

            async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
                backoffice::delete_session(self, id_hash).await
            }

            async fn delete_sessions(&self, account: &str) -> Result<(), StoreError> {
                backoffice::delete_sessions(self, account).await
            }

            async fn reserve_login(
                &self,
                attempt: &crate::LoginAttempt,
                limits: &crate::LoginLimits,
            ) -> Result<crate::LoginReservation, StoreError> {
                backoffice::reserve_login(self, attempt, limits).await
            }

            async fn login_succeeded(
                &self,
                attempt: Option<i64>,
                email_hash: &str,
            ) -> Result<(), StoreError> {
                backoffice::login_succeeded(self, attempt, email_hash).await
            }

            async fn delete_expired_sessions(
                &self,
                seen_by: i64,
                created_by: i64,
            ) -> Result<u64, StoreError> {
                backoffice::delete_expired_sessions(self, seen_by, created_by).await
            }

            async fn delete_login_failures_before(&self, before: i64) -> Result<u64, StoreError> {
                backoffice::delete_login_failures_before(self, before).await
            }

            async fn add_note(&self, n: &NoteRecord) -> Result<(), StoreError> {
                backoffice::add_note(self, n).await
            }

            async fn notes(&self, request_id: &str) -> Result<Vec<NoteRecord>, StoreError> {
                backoffice::notes(self, request_id).await
            }

            async fn put_totp_key(&self, account: &str, key: &DataKey) -> Result<(), StoreError> {
                backoffice::put_totp_key(self, account, key).await
            }

            async fn enable_totp(&self, account: &str, at: i64) -> Result<bool, StoreError> {
                backoffice::enable_totp(self, account, at).await
            }

            async fn delete_totp(&self, account: &str) -> Result<(), StoreError> {
                backoffice::delete_totp(self, account).await
            }

            async fn totp_key(
                &self,
                account: &str,
            ) -> Result<Option<(DataKey, Option<i64>)>, StoreError> {
                backoffice::totp_key(self, account).await
            }

            async fn accept_totp_step(&self, account: &str, step: i64) -> Result<bool, StoreError> {
                backoffice::accept_totp_step(self, account, step).await
            }

            async fn set_provider_services(
                &self,
                id: &str,
                services: &[String],
            ) -> Result<bool, StoreError> {
                backoffice::set_provider_services(self, id, services).await
            }

            async fn claim_deliveries(
                &self,
                owner: &str,
                now: i64,
                lease_secs: i64,
                limit: u32,
            ) -> Result<Vec<DeliveryRecord>, StoreError> {
                outbox::claim_deliveries(self, owner, now, lease_secs, limit).await
            }

            async fn finish_delivery(
                &self,
                id: &str,
                owner: &str,
                now: i64,
                outcome: &AttemptOutcome,
            ) -> Result<bool, StoreError> {
                outbox::finish_delivery(self, id, owner, now, outcome).await
            }

            async fn release_leases(&self, owner: &str) -> Result<u64, StoreError> {
                outbox::release_leases(self, owner).await
            }

            async fn get_delivery(&self, id: &str) -> Result<Option<DeliveryRecord>, StoreError> {
                outbox::get_delivery(self, id).await
            }

            async fn list_deliveries(
                &self,
                f: &DeliveryFilter,
            ) -> Result<Vec<DeliveryRecord>, StoreError> {
                outbox::list_deliveries(self, f).await
            }

            async fn replay_delivery(
                &self,
                id: &str,
                now: i64,
                limit: &ReplayLimit,
            ) -> Result<Replay, StoreError> {
                outbox::replay_delivery(self, id, now, limit).await
            }

            async fn events(&self, request_id: &str) -> Result<Vec<EventRecord>, StoreError> {
                outbox::events(self, request_id).await
            }

            async fn webhook_settings(
                &self,
                client_id: &str,
            ) -> Result<WebhookSettings, StoreError> {
                outbox::webhook_settings(self, client_id).await
            }

            async fn set_webhook_url(
                &self,
                client_id: &str,
                url: Option<&str>,
            ) -> Result<(), StoreError> {
                outbox::set_webhook_url(self, client_id, url).await
            }

            async fn rotate_webhook_secret(
                &self,
                client_id: &str,
                previous_until: Option<i64>,
            ) -> Result<DataKey, StoreError> {
                outbox::rotate_webhook_secret(self, client_id, previous_until).await
            }

            async fn overdue_candidates(
                &self,
                now: i64,
                limit: u32,
            ) -> Result<Vec<String>, StoreError> {
                sla::overdue_candidates(self, now, limit).await
            }

            async fn queue_counts(
                &self,
                queue: &ProviderQueue,
            ) -> Result<Vec<QueueCount>, StoreError> {
                sla::queue_counts(self, queue).await
            }

            async fn gauges(&self, now: i64) -> Result<Gauges, StoreError> {
                gauges::gauges(self, now).await
            }

            async fn sla_facts(&self, closed_since: i64) -> Result<Vec<SlaFact>, StoreError> {
                sla::sla_facts(self, closed_since).await
            }

            async fn post(
                &self,
                t: &crate::ledger::Transaction,
                funds: crate::ledger::Funds,
                audit: Option<&AuditEvent>,
            ) -> Result<i64, StoreError> {
                ledger::post(self, t, funds, audit).await
            }

            async fn post_keyed(
                &self,
                t: &crate::ledger::Transaction,
                audit: &AuditEvent,
                key: &crate::ledger::PostKey,
            ) -> Result<crate::ledger::Keyed, StoreError> {
                ledger::post_keyed(self, t, audit, key).await
            }

            async fn balance(
                &self,
                client_id: &str,
                before: Option<i64>,
            ) -> Result<i64, StoreError> {
                ledger::balance(self, client_id, before).await
            }

            async fn transactions(
                &self,
                client_id: Option<&str>,
                from: i64,
                to: i64,
            ) -> Result<Vec<crate::ledger::Transaction>, StoreError> {
                ledger::transactions(self, client_id, from, to).await
            }

            async fn record_calls(
                &self,
                calls: &[(String, String, u64)],
                today: &str,
                at: i64,
            ) -> Result<Vec<crate::ledger::Transaction>, StoreError> {
                ledger::record_calls(self, calls, today, at).await
            }

            async fn unbilled_calls(
                &self,
                client_id: &str,
            ) -> Result<Vec<(String, u64)>, StoreError> {
                ledger::unbilled_calls(self, client_id).await
            }

            async fn check_ledger(&self) -> Result<crate::ledger::Check, StoreError> {
                ledger::check(self).await
            }

            async fn processed(
                &self,
                provider_id: &str,
                from: i64,
                to: i64,
            ) -> Result<Vec<ProcessedRequest>, StoreError> {
                ledger::processed(self, provider_id, from, to).await
            }
        }
    };
}

pub(crate) use delegate_store;
