-- Deliveries tell the truth: 'unknown' is an attempt whose request went out
-- and got no answer (the receiver may have taken it); message_id is stable
-- across resends of one message (receivers get it as Idempotency-Key);
-- duplicate = 1 marks a send an earlier attempt may already have delivered.
ALTER TABLE alert_deliveries MODIFY COLUMN status Enum8('sent' = 0, 'retry' = 1, 'failed' = 2, 'throttled' = 3, 'suppressed' = 4, 'unknown' = 5);
ALTER TABLE alert_deliveries ADD COLUMN message_id String;
ALTER TABLE alert_deliveries ADD COLUMN duplicate UInt8;

-- A pass killed before it recorded its outcome is recorded as interrupted by
-- the next earshot process on that machine.
ALTER TABLE collection_runs MODIFY COLUMN status Enum8('ok' = 0, 'partial' = 1, 'failed' = 2, 'interrupted' = 3);
