package device

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// ioTimeout only guards against a hanging test; no test depends on timing.
const ioTimeout = 5 * time.Second

// rig runs a Device session on one end of a net.Pipe; the test is the DTE
// on the other end.
type rig struct {
	t      *testing.T
	d      *Device
	conn   net.Conn
	cancel context.CancelFunc
	done   chan error
}

func newRig(t *testing.T, cfg Config) *rig {
	t.Helper()
	d, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return serveRig(t, d)
}

func serveRig(t *testing.T, d *Device) *rig {
	t.Helper()
	dte, dce := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	r := &rig{t: t, d: d, conn: dte, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- d.Serve(ctx, dce) }()
	t.Cleanup(func() {
		r.stop()
		_ = dce.Close()
	})
	return r
}

// stop cancels the session and checks that Serve returned nil.
func (r *rig) stop() {
	r.t.Helper()
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		if err != nil {
			r.t.Errorf("Serve returned %v after cancel; want nil", err)
		}
	case <-time.After(ioTimeout):
		r.t.Fatal("Serve did not return after cancel")
	}
	_ = r.conn.Close()
}

func (r *rig) send(s string) {
	r.t.Helper()
	if err := r.conn.SetWriteDeadline(time.Now().Add(ioTimeout)); err != nil {
		r.t.Fatal(err)
	}
	if _, err := io.WriteString(r.conn, s); err != nil {
		r.t.Fatalf("write %q: %v", s, err)
	}
}

// expect reads exactly len(want) bytes and compares them.
func (r *rig) expect(want string) {
	r.t.Helper()
	got := r.read(len(want))
	if got != want {
		r.t.Fatalf("got  %q\nwant %q", got, want)
	}
}

func (r *rig) read(n int) string {
	r.t.Helper()
	if err := r.conn.SetReadDeadline(time.Now().Add(ioTimeout)); err != nil {
		r.t.Fatal(err)
	}
	buf := make([]byte, n)
	k, err := io.ReadFull(r.conn, buf)
	if err != nil {
		r.t.Fatalf("read %d bytes: got %q: %v", n, buf[:k], err)
	}
	return string(buf)
}

// readUntil reads until the bytes read end with suffix.
func (r *rig) readUntil(suffix string) string {
	r.t.Helper()
	if err := r.conn.SetReadDeadline(time.Now().Add(ioTimeout)); err != nil {
		r.t.Fatal(err)
	}
	var b []byte
	one := make([]byte, 1)
	for !strings.HasSuffix(string(b), suffix) {
		if _, err := r.conn.Read(one); err != nil {
			r.t.Fatalf("reading until %q: got %q: %v", suffix, b, err)
		}
		b = append(b, one[0])
	}
	return string(b)
}

// cmd sends line+CR and expects the exact reply (echo included if on).
func (r *rig) cmd(line, want string) {
	r.t.Helper()
	r.send(line + "\r")
	r.expect(want)
}

// quiet turns echo off.
func (r *rig) quiet() {
	r.t.Helper()
	r.cmd("ATE0", "ATE0\r\r\nOK\r\n")
}

// logRecorder is a slog.Handler that passes log messages to a channel,
// so that tests can wait for the device to have done something.
type logRecorder struct {
	msgs chan string
}

func newLogRecorder() *logRecorder { return &logRecorder{msgs: make(chan string, 1000)} }

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	select {
	case l.msgs <- r.Message:
	default:
	}
	return nil
}
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }

// waitFor waits until the device logs msg.
func (l *logRecorder) waitFor(t *testing.T, msg string) {
	t.Helper()
	timeout := time.After(ioTimeout)
	for {
		select {
		case m := <-l.msgs:
			if m == msg {
				return
			}
		case <-timeout:
			t.Fatalf("device did not log %q", msg)
		}
	}
}

// lockedBuffer is a bytes.Buffer safe for the concurrent writes of a
// logger.
type lockedBuffer struct {
	mu  sync.Mutex
	buf *bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
