-- The person's own page (issue 18). A request keeps its current invitation (sealed JSON: it
-- holds the person's address, the pending code's keyed hash, the device's session hash), the
-- SHA-256 of the link's secret to find it by (the secret itself is never stored), and what the
-- person agreed to (`consensi`, plain JSON: nothing personal, kept after the purge).
ALTER TABLE requests ADD COLUMN invito TEXT;
ALTER TABLE requests ADD COLUMN invito_hash TEXT;
ALTER TABLE requests ADD COLUMN consensi TEXT;
CREATE UNIQUE INDEX requests_invito_hash ON requests (invito_hash) WHERE invito_hash IS NOT NULL;

-- Whether a provider counts an on-screen acceptance (firma elettronica semplice) as the signed
-- mandate.
ALTER TABLE providers ADD COLUMN mandato_fes_accettato BOOLEAN NOT NULL DEFAULT FALSE;

-- E-mails to the invited person are deliveries of a fourth kind, `persona`.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_kind_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_kind_check
    CHECK (kind IN ('callback', 'webhook', 'email', 'persona'));
