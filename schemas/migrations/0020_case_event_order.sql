-- Case events in the same second, in the order they happened. `at` is a
-- DateTime (seconds; 18.16 has no DateTime64), so a hold and a resume of
-- one case within a second tied, and the tie went to the later workflow
-- state: the case read as on hold, and its escalation waited for a resume
-- that had already happened. at_us is the event's microsecond within its
-- second (0 for events written before this migration, and by an earlier
-- earshot still running during an upgrade: such an event loses to one of
-- the same second written by the new version).
ALTER TABLE case_events ADD COLUMN at_us UInt32 AFTER at;

-- case_state's key (0012) becomes (event != 'opened', at, at_us, state)
-- packed into one UInt64: bit 60 for "not opened", the Unix time shifted
-- by 28 bits, the microsecond by 8, the state in the low byte. Every key
-- on this scale is above every key on the old one (bit 40, time << 8), so
-- a back-fill re-keys each case's events and the rows keyed the old way
-- lose every argMax from then on: no truncation, no moment when a reader
-- sees no cases. In order: a back-fill (every case re-keyed before the
-- new view writes any new-scale row: an "opened" a retried routing writes
-- again meanwhile cannot outrank an acknowledgement keyed the old way);
-- the new view beside the old one (no event goes unseen between them);
-- the old view dropped; the back-fill again, for the events written
-- between the first and the new view. Both views feeding one event, or
-- the back-fill repeating it, change nothing: the aggregates (argMax,
-- min, max, any, groupUniqArray) take it once.
INSERT INTO case_state
SELECT
    case_id,
    anyIfState(mention_id, toUInt8(mention_id != '')),
    argMaxIfState(toUInt8(state), toUInt64(event != 'opened') * 1152921504606846976 + toUInt64(toUInt32(at)) * 268435456 + toUInt64(at_us) * 256 + toUInt8(state),
        toUInt8(event IN ('opened', 'acknowledged', 'held', 'resumed', 'resolved'))),
    argMaxIfState(actor, toUInt64(event != 'opened') * 1152921504606846976 + toUInt64(toUInt32(at)) * 268435456 + toUInt64(at_us) * 256 + toUInt8(state),
        toUInt8(event IN ('opened', 'acknowledged', 'held', 'resumed', 'resolved'))),
    argMaxIfState(outcome, toUInt64(event != 'opened') * 1152921504606846976 + toUInt64(toUInt32(at)) * 268435456 + toUInt64(at_us) * 256 + toUInt8(state),
        toUInt8(event IN ('opened', 'acknowledged', 'held', 'resumed', 'resolved'))),
    anyIfState(brand, toUInt8(brand != '')),
    anyIfState(location, toUInt8(location != '')),
    maxState(toUInt8(severity)),
    minState(at),
    maxState(at),
    minIfState(at, toUInt8(event = 'acknowledged')),
    maxIfState(step, toUInt8(event = 'escalated')),
    groupUniqArrayIfState(receiver, toUInt8(receiver != ''))
FROM case_events
GROUP BY case_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS case_state_us_mv TO case_state AS
SELECT
    case_id,
    anyIfState(mention_id, toUInt8(mention_id != '')) AS mention,
    argMaxIfState(toUInt8(state), toUInt64(event != 'opened') * 1152921504606846976 + toUInt64(toUInt32(at)) * 268435456 + toUInt64(at_us) * 256 + toUInt8(state),
        toUInt8(event IN ('opened', 'acknowledged', 'held', 'resumed', 'resolved'))) AS cur_state,
    argMaxIfState(actor, toUInt64(event != 'opened') * 1152921504606846976 + toUInt64(toUInt32(at)) * 268435456 + toUInt64(at_us) * 256 + toUInt8(state),
        toUInt8(event IN ('opened', 'acknowledged', 'held', 'resumed', 'resolved'))) AS cur_actor,
    argMaxIfState(outcome, toUInt64(event != 'opened') * 1152921504606846976 + toUInt64(toUInt32(at)) * 268435456 + toUInt64(at_us) * 256 + toUInt8(state),
        toUInt8(event IN ('opened', 'acknowledged', 'held', 'resumed', 'resolved'))) AS cur_outcome,
    anyIfState(brand, toUInt8(brand != '')) AS case_brand,
    anyIfState(location, toUInt8(location != '')) AS case_location,
    maxState(toUInt8(severity)) AS max_severity,
    minState(at) AS opened_at,
    maxState(at) AS updated_at,
    minIfState(at, toUInt8(event = 'acknowledged')) AS acked_at,
    maxIfState(step, toUInt8(event = 'escalated')) AS escalated,
    groupUniqArrayIfState(receiver, toUInt8(receiver != '')) AS receivers
FROM case_events
GROUP BY case_id;

DROP TABLE IF EXISTS case_state_mv;

INSERT INTO case_state
SELECT
    case_id,
    anyIfState(mention_id, toUInt8(mention_id != '')),
    argMaxIfState(toUInt8(state), toUInt64(event != 'opened') * 1152921504606846976 + toUInt64(toUInt32(at)) * 268435456 + toUInt64(at_us) * 256 + toUInt8(state),
        toUInt8(event IN ('opened', 'acknowledged', 'held', 'resumed', 'resolved'))),
    argMaxIfState(actor, toUInt64(event != 'opened') * 1152921504606846976 + toUInt64(toUInt32(at)) * 268435456 + toUInt64(at_us) * 256 + toUInt8(state),
        toUInt8(event IN ('opened', 'acknowledged', 'held', 'resumed', 'resolved'))),
    argMaxIfState(outcome, toUInt64(event != 'opened') * 1152921504606846976 + toUInt64(toUInt32(at)) * 268435456 + toUInt64(at_us) * 256 + toUInt8(state),
        toUInt8(event IN ('opened', 'acknowledged', 'held', 'resumed', 'resolved'))),
    anyIfState(brand, toUInt8(brand != '')),
    anyIfState(location, toUInt8(location != '')),
    maxState(toUInt8(severity)),
    minState(at),
    maxState(at),
    minIfState(at, toUInt8(event = 'acknowledged')),
    maxIfState(step, toUInt8(event = 'escalated')),
    groupUniqArrayIfState(receiver, toUInt8(receiver != ''))
FROM case_events
GROUP BY case_id;

-- case_assignee_us: whom each case is assigned to, the latest assignment
-- by (at, at_us); case_assignee (0015, by `at` alone) stays fed for an
-- earlier earshot during an upgrade, until a later migration drops it. A
-- table of its own rather than a column: 0015's back-fill, run again after
-- a lost ledger row, names no columns. The view first, then the back-fill.
CREATE TABLE IF NOT EXISTS case_assignee_us (
    case_id  String,
    assignee AggregateFunction(argMax, String, UInt64)
) ENGINE = AggregatingMergeTree()
ORDER BY case_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS case_assignee_us_mv TO case_assignee_us AS
SELECT case_id, argMaxState(note, toUInt64(toUInt32(at)) * 1000000 + at_us) AS assignee
FROM case_events
WHERE event = 'assigned'
GROUP BY case_id;

INSERT INTO case_assignee_us
SELECT case_id, argMaxState(note, toUInt64(toUInt32(at)) * 1000000 + at_us)
FROM case_events
WHERE event = 'assigned'
GROUP BY case_id;
