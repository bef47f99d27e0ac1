package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go

	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store/migrations"
)

// FileName is the store's file in the api's data directory.
const FileName = "messages.db"

// Defaults of Options.
const (
	DefaultIncompleteAfter = 24 * time.Hour
	DefaultReportWindow    = 72 * time.Hour
	DefaultRetention       = 90 * 24 * time.Hour
	DefaultReaders         = 4
	DefaultBusyTimeout     = 5 * time.Second
)

// Options configure a Store. The zero value gives the defaults.
type Options struct {
	// Now is the clock; nil is time.Now. Tests inject one.
	Now func() time.Time
	// IncompleteAfter is how long the parts of a concatenated inbound
	// message wait for the missing ones before ExpireIncomplete delivers
	// it as incomplete (default 24 h).
	IncompleteAfter time.Duration
	// ReportWindow is how long after a part was sent a status report can
	// still be matched to it (default 72 h). TP-MR wraps at 256, so an old
	// part with the same reference must fall outside it.
	ReportWindow time.Duration
	// Readers is the size of the read pool (default 4).
	Readers int
	// BusyTimeout is how long a connection waits for a lock held by another
	// process, e.g. `api backup` (default 5 s).
	BusyTimeout time.Duration
}

// Store is the durable message store: one SQLite file, one writer
// connection, a pool of readers; or a PostgreSQL database shared by
// several api instances (OpenPostgres). It is safe for concurrent use.
type Store struct {
	dialect migrations.Dialect
	path    string  // SQLite: the file; PostgreSQL: the URL without its password
	w       *sql.DB // SQLite: exactly one connection, every write goes through it, in order
	r       *sql.DB // SQLite: the read-only pool (WAL lets it read while the writer writes); PostgreSQL: the one pool, as w
	// listen stops the PostgreSQL listener (nil with SQLite), and waits
	// for it.
	listen func()
	// pgcfg is the PostgreSQL connection's configuration, for the
	// connections of its own that LISTEN and the instance lock hold.
	pgcfg  *pgx.ConnConfig
	now    func() time.Time
	opts   Options
	closed chan struct{}
	// changed wakes the event log's readers after every commit.
	changed commitNotifier
	// group shares one transaction among concurrent writes (write).
	group groupCommit
}

// Open opens (creating if needed) the store file at path, migrates its
// schema to the latest version, and returns the store. A file whose schema
// is newer than this binary knows is refused with a *migrations.TooNewError
// naming both versions.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	return open(ctx, path, opts, migrations.Latest())
}

// OpenURL opens the PostgreSQL store at databaseURL when it is set, else
// the SQLite store in the data directory dir (API_DATABASE_URL, else
// API_DATA_DIR).
func OpenURL(ctx context.Context, databaseURL, dir string, opts Options) (*Store, error) {
	if databaseURL != "" {
		return OpenPostgres(ctx, databaseURL, opts)
	}
	return OpenDir(ctx, dir, opts)
}

// OpenDir opens the store file FileName in the data directory dir.
func OpenDir(ctx context.Context, dir string, opts Options) (*Store, error) {
	return Open(ctx, filepath.Join(dir, FileName), opts)
}

// defaults fills in the zero fields of opts.
func (opts *Options) defaults() {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.IncompleteAfter <= 0 {
		opts.IncompleteAfter = DefaultIncompleteAfter
	}
	if opts.ReportWindow <= 0 {
		opts.ReportWindow = DefaultReportWindow
	}
	if opts.Readers <= 0 {
		opts.Readers = DefaultReaders
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = DefaultBusyTimeout
	}
}

func open(ctx context.Context, path string, opts Options, target int) (*Store, error) {
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("store: path %q: '?' and '#' are not allowed in the file name", path)
	}
	opts.defaults()
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("store: creating the data directory: %w", err)
		}
	}
	busy := fmt.Sprint(opts.BusyTimeout.Milliseconds())
	// WAL: readers never block the writer and the writer never blocks
	// readers. synchronous=FULL: every commit is fsynced into the WAL before
	// it returns, so an acknowledged row survives power loss. _txlock=
	// immediate: a write transaction takes the write lock at BEGIN, so it
	// never fails half-way with SQLITE_BUSY on lock upgrade.
	// temp_store(2): SQLite's temporary files (the statement journal of a
	// savepoint, which the group commit uses for every write; sorts) stay
	// in memory: the api's FROM scratch image has no /tmp (nor /var/tmp),
	// where SQLite would fail with "disk I/O error".
	w, err := sql.Open("sqlite", path+"?_journal_mode=WAL&_synchronous=FULL&_foreign_keys=1&_txlock=immediate&_pragma=temp_store(2)&_busy_timeout="+busy)
	if err != nil {
		return nil, fmt.Errorf("store: opening %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	s := &Store{dialect: migrations.SQLite, path: path, w: w, now: opts.Now, opts: opts, closed: make(chan struct{})}
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("store: opening %s: %w", path, err)
	}
	if _, _, err := migrations.Up(ctx, w, migrations.SQLite, target); err != nil {
		w.Close()
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	// cache_size(-512): 512 KiB of page cache per reader instead of
	// SQLite's 2 MiB. The file's pages stay in the kernel's page cache
	// anyway; four private 2 MiB caches cost the Pi 6 MiB of resident
	// memory for no measured speed (list queries on 100,000 messages: p50
	// 4.6 ms either way; the api's RSS under list load 43 → 37 MB).
	r, err := sql.Open("sqlite", path+"?_query_only=1&_foreign_keys=1&_pragma=cache_size(-512)&_pragma=temp_store(2)&_busy_timeout="+busy)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: opening readers on %s: %w", path, err)
	}
	r.SetMaxOpenConns(opts.Readers)
	r.SetMaxIdleConns(opts.Readers)
	s.r = r
	return s, nil
}

// Path is the store's file (SQLite), or its database's URL without the
// password (PostgreSQL).
func (s *Store) Path() string { return s.path }

// Postgres reports whether the store is a PostgreSQL database.
func (s *Store) Postgres() bool { return s.dialect == migrations.Postgres }

// SchemaVersion is the database's schema version.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	return migrations.Version(ctx, s.r, s.dialect)
}

// Close closes the connections; with SQLite a checkpoint folds the WAL
// into the file.
func (s *Store) Close() error {
	select {
	case <-s.closed:
		return nil
	default:
		close(s.closed)
	}
	if s.listen != nil {
		s.listen()
	}
	if s.r == s.w {
		return s.w.Close()
	}
	return errors.Join(s.r.Close(), s.w.Close())
}

// nowMs is the clock in Unix milliseconds.
func (s *Store) nowMs() int64 { return s.now().UnixMilli() }

// commit runs f in a transaction that begin starts, commits it and tells
// the change watchers: writeProgress on its connection.
func (s *Store) commit(ctx context.Context, what string, begin func(context.Context, *sql.TxOptions) (*sql.Tx, error), f func(tx *sql.Tx) error) error {
	tx, err := begin(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: %s: begin: %w", what, err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if err := s.beginWrite(ctx, tx); err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	if err := f(tx); err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: %s: commit: %w", what, err)
	}
	s.changed.notify()
	return nil
}

// msTime turns Unix milliseconds into a UTC time; 0 is the zero time.
func msTime(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// timeMs turns a time into Unix milliseconds; the zero time is 0.
func timeMs(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}
