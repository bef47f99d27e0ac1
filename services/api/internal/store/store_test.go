package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store/migrations"
	"github.com/sim-modem-api/sim-modem-api/services/api/pgtest"
)

// pg is the PostgreSQL server of a postgres run (API_TEST_DATABASE=
// postgres: every test opens a database of its own there), nil otherwise.
var pg *pgtest.Server

func TestMain(m *testing.M) {
	if os.Getenv(crashChildEnv) != "" {
		os.Exit(crashChild())
	}
	pgtest.Main(m, "store tests", func(s *pgtest.Server) { pg = s })
}

// sqliteOnly skips a test of what only the SQLite engine has (its file,
// its pragmas, its backup) in a postgres run.
func sqliteOnly(t testing.TB) {
	t.Helper()
	if pg != nil {
		t.Skip("SQLite only: this tests the SQLite file")
	}
}

// clock is an injected clock that tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// openTest opens a fresh store with the clock: a file in a temporary
// directory, or a new PostgreSQL database in a postgres run.
func openTest(t testing.TB, c *clock) *Store {
	t.Helper()
	return openAt(t, newLocation(t), c)
}

// newLocation is where a fresh store is: a file in a temporary directory,
// or the URL of a new PostgreSQL database in a postgres run.
func newLocation(t testing.TB) string {
	t.Helper()
	if pg != nil {
		return pg.NewDatabase(t)
	}
	return filepath.Join(t.TempDir(), FileName)
}

// openLocation opens the store at loc (newLocation) with opts.
func openLocation(ctx context.Context, loc string, opts Options) (*Store, error) {
	if strings.HasPrefix(loc, "postgres://") {
		return OpenPostgres(ctx, loc, opts)
	}
	return Open(ctx, loc, opts)
}

// openAt opens the store at loc (newLocation), closed at the test's end.
func openAt(t testing.TB, loc string, c *clock) *Store {
	t.Helper()
	opts := Options{}
	if c != nil {
		opts.Now = c.Now
	}
	s, err := openLocation(context.Background(), loc, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

var testModem = ModemIdentity{IMSI: "232011234567890", ICCID: "8943011234567890123", IMEI: "861234567890123"}

func TestOpenSetsDurablePragmas(t *testing.T) {
	sqliteOnly(t)
	s := openTest(t, nil)
	ctx := context.Background()
	var mode string
	var sync, fk int
	if err := s.w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode %q, %v", mode, err)
	}
	if err := s.w.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil || sync != 2 {
		t.Fatalf("synchronous %d (want 2, FULL), %v", sync, err)
	}
	if err := s.w.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Fatalf("foreign_keys %d, %v", fk, err)
	}
	if err := s.r.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Fatalf("readers' foreign_keys %d, %v", fk, err)
	}
	if _, err := s.r.ExecContext(ctx, "DELETE FROM modems"); err == nil {
		t.Fatal("a reader connection could write")
	}
	if v, err := s.SchemaVersion(ctx); err != nil || v != migrations.Latest() {
		t.Fatalf("schema version %d, %v", v, err)
	}
}

func TestOpenRefusesNewerSchemaNamingBothVersions(t *testing.T) {
	loc := newLocation(t)
	s := openAt(t, loc, nil)
	if err := migrations.SetVersion(context.Background(), s.w, s.dialect, migrations.Latest()+5); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := openLocation(context.Background(), loc, Options{})
	var tooNew *migrations.TooNewError
	if !errors.As(err, &tooNew) {
		t.Fatalf("err %v", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, fmt.Sprint(migrations.Latest()+5)) || !strings.Contains(msg, fmt.Sprint(migrations.Latest())) || !strings.Contains(msg, s.Path()) {
		t.Fatalf("message %q names neither both versions nor the file", msg)
	}
}

func TestUpsertModem(t *testing.T) {
	c := newClock()
	s := openTest(t, c)
	ctx := context.Background()
	id1, err := s.UpsertModem(ctx, testModem)
	if err != nil {
		t.Fatal(err)
	}
	c.Add(time.Hour)
	id2, err := s.UpsertModem(ctx, testModem)
	if err != nil || id2 != id1 {
		t.Fatalf("second upsert: %d, %v (first %d)", id2, err, id1)
	}
	other := testModem
	other.IMEI = "861234567890999" // the same SIM in another stick is another modem
	id3, err := s.UpsertModem(ctx, other)
	if err != nil || id3 == id1 {
		t.Fatalf("other stick: %d, %v", id3, err)
	}
	ms, err := s.Modems(ctx)
	if err != nil || len(ms) != 2 || !ms[0].LastSeen.Equal(c.Now()) || ms[0].FirstSeen.Equal(ms[0].LastSeen) {
		t.Fatalf("modems %+v, %v", ms, err)
	}
	for _, bad := range []ModemIdentity{{IMEI: "1"}, {IMSI: "1"}, {IMSI: "12x", IMEI: "1"}} {
		if _, err := s.UpsertModem(ctx, bad); !errors.Is(err, ErrInvalid) {
			t.Fatalf("%+v: %v", bad, err)
		}
	}
}

func TestMigrateVersion1FileKeepsData(t *testing.T) {
	sqliteOnly(t) // the PostgreSQL schema had no version 1 release to upgrade from
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), FileName)
	// A file as the first release wrote it: schema 1 and its rows.
	db, err := sql.Open("sqlite", path+"?_foreign_keys=1")
	if err != nil {
		t.Fatal(err)
	}
	if _, to, err := migrations.Up(ctx, db, migrations.SQLite, 1); err != nil || to != 1 {
		t.Fatalf("to %d, %v", to, err)
	}
	for _, q := range []string{
		`INSERT INTO modems (id, imsi, iccid, imei, first_seen, last_seen) VALUES (1, '232011234567890', '', '861234567890123', 1, 2)`,
		`INSERT INTO messages (id, uid, direction, modem_id, client_key, body_hash, peer, text, status_report, state, part_count, created_at, updated_at, finished_at)
			VALUES (1, 'old-1', 'out', 1, 1, 'h', '+436601234567', 'from v1', 1, 'sent', 1, 1000, 2000, 2000)`,
		`INSERT INTO parts (message_id, seq, pdu_hex, state, mr, sent_at, updated_at) VALUES (1, 1, '0011', 'sent', 42, 2000, 2000)`,
		`INSERT INTO transitions (message_id, seq, state, at) VALUES (1, 0, 'queued', 1000), (1, 1, 'sent', 2000), (1, 0, 'sent', 2000)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	s := openAt(t, path, nil)
	if v, _ := s.SchemaVersion(ctx); v != migrations.Latest() {
		t.Fatalf("version %d after open", v)
	}
	m, err := s.Get(ctx, "old-1")
	if err != nil {
		t.Fatal(err)
	}
	if m.Text != "from v1" || m.State != StateSent || m.ModemID != 1 || !m.Options.StatusReport || len(m.Parts) != 1 ||
		m.Parts[0].MR != 42 || m.Read || m.SMSC != "" || m.Missing != nil {
		t.Fatalf("migrated %+v", m)
	}
	if h, err := s.History(ctx, "old-1"); err != nil || len(h) != 3 {
		t.Fatalf("history %v, %v", h, err)
	}
	// The upgraded file takes what the new schema adds.
	res, err := s.SavePart(ctx, InboundPart{ModemID: 1, Storage: "SM", Index: 0, PDUHex: deliverParts(t, "+436641234567", "new", 0, false)[0]})
	if err != nil || res.Message == nil {
		t.Fatalf("%+v, %v", res, err)
	}
}

// Readers keep a small page cache (the kernel caches the file anyway).
func TestReaderCacheSize(t *testing.T) {
	sqliteOnly(t)
	s, err := OpenDir(context.Background(), t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var kib int
	if err := s.r.QueryRowContext(context.Background(), "PRAGMA cache_size").Scan(&kib); err != nil || kib != -512 {
		t.Fatalf("readers' cache_size %d, want -512 (KiB), %v", kib, err)
	}
}
