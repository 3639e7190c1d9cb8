-- Providers are real parties (issue 17 §1): the data a client is shown about the CAF or
-- Patronato working its request, and the two texts it gives the person, versioned.

-- `name` stays the column of the denominazione. Every party column may be NULL: providers
-- made before this migration (and the sandbox's) have none until an admin fills them in.
ALTER TABLE providers ADD COLUMN tipo TEXT;
ALTER TABLE providers ADD COLUMN codice_fiscale TEXT;
ALTER TABLE providers ADD COLUMN indirizzo TEXT;
ALTER TABLE providers ADD COLUMN comune TEXT;
ALTER TABLE providers ADD COLUMN provincia TEXT;
ALTER TABLE providers ADD COLUMN email TEXT;
ALTER TABLE providers ADD COLUMN pec TEXT;
ALTER TABLE providers ADD COLUMN telefono TEXT;

-- A provider's privacy notice (`informativa`) and mandate template (`mandato`): an edit
-- adds a version, none is ever changed, so a request can always show the text it was shown.
CREATE TABLE provider_documents (
    provider_id TEXT NOT NULL REFERENCES providers(id),
    kind        TEXT NOT NULL,
    versione    BIGINT NOT NULL,
    testo       TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    created_by  TEXT NOT NULL,
    PRIMARY KEY (provider_id, kind, versione)
);

-- The versions of the notice and mandate current when the request was routed (created or
-- reassigned); NULL when the provider had none.
ALTER TABLE requests ADD COLUMN informativa_versione BIGINT;
ALTER TABLE requests ADD COLUMN mandato_versione BIGINT;

-- Client tokens that may read requests may read their provider's privacy notice
-- (`GET /fornitori/{id}/informativa`), the scope new client tokens get by default.
UPDATE tokens SET scopes = REPLACE(scopes, '"GET:/richiesta"', '"GET:/richiesta","GET:/fornitori"')
 WHERE role = 'client' AND scopes LIKE '%"GET:/richiesta"%' AND scopes NOT LIKE '%"GET:/fornitori"%';
