// Package pgtest runs a real PostgreSQL server for tests, like
// net/http/httptest runs an HTTP server: Debian's postgresql package
// (initdb and postgres from the newest /usr/lib/postgresql/<version>/bin)
// on a fresh data directory in a temporary directory, listening on a free
// loopback port, with a superuser whose random password is checked by
// scram-sha-256. Each test takes a database of its own from it
// (NewDatabase), so one server serves a whole package.
//
// The server is configured as in production where it matters to the
// store's tests: fsync, synchronous commit and full-page writes are on, so
// that a committed row survives Kill and Restart through crash recovery.
//
// It is test support only: no binary imports it. Start skips the test when
// PostgreSQL is not installed (apt-get install postgresql) and fails it
// when $CI is set, so that CI cannot silently skip the tests against a real
// database. StartServer is the same without a testing.TB, for TestMain and
// for harnesses that run the api as a process.
//
// PostgreSQL refuses to run as root: when the tests run as root, initdb and
// postgres run as the postgres system user that Debian's package creates.
package pgtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"
)

// ErrNotInstalled is returned (wrapped) by StartServer when initdb or
// postgres cannot be found.
var ErrNotInstalled = errors.New("PostgreSQL server not installed (apt-get install postgresql)")

// Timeouts: a server not accepting connections within startTimeout, or
// not exiting within stopTimeout of a fast shutdown, is a failure.
const (
	startTimeout = 30 * time.Second
	stopTimeout  = 30 * time.Second
)

// Server is a PostgreSQL server process on a loopback port. Its superuser
// is User with Password over TCP (scram-sha-256); over the unix socket in
// Dir anyone connects without a password.
type Server struct {
	Host     string // 127.0.0.1
	Port     int    // the same across Restart
	User     string // a superuser
	Password string
	Dir      string // temporary: data/ (the data directory), the unix socket, postgres.log

	bin  string              // the postgres program
	cred *syscall.Credential // the postgres system user's when running as root, else nil

	mu      sync.Mutex
	cmd     *exec.Cmd     // nil when the server does not run
	done    chan struct{} // closed when cmd has exited
	removed bool          // Stop removed Dir

	dbs atomic.Int64 // databases NewDatabase created, for unique names
}

// Start starts a server and stops it when the test ends, showing the end
// of its log if the test failed. It skips the test when PostgreSQL is not
// installed, or fails it when $CI is set.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s, err := StartServer()
	if errors.Is(err, ErrNotInstalled) {
		if os.Getenv("CI") != "" {
			tb.Fatalf("pgtest: %v: CI must run the tests against a real PostgreSQL", err)
		}
		tb.Skipf("pgtest: %v: skipping the tests against a real PostgreSQL", err)
	}
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("the end of the PostgreSQL log (%s):\n%s", filepath.Join(s.Dir, "postgres.log"), tail(s.Log(), 40))
		}
		if err := s.Stop(); err != nil {
			tb.Errorf("pgtest: %v", err)
		}
	})
	return s
}

// StartServer creates a data directory in a new temporary directory and
// starts a server on it, on a free port of 127.0.0.1. It returns once the
// server accepts connections. The caller must Stop it. The error wraps
// ErrNotInstalled when PostgreSQL is not installed.
func StartServer() (*Server, error) {
	binDir, err := findBinDir()
	if err != nil {
		return nil, err
	}
	s := &Server{Host: "127.0.0.1", User: "pgtest", bin: filepath.Join(binDir, "postgres")}
	if os.Geteuid() == 0 {
		if s.cred, err = postgresUser(); err != nil {
			return nil, err
		}
	}
	pw := make([]byte, 16)
	_, _ = rand.Read(pw) // never fails
	s.Password = hex.EncodeToString(pw)
	if s.Dir, err = os.MkdirTemp("", "pgtest-"); err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	if err := s.initdb(filepath.Join(binDir, "initdb")); err != nil {
		os.RemoveAll(s.Dir)
		return nil, err
	}
	// The port is free when chosen but may be taken before postgres binds
	// it: then another one.
	for attempt := 1; ; attempt++ {
		if s.Port, err = freePort(); err != nil {
			os.RemoveAll(s.Dir)
			return nil, err
		}
		err = s.start()
		if err == nil {
			return s, nil
		}
		if attempt == 5 || !errors.Is(err, errBind) {
			os.RemoveAll(s.Dir)
			return nil, err
		}
	}
}

// findBinDir returns the bin directory of the newest PostgreSQL version
// under /usr/lib/postgresql (Debian's layout), or else the directory of
// postgres in $PATH if initdb is beside it.
func findBinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		return compareVersions(filepath.Base(filepath.Dir(a)), filepath.Base(filepath.Dir(b)))
	})
	if p, err := exec.LookPath("postgres"); err == nil {
		dirs = append([]string{filepath.Dir(p)}, dirs...) // the last resort
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if isExecutable(filepath.Join(dirs[i], "postgres")) && isExecutable(filepath.Join(dirs[i], "initdb")) {
			return dirs[i], nil
		}
	}
	return "", fmt.Errorf("pgtest: no initdb and postgres in /usr/lib/postgresql/*/bin or $PATH: %w", ErrNotInstalled)
}

// compareVersions orders versions such as "9.6", "15" and "16" by their
// numbers.
func compareVersions(a, b string) int {
	num := func(v string) []int {
		var n []int
		for f := range strings.SplitSeq(v, ".") {
			i, _ := strconv.Atoi(f)
			n = append(n, i)
		}
		return n
	}
	return slices.Compare(num(a), num(b))
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// postgresUser returns the credential of the postgres system user, the
// one PostgreSQL runs as when the tests run as root.
func postgresUser() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pgtest: PostgreSQL refuses to run as root and there is no postgres user to run it as (Debian's postgresql package creates it): %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("pgtest: the postgres user: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

// initdb creates the data directory Dir/data, the superuser with its
// password, and the pg_hba.conf that asks for it over TCP.
func (s *Server) initdb(initdb string) error {
	// A unix socket path is at most 107 bytes: say so rather than let
	// postgres fail later.
	if sock := filepath.Join(s.Dir, ".s.PGSQL.65535"); len(sock) > 107 {
		return fmt.Errorf("pgtest: the unix socket path %s would be too long: set a shorter $TMPDIR", sock)
	}
	if err := s.chown(s.Dir); err != nil {
		return err
	}
	pwFile := filepath.Join(s.Dir, "pwfile")
	if err := s.writeFile(pwFile, s.Password+"\n"); err != nil {
		return err
	}
	defer os.Remove(pwFile)
	// No sync: fsync is about the server's commits. Flushing initdb's files
	// would only matter if the machine crashed, and costs most of its time.
	cmd := exec.Command(initdb, "-D", filepath.Join(s.Dir, "data"), "-U", s.User, "--pwfile", pwFile,
		"--auth-local=trust", "--auth-host=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions")
	cmd.Dir = s.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pgtest: %s: %w\n%s", initdb, err, out)
	}
	hba := "# pgtest: the superuser's password over TCP, anyone on the unix socket in the test's directory.\n" +
		"local all all trust\n" +
		"host all all 127.0.0.1/32 scram-sha-256\n"
	return s.writeFile(filepath.Join(s.Dir, "data", "pg_hba.conf"), hba)
}

// writeFile writes a file that the server's user owns.
func (s *Server) writeFile(path, content string) error {
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	return s.chown(path)
}

// chown gives path to the server's user when it is not the current one.
func (s *Server) chown(path string) error {
	if s.cred == nil {
		return nil
	}
	if err := os.Chown(path, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	return nil
}

// freePort returns a TCP port of 127.0.0.1 that no one listens on just now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// errBind marks a server that exited because its port was taken.
var errBind = errors.New("port taken")

// start runs postgres on the data directory and waits until it accepts
// connections; it fails after startTimeout, or if postgres exits.
func (s *Server) start() error {
	logPath := filepath.Join(s.Dir, "postgres.log")
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	logStart, _ := log.Seek(0, io.SeekEnd)
	cmd := exec.Command(s.bin, "-D", filepath.Join(s.Dir, "data"),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "port="+strconv.Itoa(s.Port),
		"-c", "unix_socket_directories="+s.Dir,
		"-c", "fsync=on", "-c", "synchronous_commit=on", "-c", "full_page_writes=on",
		"-c", "password_encryption=scram-sha-256",
		"-c", "max_connections=300",
		"-c", "shared_buffers=32MB",
		"-c", "logging_collector=off")
	cmd.Dir = s.Dir
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: s.cred,
		Setpgid:    true, // ^C to go test reaches the test, which stops the server
		// postgres dies with the test process rather than outlive it (its
		// children follow). The signal comes when the thread that started
		// it exits, which Go's threads do not unless a goroutine exits
		// locked to one.
		Pdeathsig: syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("pgtest: %s: %w", s.bin, err)
	}
	done := make(chan struct{})
	// Owned by the server: it ends when postgres does (Stop and Kill wait
	// for it).
	go func() { _ = cmd.Wait(); log.Close(); close(done) }()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()

	deadline := time.Now().Add(startTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		c, err := pgx.Connect(ctx, s.URL("postgres"))
		if err == nil {
			err = c.Ping(ctx)
			c.Close(ctx)
		}
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-done:
			s.mu.Lock()
			s.cmd = nil
			s.mu.Unlock()
			out := s.logSince(logStart)
			if strings.Contains(out, "could not bind") || strings.Contains(out, "could not create any TCP/IP sockets") {
				return fmt.Errorf("pgtest: postgres on port %d: %w:\n%s", s.Port, errBind, tail(out, 20))
			}
			return fmt.Errorf("pgtest: postgres exited (%v) before accepting connections:\n%s", cmd.ProcessState, tail(out, 40))
		default:
		}
		if time.Now().After(deadline) {
			_ = s.Kill()
			return fmt.Errorf("pgtest: postgres did not accept connections on %s:%d within %v (last: %v):\n%s",
				s.Host, s.Port, startTimeout, err, tail(s.logSince(logStart), 40))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Stop shuts the server down, waits for its processes to exit and removes
// Dir; its clients are disconnected. Stopping a stopped server does
// nothing; a stopped server cannot be restarted.
//
// It is PostgreSQL's immediate shutdown (SIGQUIT), which skips the
// shutdown checkpoint: the data is removed anyway, and the checkpoint's
// writes and fsyncs took 0.2 to 3 s where this takes 30 ms.
func (s *Server) Stop() error {
	err := s.shutdown(syscall.SIGQUIT)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.removed {
		return err
	}
	s.removed = true
	if rmErr := os.RemoveAll(s.Dir); rmErr != nil {
		err = errors.Join(err, fmt.Errorf("pgtest: %w", rmErr))
	}
	return err
}

// shutdown asks postgres to shut down with sig, SIGINT for a fast
// shutdown or SIGQUIT for an immediate one, and waits for it to exit,
// which it does after its children; it is killed after stopTimeout.
func (s *Server) shutdown(sig syscall.Signal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return nil
	}
	_ = s.cmd.Process.Signal(sig)
	select {
	case <-s.done:
		s.cmd = nil
		return nil
	case <-time.After(stopTimeout):
	}
	err := fmt.Errorf("pgtest: postgres did not shut down within %v: killed:\n%s", stopTimeout, tail(s.Log(), 20))
	return errors.Join(err, s.kill())
}

// Kill kills the server and all its processes (SIGKILL), as a crash or a
// power cut would, and waits for them to exit; Dir stays for Restart.
// Killing a server that does not run does nothing.
func (s *Server) Kill() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return nil
	}
	return s.kill()
}

// kill kills postgres and its children; s.mu is held. Each child of
// postgres is a process group of its own (setsid), and they would exit on
// their own after it, one by one; but then a restart might find the old
// shared memory still attached. So postgres is stopped (it forks no more),
// its children listed, and all killed.
func (s *Server) kill() error {
	pid := s.cmd.Process.Pid
	_ = syscall.Kill(pid, syscall.SIGSTOP)
	pids := append(children(pid), pid)
	for _, p := range pids {
		_ = syscall.Kill(p, syscall.SIGKILL)
	}
	<-s.done
	s.cmd = nil
	return waitGone(pids)
}

// waitGone waits until the processes pids have exited.
func waitGone(pids []int) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := alive(pids)
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pgtest: processes %v of the server still run 10 s after they were killed", left)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Restart shuts the server down if it runs (a fast shutdown: open
// transactions are rolled back, clients disconnected, and a checkpoint
// taken) and starts it again on the same data directory and port. After
// Kill, PostgreSQL recovers what was committed from its write-ahead log.
// It fails after Stop, which removed the data.
func (s *Server) Restart() error {
	if err := s.shutdown(syscall.SIGINT); err != nil {
		return err
	}
	s.mu.Lock()
	removed := s.removed
	s.mu.Unlock()
	if removed {
		return errors.New("pgtest: Restart after Stop: the data directory is gone")
	}
	return s.start()
}

// Running reports whether the server's process runs.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd != nil
}

// Pid returns the process id of the server (the postmaster), 0 when it
// does not run.
func (s *Server) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// procStat is the state and the parent of a process, from /proc; ok is
// false when it has gone.
func procStat(pid int) (state string, ppid int, ok bool) {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", 0, false
	}
	// pid (comm) state ppid ...: comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return "", 0, false
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 2 {
		return "", 0, false
	}
	ppid, _ = strconv.Atoi(f[1])
	return f[0], ppid, true
}

// running reports whether process pid exists and is not a zombie (whose
// reaper, once its parent is gone, is not ours).
func running(pid int) bool {
	state, _, ok := procStat(pid)
	return ok && state != "Z" && state != "X"
}

// alive lists the processes of pids that still run.
func alive(pids []int) []int {
	var left []int
	for _, p := range pids {
		if running(p) {
			left = append(left, p)
		}
	}
	return left
}

// children lists the running children of process pid.
func children(pid int) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if _, ppid, ok := procStat(p); ok && ppid == pid && running(p) {
			pids = append(pids, p)
		}
	}
	return pids
}

// URL returns the URL of database db for the superuser over TCP, for
// pgx or database/sql with pgx's stdlib driver.
func (s *Server) URL(db string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(s.User, s.Password),
		Host:     net.JoinHostPort(s.Host, strconv.Itoa(s.Port)),
		Path:     "/" + db,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// CreateDatabase creates database name, a copy of template0, and returns
// its URL.
func (s *Server) CreateDatabase(ctx context.Context, name string) (string, error) {
	// The default strategy in PostgreSQL 15, WAL_LOG, writes template0's
	// 7 MB through the write-ahead log; FILE_COPY copies its files and
	// takes two checkpoints.
	if err := s.admin(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE template0"); err != nil {
		return "", fmt.Errorf("pgtest: create database %s: %w", name, err)
	}
	return s.URL(name), nil
}

// DropDatabase drops database name, disconnecting its clients.
func (s *Server) DropDatabase(ctx context.Context, name string) error {
	if err := s.admin(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("pgtest: drop database %s: %w", name, err)
	}
	return nil
}

// admin runs a statement in the postgres database.
func (s *Server) admin(ctx context.Context, sql string) error {
	c, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return err
	}
	defer c.Close(context.WithoutCancel(ctx))
	_, err = c.Exec(ctx, sql)
	return err
}

var notIdent = regexp.MustCompile(`[^a-z0-9_]+`)

// NewDatabase creates a database of the test's own and returns its URL
// (see URL). The database is dropped when the test ends, if the server
// still runs.
func (s *Server) NewDatabase(tb testing.TB) string {
	tb.Helper()
	// Unique in the server, and named after the test for its log.
	name := fmt.Sprintf("t%d_%s", s.dbs.Add(1), notIdent.ReplaceAllString(strings.ToLower(tb.Name()), "_"))
	name = strings.TrimRight(name[:min(len(name), 63)], "_")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u, err := s.CreateDatabase(ctx, name)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if !s.Running() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.DropDatabase(ctx, name); err != nil {
			tb.Error(err)
		}
	})
	return u
}

// Log returns what the server has logged so far, over all its restarts.
func (s *Server) Log() string { return s.logSince(0) }

func (s *Server) logSince(offset int64) string {
	out, err := os.ReadFile(filepath.Join(s.Dir, "postgres.log"))
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return string(out[min(int(offset), len(out)):])
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// DatabaseEnv selects the engine a package's tests run against: unset or
// "sqlite", SQLite files; "postgres", a PostgreSQL server of pgtest (make
// test runs the store's, the lease's, the fleet's and the e2e tests both
// ways).
const DatabaseEnv = "API_TEST_DATABASE"

// MainServer is for a TestMain: it starts a server when DatabaseEnv says
// "postgres" and returns it (the caller stops it after m.Run), or nil for
// SQLite. It exits the test binary when the variable is invalid or the
// server does not start; without PostgreSQL installed it exits 0, the
// package's tests skipped, unless $CI is set (CI must run them).
func MainServer(pkg string) *Server {
	switch e := os.Getenv(DatabaseEnv); e {
	case "", "sqlite":
		return nil
	case "postgres":
		srv, err := StartServer()
		if errors.Is(err, ErrNotInstalled) && os.Getenv("CI") == "" {
			fmt.Fprintf(os.Stderr, "%s: skipped: %v\n", pkg, err)
			os.Exit(0)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", pkg, err)
			os.Exit(1)
		}
		return srv
	default:
		fmt.Fprintf(os.Stderr, "%s: %s=%q: want sqlite or postgres\n", pkg, DatabaseEnv, e)
		os.Exit(2)
		return nil
	}
}

// Main is a package's TestMain for tests that run on either engine: the
// server of MainServer handed to use (nil for SQLite), m.Run, the server
// stopped, then a check for leaked goroutines (goleak) after a passing
// run; it exits with the result.
func Main(m *testing.M, pkg string, use func(*Server)) {
	srv := MainServer(pkg)
	use(srv)
	code := m.Run()
	if srv != nil {
		if err := srv.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "%s: stopping PostgreSQL: %v\n", pkg, err)
			code = 1
		}
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "%s: leaked goroutines: %v\n", pkg, err)
			code = 1
		}
	}
	os.Exit(code)
}
