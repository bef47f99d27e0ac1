package pgtest

import (
	"context"
	"errors"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func connect(t *testing.T, u string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatalf("connect %s: %v", u, err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func mustExec(t *testing.T, c *pgx.Conn, sql string) {
	t.Helper()
	if _, err := c.Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// TestDatabasesAreSeparate: two databases of one server, each with its own
// tables, on a server configured as the brief says.
func TestDatabasesAreSeparate(t *testing.T) {
	s := Start(t)
	start := time.Now()
	u1 := s.NewDatabase(t)
	mid := time.Now()
	u2 := s.NewDatabase(t)
	t.Logf("CREATE DATABASE (with its connection): %v, %v", mid.Sub(start), time.Since(mid))
	if u1 == u2 {
		t.Fatalf("the same database twice: %s", u1)
	}
	for _, u := range []string{u1, u2} {
		p, err := url.Parse(u)
		if err != nil || p.Scheme != "postgres" || p.Host != s.Host+":"+itoa(s.Port) || p.Query().Get("sslmode") != "disable" {
			t.Fatalf("URL %s: %v", u, err)
		}
	}
	c1, c2 := connect(t, u1), connect(t, u2)
	mustExec(t, c1, "CREATE TABLE only_here (id int PRIMARY KEY)")
	mustExec(t, c1, "INSERT INTO only_here VALUES (1)")
	if _, err := c2.Exec(context.Background(), "SELECT * FROM only_here"); !isCode(err, "42P01") {
		t.Errorf("the table of the first database in the second: %v", err)
	}
	for setting, want := range map[string]string{
		"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on", "max_connections": "300",
		"shared_buffers": "32MB", "listen_addresses": "127.0.0.1", "unix_socket_directories": s.Dir,
		"port": itoa(s.Port), "password_encryption": "scram-sha-256",
	} {
		var got string
		if err := c1.QueryRow(context.Background(), "SHOW "+setting).Scan(&got); err != nil || got != want {
			t.Errorf("%s = %q (%v), want %q", setting, got, err, want)
		}
	}
	var super bool
	if err := c2.QueryRow(context.Background(), "SELECT rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&super); err != nil || !super {
		t.Errorf("superuser: %v %v", super, err)
	}
}

// TestAuthentication: the password is checked over TCP; the unix socket
// in Dir is trusted.
func TestAuthentication(t *testing.T) {
	s := Start(t)
	u, _ := url.Parse(s.URL("postgres"))
	u.User = url.UserPassword(s.User, "wrong")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if c, err := pgx.Connect(ctx, u.String()); !isCode(err, "28P01") {
		t.Errorf("a wrong password: %v", err)
		if err == nil {
			c.Close(ctx)
		}
	}
	u.User = url.User(s.User)
	if c, err := pgx.Connect(ctx, u.String()); err == nil {
		t.Error("connected without a password over TCP")
		c.Close(ctx)
	}
	sock := "postgres:///postgres?host=" + url.QueryEscape(s.Dir) + "&port=" + itoa(s.Port) + "&user=" + s.User
	var method string
	c := connect(t, sock)
	if err := c.QueryRow(ctx, "SELECT auth_method FROM pg_hba_file_rules WHERE type = 'host'").Scan(&method); err != nil || method != "scram-sha-256" {
		t.Errorf("pg_hba host rule: %q %v", method, err)
	}
}

// TestStop: no process left and no directory.
func TestStop(t *testing.T) {
	s, err := StartServer()
	if errors.Is(err, ErrNotInstalled) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	u := s.URL("postgres")
	c := connect(t, u)
	pid := s.Pid()
	procs := append(children(pid), pid)
	if pid == 0 || len(procs) < 5 { // the postmaster, its helpers and c's backend
		t.Errorf("pid %d, processes %v", pid, procs)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil { // twice is fine
		t.Errorf("second Stop: %v", err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("the postmaster %d after Stop: %v", pid, err)
	}
	if left := alive(procs); len(left) > 0 {
		t.Errorf("processes left: %v", left)
	}
	if _, err := os.Stat(s.Dir); !os.IsNotExist(err) {
		t.Errorf("%s after Stop: %v", s.Dir, err)
	}
	if err := c.Ping(context.Background()); err == nil {
		t.Error("a client still connected after Stop")
	}
	if s.Running() {
		t.Error("Running after Stop")
	}
	if err := s.Restart(); err == nil {
		t.Error("Restart after Stop succeeded")
	}
}

// TestKillRestart: a committed row survives a crash of the whole server,
// on the same port.
func TestKillRestart(t *testing.T) {
	s := Start(t)
	u := s.NewDatabase(t)
	c := connect(t, u)
	mustExec(t, c, "CREATE TABLE kept (v text)")
	mustExec(t, c, "INSERT INTO kept VALUES ('committed')")
	tx, err := c.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(context.Background(), "INSERT INTO kept VALUES ('open')"); err != nil {
		t.Fatal(err)
	}
	pid, port := s.Pid(), s.Port
	procs := append(children(pid), pid)
	if err := s.Kill(); err != nil {
		t.Fatal(err)
	}
	if left := alive(procs); len(left) > 0 || s.Running() {
		t.Fatalf("after Kill: processes %v, running %v", left, s.Running())
	}
	if err := s.Kill(); err != nil { // twice is fine
		t.Errorf("second Kill: %v", err)
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if s.Port != port || s.Pid() == pid {
		t.Errorf("after Restart: port %d (was %d), pid %d (was %d)", s.Port, port, s.Pid(), pid)
	}
	c2 := connect(t, u)
	rows, err := c2.Query(context.Background(), "SELECT v FROM kept")
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(got) != 1 || got[0] != "committed" {
		t.Errorf("after the crash: %q %v", got, err)
	}
	if !strings.Contains(s.Log(), "database system was interrupted") {
		t.Errorf("no crash recovery in the log:\n%s", tail(s.Log(), 30))
	}

	// A Restart of a running server is a clean shutdown and start.
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s.Log(), "received fast shutdown request") {
		t.Errorf("no fast shutdown in the log:\n%s", tail(s.Log(), 30))
	}
	mustExec(t, connect(t, u), "INSERT INTO kept VALUES ('after')")
}

func TestCompareVersions(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{{"9.6", "15", -1}, {"15", "16", -1}, {"16", "15", 1}, {"15", "15", 0}, {"10", "9.6", 1}} {
		if got := compareVersions(c.a, c.b); got != c.want {
			t.Errorf("compareVersions(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func isCode(err error, code string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == code
}

func itoa(i int) string { return strconv.Itoa(i) }

// BenchmarkStartServer: initdb and a start, until the server accepts
// connections.
func BenchmarkStartServer(b *testing.B) {
	for b.Loop() {
		s, err := StartServer()
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := s.Stop(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// BenchmarkCreateDatabase: CreateDatabase, with its connection to the
// server.
func BenchmarkCreateDatabase(b *testing.B) {
	s := Start(b)
	n := 0
	for b.Loop() {
		n++
		if _, err := s.CreateDatabase(context.Background(), "bench"+itoa(n)); err != nil {
			b.Fatal(err)
		}
	}
}
