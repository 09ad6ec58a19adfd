-- Deliveries tell the truth: 'unknown' is an attempt whose request went out
-- and got no answer (the receiver may have taken it); message_id is stable
-- across resends of one message (receivers get it as Idempotency-Key);
-- duplicate = 1 marks a send an earlier attempt may already have delivered,
-- and each such send is announced by an 'attempt' row written before it
-- goes out, so possible duplicates are counted even when the sender dies
-- mid-send: sum(length(case_ids)) WHERE status = 'attempt'.
ALTER TABLE alert_deliveries MODIFY COLUMN status Enum8('sent' = 0, 'retry' = 1, 'failed' = 2, 'throttled' = 3, 'suppressed' = 4, 'unknown' = 5, 'attempt' = 6);
ALTER TABLE alert_deliveries ADD COLUMN message_id String;
ALTER TABLE alert_deliveries ADD COLUMN duplicate UInt8;

-- A pass killed before it recorded its outcome is recorded as interrupted by
-- the next earshot process on that machine.
ALTER TABLE collection_runs MODIFY COLUMN status Enum8('ok' = 0, 'partial' = 1, 'failed' = 2, 'interrupted' = 3);
