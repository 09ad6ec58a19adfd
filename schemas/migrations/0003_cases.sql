-- The case workflow as an append-only event log: the current state of a case is
-- argMax(state, at). event_id is deterministic (case, event, step), so a retried
-- write collapses after FINAL instead of recording an event twice.
CREATE TABLE IF NOT EXISTS case_events (
    event_id   String,
    case_id    String,
    mention_id String,
    at         DateTime,
    event      String,
    state      Enum8('open' = 0, 'acknowledged' = 1, 'on_hold' = 2, 'resolved' = 3),
    actor      String,
    receiver   String,
    step       UInt8,
    outcome    String,
    note       String,
    brand      String,
    location   String,
    severity   Enum8('none' = 0, 'low' = 1, 'medium' = 2, 'high' = 3, 'critical' = 4)
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(at)
ORDER BY (case_id, event_id);

-- Every attempt to deliver an alert, successful or not.
CREATE TABLE IF NOT EXISTS alert_deliveries (
    delivery_id String,
    case_ids    Array(String),
    group_key   String,
    receiver    String,
    step        UInt8,
    attempt     UInt16,
    at          DateTime,
    status      Enum8('sent' = 0, 'retry' = 1, 'failed' = 2, 'throttled' = 3, 'suppressed' = 4),
    http_status UInt16,
    latency_ms  UInt32,
    error       String
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(at)
ORDER BY (receiver, at, delivery_id);
