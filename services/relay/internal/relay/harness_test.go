package relay_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sim-modem-api/sim-modem-api/services/relay/internal/metrics"
	"github.com/sim-modem-api/sim-modem-api/services/relay/internal/relay"
	"github.com/sim-modem-api/sim-modem-api/services/relay/internal/serialport"
	"github.com/sim-modem-api/sim-modem-api/services/relay/internal/tracelog"
	"github.com/sim-modem-api/sim-modem-api/simulator/sim"
)

// waitFor is the patience of every poll in these tests; conditions are
// normally met within milliseconds.
const waitFor = 10 * time.Second

// syncBuffer collects the relay's log.
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

// harness is a relay on a loopback listener in front of a simulated modem
// on a real pty.
type harness struct {
	t    *testing.T
	sim  *sim.Simulator
	link string
	addr string
	out  *syncBuffer
	log  *tracelog.Logger
	m    *metrics.Metrics
	reg  *prometheus.Registry
	r    *relay.Relay
	tls  interface{ Wait() } // the TLS listener, nil for plain TCP

	cancel context.CancelFunc
	done   chan error
}

type option func(*relay.Config, *harnessOpts)

type harnessOpts struct {
	noSim bool
	now   func() time.Time
	tls   *tls.Config
}

func withConfig(f func(*relay.Config)) option {
	return func(c *relay.Config, _ *harnessOpts) { f(c) }
}

// withoutDevice starts the relay before the modem is plugged in.
func withoutDevice() option { return func(_ *relay.Config, o *harnessOpts) { o.noSim = true } }

// withTLS makes the relay listen with mutual TLS (Relay.WithTLS).
func withTLS(cfg *tls.Config) option { return func(_ *relay.Config, o *harnessOpts) { o.tls = cfg } }

func withClock(now func() time.Time) option {
	return func(_ *relay.Config, o *harnessOpts) { o.now = now }
}

func start(t *testing.T, opts ...option) *harness {
	t.Helper()
	h := &harness{t: t, link: filepath.Join(t.TempDir(), "ttyUSB2"), out: &syncBuffer{}, done: make(chan error, 1)}
	cfg := relay.Config{
		Device:           h.link,
		HeartbeatTimeout: waitFor, // tests that need heartbeats set their own
		SentinelHold:     waitFor, // tests that need the hold bound set their own
		WriteTimeout:     waitFor,
		PollInterval:     20 * time.Millisecond,
	}
	var o harnessOpts
	for _, opt := range opts {
		opt(&cfg, &o)
	}
	if !o.noSim {
		h.plugIn()
	}
	h.reg = prometheus.NewPedanticRegistry()
	h.m = metrics.New(h.reg)
	h.log = tracelog.New(h.out, tracelog.Options{Now: o.now, OnDrop: func(n int) { h.m.LogLinesDropped.Add(float64(n)) }})
	h.r = relay.New(cfg, &serialport.Device{Pattern: h.link, Baud: 115200}, h.log, h.m)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if o.tls != nil {
		bl := h.r.WithTLS(ln, o.tls)
		h.tls, ln = bl, bl
	}
	h.addr = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- h.r.Serve(ctx, ln) }()
	t.Cleanup(h.stop)
	if !o.noSim {
		h.waitDeviceUp()
	}
	return h
}

// plugIn starts the simulator (the first time) at the link.
func (h *harness) plugIn() {
	h.t.Helper()
	s, err := sim.Start(context.Background(), sim.Config{Link: h.link})
	if err != nil {
		h.t.Fatal(err)
	}
	h.sim = s
}

func (h *harness) stop() {
	h.cancel()
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("Serve: %v", err)
		}
	case <-time.After(waitFor):
		h.t.Errorf("Serve did not return after cancel")
	}
	if h.tls != nil {
		h.tls.Wait()
	}
	h.log.Close()
	if h.sim != nil {
		// The simulator's own close errors are its business, not the relay's.
		if err := h.sim.Close(); err != nil && !errors.Is(err, sim.ErrClosed) {
			h.t.Logf("close simulator: %v", err)
		}
	}
	if h.t.Failed() {
		h.t.Logf("relay log:\n%s", h.out.String())
	}
}

func (h *harness) waitDeviceUp() {
	h.t.Helper()
	h.eventually("serial device up", func() bool { return h.r.Healthy() == nil })
}

// eventually polls cond until it holds or waitFor passes.
func (h *harness) eventually(what string, cond func() bool) {
	h.t.Helper()
	h.eventuallyWithin(waitFor, what, cond)
}

// eventuallyWithin polls cond until it holds or d passes.
func (h *harness) eventuallyWithin(d time.Duration, what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// logText returns the log written so far.
func (h *harness) logText() string {
	h.log.Flush()
	return h.out.String()
}

// waitLog waits for a log line containing s.
func (h *harness) waitLog(s string) {
	h.t.Helper()
	h.eventually("log line "+s, func() bool { return strings.Contains(h.logText(), s) })
}

// serialWritten is every byte logged as SER_W, in order, unescaped.
func (h *harness) serialWritten() string { return serialPayload(h.logText(), "SER_W ->") }

func serialPayload(log, tag string) string {
	var b strings.Builder
	for _, line := range strings.Split(log, "\n") {
		i := strings.Index(line, tag)
		if i < 0 || !strings.HasSuffix(line, "<-") {
			continue
		}
		b.WriteString(unescape(line[i+len(tag) : len(line)-2]))
	}
	return b.String()
}

func unescape(s string) string {
	r := strings.NewReplacer(`\r`, "\r", `\n`, "\n", `\t`, "\t", `\x1A`, "\x1a", `\x5C`, `\`, `\x00`, "\x00")
	return r.Replace(s)
}

// client is a raw TCP client, like netcat.
type client struct {
	t    *testing.T
	conn net.Conn // *net.TCPConn, or a *tls.Conn (tls_test.go)
	got  bytes.Buffer
}

func (h *harness) dial() *client {
	h.t.Helper()
	conn, err := net.Dial("tcp", h.addr)
	if err != nil {
		h.t.Fatal(err)
	}
	c := &client{t: h.t, conn: conn}
	h.t.Cleanup(func() { conn.Close() })
	return c
}

// dialInControl connects and waits until the relay has given it control.
func (h *harness) dialInControl() *client {
	h.t.Helper()
	before := strings.Count(h.logText(), "Successfully gave control to this client socket")
	c := h.dial()
	h.eventually("control given", func() bool {
		return strings.Count(h.logText(), "Successfully gave control to this client socket") > before
	})
	return c
}

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := c.conn.Write([]byte(s)); err != nil {
		c.t.Fatalf("send %q: %v", s, err)
	}
}

// expect reads until what was received (since the last expect) ends with
// want, and consumes it.
func (c *client) expect(want string) {
	c.t.Helper()
	deadline := time.Now().Add(waitFor)
	buf := make([]byte, 4096)
	for !strings.HasSuffix(c.got.String(), want) {
		_ = c.conn.SetReadDeadline(deadline)
		n, err := c.conn.Read(buf)
		c.got.Write(buf[:n])
		if err != nil {
			c.t.Fatalf("waiting for %q: got %q, then %v", want, c.got.String(), err)
		}
	}
	c.got.Reset()
}

// expectContaining reads until what was received contains part and ends
// with suffix, and consumes it.
func (c *client) expectContaining(part, suffix string) {
	c.t.Helper()
	deadline := time.Now().Add(waitFor)
	buf := make([]byte, 4096)
	for got := c.got.String(); !strings.Contains(got, part) || !strings.HasSuffix(got, suffix); got = c.got.String() {
		_ = c.conn.SetReadDeadline(deadline)
		n, err := c.conn.Read(buf)
		c.got.Write(buf[:n])
		if err != nil {
			c.t.Fatalf("waiting for %q ... %q: got %q, then %v", part, suffix, c.got.String(), err)
		}
	}
	c.got.Reset()
}

// expectClosed reads until EOF and checks that exactly want was received.
func (c *client) expectClosed(want string) {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(waitFor))
	b, err := io.ReadAll(c.conn)
	c.got.Write(b)
	if err != nil {
		c.t.Fatalf("waiting for close: got %q, then %v", c.got.String(), err)
	}
	if got := c.got.String(); got != want {
		c.t.Fatalf("before close got %q, want %q", got, want)
	}
	c.got.Reset()
}

// roundTrip sends AT and expects the echo and OK.
func (c *client) roundTrip() {
	c.t.Helper()
	c.send("AT\r")
	c.expect("AT\r\r\nOK\r\n")
}
