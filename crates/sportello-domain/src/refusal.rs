//! Why an action on a request is refused: one variant per reason, each with its words for every
//! audience, so a new reason does not compile until each audience has them.
//!
//! The state machine ([`crate::status::apply`]) gives most of them; the service layer adds the
//! few it decides itself (who holds a request, reassignment, the PUT of a request that is no
//! longer a draft nor waiting for the client). The HTTP status and envelope code are the
//! server's business (its `error.rs` matches on this enum); the English message is what API
//! callers read, the Italian one what people read in the back office and the public pages.
//!
//! Invariant: no text here contains a value of the request (they are personal data).

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    // --- given by the state machine
    /// An operator action on a draft.
    DraftNotForOperators,
    /// A draft answered as if an integration had been asked.
    DraftHasNoIntegration,
    /// Working on a draft, which is not in any queue yet.
    DraftNotSubmitted,
    /// Working on a request nobody has taken.
    NotClaimed,
    /// Closing without a result file.
    NoResults,
    /// The client cancelling what an operator has taken.
    OperatorAtWork,
    /// Claiming a request someone holds.
    AlreadyTaken,
    /// Submitting or editing a submitted request.
    AlreadySubmitted,
    /// Answering an integration nobody asked for.
    SubmittedNoIntegration,
    /// Working on a waiting request nobody holds.
    NobodyHolds,
    /// Claiming a request that waits for the client.
    AwaitingIntegrationClaim,
    /// Asking for an integration while one is pending.
    IntegrationPending,
    /// Closing a request that waits for the client.
    AwaitingIntegrationClose,
    /// Editing or submitting a request that waits for the client's integration.
    AnswerIntegration,
    /// Cancelling once the results are available.
    ResultsNoCancel,
    /// Anything but closing once the results are available.
    ResultsOnlyClose,
    /// Anything on a closed request.
    Closed,
    /// Anything on a cancelled request.
    Cancelled,
    /// The client's `PUT` on a request that is neither a draft nor waiting for an integration.
    NotEditable,
    /// A document beyond the form for a request whose work is over (closed or cancelled).
    NoMoreDocuments,

    // --- added by the service layer
    /// An operator acting on a request another operator holds.
    HeldByAnother,
    /// An operator acting on a request nobody holds.
    TakeFirst,
    /// An admin's reassignment raced another one.
    ReassignedMeanwhile,
    /// Reassigning a draft or a closed request.
    NotReassignable,
    /// Reassigning a test request, which only the sandbox works.
    SandboxRequest,
    /// Reassigning to a provider that does not work the service.
    ServiceNotWorked,
    /// Marking overdue a request that changed since it was found overdue.
    NoLongerOverdue,
    /// Closing as processed a practice whose service needs the person's mandate, without one.
    MandateMissing,
    /// Inviting the person to a request that is no longer a draft.
    InvitationNeedsDraft,
    /// Revoking an invitation when none is current.
    NoInvitation,
}

impl Refusal {
    /// Every refusal, for tests and for documentation.
    pub const ALL: [Refusal; 30] = [
        Refusal::DraftNotForOperators,
        Refusal::DraftHasNoIntegration,
        Refusal::DraftNotSubmitted,
        Refusal::NotClaimed,
        Refusal::NoResults,
        Refusal::OperatorAtWork,
        Refusal::AlreadyTaken,
        Refusal::AlreadySubmitted,
        Refusal::SubmittedNoIntegration,
        Refusal::NobodyHolds,
        Refusal::AwaitingIntegrationClaim,
        Refusal::IntegrationPending,
        Refusal::AwaitingIntegrationClose,
        Refusal::AnswerIntegration,
        Refusal::ResultsNoCancel,
        Refusal::ResultsOnlyClose,
        Refusal::Closed,
        Refusal::Cancelled,
        Refusal::NotEditable,
        Refusal::HeldByAnother,
        Refusal::TakeFirst,
        Refusal::ReassignedMeanwhile,
        Refusal::NotReassignable,
        Refusal::SandboxRequest,
        Refusal::ServiceNotWorked,
        Refusal::NoLongerOverdue,
        Refusal::NoMoreDocuments,
        Refusal::MandateMissing,
        Refusal::InvitationNeedsDraft,
        Refusal::NoInvitation,
    ];

    /// English, for API callers: the envelope's `message`. Clients may match on these texts, so
    /// they do not change.
    pub fn message(self) -> &'static str {
        match self {
            Refusal::DraftNotForOperators => {
                "the request is still a draft: operators cannot act on drafts"
            }
            Refusal::DraftHasNoIntegration => "the request is a draft: no integration was asked",
            Refusal::DraftNotSubmitted => "the request is still a draft: submit it first",
            Refusal::NotClaimed => "nobody has taken the request: claim it first",
            Refusal::NoResults => "attach at least one result file first",
            Refusal::OperatorAtWork => {
                "an operator is already working on the request: it can no longer be cancelled"
            }
            Refusal::AlreadyTaken => "the request is already taken by an operator",
            Refusal::AlreadySubmitted => "the request has already been submitted",
            Refusal::SubmittedNoIntegration => {
                "the request has already been submitted and no integration was asked"
            }
            Refusal::NobodyHolds => {
                "nobody holds the request: it returns to the queue when the client supplies the integration"
            }
            Refusal::AwaitingIntegrationClaim => {
                "the request is waiting for the client's integration: it can be claimed once the client answers"
            }
            Refusal::IntegrationPending => {
                "an integration has already been asked and the client has not answered yet"
            }
            Refusal::AwaitingIntegrationClose => {
                "the request is waiting for the client's integration: it cannot be closed now"
            }
            Refusal::AnswerIntegration => {
                "the request has already been submitted: answer the integration request instead"
            }
            Refusal::ResultsNoCancel => {
                "the results are already available: the request can no longer be cancelled"
            }
            Refusal::ResultsOnlyClose => {
                "the results are already available: the request can only be closed"
            }
            Refusal::Closed => "the request has already been closed",
            Refusal::Cancelled => "the request has been cancelled",
            // The commercial API's words for its error 239, whatever the request's state.
            Refusal::NotEditable => "the request has already been closed",
            Refusal::HeldByAnother => "another operator is working on this request",
            Refusal::TakeFirst => "take the request first",
            Refusal::ReassignedMeanwhile => "the request was reassigned meanwhile: reload it",
            Refusal::NotReassignable => "only a submitted, open request can be reassigned",
            Refusal::SandboxRequest => "test requests are worked by the sandbox, not by a provider",
            Refusal::ServiceNotWorked => "the provider does not work this service",
            Refusal::NoLongerOverdue => "no longer overdue",
            Refusal::NoMoreDocuments => {
                "the request is closed or cancelled: it takes no more documents"
            }
            Refusal::MandateMissing => {
                "the practice has no signed mandate: ask the client for the document `mandato` before closing"
            }
            Refusal::InvitationNeedsDraft => {
                "only a draft can be invited: the person completes and submits it from their page"
            }
            Refusal::NoInvitation => "the request has no current invitation",
        }
    }

    /// Italian, for people: the back office's pages and the public pages.
    pub fn italian(self) -> &'static str {
        match self {
            Refusal::DraftNotForOperators | Refusal::DraftNotSubmitted => {
                "La richiesta è ancora una bozza."
            }
            Refusal::DraftHasNoIntegration => {
                "La richiesta è una bozza: non è stata chiesta alcuna integrazione."
            }
            Refusal::NotClaimed | Refusal::TakeFirst => {
                "Prendi in carico la richiesta prima di procedere."
            }
            Refusal::NoResults => "Allega almeno un file di risultato prima di chiudere.",
            Refusal::OperatorAtWork => "La richiesta non può più essere annullata.",
            Refusal::AlreadyTaken => {
                "La richiesta è già stata presa in carico da un altro operatore."
            }
            Refusal::AlreadySubmitted => "La richiesta è già stata inviata.",
            Refusal::SubmittedNoIntegration => {
                "La richiesta è già stata inviata e non è stata chiesta alcuna integrazione."
            }
            Refusal::NobodyHolds => {
                "Nessuno ha in carico la richiesta: torna in coda quando il cliente risponde."
            }
            Refusal::AwaitingIntegrationClaim => {
                "La richiesta attende l'integrazione del cliente: potrà essere presa in carico quando il cliente risponde."
            }
            Refusal::IntegrationPending => {
                "È già stata chiesta un'integrazione e il cliente non ha ancora risposto."
            }
            Refusal::AwaitingIntegrationClose => {
                "La richiesta attende l'integrazione del cliente: non può essere chiusa ora."
            }
            Refusal::AnswerIntegration => {
                "La richiesta è già stata inviata: rispondi alla richiesta di integrazione."
            }
            Refusal::ResultsNoCancel => {
                "I risultati sono già disponibili: la richiesta non può più essere annullata."
            }
            Refusal::ResultsOnlyClose => {
                "I risultati sono già disponibili: la richiesta può solo essere chiusa."
            }
            Refusal::Closed => "La richiesta è già stata chiusa.",
            Refusal::Cancelled => "La richiesta è stata annullata.",
            Refusal::NotEditable => "La richiesta non può più essere modificata.",
            Refusal::HeldByAnother => "Un altro operatore sta lavorando questa richiesta.",
            Refusal::ReassignedMeanwhile => {
                "La richiesta è stata riassegnata nel frattempo: ricarica la pagina."
            }
            Refusal::NotReassignable => {
                "Solo una richiesta inviata e ancora aperta può essere riassegnata."
            }
            Refusal::SandboxRequest => {
                "Le richieste di prova sono lavorate dalla sandbox, non da un fornitore."
            }
            Refusal::ServiceNotWorked => "Il fornitore scelto non lavora questo servizio.",
            Refusal::NoLongerOverdue => "La richiesta non è più in ritardo.",
            Refusal::NoMoreDocuments => {
                "La richiesta è chiusa o annullata: non si possono più aggiungere documenti."
            }
            Refusal::MandateMissing => {
                "Mandato mancante: chiedi al cliente il mandato firmato prima di chiudere la pratica."
            }
            Refusal::InvitationNeedsDraft => {
                "La pratica è già stata inviata: non si può più invitare la persona a completarla."
            }
            Refusal::NoInvitation => "Non c'è alcun invito in corso per questa pratica.",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for Refusal {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_has_words_for_every_audience() {
        for r in Refusal::ALL {
            assert!(!r.message().trim().is_empty(), "{r:?}");
            assert!(!r.italian().trim().is_empty(), "{r:?}");
            assert!(r.italian().ends_with('.'), "{r:?}: a sentence for a page");
            assert_eq!(r.to_string(), r.message());
        }
    }

    #[test]
    fn the_refusal_list_is_complete() {
        // A new variant must be added to ALL, or the tests over ALL miss it.
        for r in Refusal::ALL {
            match r {
                Refusal::DraftNotForOperators
                | Refusal::DraftHasNoIntegration
                | Refusal::DraftNotSubmitted
                | Refusal::NotClaimed
                | Refusal::NoResults
                | Refusal::OperatorAtWork
                | Refusal::AlreadyTaken
                | Refusal::AlreadySubmitted
                | Refusal::SubmittedNoIntegration
                | Refusal::NobodyHolds
                | Refusal::AwaitingIntegrationClaim
                | Refusal::IntegrationPending
                | Refusal::AwaitingIntegrationClose
                | Refusal::AnswerIntegration
                | Refusal::ResultsNoCancel
                | Refusal::ResultsOnlyClose
                | Refusal::Closed
                | Refusal::Cancelled
                | Refusal::NotEditable
                | Refusal::HeldByAnother
                | Refusal::TakeFirst
                | Refusal::ReassignedMeanwhile
                | Refusal::NotReassignable
                | Refusal::SandboxRequest
                | Refusal::ServiceNotWorked
                | Refusal::NoLongerOverdue
                | Refusal::NoMoreDocuments
                | Refusal::MandateMissing
                | Refusal::InvitationNeedsDraft
                | Refusal::NoInvitation => {}
            }
        }
        let distinct: std::collections::HashSet<_> = Refusal::ALL.into_iter().collect();
        assert_eq!(distinct.len(), Refusal::ALL.len());
    }
}
