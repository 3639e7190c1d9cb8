//! SLA: the due time fixed at submission on the routed provider's working calendar, the clock
//! that stops while the client is asked for more, the escalation job that marks overdue
//! requests (once, with a history entry `overdue`), and the admin dashboard.

use serde::Serialize;
use sportello_domain::calendar::{local_date, start_of_day, Calendar};
use sportello_domain::catalog::Service;
use sportello_domain::status::{Refusal, Status};
use sportello_store::{HistoryEntry, RequestRecord, SlaFact};
use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;
use utoipa::ToSchema;

use super::{mutate, Change};
use crate::error::{ApiError, ApiResult};
use crate::periodic::Periodic;
use crate::state::AppState;

/// Who marks requests overdue, in history and audit.
pub const ACTOR: &str = "system:sla";

/// The working calendar of the provider a request is routed to; the national one when it is
/// not routed or the provider has no closures configured.
pub async fn calendar_for(state: &AppState, provider_id: Option<&str>) -> ApiResult<Calendar> {
    // Without provider closures configured, no need to read who the provider is.
    let Some(id) = provider_id.filter(|_| state.calendars.any_closures()) else {
        return Ok(state.calendars.national().clone());
    };
    Ok(match state.store.get_provider(id).await? {
        Some(p) => state.calendars.for_provider(&p.name).clone(),
        None => state.calendars.national().clone(),
    })
}

/// Whether the request chose the service's `urgenza` option.
pub fn is_urgent(service: &Service, r: &RequestRecord) -> bool {
    service
        .urgent_option()
        .is_some_and(|o| r.opzioni.iter().any(|chosen| chosen == o))
}

/// Fixes the due time at submission (`now`), from the service's target (the urgent one when
/// chosen). A calendar that closes every day leaves the request without a due time, logged:
/// the client's submission must not fail for the operators' configuration.
pub fn start_clock(r: &mut RequestRecord, service: &Service, calendar: &Calendar, now: i64) {
    let target = service.turnaround_for(is_urgent(service, r));
    match calendar.due(now, target) {
        Ok(due) => r.due_at = Some(due),
        Err(e) => {
            tracing::error!(request = %r.id, error = %e, "no SLA due time: check the provider's calendar");
            r.due_at = None;
        }
    }
    r.sla_paused_at = None;
}

/// Stops the clock: the request waits for the client.
pub fn stop_clock(r: &mut RequestRecord, now: i64) {
    if r.due_at.is_some() && r.sla_paused_at.is_none() {
        r.sla_paused_at = Some(now);
    }
}

/// Restarts the clock after the client answered: the due time moves by the working time
/// waited.
pub fn restart_clock(r: &mut RequestRecord, calendar: &Calendar, now: i64) {
    let (Some(paused), Some(due)) = (r.sla_paused_at.take(), r.due_at) else {
        return;
    };
    let moved = calendar
        .working_seconds_between(paused, now)
        .and_then(|waited| calendar.add_working_seconds(due, waited));
    match moved {
        Ok(moved) => r.due_at = Some(moved),
        Err(e) => tracing::error!(request = %r.id, error = %e, "SLA due time not moved"),
    }
}

/// Moves a request to another provider's calendar: the working time it had left (from now, or
/// from when its clock stopped) is counted again on the new calendar, so the new provider's
/// closures count and the client's promise does not shrink or grow with the handover. An overdue
/// request stays overdue.
pub fn change_calendar(r: &mut RequestRecord, old: &Calendar, new: &Calendar, now: i64) {
    let Some(due) = r.due_at else {
        return;
    };
    let from = r.sla_paused_at.unwrap_or(now);
    if due <= from {
        return;
    }
    let moved = old
        .working_seconds_between(from, due)
        .and_then(|left| new.add_working_seconds(from, left));
    match moved {
        Ok(moved) => r.due_at = Some(moved),
        Err(e) => tracing::error!(request = %r.id, error = %e, "SLA due time not moved"),
    }
}

/// One escalation pass: marks every open request whose running clock passed its due time.
/// Returns the ids marked now.
pub async fn escalate(state: &AppState) -> ApiResult<Vec<String>> {
    let now = state.clock.now();
    let mut marked = Vec::new();
    loop {
        let batch = state.store.overdue_candidates(now, 200).await?;
        if batch.is_empty() {
            break;
        }
        let mut progressed = false;
        for id in &batch {
            let result = mutate(state, id, |r| {
                let still_due = r.overdue_at.is_none()
                    && r.sla_paused_at.is_none()
                    && !r.status.is_final()
                    && r.status != Status::Draft
                    && r.due_at.is_some_and(|d| d < now);
                if !still_due {
                    // Changed since the scan (closed, waiting for the client): nothing to mark.
                    return Err(ApiError::refused(Refusal::NoLongerOverdue));
                }
                r.overdue_at = Some(now);
                Ok(Change::recorded(HistoryEntry {
                    request_id: r.id.clone(),
                    at: now,
                    status: r.status,
                    action: "overdue".into(),
                    actor: ACTOR.into(),
                    note: None,
                    source: None,
                }))
            })
            .await;
            match result {
                Ok(_) => {
                    progressed = true;
                    marked.push(id.clone());
                }
                Err(e) if e.refusal() == Some(Refusal::NoLongerOverdue) => progressed = true,
                Err(e) => {
                    tracing::warn!(request = %id, code = e.code, "could not mark overdue");
                }
            }
        }
        if !progressed {
            // Every candidate failed: stop rather than spin; the next pass retries.
            break;
        }
    }
    if !marked.is_empty() {
        tracing::info!(count = marked.len(), "requests marked overdue");
    }
    Ok(marked)
}

/// The background job: an escalation pass every `every` until `stop` resolves (the pass under
/// way finishes).
pub fn spawn(
    state: AppState,
    every: Duration,
    stop: impl Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut passes = Periodic::new(every, stop);
        while passes.next().await {
            if let Err(e) = escalate(&state).await {
                tracing::error!(code = e.code, "escalation pass failed");
            }
        }
    })
}

/// A request's SLA as the operators see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SlaView {
    /// The due time (Unix seconds); None for requests submitted before SLA existed.
    pub scadenza: Option<i64>,
    /// Open and past the due time.
    pub scaduta: bool,
    /// The clock is stopped: the client was asked for more.
    pub sospesa: bool,
    /// The client chose `urgenza`.
    pub urgente: bool,
    /// Working seconds left until the due time on the provider's calendar, negative once past
    /// it; frozen while the clock is stopped; None once closed or without a due time.
    pub secondi_lavorativi_residui: Option<i64>,
}

/// The SLA of `r` now, on its provider's calendar.
pub async fn view(state: &AppState, r: &RequestRecord, service: &Service) -> ApiResult<SlaView> {
    let now = state.clock.now();
    let left = if r.due_at.is_some() && open(r.status) {
        let calendar = calendar_for(state, r.provider_id.as_deref()).await?;
        working_seconds_left(r, &calendar, now)
    } else {
        None
    };
    Ok(SlaView {
        scadenza: r.due_at,
        scaduta: overdue(r, now),
        sospesa: r.sla_paused_at.is_some() && open(r.status),
        urgente: is_urgent(service, r),
        secondi_lavorativi_residui: left,
    })
}

/// Working seconds from `now` to `r`'s due time on `calendar` (the request's provider's),
/// negative once past it, frozen while the clock is stopped; None once closed or without a due
/// time.
pub fn working_seconds_left(r: &RequestRecord, calendar: &Calendar, now: i64) -> Option<i64> {
    let due = r.due_at.filter(|_| open(r.status))?;
    let from = r.sla_paused_at.unwrap_or(now);
    let left = if from <= due {
        calendar.working_seconds_between(from, due)
    } else {
        calendar.working_seconds_between(due, from).map(|s| -s)
    };
    left.ok()
}

/// Whether an open request is overdue at `now`: marked by the job, or past its due time with
/// the clock running (the job has not passed yet).
pub fn overdue(r: &RequestRecord, now: i64) -> bool {
    open(r.status)
        && (r.overdue_at.is_some()
            || (r.sla_paused_at.is_none() && r.due_at.is_some_and(|d| d < now)))
}

fn open(s: Status) -> bool {
    !s.is_final() && s != Status::Draft
}

/// The admin dashboard: per provider and service.
/// The median time to close looks at the requests closed in this many days.
pub const DASHBOARD_WINDOW_DAYS: i64 = 90;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Dashboard {
    /// When it was computed (Unix seconds); "today" is that day in Europe/Rome.
    pub generato: i64,
    /// `evase` and the median count the requests closed since this instant (90 days before).
    pub chiuse_dal: i64,
    pub righe: Vec<DashboardRow>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DashboardRow {
    /// None: not routed (no provider offers the service).
    pub provider_id: Option<String>,
    pub provider: Option<String>,
    pub hash_visura: String,
    pub nome_visura: String,
    /// Submitted and not closed or cancelled.
    pub aperte: u64,
    /// Open, not overdue, due before the end of today.
    pub in_scadenza_oggi: u64,
    /// Open and past the due time.
    pub scadute: u64,
    /// Closed as processed ("Visura evasa") within the window.
    pub evase: u64,
    /// Median seconds from submission to "Visura evasa"; None before the first.
    pub mediana_secondi_chiusura: Option<i64>,
}

#[derive(Default)]
struct Tally {
    open: u64,
    due_today: u64,
    overdue: u64,
    durations: Vec<i64>,
}

/// The dashboard's figures now. For the admin API and the back office's admin page.
pub async fn dashboard(state: &AppState) -> ApiResult<Dashboard> {
    let now = state.clock.now();
    let end_of_today = local_date(now)
        .ok()
        .and_then(|d| d.succ_opt())
        .and_then(|d| start_of_day(d).ok())
        .unwrap_or(now);
    let closed_since = now - DASHBOARD_WINDOW_DAYS * 86_400;
    let facts = state.store.sla_facts(closed_since).await?;
    let mut tallies: BTreeMap<(Option<String>, String), Tally> = BTreeMap::new();
    for f in &facts {
        let t = tallies
            .entry((f.provider_id.clone(), f.hash_visura.clone()))
            .or_default();
        count(t, f, now, end_of_today);
    }
    let providers: BTreeMap<String, String> = state
        .store
        .list_providers()
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect();
    let mut righe: Vec<DashboardRow> = tallies
        .into_iter()
        .map(|((provider_id, hash), mut t)| DashboardRow {
            provider: provider_id.as_ref().and_then(|p| providers.get(p).cloned()),
            provider_id,
            nome_visura: state
                .catalog
                .get(&hash)
                .map(|s| s.nome_visura.clone())
                .unwrap_or_default(),
            hash_visura: hash,
            aperte: t.open,
            in_scadenza_oggi: t.due_today,
            scadute: t.overdue,
            evase: t.durations.len() as u64,
            mediana_secondi_chiusura: median(&mut t.durations),
        })
        .collect();
    righe.sort_by(|a, b| (&a.provider, &a.nome_visura).cmp(&(&b.provider, &b.nome_visura)));
    Ok(Dashboard {
        generato: now,
        chiuse_dal: closed_since,
        righe,
    })
}

fn count(t: &mut Tally, f: &SlaFact, now: i64, end_of_today: i64) {
    if open(f.status) {
        t.open += 1;
        let running_late = f.sla_paused_at.is_none() && f.due_at.is_some_and(|d| d < now);
        if f.overdue_at.is_some() || running_late {
            t.overdue += 1;
        } else if f.sla_paused_at.is_none() && f.due_at.is_some_and(|d| d < end_of_today) {
            t.due_today += 1;
        }
    } else if f.status == Status::VisuraEvasa {
        if let (Some(from), Some(to)) = (f.submitted_at, f.closed_at) {
            t.durations.push(to - from);
        }
    }
}

fn median(values: &mut [i64]) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2
    } else {
        values[mid]
    })
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [5, 1, 3]), Some(3));
        assert_eq!(median(&mut [4, 1, 3, 2]), Some(2));
        assert_eq!(median(&mut [10, 20]), Some(15));
    }
}
