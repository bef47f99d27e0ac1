-- Schema version 2: the inbox. Every received part is committed raw before
-- the modem's copy is deleted (AT+CMGD); concatenated messages are
-- reassembled from persisted parts.

ALTER TABLE messages ADD COLUMN smsc TEXT NOT NULL DEFAULT '';      -- in: the SMSC address
ALTER TABLE messages ADD COLUMN sc_time INTEGER NOT NULL DEFAULT 0; -- in: TP-SCTS, Unix ms
ALTER TABLE messages ADD COLUMN sc_zone INTEGER NOT NULL DEFAULT 0; -- in: TP-SCTS zone, seconds east of UTC
ALTER TABLE messages ADD COLUMN read INTEGER NOT NULL DEFAULT 0;    -- in: read by a client
ALTER TABLE messages ADD COLUMN missing TEXT NOT NULL DEFAULT '';   -- in, incomplete: missing part numbers "2,5"
CREATE INDEX messages_unread ON messages (id) WHERE direction = 'in' AND read = 0;

-- A concatenated message being reassembled: its parts share the sender,
-- the reference (8- or 16-bit) and the part count. Open while closed_at is
-- NULL; a reference reused after completion opens a new group.
CREATE TABLE in_groups (
	id         INTEGER PRIMARY KEY,
	modem_id   INTEGER NOT NULL REFERENCES modems(id),
	sender     TEXT NOT NULL,
	ref        INTEGER NOT NULL,
	ref16      INTEGER NOT NULL,
	total      INTEGER NOT NULL,
	first_at   INTEGER NOT NULL,  -- when its first part was stored: the incomplete timeout counts from it
	closed_at  INTEGER,
	message_id INTEGER REFERENCES messages(id) ON DELETE SET NULL
);
CREATE INDEX in_groups_open ON in_groups (modem_id, sender, ref, ref16, total) WHERE closed_at IS NULL;
CREATE INDEX in_groups_first ON in_groups (first_at) WHERE closed_at IS NULL;

-- Every received part, raw. The unique key is where the modem stored it
-- and its bytes: reading the same part again (after a crash between the
-- commit and AT+CMGD) finds the row and changes nothing, while an
-- identical PDU at another index (a repeated message) is a new part.
CREATE TABLE in_parts (
	id          INTEGER PRIMARY KEY,
	modem_id    INTEGER NOT NULL REFERENCES modems(id),
	storage     TEXT NOT NULL,      -- SM, ME, MT
	idx         INTEGER NOT NULL,   -- index in that storage
	pdu_hex     TEXT NOT NULL,      -- as +CMGL shows it: SMSC and SMS-DELIVER
	group_id    INTEGER REFERENCES in_groups(id) ON DELETE CASCADE,
	message_id  INTEGER REFERENCES messages(id) ON DELETE CASCADE,
	seq         INTEGER NOT NULL,   -- 1..total, 0 for a single message
	alphabet    INTEGER NOT NULL,   -- 0 GSM 7-bit, 1 8-bit, 2 UCS-2
	text        TEXT NOT NULL,      -- the decoded text (GSM 7-bit)
	body_hex    TEXT NOT NULL,      -- 8-bit data, or the raw UTF-16 of UCS-2 (a surrogate pair may span parts)
	received_at INTEGER NOT NULL,
	UNIQUE (modem_id, storage, idx, pdu_hex)
);
CREATE INDEX in_parts_group ON in_parts (group_id, seq);
CREATE INDEX in_parts_message ON in_parts (message_id);
