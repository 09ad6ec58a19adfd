-- Failed web inbox logins, so that the limit (5 in 15 minutes per user
-- name and per address) holds across every earshot process behind one
-- address, not 5 per process. key_hash is the SHA-256 of "user:NAME" or
-- "addr:IP" (an HMAC keyed with server.link_key when that is set): the
-- names and addresses themselves are in the log lines of the process that
-- refused them, not in a table analysts read. cleared = 1 is a successful
-- login for the user name: failures before it no longer count. at_us
-- (Unix microseconds) orders a success and a failure of the same second.
-- Rows stay (18.16 has no TTL): one per failed login; a blocked attempt
-- writes none.
CREATE TABLE IF NOT EXISTS login_failures (
    key_hash String,
    at       DateTime,
    at_us    UInt64,
    cleared  UInt8
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(at)
ORDER BY (key_hash, at_us);
