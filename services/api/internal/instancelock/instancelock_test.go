package instancelock

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"

	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
	"github.com/sim-modem-api/sim-modem-api/services/api/pgtest"
)

// The lock exists only with PostgreSQL: these tests always run against
// the package's own server (they skip without PostgreSQL installed, or
// fail when $CI is set).
var pg *pgtest.Server

func TestMain(m *testing.M) {
	srv, err := pgtest.StartServer()
	if errors.Is(err, pgtest.ErrNotInstalled) && os.Getenv("CI") == "" {
		fmt.Fprintf(os.Stderr, "instancelock tests: skipped: %v\n", err)
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "instancelock tests: %v\n", err)
		os.Exit(1)
	}
	pg = srv
	code := m.Run()
	if err := srv.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "instancelock tests: stopping PostgreSQL: %v\n", err)
		code = 1
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "instancelock tests: leaked goroutines: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// syncBuffer is a log written by the lock's goroutine and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// processes opens the stores of n api processes on one new database, and
// returns its URL.
func processes(t *testing.T, n int) ([]*store.Store, string) {
	t.Helper()
	url := pg.NewDatabase(t)
	var out []*store.Store
	for range n {
		st, err := store.OpenPostgres(context.Background(), url, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		out = append(out, st)
	}
	return out, url
}

// keep runs l.Keep until the test ends.
func keep(t *testing.T, l *Lock) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); l.Keep(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A second process with the same name waits, then refuses with a message
// that says what to do; another name is free.
func TestSecondProcessWithTheNameRefused(t *testing.T) {
	sts, _ := processes(t, 2)
	ctx := context.Background()
	a, err := Take(ctx, Config{Store: sts[0], Name: "raspberrypi", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	keep(t, a)
	var log syncBuffer
	began := time.Now()
	_, err = Take(ctx, Config{Store: sts[1], Name: "raspberrypi", Wait: 500 * time.Millisecond, Check: 100 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("err %v, want ErrInUse", err)
	}
	if waited := time.Since(began); waited < 500*time.Millisecond {
		t.Errorf("refused after %v, before the wait", waited)
	}
	for _, want := range []string{`instance "raspberrypi" is held by a PostgreSQL session from 127.0.0.1`, `(application "sim-modem-api raspberrypi")`,
		"give each api instance its own API_INSTANCE"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
	if !strings.Contains(log.String(), "waiting up to 500ms for it to go") {
		t.Errorf("log:\n%s", log.String())
	}
	b, err := Take(ctx, Config{Store: sts[1], Name: "api-2", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	keep(t, b)
}

// terminate ends the PostgreSQL sessions of the application, as the
// server does when their process dies.
func terminate(t *testing.T, url, app string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1", app).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("terminated %d sessions of %q, want 1", n, app)
	}
}

// The holder's session ends (its process died, as the server sees it): a
// process waiting for the name takes it; if the first process is in fact
// alive (it was cut off), it finds the name taken and reports it lost.
func TestWaitingProcessTakesOverADeadSession(t *testing.T) {
	sts, url := processes(t, 2)
	ctx := context.Background()
	var log syncBuffer
	a, err := Take(ctx, Config{Store: sts[0], Name: "api-1", Wait: 2 * time.Second, Check: 100 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		l   *Lock
		err error
	}
	second := make(chan result, 1)
	go func() {
		l, err := Take(ctx, Config{Store: sts[1], Name: "api-1", Wait: 20 * time.Second, Check: 50 * time.Millisecond,
			Logger: slog.New(slog.DiscardHandler)})
		second <- result{l, err}
	}()
	time.Sleep(200 * time.Millisecond) // the second one waits
	terminate(t, url, "sim-modem-api api-1")
	r := <-second
	if r.err != nil {
		t.Fatal(r.err)
	}
	keep(t, r.l)

	keep(t, a) // a notices, tries for its Wait, and gives the name up
	select {
	case <-a.Lost():
	case <-time.After(30 * time.Second):
		t.Fatalf("the cut-off process did not report the name lost:\n%s", log.String())
	}
	if !errors.Is(a.Err(), ErrInUse) {
		t.Errorf("Err %v", a.Err())
	}
	if !strings.Contains(log.String(), "the instance lock's session is gone; taking the lock again") {
		t.Errorf("log:\n%s", log.String())
	}
}

// A database restart ends every session: the holder takes the lock again
// on a new one and keeps the name.
func TestKeepTakesTheLockAgainAfterADatabaseRestart(t *testing.T) {
	sts, _ := processes(t, 2)
	ctx := context.Background()
	var log syncBuffer
	a, err := Take(ctx, Config{Store: sts[0], Name: "api-1", Wait: 5 * time.Second, Check: 100 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	keep(t, a)
	if err := pg.Restart(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the lock taken again", func() bool { return strings.Contains(log.String(), "took the instance lock again") })
	select {
	case <-a.Lost():
		t.Fatalf("lost: %v", a.Err())
	default:
	}
	_, err = Take(ctx, Config{Store: sts[1], Name: "api-1", Wait: 300 * time.Millisecond, Check: 50 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler)})
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("a second process after the restart: %v, want ErrInUse", err)
	}
}
