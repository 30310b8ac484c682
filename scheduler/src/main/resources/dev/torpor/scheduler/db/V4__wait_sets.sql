-- A workflow waits on a set of waits (one per waiting thread): the set as JSON, with each
-- wait's id, kind, signal names, deadline and stack. wait_kind, wait_signal and wake_at stay as
-- its summary (listed kind, first name, earliest deadline). A wake may deliver several signals:
-- the mailbox rows it claimed, as a JSON list (last_wake_signal keeps the first).
ALTER TABLE torpor_workflow ADD COLUMN waits ${text};
ALTER TABLE torpor_workflow ADD COLUMN last_wake_signals ${text};
