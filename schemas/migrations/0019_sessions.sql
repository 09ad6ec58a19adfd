-- Web inbox sessions, so that a restart does not sign everyone out and
-- several earshot processes behind one address need no sticky sessions.
-- The cookie's token is never stored: token_hash is its SHA-256 (an HMAC
-- keyed with server.link_key when that is set, so that rows written into
-- this table by hand open no session). credential is a digest of the
-- user's password hash at sign-in: a changed password ends the session.
-- One row when a session starts and one when it ends (ended = 1, version
-- the largest: an end always outranks its start, whatever the clocks).
-- Rows of expired sessions stay (18.16 has no TTL): one or two small rows
-- per sign-in.
CREATE TABLE IF NOT EXISTS sessions (
    token_hash String,
    user       String,
    credential String,
    created    DateTime,
    expires    DateTime,
    ended      UInt8,
    version    UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY token_hash;
