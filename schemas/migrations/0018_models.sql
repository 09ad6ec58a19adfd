-- The learned scorer's models in use, for every earshot process: the one
-- that retrains (the dispatcher) or rolls back publishes the model files'
-- bytes here, and every other process, on whatever machine and with
-- whatever var/models of its own, follows within a minute. One row per
-- change; the newest (seq: Unix nanoseconds, above the last one) wins.
-- `key` names the model line: "default/<start model id>" or
-- "brand:<brand>/<start model id>", as var/models/<brand>/<start> does.
CREATE TABLE IF NOT EXISTS models (
    key         String,
    seq         UInt64,
    at          DateTime,
    current_id  String,
    previous_id String,
    current     String,
    previous    String
) ENGINE = ReplacingMergeTree(seq)
ORDER BY key;
