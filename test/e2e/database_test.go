//go:build linux

package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/sim-modem-api/sim-modem-api/services/api/pgtest"
)

// testDatabaseEnv selects the database every api of the suite runs on:
// unset or "sqlite", the SQLite file in its API_DATA_DIR (the default);
// "postgres", a PostgreSQL database of the test's own (API_DATABASE_URL)
// on one server the suite starts (pgtest). The store's tests read the same
// variable; make test-go runs both ways.
const testDatabaseEnv = "API_TEST_DATABASE"

// onPostgres is whether this is a postgres run (set by TestMain).
var onPostgres bool

// The suite's PostgreSQL server, started by TestMain in a postgres run and
// otherwise on first use (the cluster tests), stopped by TestMain.
var (
	pgMu  sync.Mutex
	pgSrv *pgtest.Server
	pgErr error // the first start's failure, repeated to later tests
)

// parseTestDatabase reads testDatabaseEnv.
func parseTestDatabase() (postgres bool, err error) {
	switch e := os.Getenv(testDatabaseEnv); e {
	case "", "sqlite":
		return false, nil
	case "postgres":
		return true, nil
	default:
		return false, fmt.Errorf("%s=%q: want sqlite or postgres", testDatabaseEnv, e)
	}
}

// startPostgres starts the suite's server unless it runs.
func startPostgres() (*pgtest.Server, error) {
	pgMu.Lock()
	defer pgMu.Unlock()
	if pgSrv == nil && pgErr == nil {
		pgSrv, pgErr = pgtest.StartServer()
	}
	return pgSrv, pgErr
}

// stopPostgres stops the suite's server if it was started.
func stopPostgres() error {
	pgMu.Lock()
	defer pgMu.Unlock()
	if pgSrv == nil {
		return nil
	}
	err := pgSrv.Stop()
	pgSrv = nil
	return err
}

// postgresServer is the suite's PostgreSQL server, started on first use.
// Without PostgreSQL installed the test is skipped, or fails when $CI is
// set: CI must run the tests against a real PostgreSQL.
func postgresServer(t testing.TB) *pgtest.Server {
	t.Helper()
	srv, err := startPostgres()
	if errors.Is(err, pgtest.ErrNotInstalled) {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v: CI must run the tests against a real PostgreSQL", err)
		}
		t.Skipf("%v: skipping a test that needs PostgreSQL", err)
	}
	if err != nil {
		t.Fatalf("starting PostgreSQL: %v", err)
	}
	return srv
}

// newDatabase creates a PostgreSQL database of the test's own, dropped at
// its end (after the processes the test starts later have stopped), and
// returns its URL. When the test fails, the end of the server's log is
// shown.
func newDatabase(t testing.TB) string {
	t.Helper()
	srv := postgresServer(t)
	t.Cleanup(func() {
		if t.Failed() {
			log := strings.Split(strings.TrimRight(srv.Log(), "\n"), "\n")
			t.Logf("--- PostgreSQL log (%s, tail) ---\n%s", filepath.Join(srv.Dir, "postgres.log"), strings.Join(log[max(0, len(log)-30):], "\n"))
		}
	})
	return srv.NewDatabase(t)
}

// apiDatabaseEnv is the api's database setting of the run: nothing on
// SQLite (the file in API_DATA_DIR), API_DATABASE_URL of a new database
// of the test's own in a postgres run. A test that restarts the api keeps
// its environment, so the restarted api finds the same database.
func apiDatabaseEnv(t testing.TB) []string {
	t.Helper()
	return engineEnv(t, "")
}

// engineEnv is the api's database setting for engine "sqlite" or
// "postgres", or "" for the run's (apiDatabaseEnv).
func engineEnv(t testing.TB, engine string) []string {
	t.Helper()
	switch {
	case engine == "postgres" || engine == "" && onPostgres:
		return []string{"API_DATABASE_URL=" + newDatabase(t)}
	case engine == "sqlite" || engine == "":
		return nil
	}
	t.Fatalf("engine %q: want sqlite or postgres", engine)
	return nil
}

// dbConn connects to the PostgreSQL database at url for the test's own
// reads; the connection is closed at the test's end.
func dbConn(t testing.TB, url string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connecting to the test's database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = c.Close(ctx)
	})
	return c
}

// checkAPIDatabase fails the test unless the api started with env keeps
// its store in the PostgreSQL database env names, if it names one: an api
// that ignored API_DATABASE_URL would pass a postgres run on SQLite.
func checkAPIDatabase(t testing.TB, env []string) {
	t.Helper()
	var url string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "API_DATABASE_URL="); ok {
			url = v
		}
	}
	if url == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var migrated bool
	if err := dbConn(t, url).QueryRow(ctx, `SELECT to_regclass('messages') IS NOT NULL`).Scan(&migrated); err != nil {
		t.Fatalf("reading the api's database: %v", err)
	}
	if !migrated {
		t.Fatal("the api is ready but its PostgreSQL database has no messages table: does it read API_DATABASE_URL?")
	}
}
