package tracelog

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/escape"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// syncBuffer is a bytes.Buffer safe for the Logger's goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestEscaping(t *testing.T) {
	cases := map[string]string{
		"AT+CMGF=1\r\n":            `AT+CMGF=1\r\n`,
		"Hello World!\x1a\r\n":     `Hello World!\x1A\r\n`,
		"\r\n> ":                   `\r\n> `,
		"a\tb":                     `a\tb`,
		"\x00\x7f\x80\xff":         `\x00\x7F\x80\xFF`,
		`back\slash`:               `back\x5Cslash`,
		"AT+CSCA=\"+4365009\"\r\n": `AT+CSCA="+4365009"\r\n`,
		"~ ":                       "~ ",
	}
	for in, want := range cases {
		if got := string(escape.Append(nil, []byte(in))); got != want {
			t.Errorf("escape.Append(%q) = %q, want %q", in, got, want)
		}
	}
	// Every byte value round-trips through the escape.
	var all []byte
	for i := range 256 {
		all = append(all, byte(i))
	}
	if got := unescape(t, string(escape.Append(nil, all))); !bytes.Equal(got, all) {
		t.Fatalf("round trip of all bytes failed: %q", got)
	}
}

func unescape(t *testing.T, s string) []byte {
	var out []byte
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			out = append(out, s[i])
			continue
		}
		i++
		switch s[i] {
		case 'r':
			out = append(out, '\r')
		case 'n':
			out = append(out, '\n')
		case 't':
			out = append(out, '\t')
		case 'x':
			var b byte
			if _, err := fmt.Sscanf(s[i+1:i+3], "%02X", &b); err != nil {
				t.Fatalf("bad escape at %d in %q", i, s)
			}
			out = append(out, b)
			i += 2
		default:
			t.Fatalf("unknown escape %q", s[i])
		}
	}
	return out
}

func TestLineFormat(t *testing.T) {
	var out syncBuffer
	at := time.Date(2023, 10, 15, 14, 59, 40, 0, time.Local)
	l := New(&out, Options{Now: func() time.Time { return at }})
	l.Print("Successfully gave control to this client socket")
	l.Serial(SerialWrite, []byte("AT+CMGF=1\r\n"))
	l.Serial(SerialRead, []byte("\r\nOK\r\n"))
	l.Printf("Waiting for serial device %s", "/dev/ttyUSB2")
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	want := `[15.10.2023 14:59:40] Successfully gave control to this client socket
[15.10.2023 14:59:40] SER_W ->AT+CMGF=1\r\n<-
[15.10.2023 14:59:40] SER_R ->\r\nOK\r\n<-
[15.10.2023 14:59:40] Waiting for serial device /dev/ttyUSB2
`
	if got := out.String(); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	l.Print("after close") // discarded, must not panic
}

func TestLocalTimeZone(t *testing.T) {
	vienna, err := time.LoadLocation("Europe/Vienna")
	if err != nil {
		t.Skip("no tz database:", err)
	}
	var out syncBuffer
	utc := time.Date(2023, 10, 15, 12, 59, 29, 0, time.UTC)
	l := New(&out, Options{Now: func() time.Time { return utc.In(vienna) }})
	l.Print("x")
	l.Close()
	if got, want := out.String(), "[15.10.2023 14:59:29] x\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// blockingWriter blocks every Write until released, like a stalled stdout pipe.
type blockingWriter struct {
	release chan struct{}
	entered chan struct{}
	once    sync.Once
	buf     syncBuffer
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.entered) })
	<-w.release
	return w.buf.Write(p)
}

func TestSlowOutputNeverBlocksAndReportsDrops(t *testing.T) {
	w := &blockingWriter{release: make(chan struct{}), entered: make(chan struct{})}
	var mu sync.Mutex
	droppedSeen := 0
	l := New(w, Options{MaxBuffered: 1000, OnDrop: func(n int) { mu.Lock(); droppedSeen += n; mu.Unlock() }})
	l.Print("first")
	<-w.entered // the writer goroutine is now stuck in Write
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 10000 {
			l.Printf("line %d", i)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("logging blocked on a stalled output")
	}
	dropped := l.Dropped()
	if dropped == 0 {
		t.Fatal("nothing dropped although the output was stalled")
	}
	close(w.release)
	l.Close()
	got := w.buf.String()
	if !strings.Contains(got, fmt.Sprintf("Log output too slow: dropped %d log lines", dropped)) {
		t.Fatalf("no drop report for %d lines in output:\n%.300s", dropped, got)
	}
	lines := strings.Count(got, "\n")
	if uint64(lines-2)+dropped != 10000 { // "first" and the report
		t.Fatalf("%d lines written + %d dropped != 10000", lines-2, dropped)
	}
	mu.Lock()
	defer mu.Unlock()
	if uint64(droppedSeen) != dropped {
		t.Fatalf("OnDrop saw %d, Dropped says %d", droppedSeen, dropped)
	}
}

func TestFlush(t *testing.T) {
	var out syncBuffer
	l := New(&out, Options{})
	defer l.Close()
	for i := range 100 {
		l.Printf("%d", i)
	}
	l.Flush()
	if n := strings.Count(out.String(), "\n"); n != 100 {
		t.Fatalf("after Flush %d lines written, want 100", n)
	}
}

func BenchmarkSerialLine(b *testing.B) {
	var n int64
	l := New(writerFunc(func(p []byte) (int, error) { n += int64(len(p)); return len(p), nil }), Options{})
	defer l.Close()
	p := []byte("\r\n+CMGS: 124\r\n\r\nOK\r\n")
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		l.Serial(SerialRead, p)
	}
	l.Flush()
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// countingWriter counts Write calls and signals each one.
type countingWriter struct {
	syncBuffer
	mu     sync.Mutex
	writes int
	wrote  chan struct{}
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.writes++
	w.mu.Unlock()
	n, err := w.syncBuffer.Write(p)
	select {
	case w.wrote <- struct{}{}:
	default:
	}
	return n, err
}

func (w *countingWriter) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writes
}

// TestCoalescesBursts: the first line after a quiet spell is written at
// once; the lines that follow within the coalesce time go out together in
// one write (here on Flush, the coalesce time being an hour).
func TestCoalescesBursts(t *testing.T) {
	w := &countingWriter{wrote: make(chan struct{}, 1)}
	l := New(w, Options{Coalesce: time.Hour})
	defer l.Close()
	l.Print("first")
	<-w.wrote
	for i := range 100 {
		l.Printf("line %d", i)
	}
	l.Flush()
	if n := w.count(); n != 2 {
		t.Fatalf("%d writes, want 2 (the first line, then the burst)", n)
	}
	if n := strings.Count(w.String(), "\n"); n != 101 {
		t.Fatalf("%d lines written, want 101", n)
	}
}

// TestCoalescingYieldsToAFillingBuffer: gathering stops as soon as half
// the buffer is full, without a Flush, so that a busy modem does not fill
// it and drop lines while the writer waits.
func TestCoalescingYieldsToAFillingBuffer(t *testing.T) {
	w := &countingWriter{wrote: make(chan struct{}, 1)}
	l := New(w, Options{Coalesce: time.Hour, MaxBuffered: 4096})
	defer l.Close()
	l.Print("first")
	<-w.wrote
	for i := range 55 {
		l.Printf("line %014d", i) // 42 bytes with the stamp: 55 are over half, below full
	}
	<-w.wrote // the second write, long before the hour
	if l.Dropped() != 0 {
		t.Fatalf("%d lines dropped", l.Dropped())
	}
}
