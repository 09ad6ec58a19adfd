-- Web inbox sessions, so that a restart does not sign everyone out and
-- several earshot processes behind one address need no sticky sessions.
-- The cookie's token is never stored: token_hash is its SHA-256. One row
-- when a session starts and one when it ends (ended = 1); the newest
-- version wins. Rows of expired sessions stay (18.16 has no TTL): one or
-- two small rows per sign-in.
CREATE TABLE IF NOT EXISTS sessions (
    token_hash String,
    user       String,
    created    DateTime,
    expires    DateTime,
    ended      UInt8,
    version    UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY token_hash;
