-- Schema version 5: the event log, written in the same transaction as the
-- change each event reports, and the webhooks that receive it, each with a
-- durable cursor into the log.

-- seq (AUTOINCREMENT: never reused after retention) is the order and the
-- SSE id; uid is the stable event id receivers deduplicate by; data is
-- the JSON payload as committed (a redelivery sends the same bytes).
CREATE TABLE events (
	seq  INTEGER PRIMARY KEY AUTOINCREMENT,
	uid  TEXT NOT NULL UNIQUE,
	type TEXT NOT NULL,
	at   INTEGER NOT NULL,
	data TEXT NOT NULL
);
CREATE INDEX events_type ON events (type, seq);
CREATE INDEX events_at ON events (at);

-- A webhook receives the events of its types (comma-separated, '' for
-- all) after its cursor, in seq order, one at a time. cursor is the last
-- event it is done with (delivered, or dead after max age).
CREATE TABLE webhooks (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	uid             TEXT NOT NULL UNIQUE,
	url             TEXT NOT NULL,
	secret          TEXT NOT NULL,
	types           TEXT NOT NULL DEFAULT '',
	source          TEXT NOT NULL DEFAULT 'api' CHECK (source IN ('api', 'env')),
	state           TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'disabled')),
	disabled_reason TEXT NOT NULL DEFAULT '',
	cursor          INTEGER NOT NULL,
	delivered       INTEGER NOT NULL DEFAULT 0,
	dead            INTEGER NOT NULL DEFAULT 0,
	last_success_at INTEGER NOT NULL DEFAULT 0,
	last_error      TEXT NOT NULL DEFAULT '',
	last_error_at   INTEGER NOT NULL DEFAULT 0,
	created_at      INTEGER NOT NULL
);

-- The event at the head of a webhook's queue while it is being tried:
-- committed before each attempt (attempts counted, next_at set) and after
-- it (deleted on success or death, else the error and the next time).
CREATE TABLE webhook_attempts (
	webhook_id INTEGER PRIMARY KEY REFERENCES webhooks(id) ON DELETE CASCADE,
	event_seq  INTEGER NOT NULL,
	attempts   INTEGER NOT NULL,
	next_at    INTEGER NOT NULL,
	last_error TEXT NOT NULL DEFAULT ''
);

-- Events a webhook gave up on (max age passed): counted and listed.
CREATE TABLE webhook_dead (
	webhook_id INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
	event_seq  INTEGER NOT NULL,
	attempts   INTEGER NOT NULL,
	error      TEXT NOT NULL,
	at         INTEGER NOT NULL,
	PRIMARY KEY (webhook_id, event_seq)
) WITHOUT ROWID;
CREATE INDEX webhook_dead_at ON webhook_dead (at);
