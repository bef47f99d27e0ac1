-- Schema version 3: status reports (SMS-STATUS-REPORT), kept raw and
-- matched to the outbound part they report on.

CREATE TABLE reports (
	id             INTEGER PRIMARY KEY,
	modem_id       INTEGER NOT NULL REFERENCES modems(id),
	storage        TEXT NOT NULL,     -- SR (or '' for a +CDS shown directly)
	idx            INTEGER NOT NULL,  -- index there, -1 for +CDS
	pdu_hex        TEXT NOT NULL,
	mr             INTEGER NOT NULL,  -- TP-MR, -1 if undecodable
	recipient      TEXT NOT NULL,
	status         INTEGER NOT NULL,  -- TP-ST, -1 if undecodable
	sc_time        INTEGER NOT NULL,  -- TP-SCTS of the reported message, Unix ms
	discharge_time INTEGER NOT NULL,  -- TP-DT
	error          TEXT NOT NULL DEFAULT '',  -- why it does not decode
	received_at    INTEGER NOT NULL,
	matched        INTEGER NOT NULL DEFAULT 0,
	message_id     INTEGER REFERENCES messages(id) ON DELETE SET NULL,
	seq            INTEGER,
	UNIQUE (modem_id, storage, idx, pdu_hex)
);
CREATE INDEX reports_received ON reports (received_at);

-- The candidates of a report: sent parts awaiting one, by TP-MR.
CREATE INDEX parts_awaiting_report ON parts (mr, sent_at) WHERE state = 'sent';
