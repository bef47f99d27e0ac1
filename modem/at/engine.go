package at

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
)

// Engine drives a modem over a byte stream: it writes command lines,
// reads and classifies what comes back, and routes URCs to handlers. All
// methods are safe for concurrent use.
type Engine struct {
	rw   io.ReadWriter // the stream, behind the trace decorator if any
	cfg  config
	log  *slog.Logger
	fifo fifo       // one command (or resync) at a time, FIFO
	wmu  sync.Mutex // one write at a time: a heartbeat never splits a line

	mu        sync.Mutex // guards everything below
	cur       *request   // the command in flight, nil when idle
	epoch     uint64     // incremented for every command line sent
	sp        splitter
	pduURC    *URC // a two-line URC waiting for its second line
	owed      int  // command lines sent whose final result code is still to come
	outOfSync bool // a command was abandoned: resync before the next one
	dirty     bool // a "> " prompt may be open, or an ESC may sit in the modem's line buffer
	lastNonce int
	specs     map[string]URCSpec
	handlers  map[string]Handler
	queue     []URC
	err       error // why the engine stopped

	owedc    chan struct{} // signalled when owed drops
	queuec   chan struct{} // signalled when queue grows
	stopped  chan struct{} // closed when the reader has ended
	done     chan struct{} // closed when the reader and the dispatcher have ended
	stopOnce sync.Once
	stopCtx  func() bool
}

// New starts an engine on rw: a reader goroutine that splits and
// classifies what the modem sends, and a dispatcher goroutine that calls
// URC handlers. The engine owns rw from now on: it closes rw (if it is an
// io.Closer) when ctx ends or Close is called, to stop the reader. A read
// or write error also stops it; Done and Err tell the owner, who then
// reconnects and starts a new engine.
func New(ctx context.Context, rw io.ReadWriter, opts ...Option) *Engine {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	e := &Engine{
		rw:       rw,
		cfg:      cfg,
		log:      cfg.logger,
		specs:    make(map[string]URCSpec),
		handlers: make(map[string]Handler),
		owedc:    make(chan struct{}, 1),
		queuec:   make(chan struct{}, 1),
		stopped:  make(chan struct{}),
		done:     make(chan struct{}),
	}
	if e.log == nil {
		e.log = slog.Default()
	}
	if cfg.trace != nil {
		e.rw = Trace(rw, cfg.trace)
	}
	for _, s := range cfg.urcs {
		s.Name = strings.ToUpper(s.Name)
		e.specs[s.Name] = s
	}
	e.stopCtx = context.AfterFunc(ctx, func() { e.stop(ErrClosed) })
	go e.readLoop()
	go e.dispatchLoop()
	return e
}

// Close stops the engine: commands in flight and waiting fail with
// ErrClosed. It closes the stream and waits for the engine's goroutines
// to end (if the stream is no io.Closer, until its pending Read returns).
func (e *Engine) Close() error {
	e.stop(ErrClosed)
	<-e.done
	return nil
}

// Done is closed when the engine has stopped and its goroutines have
// ended.
func (e *Engine) Done() <-chan struct{} { return e.done }

// Err returns why the engine stopped: ErrClosed after Close or the end of
// its context, else an error wrapping both ErrClosed and the read or
// write error (io.EOF when the relay hung up). nil while it runs.
func (e *Engine) Err() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

// Handle sets the handler for the URC name ("+CMTI", "RING"; nil removes
// it). A name that is not among the recognised URCs becomes one, with one
// line; see WithURC for two-line URCs.
func (e *Engine) Handle(name string, h Handler) {
	name = strings.ToUpper(name)
	e.mu.Lock()
	defer e.mu.Unlock()
	if h == nil {
		delete(e.handlers, name)
		return
	}
	if _, ok := e.specs[name]; !ok {
		e.specs[name] = URCSpec{Name: name}
	}
	e.handlers[name] = h
}

// WriteRaw writes p to the stream as it is, between two writes of the
// engine: never inside a command line or SMS body, but possibly while a
// command waits for its answer. It is meant for the relay's heartbeat,
// which the relay removes before the modem sees it.
func (e *Engine) WriteRaw(p []byte) error {
	if err := e.write(p); err != nil {
		return fmt.Errorf("at: write raw: %w", err)
	}
	return nil
}

// write writes p in one piece. A write error stops the engine.
func (e *Engine) write(p []byte) error {
	select {
	case <-e.stopped:
		return e.stopErr()
	default:
	}
	e.wmu.Lock()
	_, err := e.rw.Write(p)
	e.wmu.Unlock()
	if err != nil {
		e.stop(fmt.Errorf("%w: write: %w", ErrClosed, err))
		return e.stopErr()
	}
	return nil
}

// stop records why the engine ends and closes the stream; the reader
// then ends and fails the command in flight.
func (e *Engine) stop(cause error) {
	e.stopOnce.Do(func() {
		e.mu.Lock()
		if e.err == nil {
			e.err = cause
		}
		e.mu.Unlock()
		if c, ok := e.rw.(io.Closer); ok {
			_ = c.Close()
		}
	})
}

// stopErr is the error for operations on a stopped engine.
func (e *Engine) stopErr() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.err == nil {
		return ErrClosed
	}
	return e.err
}

// readLoop is the reader goroutine: it reads until the stream fails.
func (e *Engine) readLoop() {
	buf := make([]byte, 4096)
	for {
		n, err := e.rw.Read(buf)
		if n > 0 {
			e.process(buf[:n], time.Now())
		}
		if err != nil {
			e.mu.Lock()
			if e.err == nil {
				e.err = fmt.Errorf("%w: read: %w", ErrClosed, err)
			}
			if c := e.cur; c != nil {
				e.complete(c, e.err)
			}
			e.mu.Unlock()
			e.stop(e.err) // close the stream if the read error did not
			e.stopCtx()
			close(e.stopped)
			return
		}
	}
}

// process splits a chunk into lines and handles each.
func (e *Engine) process(chunk []byte, now time.Time) {
	e.mu.Lock()
	e.sp.prompt = e.promptWanted()
	e.sp.feed(chunk, e.epoch, func(t token) { e.handleToken(t, now) })
	queued := len(e.queue) > 0
	e.mu.Unlock()
	if queued {
		select {
		case e.queuec <- struct{}{}:
		default:
		}
	}
}

// promptWanted reports whether "> " at a line start is the prompt: while
// an SMS command waits for it, or while a late one may come.
func (e *Engine) promptWanted() bool {
	c := e.cur
	return c != nil && c.wantPrompt && !c.prompted || e.dirty
}

// handleToken classifies one line or prompt. e.mu is held.
//
// A response in V1 framing starts with CR LF (or with the echo of the
// command line), so a line that began, or whose preceding terminator
// came, before the current command line was sent cannot be part of its
// response (noise written after the previous answer, the tail of a URC, a
// late answer); it is handled as if no command were in flight. Otherwise, in order: the echo
// of the command line (or SMS body) is skipped; a final result code ends
// the command; an information line named like one of the command's
// extended commands belongs to the response ("+CREG: 0,1" to AT+CREG?);
// a line named like a recognised URC is a URC ("+CREG: 1" during
// AT+CSQ); anything else is information text.
func (e *Engine) handleToken(t token, now time.Time) {
	cur := e.cur
	if cur != nil && (t.tag != e.epoch || t.termTag != e.epoch) {
		// Not framed by this command's response. Only its echo may come
		// first thing after the command line.
		if t.kind == tokLine && t.tag == e.epoch && !cur.echoed && strings.EqualFold(trim(t.text), cur.line) {
			cur.echoed = true
			return
		}
		cur = nil
	}
	if t.kind == tokPrompt {
		if cur != nil && cur.wantPrompt && !cur.prompted {
			cur.prompted = true
			close(cur.promptc)
			e.sp.prompt = e.promptWanted()
			return
		}
		// A prompt nobody waits for: the modem now takes every byte as
		// an SMS body until ESC. Resync cancels it.
		e.outOfSync, e.dirty = true, true
		e.unsolicited(URC{Line: "> ", Late: true, Time: now})
		return
	}
	line := trim(t.text)
	if line == "" {
		return // control bytes only: noise, kept in the trace
	}
	if u := e.pduURC; u != nil {
		e.pduURC = nil
		if fin, _ := parseFinal(line); !fin {
			u.PDU, u.Time = line, now
			e.enqueue(*u)
			return
		}
		// A final result code is no PDU: the URC came without one.
		e.enqueue(*u)
	}
	if cur != nil && e.response(cur, line) {
		return
	}
	if fin, _ := parseFinal(line); fin || e.outOfSync && isNumericFinal(line) {
		// A final result code outside any command: the late answer of
		// an abandoned command (or of a resync line), in ATV0 possibly
		// numeric.
		e.finalSeen()
		e.unsolicited(URC{Line: line, Late: true, Time: now})
		return
	}
	name := lineName(line)
	if spec, ok := e.specs[name]; ok {
		u := URC{Name: name, Line: line, Time: now}
		if spec.PDU {
			e.pduURC = &u
			return
		}
		e.enqueue(u)
		return
	}
	e.unsolicited(URC{Line: line, Late: e.outOfSync, Time: now})
}

// response handles a line while cur is in flight; it reports whether the
// line was taken. e.mu is held.
func (e *Engine) response(cur *request, line string) bool {
	if cur.nonce > 0 && !cur.nonceSeen {
		// Resync probe: everything before the nonce is late.
		if isNonce(line, cur.nonce) {
			cur.nonceSeen = true
			return true
		}
		return false
	}
	if !cur.echoed && len(cur.lines) == 0 && strings.EqualFold(line, cur.line) {
		cur.echoed = true
		return true
	}
	if cur.prompted && !cur.bodyEchoed && line == cur.body {
		cur.bodyEchoed = true
		return true
	}
	if fin, err := parseFinal(line); fin {
		e.finalSeen()
		e.complete(cur, err)
		return true
	}
	name := lineName(line)
	if !slices.Contains(cur.names, name) {
		if _, ok := e.specs[name]; ok {
			return false
		}
	}
	cur.lines = append(cur.lines, line)
	return true
}

// complete ends the command in flight. e.mu is held.
func (e *Engine) complete(cur *request, err error) {
	cur.err = err
	close(cur.done)
	if e.cur == cur {
		e.cur = nil
	}
}

// finalSeen counts a final result code against the owed ones. e.mu is held.
func (e *Engine) finalSeen() {
	if e.owed > 0 {
		e.owed--
	}
	select {
	case e.owedc <- struct{}{}:
	default:
	}
}

// unsolicited queues a line for the default handler. e.mu is held.
func (e *Engine) unsolicited(u URC) { e.enqueue(u) }

// enqueue queues a URC for the dispatcher. e.mu is held.
func (e *Engine) enqueue(u URC) { e.queue = append(e.queue, u) }
