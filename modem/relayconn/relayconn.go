// Package relayconn keeps the api's session with the relay: it connects as
// the relay's client in control, sends the heartbeat sentinel through the
// AT engine's raw write (so it never lands inside a command line), runs the
// modem's init sequence after every (re)connect (which starts by clearing
// whatever state the previous client left the modem in: see
// at.Engine.Recover and modemops.Init), recognises the relay's
// rejection and timeout messages, and reconnects with exponential backoff.
// Engine returns the engine while the session is ready, so readiness
// reflects the relay, the device and the init sequence together.
package relayconn

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/at"
	"github.com/sim-modem-api/sim-modem-api/modem/relaywire"
)

// ErrUnavailable is wrapped by Engine's error while there is no ready
// session: the modem cannot be reached now.
var ErrUnavailable = errors.New("modem unavailable")

// Reasons a session ended, as reported to OnDisconnect and in errors.
const (
	ReasonDialFailed       = "dial_failed"
	ReasonInControl        = "already_in_control"
	ReasonHeartbeatTimeout = "heartbeat_timeout"
	ReasonSerialLost       = "serial_unavailable"
	ReasonNoSerialDevice   = "no_serial_device"
	ReasonRelayShutdown    = "relay_shutting_down"
	ReasonClosed           = "connection_closed"
	ReasonInitFailed       = "init_failed"
	// ReasonTLSFailed: the TLS handshake with the relay failed, on either
	// side (the relay's certificate did not verify, or the relay refused
	// the api's certificate with an alert).
	ReasonTLSFailed = "tls_handshake_failed"
)

var messages = []struct{ text, reason string }{
	{relaywire.MsgAlreadyInControl, ReasonInControl},
	{relaywire.MsgHeartbeatTimeout, ReasonHeartbeatTimeout},
	{relaywire.MsgSerialUnavailable, ReasonSerialLost},
	{relaywire.MsgNoSerialDevice, ReasonNoSerialDevice},
	{relaywire.MsgRelayShuttingDown, ReasonRelayShutdown},
}

// Config configures a Session.
type Config struct {
	Addr string
	// TLS, if not nil, makes the connection mutual TLS (see package
	// relaytls); nil is plain TCP. The handshake is bounded by DialTimeout.
	TLS         *tls.Config
	Sentinel    string        // relaywire.DefaultSentinel if empty
	Heartbeat   time.Duration // 2 s if zero
	DialTimeout time.Duration // 3 s if zero
	BackoffMin  time.Duration // 200 ms if zero
	BackoffMax  time.Duration // 10 s if zero
	InitTimeout time.Duration // 30 s if zero
	// EngineOptions are passed to at.New for every connection.
	EngineOptions []at.Option
	// Init runs the modem's init sequence on a new engine; the session is
	// ready when it returns nil.
	Init func(ctx context.Context, e *at.Engine) error
	// OnURC receives every URC and every line that belongs to no command.
	OnURC at.Handler
	// OnReady is called (if not nil) with true when the session becomes
	// ready and false when it stops being ready.
	OnReady func(bool)
	// OnDisconnect is called (if not nil) with the reason a connection
	// attempt or session ended.
	OnDisconnect func(reason string)
	Logger       *slog.Logger
}

// Session is the connection to the relay, renewed as needed by Run.
type Session struct {
	cfg Config
	log *slog.Logger

	mu     sync.Mutex
	eng    *at.Engine // the ready engine, nil while not ready
	reason string     // why it is not ready
}

// New returns a session; Run connects it.
func New(cfg Config) *Session {
	if cfg.Sentinel == "" {
		cfg.Sentinel = relaywire.DefaultSentinel
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 2 * time.Second
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 3 * time.Second
	}
	if cfg.BackoffMin <= 0 {
		cfg.BackoffMin = 200 * time.Millisecond
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = 10 * time.Second
	}
	if cfg.InitTimeout <= 0 {
		cfg.InitTimeout = 30 * time.Second
	}
	if cfg.Init == nil {
		cfg.Init = func(context.Context, *at.Engine) error { return nil }
	}
	if cfg.OnURC == nil {
		cfg.OnURC = func(at.URC) {}
	}
	if cfg.OnReady == nil {
		cfg.OnReady = func(bool) {}
	}
	if cfg.OnDisconnect == nil {
		cfg.OnDisconnect = func(string) {}
	}
	l := cfg.Logger
	if l == nil {
		l = slog.Default()
	}
	return &Session{cfg: cfg, log: l, reason: "not connected yet"}
}

// Engine returns the engine of the ready session, or an error wrapping
// ErrUnavailable that says why there is none.
func (s *Session) Engine() (*at.Engine, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.eng == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnavailable, s.reason)
	}
	return s.eng, nil
}

// Ready reports whether the session is ready, and why not: connected, in
// control, the modem initialised, and the engine in step with the modem
// (not after a command that timed out until a resync succeeds: the modem
// did not answer). Engine still returns the engine while it is out of
// step, so that the next job (or status poll) can resync it.
func (s *Session) Ready() (bool, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.eng != nil && !s.eng.InSync() {
		return false, "the modem did not answer a command in time; resynchronising"
	}
	return s.eng != nil, s.reason
}

func (s *Session) setReady(e *at.Engine, reason string) {
	s.mu.Lock()
	was := s.eng != nil
	s.eng, s.reason = e, reason
	s.mu.Unlock()
	if was != (e != nil) {
		s.cfg.OnReady(e != nil)
	}
}

// Run connects, and reconnects with backoff, until ctx ends.
func (s *Session) Run(ctx context.Context) {
	backoff := s.cfg.BackoffMin
	for ctx.Err() == nil {
		wasReady, reason, err := s.session(ctx)
		if ctx.Err() != nil {
			break
		}
		s.cfg.OnDisconnect(reason)
		if wasReady {
			backoff = s.cfg.BackoffMin
		}
		s.log.Warn("relay session ended", "reason", reason, "err", err, "retry_in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
		backoff = min(2*backoff, s.cfg.BackoffMax)
	}
	s.setReady(nil, "shutting down")
}

func (s *Session) session(ctx context.Context) (wasReady bool, reason string, err error) {
	conn, err := s.dial(ctx)
	if err != nil {
		if isTLSFailure(err) {
			s.setReady(nil, "TLS handshake with the relay at "+s.cfg.Addr+" failed: "+err.Error())
			return false, ReasonTLSFailed, err
		}
		s.setReady(nil, "cannot connect to the relay at "+s.cfg.Addr)
		return false, ReasonDialFailed, err
	}
	tc := &tailConn{Conn: conn}
	opts := append([]at.Option{at.WithDefaultHandler(s.cfg.OnURC), at.WithLogger(s.log)}, s.cfg.EngineOptions...)
	eng := at.New(ctx, tc, opts...)
	defer func() {
		eng.Close()
		<-eng.Done()
	}()
	for _, u := range at.StandardURCs {
		eng.Handle(u.Name, s.cfg.OnURC)
	}
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		s.heartbeat(eng)
	}()
	defer func() { <-hbDone }()
	s.setReady(nil, "initialising the modem")

	ictx, cancel := context.WithTimeout(ctx, s.cfg.InitTimeout)
	err = s.cfg.Init(ictx, eng)
	cancel()
	if err != nil {
		eng.Close()
		<-eng.Done()
		if r, msg := tc.relayMessage(); r != "" {
			s.setReady(nil, "relay: "+msg)
			return false, r, err
		}
		if rerr := tc.refused(); rerr != nil {
			s.setReady(nil, "the relay refused the TLS connection: "+rerr.Error())
			return false, ReasonTLSFailed, rerr
		}
		s.setReady(nil, "modem init failed: "+err.Error())
		return false, ReasonInitFailed, err
	}
	s.log.Info("relay session ready", "relay", s.cfg.Addr)
	s.setReady(eng, "")
	<-eng.Done()
	err = eng.Err()
	if r, msg := tc.relayMessage(); r != "" {
		s.setReady(nil, "relay: "+msg)
		return true, r, err
	}
	if rerr := tc.refused(); rerr != nil {
		s.setReady(nil, "the relay refused the TLS connection: "+rerr.Error())
		return true, ReasonTLSFailed, rerr
	}
	s.setReady(nil, "relay connection lost")
	return true, ReasonClosed, err
}

// dial connects to the relay, with TLS if configured; DialTimeout bounds
// the connect and the handshake together.
func (s *Session) dial(ctx context.Context) (net.Conn, error) {
	d := &net.Dialer{Timeout: s.cfg.DialTimeout, KeepAlive: 15 * time.Second}
	if s.cfg.TLS == nil {
		return d.DialContext(ctx, "tcp", s.cfg.Addr)
	}
	td := &tls.Dialer{NetDialer: d, Config: s.cfg.TLS}
	return td.DialContext(ctx, "tcp", s.cfg.Addr)
}

// isTLSFailure reports whether a dial failed in the TLS handshake rather
// than in the TCP connect.
func isTLSFailure(err error) bool {
	var ve *tls.CertificateVerificationError
	var re tls.RecordHeaderError
	var op *net.OpError
	return errors.As(err, &ve) || errors.As(err, &re) ||
		(errors.As(err, &op) && op.Op == "remote error") ||
		strings.HasPrefix(errorText(err), "tls: ")
}

// errorText is err's text without the net.OpError prefix.
func errorText(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err.Error()
	}
	return err.Error()
}

// heartbeat sends the sentinel at once and then every period until the
// engine stops.
func (s *Session) heartbeat(eng *at.Engine) {
	t := time.NewTicker(s.cfg.Heartbeat)
	defer t.Stop()
	for {
		if err := eng.WriteRaw([]byte(s.cfg.Sentinel)); err != nil {
			return
		}
		select {
		case <-eng.Done():
			return
		case <-t.C:
		}
	}
}

// tailConn remembers the last bytes read, where the relay's message is
// found after it closed the connection (the message has no terminator).
type tailConn struct {
	net.Conn
	mu      sync.Mutex
	tail    []byte
	readErr error // the first read error
}

const tailSize = 256

func (c *tailConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		c.tail = append(c.tail, p[:n]...)
		if len(c.tail) > tailSize {
			c.tail = append(c.tail[:0], c.tail[len(c.tail)-tailSize:]...)
		}
		c.mu.Unlock()
	}
	if err != nil {
		c.mu.Lock()
		if c.readErr == nil {
			c.readErr = err
		}
		c.mu.Unlock()
	}
	return n, err
}

// refused returns the TLS alert the relay ended the connection with (with
// TLS 1.3 a refused client certificate shows only at the first read), or
// nil.
func (c *tailConn) refused() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var op *net.OpError
	if errors.As(c.readErr, &op) && op.Op == "remote error" {
		return c.readErr
	}
	return nil
}

func (c *tailConn) relayMessage() (reason, text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := string(c.tail)
	for _, m := range messages {
		if strings.HasSuffix(strings.TrimRight(t, "\r\n"), m.text) {
			return m.reason, m.text
		}
	}
	return "", ""
}

var _ io.ReadWriteCloser = (*tailConn)(nil)
