-- Case events in the same second, in the order they happened. `at` is a
-- DateTime (seconds; 18.16 has no DateTime64), so a hold and a resume of
-- one case within a second tied, and the tie went to the later workflow
-- state: the case read as on hold, and its escalation waited for a resume
-- that had already happened. at_us is the event's microsecond within its
-- second (0 for events written before this migration, and by an earlier
-- earshot during an upgrade).
ALTER TABLE case_events ADD COLUMN at_us UInt32 AFTER at;

-- case_state's key (0012) becomes (event != 'opened', at, at_us, state)
-- packed into one UInt64: bit 60 for "not opened", the Unix time shifted
-- by 28 bits, the microsecond by 8, the state in the low byte. Every key
-- on this scale is above every key on the old one (bit 40, time << 8), so
-- the back-fill below re-keys each case's events and the rows keyed the
-- old way lose every argMax from then on: no truncation, no moment when a
-- reader sees no cases. An event inserted between the DROP and the CREATE
-- is in the back-fill; one inserted after the CREATE is in both, and the
-- aggregates (argMax, min, max, any, groupUniqArray) take it once.
DROP TABLE IF EXISTS case_state_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS case_state_mv TO case_state AS
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
