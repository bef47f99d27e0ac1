-- Schema version 8 (PostgreSQL, as SQLite): the index of the queued
-- messages with a validUntil, which every claim expires first.
CREATE INDEX messages_expiry ON messages (valid_until) WHERE direction = 'out' AND state = 'queued' AND valid_until > 0;
