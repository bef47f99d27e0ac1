// Package tlsbridge puts mutual TLS in front of the relay without changing
// its data path. The relay relays a client in control in an epoll loop on
// the client socket's raw descriptor, which cannot speak TLS. A Listener
// therefore terminates TLS itself: it accepts TCP connections, runs each
// handshake in a goroutine of its own under a deadline (a silent client
// holds a goroutine for at most the handshake timeout, never the accept
// loop or the control slot), and for each client that completes it hands
// the relay one end of a unix socket pair, dressed with the client's TCP
// addresses, while two goroutines copy between the other end and the TLS
// connection. Everything the relay does with a client (heartbeat removal,
// the one-client rule and its refusal text, the heartbeat timeout, the
// trace log, the last messages, the closing linger) works on that end as
// on a TCP socket.
//
// A failed handshake (no client certificate, one from another CA, a
// client that does not speak TLS, a timeout) never reaches the relay: it
// is reported through Config.OnFailure with the client's address and a
// reason, and the connection is closed.
package tlsbridge

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Reasons a handshake failed, as passed to Config.OnFailure (the label
// values of relay_tls_handshake_failures_total).
const (
	ReasonNoCertificate  = "no_certificate"      // the client sent none
	ReasonBadCertificate = "bad_certificate"     // it did not verify (another CA, expired, not for clients)
	ReasonNotTLS         = "not_tls"             // the client spoke something else (a plain TCP client)
	ReasonTimeout        = "timeout"             // not done within the handshake timeout
	ReasonClientClosed   = "client_closed"       // the client went away during the handshake
	ReasonBusy           = "too_many_handshakes" // MaxHandshakes were in progress; closed at once
	ReasonOther          = "other"               // any other protocol failure (e.g. an old TLS version)
)

// Reasons lists every reason, for creating metric series up front.
var Reasons = []string{ReasonNoCertificate, ReasonBadCertificate, ReasonNotTLS, ReasonTimeout, ReasonClientClosed, ReasonBusy, ReasonOther}

// Config configures a Listener. Zero values take the defaults noted.
type Config struct {
	// TLS is the server configuration (see relaytls.Server); required.
	TLS *tls.Config
	// HandshakeTimeout bounds a handshake, from the TCP accept; default 10s.
	HandshakeTimeout time.Duration
	// WriteTimeout bounds one write to the TLS client; a client that does
	// not take the relay's bytes for this long is cut off. Default 5s.
	WriteTimeout time.Duration
	// Linger bounds how long, after the relay has closed its end, what
	// the client still sends is read and passed on (so that the relay's
	// last message is not lost to a reset). Default 1s.
	Linger time.Duration
	// MaxHandshakes bounds the handshakes in progress; a connection beyond
	// it is closed at once (ReasonBusy). Default 64.
	MaxHandshakes int
	// OnFailure, if not nil, is called once for each connection whose
	// handshake failed, before it is closed.
	OnFailure func(remote net.Addr, reason string, err error)
}

// Listener accepts TLS clients and returns them to the relay as bridged
// connections. Create it with New; Close stops it; Wait waits for every
// goroutine it started.
type Listener struct {
	inner net.Listener
	cfg   Config

	ctx    context.Context // cancelled by Close: ends handshakes in progress
	cancel context.CancelFunc
	ready  chan accepted // to Accept: a bridged client or an accept error
	sem    chan struct{} // handshakes in progress
	wg     sync.WaitGroup
}

type accepted struct {
	conn net.Conn
	err  error
}

// New starts accepting on inner; the Listener owns inner.
func New(inner net.Listener, cfg Config) *Listener {
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = 10 * time.Second
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 5 * time.Second
	}
	if cfg.Linger <= 0 {
		cfg.Linger = time.Second
	}
	if cfg.MaxHandshakes <= 0 {
		cfg.MaxHandshakes = 64
	}
	if cfg.OnFailure == nil {
		cfg.OnFailure = func(net.Addr, string, error) {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &Listener{inner: inner, cfg: cfg, ctx: ctx, cancel: cancel,
		ready: make(chan accepted), sem: make(chan struct{}, cfg.MaxHandshakes)}
	l.wg.Go(l.acceptLoop)
	return l
}

// Accept returns the next client whose handshake succeeded, as a
// connection whose descriptor is a unix socket (syscall.Conn, CloseWrite)
// and whose addresses are the TCP connection's. After Close it returns an
// error wrapping net.ErrClosed.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case a := <-l.ready:
		return a.conn, a.err
	case <-l.ctx.Done():
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.inner.Addr(), Err: net.ErrClosed}
	}
}

// Close stops accepting and ends the handshakes in progress; bridges
// already handed out end when the relay closes their end (see Wait).
func (l *Listener) Close() error {
	l.cancel()
	return l.inner.Close()
}

// Addr is the TCP address listened on.
func (l *Listener) Addr() net.Addr { return l.inner.Addr() }

// Wait waits, after Close, until every handshake and bridge has ended. A
// bridge ends at most Linger after the relay has closed its end.
func (l *Listener) Wait() { l.wg.Wait() }

func (l *Listener) acceptLoop() {
	for {
		c, err := l.inner.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || l.ctx.Err() != nil {
				return
			}
			// Out of descriptors and the like: the relay's accept loop
			// logs it and backs off before it asks again.
			select {
			case l.ready <- accepted{err: err}:
				continue
			case <-l.ctx.Done():
				return
			}
		}
		select {
		case l.sem <- struct{}{}:
		default:
			l.cfg.OnFailure(c.RemoteAddr(), ReasonBusy, fmt.Errorf("%d handshakes in progress", l.cfg.MaxHandshakes))
			_ = c.Close()
			continue
		}
		l.wg.Go(func() {
			defer func() { <-l.sem }()
			l.handshake(c)
		})
	}
}

// handshake runs the TLS handshake on c under the deadline, and on success
// hands a bridged connection to Accept.
func (l *Listener) handshake(c net.Conn) {
	tc := tls.Server(c, l.cfg.TLS)
	ctx, cancel := context.WithTimeout(l.ctx, l.cfg.HandshakeTimeout)
	_ = c.SetDeadline(time.Now().Add(l.cfg.HandshakeTimeout))
	err := tc.HandshakeContext(ctx)
	cancel()
	if err != nil {
		if l.ctx.Err() == nil {
			l.cfg.OnFailure(c.RemoteAddr(), Classify(err), err)
		}
		_ = c.Close()
		return
	}
	_ = c.SetDeadline(time.Time{})
	relayEnd, bridgeEnd, err := socketPair()
	if err != nil {
		// Out of descriptors: the client is closed as if the accept had failed.
		_ = c.Close()
		select {
		case l.ready <- accepted{err: fmt.Errorf("bridge for the TLS client %s: %w", c.RemoteAddr(), err)}:
		case <-l.ctx.Done():
		}
		return
	}
	b := &bridge{cfg: &l.cfg, tls: tc, tcp: c, end: bridgeEnd}
	l.wg.Go(b.run)
	select {
	case l.ready <- accepted{conn: &conn{UnixConn: relayEnd, local: c.LocalAddr(), remote: c.RemoteAddr()}}:
	case <-l.ctx.Done():
		_ = relayEnd.Close() // the bridge sees the end and closes the client
	}
}

// Classify maps a handshake error to one of the reasons.
func Classify(err error) string {
	var ve *tls.CertificateVerificationError
	var rh tls.RecordHeaderError
	var ne net.Error
	switch {
	case errors.As(err, &ve):
		return ReasonBadCertificate
	case errors.As(err, &rh):
		return ReasonNotTLS
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return ReasonTimeout
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.ErrUnexpectedEOF):
		return ReasonClientClosed
	case strings.Contains(err.Error(), "didn't provide a certificate"):
		// crypto/tls has no error value for it.
		return ReasonNoCertificate
	}
	return ReasonOther
}

// conn is the relay's end of a bridge: a unix socket that reports the TLS
// client's TCP addresses.
type conn struct {
	*net.UnixConn
	local, remote net.Addr
}

func (c *conn) LocalAddr() net.Addr  { return c.local }
func (c *conn) RemoteAddr() net.Addr { return c.remote }

// socketPair returns the two ends of a connected unix stream socket pair.
func socketPair() (*net.UnixConn, *net.UnixConn, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC|syscall.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, nil, os.NewSyscallError("socketpair", err)
	}
	a, err := unixConn(fds[0], "relay end")
	if err != nil {
		_ = syscall.Close(fds[1])
		return nil, nil, err
	}
	b, err := unixConn(fds[1], "bridge end")
	if err != nil {
		_ = a.Close()
		return nil, nil, err
	}
	return a, b, nil
}

// unixConn makes fd a *net.UnixConn; it takes fd over.
func unixConn(fd int, name string) (*net.UnixConn, error) {
	f := os.NewFile(uintptr(fd), name)
	c, err := net.FileConn(f) // dups fd
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("socket pair: %w", err)
	}
	return c.(*net.UnixConn), nil
}

// bridge copies between a TLS client and the bridge's end of the socket
// pair, both ways, until both directions have ended.
type bridge struct {
	cfg *Config
	tls *tls.Conn
	tcp net.Conn
	end *net.UnixConn
}

func (b *bridge) run() {
	var wg sync.WaitGroup
	wg.Go(b.up)
	b.down()
	wg.Wait()
	_ = b.tls.Close()
	_ = b.end.Close()
}

// up passes what the client sends to the relay; at the client's end (or
// the linger's, or any error) the relay reads end of file.
func (b *bridge) up() {
	buf := make([]byte, 16<<10)
	for {
		n, err := b.tls.Read(buf)
		if n > 0 {
			if _, werr := b.end.Write(buf[:n]); werr != nil {
				break // the relay has closed its end
			}
		}
		if err != nil {
			break
		}
	}
	_ = b.end.CloseWrite()
}

// down passes what the relay sends to the client, each write bounded by
// the write timeout. When the relay is done (end of file), it closes the
// TLS stream (close_notify, then FIN) and gives up reading the client
// after the linger; when the client does not take a write in time, it
// cuts both sides off, as a reset would.
func (b *bridge) down() {
	buf := make([]byte, 16<<10)
	for {
		n, err := b.end.Read(buf)
		if n > 0 {
			_ = b.tls.SetWriteDeadline(time.Now().Add(b.cfg.WriteTimeout))
			if _, werr := b.tls.Write(buf[:n]); werr != nil {
				_ = b.tcp.Close()
				_ = b.end.Close()
				return
			}
		}
		if err != nil {
			break
		}
	}
	_ = b.tls.SetWriteDeadline(time.Now().Add(b.cfg.WriteTimeout))
	_ = b.tls.CloseWrite()
	if tc, ok := b.tcp.(interface{ CloseWrite() error }); ok {
		_ = tc.CloseWrite()
	}
	_ = b.tls.SetReadDeadline(time.Now().Add(b.cfg.Linger))
}
