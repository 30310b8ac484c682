-- A client's idempotency key for each signal, so that a retried request (or a transaction run
-- again after its commit's acknowledgement was lost) finds the signal it stored and stores
-- nothing. NULL for signals sent without a key; a unique index lets several NULLs be.
ALTER TABLE torpor_signal ADD COLUMN idempotency_key VARCHAR(128);
CREATE UNIQUE INDEX torpor_signal_key ON torpor_signal(workflow_id, idempotency_key);
