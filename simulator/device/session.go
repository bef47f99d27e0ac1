package device

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/escape"
)

// maxLine is the longest command line kept; longer lines are answered with
// ERROR (if they hold an AT prefix at all).
const maxLine = 2048

// maxBody is the longest text or PDU accepted after the "> " prompt.
const maxBody = 4096

// session is one power-on session: the volatile settings of the stick and
// the state of the line discipline. Fields other than those documented
// otherwise are guarded by Device.mu.
type session struct {
	d    *Device
	port io.ReadWriter
	ctx  context.Context
	set  settings

	// line discipline (used by the session goroutine only)
	line     []byte
	overflow bool
	lastCR   bool
	lastLine string // for A/
	echoBuf  []byte
	lineEcho []byte // echo written for the line being received
	prompt   *prompt
	exch     *Exchange // the exchange being answered

	pendingDelay time.Duration // realistic delay of the command being answered, guarded by Device.mu

	// output, guarded by Device.mu
	urcs    []string // URCs waiting for the line to be idle
	noise   []byte   // injected noise waiting for the line to be idle
	wake    chan struct{}
	sched   []timedEvent // events due later (realistic delays)
	cnmiBuf []string     // SMS URCs buffered while +CNMI mode is 0
	lastReg regView      // what the registration URCs last reported
	ussd    *ussdSession
}

type timedEvent struct {
	due time.Time
	run func(s *session) // called with Device.mu held
}

// Serve runs one power-on session of the modem on port (the pty master).
//
// It resets the volatile settings to their power-on values (see the package
// documentation), then reads command bytes, writes echo, responses and URCs
// until ctx is cancelled (it returns nil) or the port fails (it returns the
// read or write error, wrapped). Persistent state survives across sessions.
// Only one Serve runs at a time: a second gets ErrBusy.
//
// Serve leaves no goroutine behind. To stop a blocked Read on cancellation
// it sets a read deadline if port has SetReadDeadline (net.Conn, a
// non-blocking *os.File, ptylink.Link); if that is not possible and port is
// an io.Closer, it closes port; otherwise it waits for the pending Read to
// return. A blocking *os.File (creack/pty hands out the master so) takes
// no deadlines and a Close does not interrupt its Read: make it
// non-blocking first (dup, SetNonblock, os.NewFile), as ptylink does.
func (d *Device) Serve(ctx context.Context, port io.ReadWriter) error {
	if port == nil {
		return errors.New("device: Serve: nil port")
	}
	s := &session{d: d, port: port, wake: make(chan struct{}, 1)}
	d.mu.Lock()
	if d.sess != nil {
		d.mu.Unlock()
		return ErrBusy
	}
	d.sess = s
	s.set = powerOnSettings()
	s.lastReg = d.regView(s)
	parked := d.parked
	d.parked = nil
	s.sched = append(s.sched, parked...)
	d.retryWaitingLocked()
	d.mu.Unlock()
	d.log.Info("session start")

	inner, cancel := context.WithCancel(ctx)
	s.ctx = inner
	interrupt := prepareInterrupt(port)

	var wg sync.WaitGroup
	chunks := make(chan []byte)
	readErr := make(chan error, 1)
	wg.Add(2)
	go func() {
		defer wg.Done()
		s.readLoop(inner, chunks, readErr)
	}()
	go func() {
		defer wg.Done()
		<-inner.Done()
		interrupt()
	}()

	err := s.loop(chunks, readErr)
	cancel()
	wg.Wait()

	d.mu.Lock()
	d.sess = nil
	// Events still due (status reports) happen with the stick unplugged.
	d.parked = append(d.parked, s.sched...)
	d.mu.Unlock()
	if ctx.Err() != nil {
		d.log.Info("session end", "reason", "context cancelled")
		return nil
	}
	d.log.Info("session end", "err", err)
	return err
}

// prepareInterrupt clears old deadlines on port and returns the function
// that unblocks its Read and Write at the end of the session.
func prepareInterrupt(port io.ReadWriter) func() {
	type deadliner interface {
		SetReadDeadline(time.Time) error
		SetWriteDeadline(time.Time) error
	}
	if dl, ok := port.(deadliner); ok {
		if dl.SetReadDeadline(time.Time{}) == nil && dl.SetWriteDeadline(time.Time{}) == nil {
			return func() {
				past := time.Unix(1, 0)
				// Errors are impossible here after the successful
				// calls above, and the close fallback would be wrong.
				_ = dl.SetReadDeadline(past)
				_ = dl.SetWriteDeadline(past)
			}
		}
	}
	if c, ok := port.(io.Closer); ok {
		return func() { _ = c.Close() } // the documented fallback; the port is done with
	}
	return func() {}
}

func (s *session) readLoop(ctx context.Context, chunks chan<- []byte, readErr chan<- error) {
	buf := make([]byte, 1024)
	for {
		n, err := s.port.Read(buf)
		if n > 0 {
			c := make([]byte, n)
			copy(c, buf[:n])
			select {
			case chunks <- c:
			case <-ctx.Done():
				return
			}
		}
		if err != nil {
			readErr <- err
			return
		}
	}
}

// errStopped ends the loop because the session context was cancelled.
var errStopped = errors.New("session stopped")

func (s *session) loop(chunks <-chan []byte, readErr <-chan error) error {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		if err := s.idle(); err != nil {
			return s.ended(err)
		}
		var timerC <-chan time.Time
		if due, ok := s.nextDue(); ok {
			if timer == nil {
				timer = time.NewTimer(time.Until(due))
			} else {
				timer.Reset(time.Until(due))
			}
			timerC = timer.C
		}
		select {
		case <-s.ctx.Done():
			return nil
		case err := <-readErr:
			return s.ended(fmt.Errorf("device: reading port: %w", err))
		case c := <-chunks:
			if err := s.feed(c); err != nil {
				return s.ended(err)
			}
		case <-s.wake:
		case <-timerC:
		}
	}
}

// ended maps errors caused by the cancellation to nil.
func (s *session) ended(err error) error {
	if s.ctx.Err() != nil || errors.Is(err, errStopped) {
		return nil
	}
	if errors.Is(err, os.ErrDeadlineExceeded) && s.ctx.Err() != nil {
		return nil
	}
	return err
}

// idle runs due events and writes the queued URCs while no command is
// being answered.
func (s *session) idle() error {
	d := s.d
	d.mu.Lock()
	s.runDueLocked()
	var out []byte
	if s.prompt == nil && !d.faults.Hang {
		for _, u := range s.urcs {
			out = append(out, "\r\n"+u+"\r\n"...)
		}
		out = append(out, s.noise...)
		s.urcs, s.noise = nil, nil
	}
	d.mu.Unlock()
	if len(out) == 0 {
		return nil
	}
	d.log.Info("urc", "bytes", escape.String(out))
	return s.write(out)
}

func (s *session) runDueLocked() {
	now := time.Now()
	for {
		idx := -1
		for i, ev := range s.sched {
			if !ev.due.After(now) && (idx < 0 || ev.due.Before(s.sched[idx].due)) {
				idx = i
			}
		}
		if idx < 0 {
			return
		}
		ev := s.sched[idx]
		s.sched = append(s.sched[:idx], s.sched[idx+1:]...)
		ev.run(s)
	}
}

func (s *session) nextDue() (time.Time, bool) {
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	var due time.Time
	for i, ev := range s.sched {
		if i == 0 || ev.due.Before(due) {
			due = ev.due
		}
	}
	return due, len(s.sched) > 0
}

// scheduleLocked runs fn after delay (at once, after the current response,
// if delay is 0). Device.mu must be held.
func (s *session) scheduleLocked(delay time.Duration, fn func(s *session)) {
	s.sched = append(s.sched, timedEvent{due: time.Now().Add(delay), run: fn})
}

// queueURCLocked queues a URC (without framing; may contain CR LF inside
// for a PDU line). Device.mu must be held.
func (s *session) queueURCLocked(u string) {
	s.urcs = append(s.urcs, u)
	s.wakeLocked()
}

// wakeLocked makes the session loop look at its queues.
func (s *session) wakeLocked() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// write writes b to the port.
func (s *session) write(b []byte) error {
	if _, err := s.port.Write(b); err != nil {
		return fmt.Errorf("device: writing port: %w", err)
	}
	return nil
}

// sleep waits for dur unless the session ends first.
func (s *session) sleep(dur time.Duration) error {
	if dur <= 0 {
		return nil
	}
	t := time.NewTimer(dur)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-s.ctx.Done():
		return errStopped
	}
}
