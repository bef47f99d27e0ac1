package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store/migrations"
)

// PostgreSQL: several api instances share one database. The store's
// behaviour is SQLite's, by these means:
//
//   - One writer at a time, cluster-wide: every write transaction first
//     takes the transaction advisory lock writeLock, as SQLite's one
//     writer connection takes its write lock at BEGIN IMMEDIATE. So
//     transactions commit in the order they took it: the event log's seq
//     grows in commit order, and a reader that read up to seq N never
//     sees an event below N appear later (a webhook's or SSE stream's
//     cursor never skips one). The group commit still shares one
//     transaction among an instance's concurrent writes.
//   - Outbox claims lock the claimed row with FOR UPDATE SKIP LOCKED.
//   - Every commit that changed something sends NOTIFY changeChannel;
//     each instance LISTENs and wakes its event readers (SSE streams,
//     webhook workers) and outbox workers as its own commits do.
//   - Leases (leases.go) say which instance drives which modem.
//
// Reads go through the same pool and see committed data (READ
// COMMITTED), as SQLite's WAL readers do.

const (
	// writeLock is the advisory lock key of the one writer ("SMAPwrit").
	writeLock int64 = 0x534d415077726974
	// changeChannel is the NOTIFY channel of committed changes.
	changeChannel = "sim_modem_api_changed"
	// DefaultPostgresConns is the size of the PostgreSQL pool.
	DefaultPostgresConns = 8
)

// OpenPostgres opens the store in the PostgreSQL database at databaseURL
// (postgres://user:password@host:5432/db?sslmode=...; pgx's connection
// string, environment variables PGHOST etc. included), migrates its schema
// to the latest version (once, whichever instance comes first) and listens
// for the other instances' commits.
func OpenPostgres(ctx context.Context, databaseURL string, opts Options) (*Store, error) {
	return openPostgres(ctx, databaseURL, opts, migrations.Latest())
}

func openPostgres(ctx context.Context, databaseURL string, opts Options, target int) (*Store, error) {
	opts.defaults()
	shown := redactURL(databaseURL)
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("store: the PostgreSQL URL %s: %w", shown, err)
	}
	db := sql.OpenDB(rebindConnector{stdlib.GetConnector(*cfg)})
	db.SetMaxOpenConns(DefaultPostgresConns + opts.Readers)
	db.SetMaxIdleConns(DefaultPostgresConns + opts.Readers)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s := &Store{dialect: migrations.Postgres, path: shown, w: db, r: db, pgcfg: cfg, now: opts.Now, opts: opts, closed: make(chan struct{})}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: connecting to %s: %w", shown, err)
	}
	if _, _, err := migrations.Up(ctx, db, migrations.Postgres, target); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: %s: %w", shown, err)
	}
	lctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); s.listenChanges(lctx, cfg) }()
	s.listen = func() { cancel(); wg.Wait() }
	return s, nil
}

// listenChanges LISTENs for the commits of every instance (its own
// included) and wakes the readers after each, until ctx ends. A lost
// connection is opened again; readers are woken then too, since a
// notification may have been missed meanwhile.
func (s *Store) listenChanges(ctx context.Context, cfg *pgx.ConnConfig) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, cfg)
		s.changed.notify()
		if ctx.Err() != nil {
			return
		}
		_ = err // the readers re-read; the next attempt reports through its own failure
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (s *Store) listenOnce(ctx context.Context, cfg *pgx.ConnConfig) error {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("store: listen: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+changeChannel); err != nil {
		return fmt.Errorf("store: listen: %w", err)
	}
	s.changed.notify() // whatever was committed before LISTEN took effect
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return fmt.Errorf("store: listen: %w", err)
		}
		s.changed.notify()
	}
}

// beginWrite starts a write transaction's dialect-specific part: with
// PostgreSQL it takes the one writer's lock (see above) and queues the
// notification the other instances wake on, in one round trip (NOTIFY is
// sent when the transaction commits, and not at all if it rolls back; a
// transaction that changed nothing wakes the readers for nothing).
func (s *Store) beginWrite(ctx context.Context, tx *sql.Tx) error {
	if s.dialect != migrations.Postgres {
		return nil
	}
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?), pg_notify(?, '')", writeLock, changeChannel); err != nil {
		return fmt.Errorf("taking the write lock: %w", err)
	}
	return nil
}

// redactURL is databaseURL without its password, for messages and logs.
func redactURL(databaseURL string) string {
	u, err := url.Parse(databaseURL)
	if err != nil || u.Scheme == "" {
		return "(the PostgreSQL connection string)"
	}
	return u.Redacted()
}
