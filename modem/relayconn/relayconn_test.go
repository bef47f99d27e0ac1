package relayconn

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/at"
	"github.com/sim-modem-api/sim-modem-api/modem/relaywire"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// fakeRelay accepts connections; for each, first sends reject[i] (if any)
// and closes, else answers every AT line with OK and counts heartbeats.
type fakeRelay struct {
	ln       net.Listener
	mu       sync.Mutex
	reject   []string
	lines    []string
	hb       int
	conns    []net.Conn
	accepted chan net.Conn
}

func newFakeRelay(t *testing.T, reject ...string) *fakeRelay {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return newFakeRelayOn(t, ln, reject...)
}

// newFakeRelayOn is newFakeRelay on ln.
func newFakeRelayOn(t *testing.T, ln net.Listener, reject ...string) *fakeRelay {
	f := &fakeRelay{ln: ln, reject: reject, accepted: make(chan net.Conn, 10)}
	go f.accept()
	t.Cleanup(func() {
		ln.Close()
		f.mu.Lock()
		for _, c := range f.conns {
			c.Close()
		}
		f.mu.Unlock()
	})
	return f
}

func (f *fakeRelay) accept() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		f.conns = append(f.conns, c)
		var msg string
		if len(f.reject) > 0 {
			msg, f.reject = f.reject[0], f.reject[1:]
		}
		f.mu.Unlock()
		if msg != "" {
			// As the relay does: the message, FIN, then drain what the
			// client still sends so that no reset destroys the message.
			c.Write([]byte(msg))
			c.(*net.TCPConn).CloseWrite()
			c.SetReadDeadline(time.Now().Add(time.Second))
			io.Copy(io.Discard, c)
			c.Close()
			continue
		}
		f.accepted <- c
		go f.serve(c)
	}
}

func (f *fakeRelay) serve(c net.Conn) {
	r := bufio.NewReader(c)
	s7 := "0"
	for {
		line, err := r.ReadString('\r')
		if err != nil {
			return
		}
		f.mu.Lock()
		f.hb += strings.Count(line, relaywire.DefaultSentinel)
		line = strings.ReplaceAll(line, relaywire.DefaultSentinel, "")
		line = strings.TrimSpace(line)
		f.lines = append(f.lines, line)
		f.mu.Unlock()
		resp := "\r\nOK\r\n"
		switch {
		case strings.HasPrefix(line, "AT") && strings.Contains(line, "S7="):
			_, s7, _ = strings.Cut(line, "S7=") // the resync line ATQ0V1E0S7=<n>
		case line == "ATS7?":
			resp = "\r\n" + s7 + "\r\n\r\nOK\r\n"
		case line == "AT+HANG":
			continue // a command the modem never answers
		}
		c.Write([]byte(resp))
	}
}

func TestReadyInitHeartbeatAndRejection(t *testing.T) {
	f := newFakeRelay(t, relaywire.MsgAlreadyInControl)
	var mu sync.Mutex
	var reasons []string
	readyc := make(chan bool, 10)
	s := New(Config{
		Addr: f.ln.Addr().String(), Heartbeat: 10 * time.Millisecond, BackoffMin: time.Millisecond, Logger: quiet,
		Init: func(ctx context.Context, e *at.Engine) error {
			_, err := e.Command(ctx, "E0")
			return err
		},
		OnReady:      func(r bool) { readyc <- r },
		OnDisconnect: func(r string) { mu.Lock(); reasons = append(reasons, r); mu.Unlock() },
	})
	if ok, _ := s.Ready(); ok {
		t.Fatal("ready before Run")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	if !<-readyc {
		t.Fatal("first state change is not ready")
	}
	e, err := s.Engine()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Command(ctx, "+CSQ"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(reasons) != 1 || reasons[0] != ReasonInControl {
		t.Errorf("reasons %v, want [%s]", reasons, ReasonInControl)
	}
	mu.Unlock()
	// Heartbeats arrive and never mix into a line.
	for {
		f.mu.Lock()
		hb := f.hb
		f.mu.Unlock()
		if hb >= 3 {
			break
		}
		if _, err := e.Command(ctx, ""); err != nil {
			t.Fatal(err)
		}
	}
	f.mu.Lock()
	for _, l := range f.lines {
		if l != "ATE0" && l != "AT+CSQ" && l != "AT" && l != "" {
			t.Errorf("unexpected line %q", l)
		}
	}
	f.mu.Unlock()

	// The relay says the heartbeat elapsed: not ready, then ready again.
	c := <-f.accepted
	c.Write([]byte(relaywire.MsgHeartbeatTimeout))
	c.(*net.TCPConn).CloseWrite()
	if <-readyc {
		t.Fatal("still ready after the relay closed")
	}
	if _, err := s.Engine(); err == nil {
		t.Fatal("engine while not ready")
	}
	if !<-readyc {
		t.Fatal("not ready again")
	}
	mu.Lock()
	if len(reasons) != 2 || reasons[1] != ReasonHeartbeatTimeout {
		t.Errorf("reasons %v", reasons)
	}
	mu.Unlock()
	cancel()
	<-done
}

func TestDialFailureBacksOff(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	reasons := make(chan string, 100)
	s := New(Config{Addr: addr, BackoffMin: time.Millisecond, BackoffMax: 4 * time.Millisecond, Logger: quiet,
		OnDisconnect: func(r string) { reasons <- r }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	for i := 0; i < 3; i++ {
		if r := <-reasons; r != ReasonDialFailed {
			t.Fatalf("reason %q", r)
		}
	}
	_, err := s.Engine()
	if err == nil || !strings.Contains(err.Error(), "cannot connect") {
		t.Fatalf("Engine error %v", err)
	}
	cancel()
	<-done
}

// A command that times out makes the session not ready (the modem did not
// answer) until a resync brings the engine back in step; the engine stays
// available for that resync.
func TestNotReadyWhileOutOfSync(t *testing.T) {
	f := newFakeRelay(t)
	readyc := make(chan bool, 10)
	s := New(Config{
		Addr: f.ln.Addr().String(), BackoffMin: time.Millisecond, Logger: quiet,
		Init:    func(ctx context.Context, e *at.Engine) error { return e.Recover(ctx) },
		OnReady: func(r bool) { readyc <- r },
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	if !<-readyc {
		t.Fatal("not ready")
	}
	e, err := s.Engine()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Command(ctx, "+HANG", at.Timeout(50*time.Millisecond)); err == nil {
		t.Fatal("AT+HANG answered")
	}
	if ok, reason := s.Ready(); ok || !strings.Contains(reason, "did not answer") {
		t.Fatalf("after a timeout: ready %v %q", ok, reason)
	}
	if _, err := s.Engine(); err != nil {
		t.Fatalf("engine unavailable while out of sync: %v", err)
	}
	if err := e.Resync(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, reason := s.Ready(); !ok {
		t.Fatalf("after the resync: not ready: %q", reason)
	}
}
