//! The SLA's reads and the metrics' gauges: overdue candidates, a queue's counts, the
//! dashboard's facts, the open work and the outbox backlog.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use sportello_domain::status::Status;
use sportello_store::{AttemptOutcome, Gauges, ProviderQueue, QueueCount, RequestRecord, SlaFact};

stories!(
    overdue_candidates_are_open_running_and_past_due_most_overdue_first,
    a_queue_counts_its_requests_per_state_drafts_never,
    the_dashboard_sees_open_requests_and_those_closed_lately,
    the_gauges_count_open_work_and_the_outbox_backlog,
);

/// `r` created, then moved to `status` at `at` when that is not where it was created.
async fn put(w: &World, mut r: RequestRecord, status: Status, at: i64) -> RequestRecord {
    create(w, &r).await;
    if r.status != status {
        let action = match status {
            Status::InAttesaIntegrazione => "ask_integration",
            Status::VisuraEvasa | Status::DatiDisponibili => "close",
            _ => "cancel",
        };
        assert!(change(w, &mut r, status, action, at).await);
    }
    r
}

fn due(at: i64, due_at: Option<i64>) -> RequestRecord {
    let mut r = submitted("cli_1", Some("prv_1"), at);
    r.due_at = due_at;
    r.callback_data = None;
    r.email_target = None;
    r
}

async fn overdue_candidates_are_open_running_and_past_due_most_overdue_first(w: World) {
    client(&w, "cli_1").await;
    provider(&w, "prv_1", &[VISURA]).await;
    let a = put(&w, due(T0, Some(T0 + 100)), Status::InErogazione, T0).await;
    let b = put(&w, due(T0, Some(T0 + 50)), Status::InErogazione, T0).await;
    // The same due time as a: written after it, listed after it.
    let c = put(&w, due(T0, Some(T0 + 100)), Status::InErogazione, T0).await;
    let g = put(&w, due(T0, Some(T0 + 20)), Status::DatiDisponibili, T0 + 1).await;
    // Not candidates: its clock is stopped, it is marked already, it is closed, it is a
    // draft, it has no due time.
    let mut paused = due(T0, Some(T0 + 10));
    paused.sla_paused_at = Some(T0 + 5);
    put(&w, paused, Status::InAttesaIntegrazione, T0 + 5).await;
    let mut marked = due(T0, Some(T0 + 10));
    marked.overdue_at = Some(T0 + 11);
    put(&w, marked, Status::InErogazione, T0).await;
    put(&w, due(T0, Some(T0 + 10)), Status::VisuraEvasa, T0 + 5).await;
    let mut draft = due(T0, Some(T0 + 10));
    draft.status = Status::Draft;
    put(&w, draft, Status::Draft, T0).await;
    put(&w, due(T0, None), Status::InErogazione, T0).await;

    assert_eq!(
        w.store.overdue_candidates(T0 + 200, 10).await.unwrap(),
        [g.id.clone(), b.id.clone(), a.id.clone(), c.id.clone()]
    );
    // Strictly past due.
    assert_eq!(
        w.store.overdue_candidates(T0 + 100, 10).await.unwrap(),
        [g.id.clone(), b.id.clone()]
    );
    assert_eq!(
        w.store.overdue_candidates(T0 + 200, 1).await.unwrap(),
        vec![g.id.clone()]
    );
    assert!(w
        .store
        .overdue_candidates(T0 + 20, 10)
        .await
        .unwrap()
        .is_empty());
}

fn by_status(mut counts: Vec<QueueCount>) -> Vec<(&'static str, u64, u64)> {
    counts.sort_by_key(|c| c.status.as_db());
    counts
        .into_iter()
        .map(|c| (c.status.as_db(), c.total, c.overdue))
        .collect()
}

async fn a_queue_counts_its_requests_per_state_drafts_never(w: World) {
    client(&w, "cli_1").await;
    provider(&w, "prv_1", &[VISURA]).await;
    provider(&w, "prv_2", &[OTHER_VISURA]).await;
    let queue = ProviderQueue {
        provider_id: "prv_1".into(),
        services: vec![VISURA.into()],
    };
    assert!(w.store.queue_counts(&queue).await.unwrap().is_empty());

    put(&w, due(T0, Some(T0 + 10)), Status::InErogazione, T0).await;
    let mut late = due(T0, Some(T0 + 10));
    late.overdue_at = Some(T0 + 11);
    put(&w, late, Status::InErogazione, T0).await;
    put(
        &w,
        due(T0, Some(T0 + 10)),
        Status::InAttesaIntegrazione,
        T0 + 1,
    )
    .await;
    put(&w, due(T0, Some(T0 + 10)), Status::VisuraEvasa, T0 + 2).await;
    put(&w, due(T0, Some(T0 + 10)), Status::Annullata, T0 + 3).await;
    // Not routed yet, of its service: its work to come; a draft is nobody's yet.
    let mut unrouted = due(T0, Some(T0 + 10));
    unrouted.provider_id = None;
    put(&w, unrouted.clone(), Status::InErogazione, T0).await;
    let mut draft = unrouted.clone();
    draft.id = sportello_store::ids::request_id(T0);
    draft.status = Status::Draft;
    put(&w, draft, Status::Draft, T0).await;
    // Another provider's, routed or of its services.
    let mut theirs = due(T0, Some(T0 + 10));
    theirs.provider_id = Some("prv_2".into());
    put(&w, theirs, Status::InErogazione, T0).await;
    let mut theirs_unrouted = unrouted.clone();
    theirs_unrouted.id = sportello_store::ids::request_id(T0);
    theirs_unrouted.hash_visura = OTHER_VISURA.into();
    put(&w, theirs_unrouted, Status::InErogazione, T0).await;

    assert_eq!(
        by_status(w.store.queue_counts(&queue).await.unwrap()),
        [
            ("annullata", 1, 0),
            ("in_attesa_integrazione", 1, 0),
            ("in_erogazione", 3, 1),
            ("visura_evasa", 1, 0),
        ]
    );
    assert_eq!(
        by_status(
            w.store
                .queue_counts(&ProviderQueue {
                    provider_id: "prv_2".into(),
                    services: vec![OTHER_VISURA.into()],
                })
                .await
                .unwrap()
        ),
        [("in_erogazione", 2, 0)]
    );
}

async fn the_dashboard_sees_open_requests_and_those_closed_lately(w: World) {
    client(&w, "cli_1").await;
    provider(&w, "prv_1", &[VISURA]).await;
    let mut open = due(T0 + 1, Some(T0 + 500));
    open.overdue_at = Some(T0 + 600);
    put(&w, open.clone(), Status::InErogazione, T0 + 1).await;
    let mut waiting = due(T0 + 2, Some(T0 + 500));
    waiting.sla_paused_at = Some(T0 + 3);
    waiting.live = false;
    put(&w, waiting.clone(), Status::InAttesaIntegrazione, T0 + 3).await;
    let recent = put(
        &w,
        due(T0 + 3, Some(T0 + 500)),
        Status::VisuraEvasa,
        T0 + 100,
    )
    .await;
    put(
        &w,
        due(T0 + 4, Some(T0 + 500)),
        Status::VisuraEvasa,
        T0 + 10,
    )
    .await;
    // Cancelled as a draft: never submitted, closed all the same.
    let mut withdrawn = draft("cli_1", T0 + 5);
    withdrawn.callback_data = None;
    withdrawn.email_target = None;
    let withdrawn = put(&w, withdrawn, Status::Annullata, T0 + 60).await;
    let undue = put(&w, due(T0 + 6, None), Status::InErogazione, T0).await;
    let mut still_draft = draft("cli_1", T0 + 7);
    still_draft.callback_data = None;
    put(&w, still_draft, Status::Draft, T0).await;

    let mut facts = w.store.sla_facts(T0 + 50).await.unwrap();
    facts.sort_by_key(|f| (f.submitted_at, f.closed_at));
    let fact = |r: &RequestRecord, status: Status, submitted_at, closed_at| SlaFact {
        provider_id: r.provider_id.clone(),
        hash_visura: r.hash_visura.clone(),
        status,
        live: r.live,
        due_at: r.due_at,
        sla_paused_at: r.sla_paused_at,
        overdue_at: r.overdue_at,
        submitted_at,
        closed_at,
    };
    assert_eq!(
        facts,
        [
            fact(&withdrawn, Status::Annullata, None, Some(T0 + 60)),
            fact(&open, Status::InErogazione, Some(T0 + 1), None),
            fact(&waiting, Status::InAttesaIntegrazione, Some(T0 + 2), None),
            fact(&recent, Status::VisuraEvasa, Some(T0 + 3), Some(T0 + 100)),
            fact(&undue, Status::InErogazione, Some(T0 + 6), None),
        ]
    );
}

async fn the_gauges_count_open_work_and_the_outbox_backlog(w: World) {
    assert_eq!(w.store.gauges(T0).await.unwrap(), Gauges::default());
    client(&w, "cli_1").await;
    provider(&w, "prv_1", &[VISURA]).await;
    let mut late = due(T0, Some(T0 + 10));
    late.overdue_at = Some(T0 + 11);
    put(&w, late.clone(), Status::InErogazione, T0).await;
    put(&w, due(T0, Some(T0 + 10)), Status::InErogazione, T0).await;
    late.id = sportello_store::ids::request_id(T0);
    put(&w, late, Status::InAttesaIntegrazione, T0 + 1).await;
    put(&w, due(T0, Some(T0 + 10)), Status::DatiDisponibili, T0 + 1).await;
    put(&w, due(T0, Some(T0 + 10)), Status::VisuraEvasa, T0 + 1).await;
    let mut draft = due(T0, None);
    draft.status = Status::Draft;
    put(&w, draft, Status::Draft, T0).await;
    // Two callbacks to make: one due now, one an hour from now.
    let mut called = due(T0, Some(T0 + 10));
    called.callback_data = Some(serde_json::json!({"url": "https://client.example/cb"}));
    put(&w, called.clone(), Status::InErogazione, T0).await;
    called.id = sportello_store::ids::request_id(T0);
    called.created_at = T0 + 3_600;
    put(&w, called, Status::InErogazione, T0 + 3_600).await;

    let mut g = w.store.gauges(T0 + 60).await.unwrap();
    g.open_by_status.sort_by_key(|(s, _)| s.as_db());
    assert_eq!(
        g,
        Gauges {
            open_by_status: vec![
                (Status::DatiDisponibili, 1),
                (Status::InAttesaIntegrazione, 1),
                (Status::InErogazione, 4),
            ],
            overdue: 2,
            deliveries_due: 1,
            deliveries_pending: 2,
        }
    );

    // Delivered, it leaves the backlog.
    let claimed = w
        .store
        .claim_deliveries("w1", T0 + 60, 60, 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(w
        .store
        .finish_delivery(
            &claimed[0].id,
            "w1",
            T0 + 61,
            &AttemptOutcome::Delivered { status: Some(200) }
        )
        .await
        .unwrap());
    let later = w.store.gauges(T0 + 7_200).await.unwrap();
    assert_eq!((later.deliveries_due, later.deliveries_pending), (1, 1));
}
