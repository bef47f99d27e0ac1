// Package relay puts a serial device on a TCP socket for one client at a
// time, as the original socket server did: the client in control keeps its
// place by sending an in-band heartbeat sentinel, every other byte it sends
// goes to the serial device, and every byte the device sends goes to it.
//
// Goroutines, all owned by Serve: the serial loop (opens the device, waits
// for it when it is missing, and while it is open runs the I/O loop), the
// I/O loop (ioLoop: one goroutine locked to its thread, reading and writing
// the device and the client in control with non-blocking system calls in
// its own epoll set, as socat does; it strips heartbeats, keeps the
// heartbeat deadline, and queues what the client does not take at once,
// under a write deadline, so that a client that stops reading never stalls
// the device), the accept loop (admits one client, tells any other why it
// is closed), and per client in control a session goroutine that hands the
// client to the I/O loop and, when it has ended, sends its last message and
// closes it.
package relay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/relaywire"
	"github.com/sim-modem-api/sim-modem-api/services/relay/internal/metrics"
	"github.com/sim-modem-api/sim-modem-api/services/relay/internal/serialport"
	"github.com/sim-modem-api/sim-modem-api/services/relay/internal/tracelog"
)

// Config tunes a Relay. Zero durations and sizes take the defaults noted.
type Config struct {
	// Device names the device in log lines (the Opener decides what is opened).
	Device string
	// HeartbeatTimeout: default relaywire.DefaultHeartbeatTimeout.
	HeartbeatTimeout time.Duration
	// Sentinel: default relaywire.DefaultSentinel.
	Sentinel string
	// SentinelHold bounds how long bytes that may start a sentinel are held
	// back; default relaywire.DefaultSentinelHold.
	SentinelHold time.Duration
	// WriteTimeout bounds one write to the client; default 5s.
	WriteTimeout time.Duration
	// MaxPending bounds the device's bytes queued for a client that does not
	// read; beyond it the client is disconnected. Default 4 MiB, which a
	// 115200-baud modem (11.5 kB/s) cannot fill within the write timeout:
	// it only guards memory against a device that talks much faster.
	MaxPending int
	// PollInterval is how often a missing device is looked for; default 200ms.
	PollInterval time.Duration
	// WaitLogInterval is how often "still waiting" is logged; default 1m.
	WaitLogInterval time.Duration
}

func (c *Config) setDefaults() {
	if c.HeartbeatTimeout <= 0 {
		c.HeartbeatTimeout = relaywire.DefaultHeartbeatTimeout
	}
	if c.Sentinel == "" {
		c.Sentinel = relaywire.DefaultSentinel
	}
	if c.SentinelHold <= 0 {
		c.SentinelHold = relaywire.DefaultSentinelHold
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 5 * time.Second
	}
	if c.MaxPending <= 0 {
		c.MaxPending = 4 << 20
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 200 * time.Millisecond
	}
	if c.WaitLogInterval <= 0 {
		c.WaitLogInterval = time.Minute
	}
}

// Relay relays between a serial device and one TCP client. Create it with
// New and run it with Serve.
type Relay struct {
	cfg    Config
	opener serialport.Opener
	log    *tracelog.Logger
	m      *metrics.Metrics

	portMu sync.RWMutex
	port   serialport.Port // nil while there is no device
	loop   *ioLoop         // the open device's I/O loop, nil while none

	mu        sync.Mutex
	sess      *session // the client in control, nil if none
	stopping  bool
	listening bool

	rejecting chan struct{} // semaphore: connections being told why they are rejected
}

// maxRejecting bounds the rejected connections that linger at once (see
// closeConn); beyond it a rejected connection still gets its message but is
// closed at once, after what it has sent so far is read.
const maxRejecting = 16

// lingerTime bounds how long a closed connection is drained so that the
// kernel delivers the last message instead of resetting the connection.
const lingerTime = time.Second

// New returns a Relay that opens its device with opener, logs to log and
// counts into m.
func New(cfg Config, opener serialport.Opener, log *tracelog.Logger, m *metrics.Metrics) *Relay {
	cfg.setDefaults()
	return &Relay{cfg: cfg, opener: opener, log: log, m: m, rejecting: make(chan struct{}, maxRejecting)}
}

// Healthy reports nil while the relay is listening and the serial device
// is open, else what is wrong.
func (r *Relay) Healthy() error {
	r.mu.Lock()
	listening := r.listening
	r.mu.Unlock()
	if !listening {
		return errors.New("socket server not listening")
	}
	r.portMu.RLock()
	defer r.portMu.RUnlock()
	if r.port == nil {
		return errors.New("serial device unavailable")
	}
	return nil
}

// Serve runs the relay on ln until ctx is cancelled or ln fails. On
// cancellation it tells the client in control that the relay is shutting
// down, closes it, closes the device and returns nil. It closes ln.
func (r *Relay) Serve(ctx context.Context, ln net.Listener) error {
	serialCtx, stopSerial := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSerial()
	var serialWG, sessWG sync.WaitGroup
	serialWG.Go(func() { r.serialLoop(serialCtx) })

	stopAccept := context.AfterFunc(ctx, func() { ln.Close() })
	defer stopAccept()
	r.mu.Lock()
	r.listening = true
	r.mu.Unlock()
	r.log.Print("Socket server is bound and listening")
	err := r.acceptLoop(ctx, ln, &sessWG)
	ln.Close()

	r.mu.Lock()
	r.listening = false
	r.stopping = true
	s := r.sess
	r.mu.Unlock()
	if s != nil {
		s.end(metrics.DisconnectShutdown, "the relay is shutting down", relaywire.MsgRelayShuttingDown)
	}
	sessWG.Wait()
	stopSerial()
	serialWG.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// acceptLoop admits clients until ln is closed.
func (r *Relay) acceptLoop(ctx context.Context, ln net.Listener, wg *sync.WaitGroup) error {
	backoff := 5 * time.Millisecond
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("accept: %w", err)
			}
			// Out of file descriptors and the like: wait, never spin.
			r.log.Printf("Failed to accept a client socket: %v", err)
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		r.m.ConnectionsAccepted.Inc()
		r.log.Print("Successfully accepted a client socket")
		r.admit(ctx, conn, wg)
	}
}

// admit gives conn control, or tells it why not and closes it.
func (r *Relay) admit(ctx context.Context, conn net.Conn, wg *sync.WaitGroup) {
	addr := conn.RemoteAddr().String()
	r.mu.Lock()
	var reason, why, msg string
	switch {
	case r.stopping || ctx.Err() != nil:
		reason, why, msg = metrics.RejectShutdown, "the relay is shutting down", relaywire.MsgRelayShuttingDown
	case r.sess != nil:
		reason, why, msg = metrics.RejectInControl, "there's already a client in control", relaywire.MsgAlreadyInControl
	case !r.deviceOpen():
		reason, why, msg = metrics.RejectNoDevice, "the serial device is unavailable", relaywire.MsgNoSerialDevice
	}
	if reason != "" {
		r.mu.Unlock()
		r.m.ConnectionsRejected.WithLabelValues(reason).Inc()
		r.log.Printf("Rejected the client socket %s: %s", addr, why)
		r.reject(conn, msg, wg)
		return
	}
	s := newSession(r, conn, addr)
	r.sess = s
	r.mu.Unlock()
	r.m.ClientInControl.Set(1)
	r.log.Print("Starting client receive loop")
	r.log.Print("Successfully gave control to this client socket")
	r.log.Print("Starting heartbeat watcher")
	wg.Go(func() { r.runSession(s, conn) })
}

// reject tells conn why it is rejected and closes it. The message is
// written at once, without waiting (a fresh socket's send buffer takes a
// few dozen bytes), by the accept loop itself, so every rejected client gets
// it however many arrive together; then FIN. Up to maxRejecting rejected
// connections linger in a goroutine each to drain what the client still
// sends (see closeConn); beyond that, what the client has sent so far is
// read without waiting and the connection is closed at once: a client that
// sends more after that may see a reset, but its message was sent first.
func (r *Relay) reject(conn net.Conn, msg string, wg *sync.WaitGroup) {
	if n, err := writeNow(conn, []byte(msg)); n < len(msg) {
		// Not from a fresh socket; close without the message rather than
		// wait in the accept loop.
		r.log.Printf("Could not tell the rejected client socket %s why (%d of %d bytes written): %v", conn.RemoteAddr(), n, len(msg), err)
		_ = conn.Close()
		return
	}
	select {
	case r.rejecting <- struct{}{}:
		wg.Go(func() {
			defer func() { <-r.rejecting }()
			closeConn(conn)
		})
	default:
		if tc, ok := conn.(interface{ CloseWrite() error }); ok {
			_ = tc.CloseWrite()
		}
		_ = drainNow(conn, 1<<16)
		_ = conn.Close()
	}
}

// closeConn closes a connection the relay is done with, after its last
// message: it sends FIN at once, then reads and discards what the client
// still sends (for at most lingerTime) before closing. Closing with unread
// bytes in the receive buffer would reset the connection, and the client
// could lose the message.
func closeConn(conn net.Conn) {
	if tc, ok := conn.(interface{ CloseWrite() error }); ok && tc.CloseWrite() == nil {
		_ = conn.SetReadDeadline(time.Now().Add(lingerTime))
		_, _ = io.Copy(io.Discard, io.LimitReader(conn, 1<<16))
	}
	_ = conn.Close()
}

func (r *Relay) deviceOpen() bool {
	r.portMu.RLock()
	defer r.portMu.RUnlock()
	return r.port != nil
}

// runSession hands a client in control to the device's I/O loop, waits
// until its session has ended and the loop has let go of it, then sends
// its last message, frees the control slot and closes it.
func (r *Relay) runSession(s *session, conn net.Conn) {
	if err := s.takeFd(conn); err != nil {
		s.end(metrics.DisconnectReadError, sessionFailedTakeover(err), "")
		close(s.detached)
		s.finish(conn)
		return
	}
	r.portMu.RLock()
	l := r.loop
	r.portMu.RUnlock()
	if l == nil || !l.attach(s) {
		s.end(metrics.DisconnectSerialLost, "the serial device became unavailable", relaywire.MsgSerialUnavailable)
		close(s.detached)
	}
	<-s.ended
	<-s.detached
	s.finish(s.giveBackConn())
}

// serialLoop keeps the device open, reading from it, until ctx is done.
func (r *Relay) serialLoop(ctx context.Context) {
	opened := false
	for {
		port, path, err := r.waitOpen(ctx)
		if err != nil {
			return
		}
		if opened {
			r.m.SerialReopens.Inc()
		}
		opened = true
		l, err := newIOLoop(r, port.Fd(), path)
		if err != nil {
			// Out of descriptors: close the device and try again.
			r.log.Printf("Serial device %s cannot be watched: %v", path, err)
			_ = port.Close()
			select {
			case <-time.After(r.cfg.PollInterval):
				continue
			case <-ctx.Done():
				return
			}
		}
		r.portMu.Lock()
		r.port, r.loop = port, l
		r.portMu.Unlock()
		r.m.SerialDeviceUp.Set(1)
		r.log.Print("Serial device opened successfully")
		r.log.Print("Starting serial receive loop")
		// The loop waits in its epoll set; cancelling wakes it.
		stopLoop := context.AfterFunc(ctx, l.poke)
		err = l.run(ctx.Done())
		stopLoop()

		r.portMu.Lock()
		r.port, r.loop = nil, nil
		r.portMu.Unlock()
		r.m.SerialDeviceUp.Set(0)
		cerr := port.Close()
		if ctx.Err() != nil {
			if cerr != nil {
				r.log.Printf("Closing serial device %s failed: %v", path, cerr)
			} else {
				r.log.Printf("Serial device %s closed", path)
			}
			return
		}
		r.log.Printf("Serial device %s became unavailable: %v", path, err)
		r.mu.Lock()
		s := r.sess
		r.mu.Unlock()
		if s != nil {
			s.end(metrics.DisconnectSerialLost, "the serial device became unavailable", relaywire.MsgSerialUnavailable)
		}
		// Give a vanishing device time to go away before looking again.
		select {
		case <-time.After(r.cfg.PollInterval):
		case <-ctx.Done():
			return
		}
	}
}

// waitOpen opens the device, waiting for it to appear. It logs the first
// failure, then every WaitLogInterval (or when the reason changes).
func (r *Relay) waitOpen(ctx context.Context) (serialport.Port, string, error) {
	var (
		since   time.Time
		lastLog time.Time
		lastErr string
	)
	t := time.NewTicker(r.cfg.PollInterval)
	defer t.Stop()
	for {
		port, path, err := r.opener.Open()
		if err == nil {
			if !since.IsZero() {
				r.log.Printf("Serial device %s appeared after %v", path, time.Since(since).Round(time.Millisecond))
			}
			return port, path, nil
		}
		now := time.Now()
		switch {
		case since.IsZero():
			since, lastLog, lastErr = now, now, err.Error()
			if errors.Is(err, serialport.ErrNotFound) {
				r.log.Printf("Waiting for serial device %s to appear (%v)", r.cfg.Device, err)
			} else {
				r.log.Printf("Failed to open serial device %s, retrying: %v", r.cfg.Device, err)
			}
		case err.Error() != lastErr || now.Sub(lastLog) >= r.cfg.WaitLogInterval:
			lastLog, lastErr = now, err.Error()
			r.log.Printf("Still waiting for serial device %s after %v (%v)", r.cfg.Device, now.Sub(since).Round(time.Second), err)
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return nil, "", ctx.Err()
		}
	}
}
