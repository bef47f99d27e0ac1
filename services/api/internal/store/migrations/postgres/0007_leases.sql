-- Schema version 7 (PostgreSQL): leases (see the SQLite file).
CREATE TABLE leases (
	name        TEXT PRIMARY KEY,
	holder      TEXT NOT NULL,
	url         TEXT NOT NULL DEFAULT '',
	token       BIGINT NOT NULL,
	acquired_at BIGINT NOT NULL,
	renewed_at  BIGINT NOT NULL,
	expires_at  BIGINT NOT NULL
);
