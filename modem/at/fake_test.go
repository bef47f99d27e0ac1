package at

import (
	"context"
	"io"
	"log/slog"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeModem is the modem side of a net.Pipe. It reads command lines
// (ended by CR) and writes what respond returns, byte for byte, like a
// V.250 modem: one line at a time, in order. A response ending in "> "
// opens the prompt: the bytes up to Ctrl-Z or ESC are passed to respond
// as "\x1a<body>" or "\x1b<body>". Heartbeats ("<heartbeat>") are removed
// from the input first, as the relay does.
type fakeModem struct {
	t       testing.TB
	conn    net.Conn
	respond func(line string) string
	echo    bool
	hang    atomic.Bool // swallow all input, answer nothing
	// The framing state: ATV0 numeric result codes, ATQ1 none.
	numeric, quiet bool
	startAtPrompt  bool // the previous client left the "> " prompt open
	done           chan struct{}
	in             chan []byte // what the line reader hands the interpreter

	mu    sync.Mutex
	lines []string // command lines and prompt inputs received
	raw   []byte   // everything received, heartbeats included
	s7    int
}

// reply is a canned answer: "\r\n<info>\r\n..." then the final.
func reply(final string, info ...string) string {
	var b strings.Builder
	for _, l := range info {
		b.WriteString("\r\n" + l + "\r\n")
	}
	b.WriteString("\r\n" + final + "\r\n")
	return b.String()
}

const heartbeat = "<heartbeat>"

// fakeState is the state a fake modem starts in: what an earlier client
// may have left behind.
type fakeState struct {
	echo, numeric, quiet, prompt bool
}

func newFake(t testing.TB, respond func(line string) string) (*fakeModem, net.Conn) {
	return newFakeIn(t, fakeState{}, respond)
}

func newFakeIn(t testing.TB, st fakeState, respond func(line string) string) (*fakeModem, net.Conn) {
	a, b := net.Pipe()
	m := &fakeModem{t: t, conn: b, respond: respond, done: make(chan struct{}), s7: 50, in: make(chan []byte, 1024),
		echo: st.echo, numeric: st.numeric, quiet: st.quiet, startAtPrompt: st.prompt}
	go m.readLoop()
	go m.serve()
	t.Cleanup(func() {
		_ = b.Close()
		<-m.done
	})
	return m, a
}

// start returns an engine on a fake modem; the engine is closed at cleanup.
func start(t testing.TB, respond func(line string) string, opts ...Option) (*Engine, *fakeModem) {
	return startIn(t, fakeState{}, respond, opts...)
}

// startIn is start with the fake modem in state st.
func startIn(t testing.TB, st fakeState, respond func(line string) string, opts ...Option) (*Engine, *fakeModem) {
	m, conn := newFakeIn(t, st, respond)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	opts = append([]Option{WithDefaultHandler(func(URC) {}), WithLogger(quiet)}, opts...)
	e := New(context.Background(), conn, opts...)
	t.Cleanup(func() { _ = e.Close() })
	return e, m
}

// readLoop buffers the input, as a UART or a socket does: the engine's
// writes never wait for the interpreter.
func (m *fakeModem) readLoop() {
	defer close(m.in)
	for {
		buf := make([]byte, 1024)
		n, err := m.conn.Read(buf)
		if err != nil {
			return
		}
		m.mu.Lock()
		m.raw = append(m.raw, buf[:n]...)
		m.mu.Unlock()
		m.in <- buf[:n]
	}
}

// serve is the command interpreter.
func (m *fakeModem) serve() {
	defer close(m.done)
	var line []byte
	var pending []byte // input that may start a heartbeat
	prompt := m.startAtPrompt
	for chunk := range m.in {
		if m.hang.Load() {
			line, prompt = line[:0], false
			continue
		}
		pending = append(pending, chunk...)
		pending = []byte(strings.ReplaceAll(string(pending), heartbeat, ""))
		// Keep a possible heartbeat prefix back.
		keep := 0
		for k := len(heartbeat) - 1; k > 0; k-- {
			if strings.HasSuffix(string(pending), heartbeat[:k]) {
				keep = k
				break
			}
		}
		in := pending[:len(pending)-keep]
		pending = append([]byte(nil), pending[len(pending)-keep:]...)
		for _, c := range in {
			if m.echo {
				if _, err := m.conn.Write([]byte{c}); err != nil {
					return
				}
			}
			if prompt {
				if c == 0x1a || c == 0x1b {
					prompt = false
					out := m.frame(m.handle(string(c) + string(line)))
					line = line[:0]
					if !m.write(out) {
						return
					}
				} else {
					line = append(line, c)
				}
				continue
			}
			switch c {
			case '\r':
				l := string(line)
				line = line[:0]
				if !strings.HasPrefix(strings.ToUpper(l), "AT") {
					continue // not a command line: ignored
				}
				out := m.handle(l)
				prompt = strings.HasSuffix(out, "> ")
				if !prompt {
					out = m.frame(out)
				}
				if !m.write(out) {
					return
				}
			case '\n':
			default:
				line = append(line, c)
			}
		}
	}
}

// handle records l and answers it; the S7 probe register is built in.
func (m *fakeModem) handle(l string) string {
	m.mu.Lock()
	m.lines = append(m.lines, l)
	m.mu.Unlock()
	if b := basicSettings.FindStringSubmatch(l); b != nil && l != "AT" {
		for _, c := range basicCmd.FindAllString(b[1], -1) {
			on := len(c) == 2 && c[1] == '1'
			switch c[0] {
			case 'E':
				m.echo = on
			case 'V':
				m.numeric = !on
			case 'Q':
				m.quiet = on
			}
		}
		if b[2] == "" {
			return reply("OK")
		}
		l = "ATS7=" + b[2]
	}
	switch {
	case strings.HasPrefix(l, "\x1b"):
		return reply("OK") // ESC cancelled the prompt
	case strings.HasPrefix(l, "ATS7="):
		v, err := strconv.Atoi(l[5:])
		if err != nil {
			return reply("ERROR")
		}
		m.mu.Lock()
		m.s7 = v
		m.mu.Unlock()
		return reply("OK")
	case l == "ATS7?":
		m.mu.Lock()
		v := m.s7
		m.mu.Unlock()
		return reply("OK", pad3(v))
	case l == "ATE0":
		m.echo = false
		return reply("OK")
	case l == "ATE1":
		m.echo = true
		return reply("OK")
	}
	return m.respond(l)
}

// basicSettings matches a line of ATE/ATV/ATQ settings, optionally
// followed by the probe register's set (the resync line ATQ0V1E0S7=<n>).
var (
	basicSettings = regexp.MustCompile(`^AT((?:[EQV][01]?)*)(?:S7=(\d+))?$`)
	basicCmd      = regexp.MustCompile(`[EQV][01]?`)
)

// frame turns a canned verbose answer (see reply) into the modem's
// current framing: numeric result codes ("0\r", "4\r", information text
// "<line>\r\n") in ATV0, no final result code in ATQ1.
func (m *fakeModem) frame(out string) string {
	if !m.numeric && !m.quiet || out == "" {
		return out
	}
	var b strings.Builder
	for _, l := range strings.Split(out, "\r\n") {
		if l == "" {
			continue
		}
		fin := l == "OK" || l == "ERROR" || strings.HasPrefix(l, "+CME ERROR") || strings.HasPrefix(l, "+CMS ERROR")
		switch {
		case fin && m.quiet:
		case fin && m.numeric:
			b.WriteString(map[string]string{"OK": "0", "ERROR": "4"}[l])
			if l != "OK" && l != "ERROR" {
				b.WriteString(l)
			}
			b.WriteString("\r")
		case m.numeric:
			b.WriteString(l + "\r\n")
		default:
			b.WriteString("\r\n" + l + "\r\n")
		}
	}
	return b.String()
}

func pad3(v int) string {
	s := strconv.Itoa(v)
	for len(s) < 3 {
		s = "0" + s
	}
	return s
}

func (m *fakeModem) write(s string) bool {
	if s == "" {
		return true
	}
	_, err := m.conn.Write([]byte(s))
	return err == nil
}

// inject writes bytes to the engine from outside the command flow (URCs,
// noise). It fails the test unless the engine reads them within 5 s.
func (m *fakeModem) inject(s string) {
	m.t.Helper()
	_ = m.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := m.conn.Write([]byte(s)); err != nil {
		m.t.Errorf("inject: %v", err)
	}
	_ = m.conn.SetWriteDeadline(time.Time{})
}

func (m *fakeModem) received() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.lines...)
}

func (m *fakeModem) rawReceived() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return string(m.raw)
}

// urcRecorder collects URCs from handlers.
type urcRecorder struct {
	mu   sync.Mutex
	urcs []URC
	ch   chan URC
}

func newRecorder() *urcRecorder { return &urcRecorder{ch: make(chan URC, 100)} }

func (r *urcRecorder) handle(u URC) {
	r.mu.Lock()
	r.urcs = append(r.urcs, u)
	r.mu.Unlock()
	r.ch <- u
}

// next waits for the next URC (5 s upper bound).
func (r *urcRecorder) next(t testing.TB) URC {
	t.Helper()
	select {
	case u := <-r.ch:
		return u
	case <-time.After(5 * time.Second):
		t.Fatal("no URC within 5 s")
		return URC{}
	}
}

// ctx5 is a context for one test step: a generous upper bound.
func ctx5(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}
