package relay

import (
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/escape"
	"github.com/sim-modem-api/sim-modem-api/services/relay/internal/linehold"
	"github.com/sim-modem-api/sim-modem-api/services/relay/internal/sentinel"
)

// session is the client in control. Its connection's descriptor is taken
// out of Go's poller (dup'd, the net.Conn closed) and attached to the
// device's I/O loop (ioLoop), which alone reads and writes it, strips
// heartbeats, holds lines and queues what the client does not take at
// once. When the session ends, the loop lets go of it (detached) and
// runSession writes what is still queued and the last message, and closes.
type session struct {
	r      *Relay
	addr   string
	local  net.Addr
	remote net.Addr
	fd     int // the client's descriptor, dup'd; -1 if taking it failed

	// Owned by the I/O loop while attached, then by runSession.
	strip             *sentinel.Stripper
	lines             linehold.Holder
	out               []byte    // the device's bytes waiting for the client
	batch             int       // bytes of out in the write the deadline bounds
	batchDeadline     time.Time // zero while nothing waits
	heartbeatDeadline time.Time
	holdDeadline      time.Time // zero while nothing is held back

	mu      sync.Mutex
	closing bool    // ended: no more bytes accepted
	aborted bool    // what is queued is not sent
	reason  string  // metrics label of why it ended
	why     string  // log text of why it ended
	msg     string  // the last message to the client
	loop    *ioLoop // attached to, to wake on end; nil before
	ended   chan struct{}
	// detached is closed when the I/O loop has let go of the session (or
	// never took it).
	detached chan struct{}
}

func newSession(r *Relay, conn net.Conn, addr string) *session {
	st, err := sentinel.New([]byte(r.cfg.Sentinel))
	if err != nil {
		panic(err) // Config.setDefaults guarantees a sentinel
	}
	return &session{
		r: r, addr: addr, local: conn.LocalAddr(), remote: conn.RemoteAddr(), fd: -1,
		strip: st, ended: make(chan struct{}), detached: make(chan struct{}),
	}
}

// end ends the session once: the first reason wins. msg, if not empty, is
// sent to the client after the bytes already queued, then it is closed.
func (s *session) end(reason, why, msg string) {
	s.mu.Lock()
	s.endLocked(reason, why, msg)
	l := s.loop
	s.mu.Unlock()
	if l != nil {
		l.poke()
	}
}

// abort ends the session, unless it has ended already, without sending
// what is queued.
func (s *session) abort(reason, why string) {
	s.mu.Lock()
	if s.endLocked(reason, why, "") {
		s.aborted = true
	}
	l := s.loop
	s.mu.Unlock()
	if l != nil {
		l.poke()
	}
}

// endLocked is end with s.mu held, without the wake-up; it reports
// whether this call ended the session.
func (s *session) endLocked(reason, why, msg string) bool {
	if s.closing {
		return false
	}
	s.closing = true
	s.reason, s.why, s.msg = reason, why, msg
	close(s.ended)
	return true
}

func (s *session) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

func (s *session) endReason() (string, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reason, s.why
}

// opError puts a system call's error on the client's socket in the form
// net.Conn reports it.
func (s *session) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: s.local.Network(), Source: s.local, Addr: s.remote, Err: os.NewSyscallError(op, err)}
}

// takeFd takes conn's descriptor out of Go's poller: it keeps a duplicate
// and closes conn (which removes the original from the poller without
// closing the socket).
func (s *session) takeFd(conn net.Conn) error {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return errNotRaw
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return fmt.Errorf("raw connection: %w", err)
	}
	var derr error
	if err := rc.Control(func(fd uintptr) {
		s.fd, derr = dupCloexec(int(fd))
	}); err != nil {
		return fmt.Errorf("raw connection: %w", err)
	}
	if derr != nil {
		s.fd = -1
		return derr
	}
	if err := conn.Close(); err != nil {
		_ = syscall.Close(s.fd)
		s.fd = -1
		return fmt.Errorf("close the original descriptor: %w", err)
	}
	return nil
}

// giveBackConn returns the client's descriptor as a net.Conn again (in
// the poller), for the last message and the closing linger; nil if that
// fails (the descriptor is closed then).
func (s *session) giveBackConn() net.Conn {
	if s.fd < 0 {
		return nil
	}
	f := os.NewFile(uintptr(s.fd), "client")
	s.fd = -1
	conn, err := net.FileConn(f)
	f.Close()
	if err != nil {
		s.r.log.Printf("Could not take back the client socket %s: %v", s.addr, err)
		return nil
	}
	return conn
}

// finish writes what is queued and the last message to the client with
// the write deadline (unless the session was aborted), discards the
// client's unterminated bytes, frees the control slot and closes the
// connection. After the I/O loop has let go of the session.
func (s *session) finish(conn net.Conn) {
	s.mu.Lock()
	out := s.out
	if !s.aborted {
		out = append(out, s.msg...)
	} else {
		out = nil
	}
	s.mu.Unlock()
	if conn != nil && len(out) > 0 {
		_ = conn.SetWriteDeadline(time.Now().Add(s.r.cfg.WriteTimeout))
		_, _ = conn.Write(out) // the client is leaving either way
	}
	s.discardUnterminated()
	r := s.r
	r.mu.Lock()
	if r.sess == s {
		r.sess = nil
	}
	r.mu.Unlock()
	reason, why := s.endReason()
	r.m.ClientInControl.Set(0)
	r.m.ClientDisconnects.WithLabelValues(reason).Inc()
	r.log.Printf("Disconnected the client socket %s: %s", s.addr, why)
	if conn != nil {
		closeConn(conn)
	}
}

// discardUnterminated drops, once the client has gone, the bytes it sent
// after its last line terminator (and a possible sentinel start held back),
// so that they never run in front of the next client's first command; it
// logs and counts them. Only after the I/O loop has let go of the session.
func (s *session) discardUnterminated() {
	d := append(s.lines.Discard(), s.strip.Pending()...)
	s.strip.Reset()
	if len(d) == 0 {
		return
	}
	s.r.m.ClientDiscardedBytes.Add(float64(len(d)))
	s.r.log.Printf("Discarded the unterminated bytes of the client socket %s ->%s<-", s.addr, escape.String(d))
}

// sessionFailedTakeover is the reason logged when the client's descriptor
// cannot be taken over (out of descriptors).
func sessionFailedTakeover(err error) string {
	return fmt.Sprintf("taking over the client socket failed: %v", err)
}
