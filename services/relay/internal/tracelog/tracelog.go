// Package tracelog writes the relay's log in the original socket server's
// format: one line per action and one line per serial read or write,
//
//	[15.10.2023 14:59:40] Successfully gave control to this client socket
//	[15.10.2023 14:59:40] SER_W ->AT+CMGF=1\r\n<-
//	[15.10.2023 14:59:40] SER_R ->\r\nOK\r\n<-
//
// with the timestamp in local time (TZ is honoured; the binary embeds the
// time zone database).
//
// Logging never blocks the caller on the output: lines are appended to an
// in-memory buffer that one goroutine writes out in batches. After each
// write it gathers lines for a moment (Options.Coalesce, 10 ms) before the
// next one, so that a busy modem costs one write system call per batch,
// not one per line; the first line after a quiet spell is written at once. If the output
// is so slow that the buffer reaches its limit, further lines are dropped
// and counted, and a line saying how many were lost is written as soon as
// the output catches up. Nothing is lost silently.
package tracelog

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/escape"
)

// TimeLayout is the original's timestamp, [DD.MM.YYYY HH:MM:SS].
const TimeLayout = "[02.01.2006 15:04:05] "

// DefaultMaxBuffered is the default limit of log bytes waiting for the output.
const DefaultMaxBuffered = 1 << 20

// Direction says which way serial bytes went.
type Direction int

// Directions of serial traffic, with their log tags.
const (
	SerialWrite Direction = iota // SER_W: written to the modem
	SerialRead                   // SER_R: read from the modem
)

// Options configure a Logger; the zero value is valid.
type Options struct {
	// Now is the clock; nil means time.Now. Tests pin it for exact lines.
	Now func() time.Time
	// MaxBuffered bounds the bytes waiting for a slow output; 0 means
	// DefaultMaxBuffered.
	MaxBuffered int
	// OnDrop, if set, is called with the number of lines dropped whenever
	// the buffer was full (for a metric). It must not block.
	OnDrop func(lines int)
	// Coalesce is how long the writer gathers lines after a write before
	// the next one (sooner when half the buffer is full, on Flush and on
	// Close); 0 means DefaultCoalesce, negative means never wait.
	Coalesce time.Duration
}

// DefaultCoalesce is the default of Options.Coalesce.
const DefaultCoalesce = 10 * time.Millisecond

// Logger is an asynchronous line logger. Its methods are safe for
// concurrent use. Close it to write out what is buffered and stop its
// goroutine.
type Logger struct {
	w      io.Writer
	now    func() time.Time
	max    int
	onDrop func(int)

	mu      sync.Mutex
	buf     []byte // pending lines
	spare   []byte // the writer's buffer, returned after each batch
	dropped int    // lines dropped since the last report
	closed  bool
	lastSec int64 // Unix second of stamp
	stamp   []byte

	droppedTotal atomic.Uint64
	coalesce     time.Duration
	wake         chan struct{}
	urgent       chan struct{} // half the buffer is full: stop gathering
	flushReq     chan chan struct{}
	quit         chan struct{}
	done         chan struct{}
}

// New starts a Logger writing to w.
func New(w io.Writer, o Options) *Logger {
	l := &Logger{
		w:        w,
		now:      o.Now,
		max:      o.MaxBuffered,
		onDrop:   o.OnDrop,
		lastSec:  -1 << 62,
		coalesce: o.Coalesce,
		wake:     make(chan struct{}, 1),
		urgent:   make(chan struct{}, 1),
		flushReq: make(chan chan struct{}),
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	if l.now == nil {
		l.now = time.Now
	}
	if l.max <= 0 {
		l.max = DefaultMaxBuffered
	}
	if l.coalesce == 0 {
		l.coalesce = DefaultCoalesce
	}
	go l.run()
	return l
}

// Print logs one action line.
func (l *Logger) Print(text string) {
	l.line(func(b []byte) []byte { return append(b, text...) })
}

// Printf logs one action line, formatted as by fmt.Sprintf.
func (l *Logger) Printf(format string, args ...any) {
	l.Print(fmt.Sprintf(format, args...))
}

// Serial logs one serial read or write as SER_R ->...<- or SER_W ->...<-,
// with the bytes escaped by escape.Append.
func (l *Logger) Serial(d Direction, p []byte) {
	tag := "SER_W ->"
	if d == SerialRead {
		tag = "SER_R ->"
	}
	l.line(func(b []byte) []byte {
		b = append(b, tag...)
		b = escape.Append(b, p)
		return append(b, "<-"...)
	})
}

// Dropped is the number of lines dropped so far because the output was too slow.
func (l *Logger) Dropped() uint64 { return l.droppedTotal.Load() }

func (l *Logger) line(body func([]byte) []byte) {
	now := l.now()
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	if len(l.buf) >= l.max {
		l.dropped++
		l.mu.Unlock()
		l.droppedTotal.Add(1)
		if l.onDrop != nil {
			l.onDrop(1)
		}
		return
	}
	if sec := now.Unix(); sec != l.lastSec || l.stamp == nil {
		l.lastSec = sec
		l.stamp = now.AppendFormat(l.stamp[:0], TimeLayout)
	}
	l.buf = append(l.buf, l.stamp...)
	l.buf = body(l.buf)
	l.buf = append(l.buf, '\n')
	half := len(l.buf) >= l.max/2
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	if half {
		select {
		case l.urgent <- struct{}{}:
		default:
		}
	}
}

// run writes batches until Close; after each write it gathers lines for
// the coalesce time before the next.
func (l *Logger) run() {
	defer close(l.done)
	var gather *time.Timer
	if l.coalesce > 0 {
		gather = time.NewTimer(l.coalesce)
		defer gather.Stop()
	}
	for {
		select {
		case <-l.wake:
			l.writeOut()
		case ack := <-l.flushReq:
			l.writeOut()
			close(ack)
		case <-l.quit:
			l.writeOut()
			return
		}
		if gather == nil {
			continue
		}
		gather.Reset(l.coalesce)
		select {
		case <-gather.C:
		case <-l.urgent:
		case ack := <-l.flushReq:
			l.writeOut()
			close(ack)
		case <-l.quit:
			l.writeOut()
			return
		}
	}
}

// writeOut writes everything pending, batch by batch.
func (l *Logger) writeOut() {
	for {
		l.mu.Lock()
		if len(l.buf) == 0 && l.dropped == 0 {
			l.mu.Unlock()
			return
		}
		batch := l.buf
		l.buf = l.spare[:0]
		if l.dropped > 0 {
			// Report the loss right where it happened in the stream.
			n := l.dropped
			l.dropped = 0
			now := l.now()
			batch = now.AppendFormat(batch, TimeLayout)
			batch = fmt.Appendf(batch, "Log output too slow: dropped %d log lines\n", n)
		}
		l.mu.Unlock()
		// A write error (a closed stdout) cannot be reported anywhere
		// better than here; the lines are gone either way.
		_, _ = l.w.Write(batch)
		l.mu.Lock()
		if cap(batch) <= 4*l.max {
			l.spare = batch[:0]
		} else {
			l.spare = nil
		}
		l.mu.Unlock()
	}
}

// Flush waits until every line logged before the call has been written.
func (l *Logger) Flush() {
	ack := make(chan struct{})
	select {
	case l.flushReq <- ack:
		<-ack
	case <-l.done:
	}
}

// Close writes out what is buffered and stops the Logger; later lines are
// discarded. It waits for the output.
func (l *Logger) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	close(l.quit)
	<-l.done
	return nil
}
