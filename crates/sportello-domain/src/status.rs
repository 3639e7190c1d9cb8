//! The request state machine.
//!
//! CONTRACT (implemented by the status work item): `apply` is the only place that decides which
//! action is allowed in which situation; everything else asks it.

use serde::{Deserialize, Serialize};

pub use crate::refusal::Refusal;

/// Where a request is. The wire strings are the commercial API's, plus "In attesa di integrazione".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// `state: 0`, an open draft, editable, not validated.
    Draft,
    /// Submitted: in the providers' queue (taken by an operator or not).
    InErogazione,
    /// An operator asked the client for more data or files.
    InAttesaIntegrazione,
    DatiDisponibili,
    VisuraEvasa,
    Annullata,
}

/// Something someone wants to do to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Client: `state: 1` on a draft.
    Submit,
    /// Client: change the values of a draft.
    EditDraft,
    /// Client: `PUT` answering an integration request; back to the queue.
    SupplyIntegration,
    /// Client: `DELETE`, only while no operator has taken it.
    ClientCancel,
    /// Client: `PUT` on a request. A draft stays one (to be edited, or submitted with
    /// [`Action::Submit`]); a request waiting for an integration is answered (as
    /// [`Action::SupplyIntegration`]); anything else is no longer the client's to change.
    Update,
    /// Operator.
    Claim,
    Release,
    AskIntegration,
    AttachResult,
    Close,
    OperatorCancel,
    /// Client: a document beyond the form (`POST /richiesta/{_id}/documenti`), taken while the
    /// request is still being prepared or worked; it moves nothing by itself (the service sends
    /// a waiting request back to the queue once everything asked has arrived).
    SupplyDocument,
}

/// What `apply` needs to know besides the status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Situation {
    pub status: Status,
    /// An operator has claimed it.
    pub taken: bool,
    /// At least one result file is attached.
    pub has_results: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub status: Status,
    pub taken: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{refusal}")]
pub struct TransitionError {
    pub from: Status,
    pub action: Action,
    /// Why not.
    pub refusal: Refusal,
}

impl Status {
    /// `stato_richiesta` on the wire.
    pub fn stato_richiesta(self) -> &'static str {
        match self {
            Status::Draft => "In ricerca",
            Status::InErogazione => "In erogazione",
            Status::InAttesaIntegrazione => "In attesa di integrazione",
            Status::DatiDisponibili => "Dati disponibili",
            Status::VisuraEvasa => "Visura evasa",
            Status::Annullata => "Annullata",
        }
    }

    /// The key stamped in `timestamp_stati` when the request enters this status.
    pub fn timestamp_key(self) -> Option<&'static str> {
        match self {
            Status::Draft => None,
            Status::InErogazione => Some("in_erogazione"),
            Status::InAttesaIntegrazione => Some("in_attesa_integrazione"),
            Status::DatiDisponibili => Some("dati_disponibili"),
            Status::VisuraEvasa => Some("visura_evasa"),
            Status::Annullata => Some("annullata"),
        }
    }

    /// `state` on the wire: 0 while the transaction is open, 1 once submitted.
    pub fn state_flag(self) -> u8 {
        u8::from(self != Status::Draft)
    }

    pub fn as_db(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::InErogazione => "in_erogazione",
            Status::InAttesaIntegrazione => "in_attesa_integrazione",
            Status::DatiDisponibili => "dati_disponibili",
            Status::VisuraEvasa => "visura_evasa",
            Status::Annullata => "annullata",
        }
    }

    pub fn from_db(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_db() == s)
    }

    pub const ALL: [Status; 6] = [
        Status::Draft,
        Status::InErogazione,
        Status::InAttesaIntegrazione,
        Status::DatiDisponibili,
        Status::VisuraEvasa,
        Status::Annullata,
    ];

    /// The result document can be downloaded.
    pub fn document_ready(self) -> bool {
        matches!(self, Status::DatiDisponibili | Status::VisuraEvasa)
    }

    pub fn is_final(self) -> bool {
        matches!(self, Status::VisuraEvasa | Status::Annullata)
    }
}

/// Decides whether `action` is allowed in `situation`, and where it leads.
///
/// Invariants the caller can rely on:
/// - nothing leaves a final status (`VisuraEvasa`, `Annullata`);
/// - nothing re-enters `Draft`: only `EditDraft` and `Update` on a draft keep it one;
/// - a request is closed only with at least one result file, so `GET /documento` always has
///   something to serve once it says "Visura evasa";
/// - `taken` changes only with `Claim`, `Release` and `Submit` (a fresh submission is in the
///   queue, untaken); closing and cancelling keep it, so it records whether an operator held the
///   request at the end.
///
/// No action leads *into* `DatiDisponibili`: the compat API stamps it on the way to
/// `VisuraEvasa` (or a synchronous service is created in it); here it only has to be left.
pub fn apply(situation: Situation, action: Action) -> Result<Outcome, TransitionError> {
    use Action::*;
    use Status::*;

    let Situation {
        status,
        taken,
        has_results,
    } = situation;
    let to = |status: Status, taken: bool| Ok(Outcome { status, taken });
    let refuse = |refusal: Refusal| {
        Err(TransitionError {
            from: status,
            action,
            refusal,
        })
    };

    // One arm per (status, taken, action) pattern, in the order of the specification. `taken`
    // is matched only where it changes the answer; a draft is never taken (operators do not see
    // drafts), so its `taken` is ignored and reset.
    match (status, taken, action) {
        // --- The client's PUT: what it means depends on the status alone.
        (Draft, _, Update) => to(Draft, false),
        (InAttesaIntegrazione, _, Update) => to(InErogazione, taken),
        (InErogazione | DatiDisponibili | VisuraEvasa | Annullata, _, Update) => {
            refuse(Refusal::NotEditable)
        }

        // --- Draft: the client's open transaction (`state: 0`).
        (Draft, _, Submit) => to(InErogazione, false),
        (Draft, _, EditDraft) => to(Draft, false),
        (Draft, _, ClientCancel) => to(Annullata, false),
        (Draft, _, OperatorCancel) => refuse(Refusal::DraftNotForOperators),
        (Draft, _, SupplyIntegration) => refuse(Refusal::DraftHasNoIntegration),
        (Draft, _, Claim | Release | AskIntegration | AttachResult | Close) => {
            refuse(Refusal::DraftNotSubmitted)
        }

        // --- In erogazione, in the queue (nobody has taken it).
        (InErogazione, false, Claim) => to(InErogazione, true),
        (InErogazione, false, ClientCancel | OperatorCancel) => to(Annullata, false),
        (InErogazione, false, Release | AskIntegration | AttachResult | Close) => {
            refuse(Refusal::NotClaimed)
        }

        // --- In erogazione, taken by an operator.
        (InErogazione, true, Release) => to(InErogazione, false),
        (InErogazione, true, AskIntegration) => to(InAttesaIntegrazione, true),
        (InErogazione, true, AttachResult) => to(InErogazione, true),
        (InErogazione, true, Close) if has_results => to(VisuraEvasa, true),
        (InErogazione, true, Close) => refuse(Refusal::NoResults),
        (InErogazione, true, OperatorCancel) => to(Annullata, true),
        (InErogazione, true, ClientCancel) => refuse(Refusal::OperatorAtWork),
        (InErogazione, true, Claim) => refuse(Refusal::AlreadyTaken),

        // --- In erogazione, whoever holds it: the client's draft actions are over.
        (InErogazione, _, Submit | EditDraft) => refuse(Refusal::AlreadySubmitted),
        (InErogazione, _, SupplyIntegration) => refuse(Refusal::SubmittedNoIntegration),

        // --- Waiting for the client to integrate data or files.
        (InAttesaIntegrazione, _, SupplyIntegration) => to(InErogazione, taken),
        (InAttesaIntegrazione, _, ClientCancel | OperatorCancel) => to(Annullata, taken),
        (InAttesaIntegrazione, true, AttachResult) => to(InAttesaIntegrazione, true),
        (InAttesaIntegrazione, true, Release) => to(InAttesaIntegrazione, false),
        // Claim is refused while waiting (below), so a released request is picked up again
        // only after the client answers and it is back in the queue.
        (InAttesaIntegrazione, false, AttachResult | Release) => refuse(Refusal::NobodyHolds),
        (InAttesaIntegrazione, _, Claim) => refuse(Refusal::AwaitingIntegrationClaim),
        (InAttesaIntegrazione, _, AskIntegration) => refuse(Refusal::IntegrationPending),
        (InAttesaIntegrazione, _, Close) => refuse(Refusal::AwaitingIntegrationClose),
        (InAttesaIntegrazione, _, Submit | EditDraft) => refuse(Refusal::AnswerIntegration),

        // --- Results available: only finishing touches.
        (DatiDisponibili, _, Close) if has_results => to(VisuraEvasa, taken),
        (DatiDisponibili, _, Close) => refuse(Refusal::NoResults),
        (DatiDisponibili, _, AttachResult) => to(DatiDisponibili, taken),
        (DatiDisponibili, _, ClientCancel | OperatorCancel) => refuse(Refusal::ResultsNoCancel),
        (
            DatiDisponibili,
            _,
            Submit | EditDraft | SupplyIntegration | Claim | Release | AskIntegration,
        ) => refuse(Refusal::ResultsOnlyClose),

        // --- Documents beyond the form: until the work is done.
        (Draft, _, SupplyDocument) => to(Draft, false),
        (InErogazione | InAttesaIntegrazione, _, SupplyDocument) => to(status, taken),
        (DatiDisponibili | VisuraEvasa | Annullata, _, SupplyDocument) => {
            refuse(Refusal::NoMoreDocuments)
        }

        // --- Final.
        (VisuraEvasa, _, _) => refuse(Refusal::Closed),
        (Annullata, _, _) => refuse(Refusal::Cancelled),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use Action::*;
    use Status::*;

    const ALL_ACTIONS: [Action; 12] = [
        Submit,
        EditDraft,
        SupplyIntegration,
        ClientCancel,
        Update,
        Claim,
        Release,
        AskIntegration,
        AttachResult,
        Close,
        OperatorCancel,
        SupplyDocument,
    ];

    /// `None` means "either value".
    type Row = (Status, Option<bool>, Action, Option<bool>, Status, Taken);

    /// What `taken` becomes.
    #[derive(Clone, Copy)]
    enum Taken {
        Set(bool),
        Keep,
    }

    /// The specification, written as the list of every allowed move; anything not listed must be
    /// refused. Kept independent of `apply`'s match on purpose.
    const ALLOWED: &[Row] = &[
        (Draft, None, SupplyDocument, None, Draft, Taken::Set(false)),
        (
            InErogazione,
            None,
            SupplyDocument,
            None,
            InErogazione,
            Taken::Keep,
        ),
        (
            InAttesaIntegrazione,
            None,
            SupplyDocument,
            None,
            InAttesaIntegrazione,
            Taken::Keep,
        ),
        (Draft, None, Submit, None, InErogazione, Taken::Set(false)),
        (Draft, None, EditDraft, None, Draft, Taken::Set(false)),
        (Draft, None, Update, None, Draft, Taken::Set(false)),
        (
            InAttesaIntegrazione,
            None,
            Update,
            None,
            InErogazione,
            Taken::Keep,
        ),
        (
            Draft,
            None,
            ClientCancel,
            None,
            Annullata,
            Taken::Set(false),
        ),
        (
            InErogazione,
            Some(false),
            Claim,
            None,
            InErogazione,
            Taken::Set(true),
        ),
        (
            InErogazione,
            Some(false),
            ClientCancel,
            None,
            Annullata,
            Taken::Keep,
        ),
        (
            InErogazione,
            Some(false),
            OperatorCancel,
            None,
            Annullata,
            Taken::Keep,
        ),
        (
            InErogazione,
            Some(true),
            Release,
            None,
            InErogazione,
            Taken::Set(false),
        ),
        (
            InErogazione,
            Some(true),
            AskIntegration,
            None,
            InAttesaIntegrazione,
            Taken::Keep,
        ),
        (
            InErogazione,
            Some(true),
            AttachResult,
            None,
            InErogazione,
            Taken::Keep,
        ),
        (
            InErogazione,
            Some(true),
            Close,
            Some(true),
            VisuraEvasa,
            Taken::Keep,
        ),
        (
            InErogazione,
            Some(true),
            OperatorCancel,
            None,
            Annullata,
            Taken::Keep,
        ),
        (
            InAttesaIntegrazione,
            None,
            SupplyIntegration,
            None,
            InErogazione,
            Taken::Keep,
        ),
        (
            InAttesaIntegrazione,
            None,
            OperatorCancel,
            None,
            Annullata,
            Taken::Keep,
        ),
        (
            InAttesaIntegrazione,
            None,
            ClientCancel,
            None,
            Annullata,
            Taken::Keep,
        ),
        (
            InAttesaIntegrazione,
            Some(true),
            AttachResult,
            None,
            InAttesaIntegrazione,
            Taken::Keep,
        ),
        (
            InAttesaIntegrazione,
            Some(true),
            Release,
            None,
            InAttesaIntegrazione,
            Taken::Set(false),
        ),
        (
            DatiDisponibili,
            None,
            Close,
            Some(true),
            VisuraEvasa,
            Taken::Keep,
        ),
        (
            DatiDisponibili,
            None,
            AttachResult,
            None,
            DatiDisponibili,
            Taken::Keep,
        ),
    ];

    fn expected(s: Situation, action: Action) -> Option<Outcome> {
        ALLOWED
            .iter()
            .find(|(st, tk, ac, hr, _, _)| {
                *st == s.status
                    && *ac == action
                    && tk.is_none_or(|t| t == s.taken)
                    && hr.is_none_or(|h| h == s.has_results)
            })
            .map(|&(_, _, _, _, status, taken)| Outcome {
                status,
                taken: match taken {
                    Taken::Set(t) => t,
                    Taken::Keep => s.taken,
                },
            })
    }

    fn every_situation() -> impl Iterator<Item = Situation> {
        Status::ALL.into_iter().flat_map(|status| {
            [false, true].into_iter().flat_map(move |taken| {
                [false, true].into_iter().map(move |has_results| Situation {
                    status,
                    taken,
                    has_results,
                })
            })
        })
    }

    fn sit(status: Status, taken: bool, has_results: bool) -> Situation {
        Situation {
            status,
            taken,
            has_results,
        }
    }

    fn reason(s: Situation, a: Action) -> &'static str {
        refusal(s, a).message()
    }

    fn refusal(s: Situation, a: Action) -> Refusal {
        match apply(s, a) {
            Err(e) => e.refusal,
            Ok(o) => panic!("{s:?} {a:?} should be refused, got {o:?}"),
        }
    }

    #[test]
    fn every_status_action_taken_and_results_combination_follows_the_table() {
        let mut checked = 0;
        let mut allowed = 0;
        for s in every_situation() {
            for a in ALL_ACTIONS {
                let got = apply(s, a);
                match (expected(s, a), got) {
                    (Some(want), Ok(got)) => {
                        assert_eq!(want, got, "{s:?} {a:?}");
                        allowed += 1;
                    }
                    (None, Err(e)) => {
                        assert_eq!((e.from, e.action), (s.status, a));
                        assert!(!e.refusal.message().is_empty(), "{s:?} {a:?}");
                        assert!(e.refusal.message() != "not implemented");
                    }
                    (want, got) => panic!("{s:?} {a:?}: expected {want:?}, got {got:?}"),
                }
                checked += 1;
            }
        }
        assert_eq!(checked, 6 * 12 * 2 * 2);
        // Draft ignores taken (2×2×4), the other rows each cover the has_results values they allow.
        assert_eq!(
            allowed,
            16 + 4 + 2 + 2 + 2 + 2 + 2 + 2 + 1 + 2 + 4 + 4 + 4 + 2 + 2 + 2 + 4 + 12
        );
    }

    #[test]
    fn the_action_list_is_complete() {
        // A new Action variant must be added to ALL_ACTIONS, or the exhaustive test misses it.
        for a in ALL_ACTIONS {
            match a {
                Submit | EditDraft | SupplyIntegration | ClientCancel | Update | Claim
                | Release | AskIntegration | AttachResult | Close | OperatorCancel
                | SupplyDocument => {}
            }
        }
        let distinct: std::collections::HashSet<_> = ALL_ACTIONS.into_iter().collect();
        assert_eq!(distinct.len(), ALL_ACTIONS.len());
    }

    #[test]
    fn final_statuses_refuse_everything() {
        for s in every_situation().filter(|s| s.status.is_final()) {
            for a in ALL_ACTIONS {
                let r = reason(s, a);
                match (s.status, a) {
                    (_, Update) => assert_eq!(refusal(s, a), Refusal::NotEditable),
                    (_, SupplyDocument) => assert_eq!(refusal(s, a), Refusal::NoMoreDocuments),
                    (VisuraEvasa, _) => assert_eq!(r, "the request has already been closed"),
                    _ => assert_eq!(r, "the request has been cancelled"),
                }
            }
        }
    }

    #[test]
    fn nothing_goes_back_to_draft_except_editing_a_draft() {
        for s in every_situation() {
            for a in ALL_ACTIONS {
                if let Ok(o) = apply(s, a) {
                    if o.status == Draft {
                        assert!(
                            matches!((s.status, a), (Draft, EditDraft | Update | SupplyDocument)),
                            "{s:?} {a:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn closing_always_needs_a_result_file() {
        for s in every_situation() {
            for a in ALL_ACTIONS {
                if let Ok(o) = apply(s, a) {
                    if o.status == VisuraEvasa {
                        assert!(s.has_results, "{s:?} {a:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn submitting_a_draft_puts_it_in_the_queue_untaken() {
        let o = apply(sit(Draft, false, false), Submit).unwrap();
        assert_eq!(
            o,
            Outcome {
                status: InErogazione,
                taken: false
            }
        );
    }

    #[test]
    fn operators_cannot_cancel_drafts() {
        assert_eq!(
            reason(sit(Draft, false, false), OperatorCancel),
            "the request is still a draft: operators cannot act on drafts"
        );
    }

    #[test]
    fn an_untaken_request_must_be_claimed_before_working_on_it() {
        for a in [Release, AskIntegration, AttachResult, Close] {
            assert_eq!(
                reason(sit(InErogazione, false, true), a),
                "nobody has taken the request: claim it first"
            );
        }
    }

    #[test]
    fn a_submitted_request_refuses_draft_actions() {
        for taken in [false, true] {
            for a in [Submit, EditDraft] {
                assert_eq!(
                    reason(sit(InErogazione, taken, false), a),
                    "the request has already been submitted"
                );
            }
            assert!(reason(sit(InErogazione, taken, false), SupplyIntegration)
                .contains("already been submitted"));
        }
    }

    #[test]
    fn the_client_cannot_cancel_once_an_operator_works_on_it() {
        assert!(reason(sit(InErogazione, true, false), ClientCancel)
            .contains("an operator is already working on"));
        let o = apply(sit(InErogazione, false, false), ClientCancel).unwrap();
        assert_eq!(o.status, Annullata);
    }

    #[test]
    fn claiming_twice_is_refused() {
        assert_eq!(
            reason(sit(InErogazione, true, false), Claim),
            "the request is already taken by an operator"
        );
    }

    #[test]
    fn closing_without_results_is_refused() {
        assert_eq!(
            reason(sit(InErogazione, true, false), Close),
            "attach at least one result file first"
        );
        assert_eq!(
            reason(sit(DatiDisponibili, true, false), Close),
            "attach at least one result file first"
        );
        let o = apply(sit(InErogazione, true, true), Close).unwrap();
        assert_eq!(
            o,
            Outcome {
                status: VisuraEvasa,
                taken: true
            }
        );
    }

    #[test]
    fn an_integration_round_trip_keeps_the_operator() {
        let asked = apply(sit(InErogazione, true, false), AskIntegration).unwrap();
        assert_eq!(
            asked,
            Outcome {
                status: InAttesaIntegrazione,
                taken: true
            }
        );
        let supplied = apply(sit(asked.status, asked.taken, false), SupplyIntegration).unwrap();
        assert_eq!(
            supplied,
            Outcome {
                status: InErogazione,
                taken: true
            }
        );
    }

    #[test]
    fn a_released_waiting_request_returns_to_the_queue_when_the_client_answers() {
        let released = apply(sit(InAttesaIntegrazione, true, false), Release).unwrap();
        assert_eq!(
            released,
            Outcome {
                status: InAttesaIntegrazione,
                taken: false
            }
        );
        assert!(apply(sit(InAttesaIntegrazione, false, false), Claim).is_err());
        let back = apply(sit(InAttesaIntegrazione, false, false), SupplyIntegration).unwrap();
        assert_eq!(
            back,
            Outcome {
                status: InErogazione,
                taken: false
            }
        );
        assert!(apply(sit(InErogazione, false, false), Claim).is_ok());
    }

    /// The refusals the service layer adds; every other one must come out of the machine.
    const SERVICE_REFUSALS: [Refusal; 10] = [
        Refusal::HeldByAnother,
        Refusal::TakeFirst,
        Refusal::ReassignedMeanwhile,
        Refusal::NotReassignable,
        Refusal::SandboxRequest,
        Refusal::ServiceNotWorked,
        Refusal::NoLongerOverdue,
        Refusal::MandateMissing,
        Refusal::InvitationNeedsDraft,
        Refusal::NoInvitation,
    ];

    #[test]
    fn every_refusal_of_the_machine_is_reachable() {
        let given: std::collections::HashSet<Refusal> = every_situation()
            .flat_map(|s| ALL_ACTIONS.into_iter().map(move |a| apply(s, a)))
            .filter_map(Result::err)
            .map(|e| e.refusal)
            .collect();
        for r in Refusal::ALL {
            assert_eq!(given.contains(&r), !SERVICE_REFUSALS.contains(&r), "{r:?}");
        }
    }

    #[test]
    fn a_put_edits_a_draft_answers_an_integration_and_is_refused_otherwise() {
        for taken in [false, true] {
            assert_eq!(
                apply(sit(Draft, taken, false), Update).unwrap().status,
                Draft
            );
            let answered = apply(sit(InAttesaIntegrazione, taken, false), Update).unwrap();
            assert_eq!(
                answered,
                apply(sit(InAttesaIntegrazione, taken, false), SupplyIntegration).unwrap()
            );
            for status in [InErogazione, DatiDisponibili, VisuraEvasa, Annullata] {
                assert_eq!(
                    refusal(sit(status, taken, true), Update),
                    Refusal::NotEditable
                );
            }
        }
        // The commercial API's words for 239, whatever the state.
        assert_eq!(
            Refusal::NotEditable.message(),
            "the request has already been closed"
        );
    }

    #[test]
    fn wire_names_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::from_db(s.as_db()), Some(s));
            assert_eq!(s.state_flag() == 0, s == Draft);
        }
    }
}
