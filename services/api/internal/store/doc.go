// Package store is the api's durable message store: every outbound
// message, received SMS and status report, in one SQLite file
// (API_DATA_DIR/messages.db, FileName) through modernc.org/sqlite, which
// is pure Go, so the api still cross-compiles with CGO_ENABLED=0.
//
// # Engines
//
// SQLite is the default and the right choice for one api on one Pi.
// Several api instances share a PostgreSQL database instead
// (OpenPostgres, API_DATABASE_URL), through pgx's database/sql driver,
// also pure Go. The behaviour is written once: the same methods, the
// same SQL (with ? placeholders, which the PostgreSQL connector rebinds
// to $n), the same numbered migrations in two dialects (migrations/sqlite
// and migrations/postgres, which differ in types only). Where the engines
// differ, a method of Store says so in one place (routeMatch, claimLock,
// lastEventSeqSQL, unindexed, nowSQL, beginWrite, endWrite); postgres.go
// explains how PostgreSQL keeps SQLite's guarantees with several writers:
// one cluster-wide writer lock per transaction, so that the event log's
// seq grows in commit order; claims that lock their row FOR UPDATE SKIP
// LOCKED; NOTIFY after every commit, so that every instance's readers
// wake. Leases (leases.go) say which instance drives which modem. The
// package's tests run against both engines (API_TEST_DATABASE).
//
// # Durability
//
// The file is in WAL mode with synchronous=FULL: a transaction is fsynced
// into the WAL before its commit returns, so every method that returns nil
// has made its change durable, and callers acknowledge only then (HTTP 202
// after AcceptOutbound, AT+CMGD after SavePart). Foreign keys are on;
// PRAGMA integrity_check passes after a SIGKILL mid-write (crash test).
//
// # Connections
//
// All writes go through one connection (a *sql.DB with one open
// connection, transactions begun IMMEDIATE), so they are serialised in Go,
// in arrival order, and never fail with SQLITE_BUSY among themselves:
// SQLite admits one writer at a time anyway, and a pool of writers would
// only wait on each other in SQLite's busy handler (sleeps and retries,
// worse latency, BUSY under load). Reads use a separate read-only pool
// (Options.Readers, query_only): WAL lets them read a consistent snapshot
// while the writer writes, so List and Stats never wait for sending. The
// busy timeout covers other processes (api backup).
//
// # Schema
//
// Package migrations holds numbered SQL files, applied in order in one
// transaction each together with PRAGMA user_version. Open upgrades an
// older file and refuses a newer one, naming both versions.
//
// # Model
//
// modems: a modem is the SIM (IMSI, ICCID) in a stick (IMEI), never a
// device path; every row that belongs to a modem references one, so
// several modems need no schema change.
//
// messages: both directions in one table, so one id space, one listing
// and one cursor serve GET /v1/messages. The id clients see is their own
// key (id or Idempotency-Key, unique) or a generated one. Outbound rows
// keep a SHA-256 of the canonical request: the same key with the same
// body returns the stored message, with another body ErrConflict (better
// than SMSGate's 409 on every repeat, and safe for clients that retry).
// State is a column rolled up from the parts in the same transaction as
// every part change (any part failed or unknown → failed; all delivered →
// delivered; all sent or delivered → sent), and finished_at is set on a
// final state for retention. Inbound rows add SMSC, service-centre time
// with its zone, read, and the missing parts of an incomplete message.
//
// parts: each outbound part with its encoded PDU (encoded once at
// accept, so a resumed message keeps one concatenation reference), its
// own state, TP-MR, attempts, last TP-ST and the modem storage index while
// it is stored there. transitions: every message and part state change
// with its time, the history behind GET /v1/messages/{id}.
//
// # Exactly once, outbound
//
// The store records the steps of the route the issue proposes (AT+CMGW
// and AT+CMSS, TS 27.005 §3.5.3-4; whether the MF831 supports them is for
// the outbox worker to establish): the worker commits PartWriting, writes
// a part to the modem's memory with AT+CMGW, commits PartWritten(index), commits
// PartSubmitting, sends AT+CMSS, commits PartSent(mr), then deletes the
// copy with AT+CMGD and commits PartRemoved.
// After a crash ClaimNext returns the message the modem was sending and
// each part's state says what to do: queued or written → submit (a
// written part is already in the modem's memory at its index); sent →
// never again; submitting → read the stored message at its index
// (AT+CMGR): STO UNSENT means AT+CMSS did not happen, so submit it again;
// STO SENT means it went out: PartSent with NoMR if the +CMSS answer was
// lost; writing → the copy AT+CMGW may have stored is looked for by
// content (ModemCopies lists what may be in the modem's memory; the
// outbox package doc has the whole table). The window that remains: on the AT+CMGS route (no memory) a part
// found submitting cannot be resolved and becomes unknown: it is never
// sent twice, but it may have been sent once, and the message fails with
// the reason "outcome unknown".
//
// # Exactly once, inbound
//
// SavePart commits each part raw, keyed by (modem, storage, index, PDU),
// before the sweep deletes it with AT+CMGD; a part read again after a
// crash between the two is found and changes nothing, while the same PDU
// at another index (a sender repeating itself within the same second) is
// a new message, unlike SMSGate's content-hash dedup that loses those.
// Concatenated parts wait in in_groups (modem, sender, 8- or 16-bit
// reference, part count): any order; a duplicate part (same number, same
// content) is kept but counted once; the same number with other content
// means the sender reused the reference while the first message is still
// open and starts a new group; a closed group takes no new parts, so a
// reference reused after completion starts a new one, except that a part
// with the very bytes (time stamp included) of one it holds is the
// network repeating it: kept with that message, no new group (which would
// become a spurious incomplete message). Groups and
// parts are rows, so reassembly survives restarts and spans sweeps.
// ExpireIncomplete delivers a group older than IncompleteAfter (24 h) as
// an incomplete message with its missing part numbers; no part is
// dropped. UCS-2 parts are joined as UTF-16, so a surrogate pair split
// between parts survives. An undecodable PDU is stored as an undecodable
// message, so it can be deleted from the modem without being lost.
//
// # Status reports
//
// SaveReport stores the report raw (same idempotent key) and matches it
// to the newest part of the modem that is sent and still awaits a final
// report, with the same TP-MR and recipient, sent within ReportWindow
// (72 h; TP-MR wraps at 256, so an older part with the same reference is
// out of the window or settled: gammu's 600 s window loses reports that
// come days later). TP-ST 0x00–0x1F delivers the part, 0x20–0x3F is
// recorded with the state unchanged (the SC is still trying), 0x40 and
// above fails it with the status named. Unmatched reports are stored and
// listed (Reports), never an error.
//
// # Events and webhooks
//
// events is the log of what happened, written by the transaction that
// made the change (recordTransition appends a message's event for every
// message-level transition; SaveReport one for an unmatched report), so a
// rolled-back change leaves no event and a committed one always has its
// event. seq (AUTOINCREMENT) is the order and never reused; uid is the
// stable id receivers deduplicate by; data is the JSON committed, so a
// body sent again is byte for byte the same (Event.Body). After every
// commit EventsChanged wakes the readers (SSE streams, webhook workers),
// who re-read by seq: nothing is skipped however wake-ups coalesce.
//
// webhooks: each has a cursor (the last event it is done with) and, while
// the head event is being tried, a webhook_attempts row committed before
// (WebhookAttemptBegin) and after (WebhookFailed, WebhookDelivered,
// WebhookDead) each attempt, so a restart resumes with the same event,
// its attempt count and its backoff. That progress is committed without
// an fsync (writeProgress): a killed process loses none of it, power loss
// may move a cursor back (events delivered again with their ids, never
// skipped), and a webhook that keeps up costs no fsync per event (1,000
// events/s need it: BenchmarkEventFanout). Retention never deletes an
// event an active webhook has not received.
//
// # Retention and backup
//
// Retention deletes what finished before a horizon (DefaultRetention, 90
// days) in small batches; queued and sending messages are never deleted.
// Backup/BackupFile copy the file online with VACUUM INTO; a PostgreSQL
// store is backed up with PostgreSQL's own tools (pg_dump), and Backup
// says so (ErrUnsupported).
package store
