-- Schema version 1: modems, messages (both directions), outbound parts and
-- the history of every state change. Times are Unix milliseconds (UTC).

-- A modem is the SIM (IMSI, ICCID) in a stick (IMEI), never a device path:
-- the same SIM in another stick is another modem.
CREATE TABLE modems (
	id         INTEGER PRIMARY KEY,
	imsi       TEXT NOT NULL,
	iccid      TEXT NOT NULL,
	imei       TEXT NOT NULL,
	first_seen INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL,
	UNIQUE (imsi, iccid, imei)
);

-- One row per message, outbound ('out') and inbound ('in'). AUTOINCREMENT:
-- a row id is never reused after retention deleted a row, so cursors stay
-- stable.
CREATE TABLE messages (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	uid           TEXT NOT NULL UNIQUE,   -- the id clients see: their own key, or generated
	direction     TEXT NOT NULL CHECK (direction IN ('out', 'in')),
	modem_id      INTEGER REFERENCES modems(id),  -- out: NULL until a modem's worker claims it
	client_key    INTEGER NOT NULL DEFAULT 0,     -- out: uid was the client's id / Idempotency-Key
	body_hash     TEXT NOT NULL DEFAULT '',       -- out: SHA-256 of the canonical request
	peer          TEXT NOT NULL,                  -- out: the recipient; in: the sender
	text          TEXT NOT NULL DEFAULT '',
	data_hex      TEXT NOT NULL DEFAULT '',
	validity_s    INTEGER NOT NULL DEFAULT 0,     -- out: TP-VP in seconds, 0 for none
	status_report INTEGER NOT NULL DEFAULT 0,
	flash         INTEGER NOT NULL DEFAULT 0,     -- out: class 0 requested; in: class 0 received
	send_at       INTEGER NOT NULL DEFAULT 0,     -- out: not before, 0 for now
	valid_until   INTEGER NOT NULL DEFAULT 0,     -- out: expire if not sent by then, 0 for never
	state         TEXT NOT NULL,
	reason        TEXT NOT NULL DEFAULT '',
	part_count    INTEGER NOT NULL,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL,
	finished_at   INTEGER                          -- when it reached a final state
);
CREATE INDEX messages_outbox ON messages (state, send_at, id) WHERE direction = 'out';
CREATE INDEX messages_finished ON messages (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX messages_created ON messages (created_at);

-- The parts of an outbound message, each with its own state.
CREATE TABLE parts (
	message_id    INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
	seq           INTEGER NOT NULL,      -- 1..part_count
	pdu_hex       TEXT NOT NULL,         -- as AT+CMGS/AT+CMGW take it (SMSC prefix and SMS-SUBMIT)
	state         TEXT NOT NULL,
	mr            INTEGER,               -- TP-MR once sent; NULL before, or if it was lost
	storage_index INTEGER,               -- where AT+CMGW wrote it, until it is deleted there
	attempts      INTEGER NOT NULL DEFAULT 0,
	error         TEXT NOT NULL DEFAULT '',
	status        INTEGER,               -- TP-ST of the last status report
	sent_at       INTEGER,
	updated_at    INTEGER NOT NULL,
	PRIMARY KEY (message_id, seq)
) WITHOUT ROWID;

-- Every state change of a message (seq 0) or of one of its parts (seq n).
CREATE TABLE transitions (
	id         INTEGER PRIMARY KEY,
	message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
	seq        INTEGER NOT NULL,
	state      TEXT NOT NULL,
	detail     TEXT NOT NULL DEFAULT '',
	at         INTEGER NOT NULL
);
CREATE INDEX transitions_message ON transitions (message_id, id);
