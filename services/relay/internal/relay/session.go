package relay

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/escape"
	"github.com/sim-modem-api/sim-modem-api/services/relay/internal/linehold"
	"github.com/sim-modem-api/sim-modem-api/services/relay/internal/metrics"
	"github.com/sim-modem-api/sim-modem-api/services/relay/internal/sentinel"
	"github.com/sim-modem-api/sim-modem-api/services/relay/protocol"
)

// session is the client in control.
type session struct {
	r     *Relay
	conn  net.Conn
	raw   rawConn // conn, read and written with raw system calls
	addr  string
	strip *sentinel.Stripper
	lines linehold.Holder // owned by the receive loop, then by runSession

	mu      sync.Mutex
	out     []byte // the device's bytes (and a last message) waiting to be sent
	spare   []byte
	busy    bool   // a write to the client is in progress (send loop or direct)
	closing bool   // ended: no more bytes accepted, the send loop closes after draining
	aborted bool   // the send loop stops without draining
	reason  string // metrics label of why it ended
	why     string // log text of why it ended
	wake    chan struct{}
}

func newSession(r *Relay, conn net.Conn, addr string) *session {
	st, err := sentinel.New([]byte(r.cfg.Sentinel))
	if err != nil {
		panic(err) // Config.setDefaults guarantees a sentinel
	}
	return &session{r: r, conn: conn, raw: newRawConn(conn), addr: addr, strip: st, wake: make(chan struct{}, 1)}
}

// send passes the device's bytes on to the client. When nothing is queued
// and no write is in progress, it writes them straight through, at once
// and never waiting (no goroutine hop for the common case, an answer to a
// command); what the socket does not take now is queued for the send loop,
// which writes it with the write deadline. It reports false when the
// session no longer takes bytes; it never blocks on the network.
func (s *session) send(p []byte) bool {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return false
	}
	if len(s.out) == 0 && !s.busy {
		s.busy = true
		s.mu.Unlock()
		n, err := s.raw.WriteNow(p)
		s.mu.Lock()
		s.busy = false
		if err != nil {
			s.endLocked(metrics.DisconnectWriteError, fmt.Sprintf("writing to the client failed: %v", err), "")
			s.mu.Unlock()
			s.poke()
			return true // accepted for the client; the client failed
		}
		p = p[n:]
		switch {
		case len(p) == 0 && !s.closing:
			s.mu.Unlock()
			return true
		case s.closing:
			// Ended meanwhile: the rest goes before the last message, and
			// the send loop (poked below) drains and closes.
			s.out = append(append([]byte(nil), p...), s.out...)
			s.mu.Unlock()
			s.poke()
			return true
		}
	}
	if len(s.out)+len(p) > s.r.cfg.MaxPending {
		// End first, under the same lock, so that the reason is this one and
		// not the failure of the blocked write that the abort causes; then
		// abort that write at once: nothing more can reach this client.
		s.endLocked(metrics.DisconnectSlowClient, fmt.Sprintf("the client fell %d bytes behind", s.r.cfg.MaxPending), "")
		s.aborted = true
		_ = s.conn.SetWriteDeadline(time.Unix(1, 0))
		s.mu.Unlock()
		s.poke()
		return false
	}
	s.out = append(s.out, p...)
	s.mu.Unlock()
	s.poke()
	return true
}

func (s *session) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// end ends the session once: the first reason wins. msg, if not empty, is
// sent to the client after the bytes already queued, then it is closed.
func (s *session) end(reason, why, msg string) {
	s.mu.Lock()
	s.endLocked(reason, why, msg)
	s.mu.Unlock()
	s.poke()
}

// endLocked is end with s.mu held; the caller pokes the send loop.
func (s *session) endLocked(reason, why, msg string) {
	if s.closing {
		return
	}
	s.closing = true
	s.reason, s.why = reason, why
	s.out = append(s.out, msg...)
	// Wake the receive loop: its next read fails at once. Under s.mu, so
	// that it cannot set a new deadline after this one.
	_ = s.conn.SetReadDeadline(time.Unix(1, 0))
}

func (s *session) ended() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

func (s *session) endReason() (string, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reason, s.why
}

// setReadDeadline sets the next read's deadline unless the session ended.
func (s *session) setReadDeadline(t time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	_ = s.conn.SetReadDeadline(t)
	return true
}

// sendLoop writes queued bytes to the client; after end it drains the
// queue (with the last message) and returns.
func (s *session) sendLoop() {
	for range s.wake {
		for {
			// Swap buffers: the device appends to one while this loop
			// writes the other out.
			s.mu.Lock()
			if s.aborted {
				s.mu.Unlock()
				return
			}
			if s.busy {
				// send is writing straight through; it pokes when done if
				// there is more (or the end) to handle.
				s.mu.Unlock()
				break
			}
			batch := s.out
			if len(batch) == 0 {
				closing := s.closing
				s.mu.Unlock()
				if closing {
					return
				}
				break
			}
			s.out, s.spare = s.spare[:0], nil
			s.busy = true
			// Under s.mu, so that an abort's deadline is not overwritten.
			_ = s.conn.SetWriteDeadline(time.Now().Add(s.r.cfg.WriteTimeout))
			s.mu.Unlock()
			_, err := s.raw.Write(batch)
			s.mu.Lock()
			s.busy = false
			if cap(batch) <= s.r.cfg.MaxPending {
				s.spare = batch[:0]
			}
			s.mu.Unlock()
			if err != nil {
				if errors.Is(err, os.ErrDeadlineExceeded) {
					s.end(metrics.DisconnectSlowClient, fmt.Sprintf("the client did not read for %v", s.r.cfg.WriteTimeout), "")
				} else {
					s.end(metrics.DisconnectWriteError, fmt.Sprintf("writing to the client failed: %v", err), "")
				}
				return
			}
		}
	}
}

// receiveLoop reads from the client, strips heartbeats, keeps the
// heartbeat deadline and the hold-back bound, and writes the rest to the
// device. It returns when the session has ended.
func (s *session) receiveLoop() {
	defer s.poke() // let the send loop see the end
	cfg := &s.r.cfg
	buf := make([]byte, 4096)
	out := make([]byte, 0, 4096)
	heartbeatDeadline := time.Now().Add(cfg.HeartbeatTimeout)
	var holdDeadline time.Time // zero while nothing is held back
	var deadlineSet time.Time  // the read deadline in force
	for {
		deadline := heartbeatDeadline
		if !holdDeadline.IsZero() && holdDeadline.Before(deadline) {
			deadline = holdDeadline
		}
		// Only when it changes (a heartbeat, a hold): resetting the
		// runtime's timer on every read costs. An end's deadline in the
		// past stays in force, so the next read still fails at once.
		if !deadline.Equal(deadlineSet) {
			if !s.setReadDeadline(deadline) {
				return
			}
			deadlineSet = deadline
		}
		n, err := s.raw.Read(buf)
		if n > 0 {
			var beats int
			out, beats = s.strip.Strip(out[:0], buf[:n])
			if beats > 0 {
				s.r.m.HeartbeatsReceived.Add(float64(beats))
				heartbeatDeadline = time.Now().Add(cfg.HeartbeatTimeout)
			}
			switch {
			case len(s.strip.Pending()) == 0:
				holdDeadline = time.Time{}
			case holdDeadline.IsZero():
				holdDeadline = time.Now().Add(cfg.SentinelHold)
			}
			if !s.writeSerial(s.lines.Feed(out)) {
				return
			}
		}
		if err == nil {
			continue
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			if s.ended() {
				return
			}
			now := time.Now()
			if !holdDeadline.IsZero() && !now.Before(holdDeadline) {
				// Nothing completed the sentinel in time: it is data (and,
				// like any data, waits for its line's terminator).
				holdDeadline = time.Time{}
				s.r.m.SentinelHoldReleases.Inc()
				if !s.writeSerial(s.lines.Feed(s.strip.Flush(out[:0]))) {
					return
				}
				continue
			}
			if !now.Before(heartbeatDeadline) {
				s.end(metrics.DisconnectHeartbeatTimeout, "the heartbeat timeout elapsed", protocol.MsgHeartbeatTimeout)
				return
			}
			deadlineSet = time.Time{} // woke early: set it again
			continue
		}
		if errors.Is(err, io.EOF) {
			// What was held back as a possible sentinel start is data: up
			// to its last terminator (if the sentinel has one) it goes to
			// the device, the rest is discarded with the unterminated line.
			if len(s.strip.Pending()) > 0 && !s.writeSerial(s.lines.Feed(s.strip.Flush(out[:0]))) {
				return
			}
			s.end(metrics.DisconnectClientClosed, "the client closed the connection", "")
		} else {
			s.end(metrics.DisconnectReadError, fmt.Sprintf("reading from the client failed: %v", err), "")
		}
		return
	}
}

// discardUnterminated drops, once the client has gone, the bytes it sent
// after its last line terminator (and a possible sentinel start held back),
// so that they never run in front of the next client's first command; it
// logs and counts them. Only after the receive loop has returned.
func (s *session) discardUnterminated() {
	d := append(s.lines.Discard(), s.strip.Pending()...)
	s.strip.Reset()
	if len(d) == 0 {
		return
	}
	s.r.m.ClientDiscardedBytes.Add(float64(len(d)))
	s.r.log.Printf("Discarded the unterminated bytes of the client socket %s ->%s<-", s.addr, escape.String(d))
}

// writeSerial writes to the device; on failure it ends the session.
func (s *session) writeSerial(p []byte) bool {
	if err := s.r.writeSerial(p); err != nil {
		s.end(metrics.DisconnectSerialLost, fmt.Sprintf("writing to the serial device failed: %v", err), protocol.MsgSerialUnavailable)
		return false
	}
	return true
}
