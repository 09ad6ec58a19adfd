-- The learned scorer's models in use, for every earshot process: the one
-- that retrains (the dispatcher) or rolls back publishes the model files'
-- bytes here, and every other process, on whatever machine and with
-- whatever var/models of its own, follows within a minute. One row per
-- change; the newest (seq: Unix nanoseconds) wins. `key` names the model
-- line: the brand ("" for the default model) and the model retraining
-- started from, as var/models/<brand>/<start> does.
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
