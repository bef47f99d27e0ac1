package at

import (
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/escape"
)

// TraceFunc receives the traffic, one record per line: dir is "r" for a
// line read from the modem, "w" for bytes written (a command line, an SMS
// body, a heartbeat); data is escaped (\r \n \xHH) so nothing invisible
// is lost.
type TraceFunc func(dir, data string)

// Trace wraps rw so that every line read and every write is passed to f.
// It is the decorator behind WithTrace and WithTraceFunc (use LoggerTrace
// for slog) and composes
// with any io.ReadWriter: the engine itself knows nothing about tracing.
// Read data is reported per line, terminators included; an incomplete
// line is reported when it completes, the "> " prompt at once. Closing
// the result closes rw if rw is an io.Closer.
func Trace(rw io.ReadWriter, f TraceFunc) io.ReadWriteCloser {
	return &tracer{rw: rw, f: f}
}

type tracer struct {
	rw  io.ReadWriter
	f   TraceFunc
	mu  sync.Mutex // guards the read-side buffer (Read is not concurrent, but be safe)
	buf []byte
}

func (t *tracer) Read(p []byte) (int, error) {
	n, err := t.rw.Read(p)
	if n > 0 {
		t.mu.Lock()
		for _, c := range p[:n] {
			t.buf = append(t.buf, c)
			body := strings.TrimLeft(string(t.buf), "\r\n")
			if c == '\n' && strings.TrimRight(body, "\r\n") != "" || body == "> " || len(t.buf) >= maxLine {
				t.f("r", escape.String(t.buf))
				t.buf = t.buf[:0]
			}
		}
		t.mu.Unlock()
	}
	return n, err
}

func (t *tracer) Write(p []byte) (int, error) {
	t.f("w", escape.String(p))
	return t.rw.Write(p)
}

func (t *tracer) Close() error {
	if c, ok := t.rw.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// SetReadDeadline passes through to rw, so that the engine can still
// interrupt a blocked Read through the decorator.
func (t *tracer) SetReadDeadline(d time.Time) error {
	if s, ok := t.rw.(interface{ SetReadDeadline(time.Time) error }); ok {
		return s.SetReadDeadline(d)
	}
	return nil
}

// WriterTrace returns a TraceFunc that writes one line per record to w:
// a time stamp, "<-" for read, "->" for written, and the escaped data.
// Writes to w are serialised.
func WriterTrace(w io.Writer) TraceFunc {
	var mu sync.Mutex
	return func(dir, data string) {
		arrow := "<- "
		if dir == "w" {
			arrow = "-> "
		}
		line := time.Now().Format("15:04:05.000") + " " + arrow + data + "\n"
		mu.Lock()
		_, _ = io.WriteString(w, line)
		mu.Unlock()
	}
}

// LoggerTrace returns a TraceFunc that logs each record at debug level
// with the attributes dir and data.
func LoggerTrace(l *slog.Logger) TraceFunc {
	return func(dir, data string) {
		l.Debug("at trace", "dir", dir, "data", data)
	}
}
