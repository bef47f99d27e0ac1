-- Schema version 7: leases, for several api instances on one database
-- (PostgreSQL). A lease is a named ownership with an expiry: "modem:<id>"
-- while an instance drives that modem, "events" while one delivers the
-- webhooks and publishes to MQTT for the whole cluster. The holder renews
-- it with its heartbeat; another instance takes it over once expires_at
-- (the database's clock, Unix ms) has passed. token counts the takeovers,
-- so that a holder can tell that it lost the lease in between.
CREATE TABLE leases (
	name        TEXT PRIMARY KEY,
	holder      TEXT NOT NULL,             -- the instance's name (API_INSTANCE)
	url         TEXT NOT NULL DEFAULT '',  -- where the other instances reach its HTTP API
	token       INTEGER NOT NULL,
	acquired_at INTEGER NOT NULL,
	renewed_at  INTEGER NOT NULL,
	expires_at  INTEGER NOT NULL
);
