package relay

import (
	"fmt"
	"io"
	"io/fs"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/sim-modem-api/sim-modem-api/modem/relaywire"
	"github.com/sim-modem-api/sim-modem-api/services/relay/internal/metrics"
	"github.com/sim-modem-api/sim-modem-api/services/relay/internal/tracelog"
)

// ioLoop relays between the open device and the client in control, as
// socat does: one goroutine, locked to its thread, waits in its own epoll
// set for the device's descriptor, the client's and a wake-up pipe, and
// reads and writes them with non-blocking system calls. Neither
// descriptor is in Go's runtime poller, so no goroutine is handed over
// and no other thread is woken per round trip.
//
// While a client is in control and busy (an event within the last
// holdWindow), the loop waits in epoll_wait without telling the scheduler
// (it keeps its P, as a thread of a C program would); otherwise, and when
// GOMAXPROCS is 1, it waits as an ordinary system call that gives the P
// up. It needs no lock for its own state: other goroutines reach it only
// through attach, poke and the session's end.
type ioLoop struct {
	r     *Relay
	dev   int // the device's descriptor (the port's)
	path  string
	ep    int    // the epoll set
	wake  [2]int // pipe: written by poke
	procs int    // GOMAXPROCS at the start

	mu      sync.Mutex
	pending *session // handed over by attach, not yet taken
	stopped bool     // the loop has returned: attach fails

	// Owned by the loop's goroutine.
	s        *session // attached, nil if none
	busy     bool     // an event within the last holdWindow
	buf      []byte
	stripped []byte
	devOut   []byte // the client's bytes the device has not taken yet
	devOff   int    // of the write devOut finishes: bytes written before devOut
	devLen   int    // of that write: its length
	devMask  uint32 // the device's events in the set
	cliMask  uint32 // the client's events in the set
}

// holdWindow bounds a wait that keeps the P: past it without an event the
// loop waits as an ordinary system call. Round trips closer than this stay
// on the fast path.
const holdWindow = 5 * time.Millisecond

func newIOLoop(r *Relay, dev int, path string) (*ioLoop, error) {
	l := &ioLoop{r: r, dev: dev, path: path, ep: -1, wake: [2]int{-1, -1}, procs: runtime.GOMAXPROCS(0), buf: make([]byte, 4096)}
	var err error
	if l.ep, err = syscall.EpollCreate1(syscall.EPOLL_CLOEXEC); err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	if err = syscall.Pipe2(l.wake[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		l.close()
		return nil, fmt.Errorf("pipe2: %w", err)
	}
	if err = l.ctl(syscall.EPOLL_CTL_ADD, l.wake[0], syscall.EPOLLIN); err != nil {
		l.close()
		return nil, err
	}
	l.devMask = syscall.EPOLLIN
	if err = l.ctl(syscall.EPOLL_CTL_ADD, dev, l.devMask); err != nil {
		l.close()
		return nil, err
	}
	return l, nil
}

func (l *ioLoop) close() {
	for _, fd := range []int{l.ep, l.wake[0], l.wake[1]} {
		if fd >= 0 {
			_ = syscall.Close(fd)
		}
	}
}

func (l *ioLoop) ctl(op, fd int, events uint32) error {
	ev := syscall.EpollEvent{Events: events, Fd: int32(fd)}
	if err := syscall.EpollCtl(l.ep, op, fd, &ev); err != nil {
		return fmt.Errorf("epoll_ctl: %w", err)
	}
	return nil
}

// poke wakes the loop (an attach, an end, a stop). Any goroutine.
func (l *ioLoop) poke() {
	b := [1]byte{1}
	_, _ = syscall.Write(l.wake[1], b[:]) // a full pipe is awake already
}

// attach hands s to the loop; false if the loop has stopped.
func (l *ioLoop) attach(s *session) bool {
	l.mu.Lock()
	if l.stopped {
		l.mu.Unlock()
		return false
	}
	l.pending = s
	l.mu.Unlock()
	l.poke()
	return true
}

// run relays until the device fails (its error) or stop is closed (nil).
// It detaches the session and stops taking new ones before it returns.
func (l *ioLoop) run(stop <-chan struct{}) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer l.shutdown()
	events := make([]syscall.EpollEvent, 8) // in the heap: the kernel writes it
	for {
		select {
		case <-stop:
			return nil
		default:
		}
		now := time.Now()
		if l.s != nil && l.s.isClosing() {
			l.detach()
		}
		l.take(now)
		n, err := l.wait(events, l.timeout(now))
		if err != nil {
			return err
		}
		now = time.Now()
		for _, ev := range events[:n] {
			fd := int(ev.Fd)
			switch {
			case fd == l.wake[0]:
				l.drainWake()
			case fd == l.dev:
				if ev.Events&syscall.EPOLLOUT != 0 {
					l.flushDevice()
				}
				if ev.Events&(syscall.EPOLLIN|syscall.EPOLLHUP|syscall.EPOLLERR) != 0 {
					if err := l.readDevice(now); err != nil {
						return err
					}
				}
			case l.s != nil && fd == l.s.fd:
				if ev.Events&syscall.EPOLLOUT != 0 {
					l.flushClient(now)
				}
				// Not read while the device has not taken the last bytes
				// (back-pressure), unless the connection failed.
				if ev.Events&(syscall.EPOLLIN|syscall.EPOLLRDHUP) != 0 && l.cliMask&syscall.EPOLLIN != 0 ||
					ev.Events&(syscall.EPOLLHUP|syscall.EPOLLERR) != 0 {
					l.readClient(now)
				}
			}
		}
		l.deadlines(now)
	}
}

// wait waits for events for at most timeout (negative: no bound).
func (l *ioLoop) wait(events []syscall.EpollEvent, timeout time.Duration) (int, error) {
	keepP := l.busy && l.s != nil && l.procs > 1
	ms := -1
	if timeout >= 0 {
		ms = int((timeout + time.Millisecond - 1) / time.Millisecond)
	}
	var n uintptr
	var e syscall.Errno
	if keepP {
		bounded := ms
		if ms < 0 || ms > int(holdWindow/time.Millisecond) {
			bounded = int(holdWindow / time.Millisecond)
		}
		n, _, e = syscall.RawSyscall6(syscall.SYS_EPOLL_PWAIT, uintptr(l.ep), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), uintptr(bounded), 0, 0)
		if e == 0 && n == 0 && bounded != ms {
			l.busy = false // quiet: wait as a system call from now on
		}
	} else {
		n, _, e = syscall.Syscall6(syscall.SYS_EPOLL_PWAIT, uintptr(l.ep), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), uintptr(ms), 0, 0)
	}
	switch e {
	case 0:
		if n > 0 {
			l.busy = true
		}
		return int(n), nil
	case syscall.EINTR:
		// A signal, often the runtime asking this goroutine to stop for
		// the garbage collector: yield to it.
		runtime.Gosched()
		return 0, nil
	default:
		return 0, fmt.Errorf("epoll_pwait: %w", e)
	}
}

// timeout is how long the next wait may last: until the nearest deadline.
func (l *ioLoop) timeout(now time.Time) time.Duration {
	s := l.s
	if s == nil {
		return -1
	}
	next := s.heartbeatDeadline
	for _, t := range []time.Time{s.holdDeadline, s.batchDeadline} {
		if !t.IsZero() && t.Before(next) {
			next = t
		}
	}
	return max(next.Sub(now), 0)
}

func (l *ioLoop) drainWake() {
	var b [64]byte
	for {
		if n, err := syscall.Read(l.wake[0], b[:]); n <= 0 || err != nil {
			return
		}
	}
}

// take attaches the session handed over by attach, if any, once the
// previous one is detached.
func (l *ioLoop) take(now time.Time) {
	if l.s != nil {
		return
	}
	l.mu.Lock()
	s := l.pending
	l.pending = nil
	l.mu.Unlock()
	if s == nil {
		return
	}
	s.mu.Lock()
	closing := s.closing
	if !closing {
		s.loop = l
	}
	s.mu.Unlock()
	if closing {
		close(s.detached)
		return
	}
	s.heartbeatDeadline = now.Add(l.r.cfg.HeartbeatTimeout)
	l.cliMask = l.clientMask(s)
	if err := l.ctl(syscall.EPOLL_CTL_ADD, s.fd, l.cliMask); err != nil {
		s.end(metrics.DisconnectReadError, sessionFailedTakeover(err), "")
		close(s.detached)
		return
	}
	l.s = s
	l.busy = true
}

// clientMask is the client's events: readable unless the device has not
// taken its last bytes yet, writable while bytes wait for it.
func (l *ioLoop) clientMask(s *session) uint32 {
	var m uint32
	if len(l.devOut) == 0 {
		m |= syscall.EPOLLIN | syscall.EPOLLRDHUP
	}
	if len(s.out) > 0 {
		m |= syscall.EPOLLOUT
	}
	return m
}

// setMasks brings the set's events in line with the queues.
func (l *ioLoop) setMasks() {
	dm := uint32(syscall.EPOLLIN)
	if len(l.devOut) > 0 {
		dm |= syscall.EPOLLOUT
	}
	if dm != l.devMask {
		if err := l.ctl(syscall.EPOLL_CTL_MOD, l.dev, dm); err == nil {
			l.devMask = dm
		}
	}
	if s := l.s; s != nil {
		if cm := l.clientMask(s); cm != l.cliMask {
			if err := l.ctl(syscall.EPOLL_CTL_MOD, s.fd, cm); err != nil {
				s.end(metrics.DisconnectReadError, fmt.Sprintf("reading from the client failed: %v", err), "")
				return
			}
			l.cliMask = cm
		}
	}
}

// detach lets go of the session: runSession takes it from here.
func (l *ioLoop) detach() {
	s := l.s
	if s == nil {
		return
	}
	_ = l.ctl(syscall.EPOLL_CTL_DEL, s.fd, 0)
	l.s = nil
	l.cliMask = 0
	close(s.detached)
}

// shutdown detaches the session, refuses new ones and closes the set.
func (l *ioLoop) shutdown() {
	l.mu.Lock()
	l.stopped = true
	p := l.pending
	l.pending = nil
	l.mu.Unlock()
	l.detach()
	if p != nil {
		close(p.detached)
	}
	l.close()
}

// readDevice reads what the device sent and passes it to the client.
func (l *ioLoop) readDevice(now time.Time) error {
	k, e := rawRead(l.dev, l.buf)
	switch {
	case e == syscall.EAGAIN || e == syscall.EINTR:
		return nil
	case e != 0:
		return fmt.Errorf("serial read: %w", &fs.PathError{Op: "read", Path: l.path, Err: e})
	case k == 0:
		return fmt.Errorf("serial read: %w", io.EOF)
	}
	p := l.buf[:k]
	r := l.r
	r.log.Serial(tracelog.SerialRead, p)
	r.m.SerialReadBytes.Add(float64(k))
	if l.s == nil || !l.sendClient(p, now) {
		r.m.SerialDroppedBytes.Add(float64(k))
		r.log.Print("No client in control, dropped the bytes read from the serial device")
	}
	return nil
}

// sendClient writes the device's bytes to the client at once, queueing
// what its socket does not take (written when it is writable, within the
// write timeout). It reports false when the session no longer takes bytes.
func (l *ioLoop) sendClient(p []byte, now time.Time) bool {
	s := l.s
	if s.isClosing() {
		return false
	}
	cfg := &l.r.cfg
	if len(s.out) == 0 {
		n, e := rawWrite(s.fd, p)
		if e != 0 && e != syscall.EAGAIN {
			s.end(metrics.DisconnectWriteError, fmt.Sprintf("writing to the client failed: %v", s.opError("write", e)), "")
			return true // accepted for the client; the client failed
		}
		p = p[n:]
		if len(p) == 0 {
			return true
		}
	}
	if len(s.out)+len(p) > cfg.MaxPending {
		s.abort(metrics.DisconnectSlowClient, fmt.Sprintf("the client fell %d bytes behind", cfg.MaxPending))
		return false
	}
	if len(s.out) == 0 {
		s.batch, s.batchDeadline = len(p), now.Add(cfg.WriteTimeout)
	}
	s.out = append(s.out, p...)
	l.setMasks()
	return true
}

// flushClient writes what is queued for the client, as much as it takes.
func (l *ioLoop) flushClient(now time.Time) {
	s := l.s
	if len(s.out) == 0 {
		return
	}
	n, e := rawWrite(s.fd, s.out)
	if e != 0 && e != syscall.EAGAIN {
		s.end(metrics.DisconnectWriteError, fmt.Sprintf("writing to the client failed: %v", s.opError("write", e)), "")
		return
	}
	s.out = s.out[:copy(s.out, s.out[n:])]
	s.batch -= n
	switch {
	case len(s.out) == 0:
		s.batch, s.batchDeadline = 0, time.Time{}
	case s.batch <= 0:
		// The batch is out; what came meanwhile is the next one.
		s.batch, s.batchDeadline = len(s.out), now.Add(l.r.cfg.WriteTimeout)
	}
	l.setMasks()
}

// readClient reads what the client sent: heartbeats are stripped and keep
// the deadline, the rest goes to the device line by line.
func (l *ioLoop) readClient(now time.Time) {
	s := l.s
	cfg := &l.r.cfg
	k, e := rawRead(s.fd, l.buf)
	switch {
	case e == syscall.EAGAIN || e == syscall.EINTR:
		return
	case e != 0:
		s.end(metrics.DisconnectReadError, fmt.Sprintf("reading from the client failed: %v", s.opError("read", e)), "")
		return
	case k == 0:
		// What was held back as a possible sentinel start is data: up
		// to its last terminator (if the sentinel has one) it goes to
		// the device, the rest is discarded with the unterminated line.
		if len(s.strip.Pending()) > 0 && !l.writeDevice(s.lines.Feed(s.strip.Flush(l.stripped[:0]))) {
			return
		}
		s.end(metrics.DisconnectClientClosed, "the client closed the connection", "")
		return
	}
	var beats int
	l.stripped, beats = s.strip.Strip(l.stripped[:0], l.buf[:k])
	if beats > 0 {
		l.r.m.HeartbeatsReceived.Add(float64(beats))
		s.heartbeatDeadline = now.Add(cfg.HeartbeatTimeout)
	}
	switch {
	case len(s.strip.Pending()) == 0:
		s.holdDeadline = time.Time{}
	case s.holdDeadline.IsZero():
		s.holdDeadline = now.Add(cfg.SentinelHold)
	}
	l.writeDevice(s.lines.Feed(l.stripped))
}

// deadlines acts on the session's deadlines that have passed.
func (l *ioLoop) deadlines(now time.Time) {
	s := l.s
	if s == nil || s.isClosing() {
		return
	}
	if !s.holdDeadline.IsZero() && !now.Before(s.holdDeadline) {
		// Nothing completed the sentinel in time: it is data (and,
		// like any data, waits for its line's terminator).
		s.holdDeadline = time.Time{}
		l.r.m.SentinelHoldReleases.Inc()
		if !l.writeDevice(s.lines.Feed(s.strip.Flush(l.stripped[:0]))) {
			return
		}
	}
	if !s.batchDeadline.IsZero() && !now.Before(s.batchDeadline) {
		s.abort(metrics.DisconnectSlowClient, fmt.Sprintf("the client did not read for %v", l.r.cfg.WriteTimeout))
		return
	}
	if !now.Before(s.heartbeatDeadline) {
		s.end(metrics.DisconnectHeartbeatTimeout, "the heartbeat timeout elapsed", relaywire.MsgHeartbeatTimeout)
	}
}

// writeDevice writes the client's bytes to the device and logs them. The
// SER_W line is logged before the write, so that the modem's echo or answer
// (SER_R) can never appear in the log before the bytes it answers. What the
// device does not take at once is written when it is writable; the client
// is not read meanwhile. A write that fails part-way is logged as such and
// ends the session. It reports false if it did.
func (l *ioLoop) writeDevice(p []byte) bool {
	if len(p) == 0 {
		return true
	}
	l.r.log.Serial(tracelog.SerialWrite, p)
	if len(l.devOut) > 0 { // not while the client is not read; kept in order anyway
		l.devOut = append(l.devOut, p...)
		l.devLen += len(p)
		return true
	}
	n, e := rawWrite(l.dev, p)
	l.r.m.SerialWrittenBytes.Add(float64(n))
	if e != 0 && e != syscall.EAGAIN {
		l.deviceWriteFailed(n, len(p), e)
		return false
	}
	if n < len(p) {
		l.devOut = append(l.devOut[:0], p[n:]...)
		l.devOff, l.devLen = n, len(p)
		l.setMasks()
	}
	return true
}

// flushDevice writes what the device has not taken yet.
func (l *ioLoop) flushDevice() {
	if len(l.devOut) == 0 {
		return
	}
	n, e := rawWrite(l.dev, l.devOut)
	l.r.m.SerialWrittenBytes.Add(float64(n))
	l.devOff += n
	l.devOut = l.devOut[:copy(l.devOut, l.devOut[n:])]
	if e != 0 && e != syscall.EAGAIN {
		off, total := l.devOff, l.devLen
		l.devOut = l.devOut[:0]
		l.deviceWriteFailed(off, total, e)
	}
	l.setMasks()
}

func (l *ioLoop) deviceWriteFailed(n, total int, e syscall.Errno) {
	l.r.log.Printf("Serial write failed after %d of %d bytes", n, total)
	err := fmt.Errorf("serial write: %w", &fs.PathError{Op: "write", Path: l.path, Err: e})
	if s := l.s; s != nil {
		s.end(metrics.DisconnectSerialLost, fmt.Sprintf("writing to the serial device failed: %v", err), relaywire.MsgSerialUnavailable)
	}
}

// rawRead is read(2) on a non-blocking descriptor, without the
// scheduler's system call bookkeeping (which would wake the runtime's
// monitor thread); len(b) > 0.
func rawRead(fd int, b []byte) (int, syscall.Errno) {
	k, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(k), 0
}

// rawWrite is write(2) on a non-blocking descriptor, retried while
// interrupted, as rawRead; it returns how much was written before
// EAGAIN or an error. len(b) > 0.
func rawWrite(fd int, b []byte) (int, syscall.Errno) {
	n := 0
	for n < len(b) {
		k, _, e := syscall.RawSyscall(syscall.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&b[n])), uintptr(len(b)-n))
		switch e {
		case 0:
			n += int(k)
		case syscall.EINTR:
		default:
			return n, e
		}
	}
	return n, 0
}

// dupCloexec duplicates fd, close-on-exec.
func dupCloexec(fd int) (int, error) {
	nfd, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_DUPFD_CLOEXEC, 0)
	if e != 0 {
		return -1, fmt.Errorf("dup: %w", e)
	}
	return int(nfd), nil
}
