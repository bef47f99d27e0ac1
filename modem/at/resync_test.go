package at

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// short is the command timeout of tests that need a command to time out.
// It is only an upper bound that the fake modem is made to miss (it waits
// on a gate); no assertion depends on how long anything took.
const short = 50 * time.Millisecond

// lateModem answers AT+CSQ only once the gate opens, like a modem that
// is slow; everything else at once.
func lateModem(gate chan struct{}, late string) func(string) string {
	return func(l string) string {
		switch l {
		case "AT+CSQ":
			<-gate
			return late
		case "AT+CGMI":
			return reply("OK", "ZTE CORPORATION")
		case "AT+CGSN":
			return reply("ERROR")
		}
		return reply("OK")
	}
}

func TestTimeoutThenLateAnswer(t *testing.T) {
	// The late answer is an error, the next command's would be OK (and
	// the other way round): neither may be taken for the other.
	for _, late := range []string{reply("OK", "+CSQ: 20,99"), reply("+CME ERROR: 100"), reply("OK", "+CSQ: 20,99") + reply("OK")} {
		t.Run(strings.ReplaceAll(late, "\r\n", "|"), func(t *testing.T) {
			gate := make(chan struct{})
			rec := newRecorder()
			e, m := start(t, lateModem(gate, late), WithDefaultHandler(rec.handle))
			_, err := e.Command(ctx5(t), "+CSQ", Timeout(short))
			if !errors.Is(err, ErrDeadlineExceeded) {
				t.Fatalf("got %v, want ErrDeadlineExceeded", err)
			}
			// The next command starts while the modem is still busy; the
			// late answer comes while it waits.
			type result struct {
				r   Response
				err error
			}
			res := make(chan result, 1)
			go func() {
				r, err := e.Command(ctx5(t), "+CGSN")
				res <- result{r, err}
			}()
			close(gate)
			got := <-res
			if !errors.Is(got.err, ErrError) {
				t.Fatalf("AT+CGSN: %q, %v; want ErrError", got.r.Lines, got.err)
			}
			r, err := e.Command(ctx5(t), "+CGMI")
			if err != nil || !slices.Equal(r.Lines, []string{"ZTE CORPORATION"}) {
				t.Fatalf("AT+CGMI: %q, %v", r.Lines, err)
			}
			// The late lines reached the default handler, marked late.
			for u := rec.next(t); !u.Late; u = rec.next(t) {
			}
			lines := m.received()
			if !slices.Contains(lines, "ATS7?") {
				t.Errorf("no resync probe: %q", lines)
			}
		})
	}
}

func TestResyncIsIdempotentWhenInSync(t *testing.T) {
	e, m := start(t, zte)
	if err := e.Resync(ctx5(t)); err != nil {
		t.Fatal(err)
	}
	if got := m.received(); len(got) != 0 {
		t.Errorf("in sync, resync sent %q", got)
	}
}

func TestHungModem(t *testing.T) {
	var obs []Observation
	var omu sync.Mutex
	e, m := start(t, zte, WithTimeout(short), WithResyncTimeout(500*time.Millisecond), WithObserver(func(o Observation) {
		omu.Lock()
		obs = append(obs, o)
		omu.Unlock()
	}))
	m.hang.Store(true)
	if _, err := e.Command(ctx5(t), "+CGMI"); !errors.Is(err, ErrDeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	if _, err := e.Command(ctx5(t), "+CGMI"); !errors.Is(err, ErrOutOfSync) {
		t.Fatalf("got %v, want ErrOutOfSync", err)
	}
	m.hang.Store(false)
	r, err := e.Command(ctx5(t), "+CGMI", Timeout(5*time.Second))
	if err != nil || !slices.Equal(r.Lines, []string{"ZTE CORPORATION"}) {
		t.Fatalf("after recovery: %q, %v", r.Lines, err)
	}
	omu.Lock()
	defer omu.Unlock()
	var classes []string
	for _, o := range obs {
		classes = append(classes, o.Command+":"+o.Result)
	}
	want := []string{"+CGMI:timeout", "resync:out_of_sync", "+CGMI:out_of_sync", "resync:ok", "+CGMI:ok"}
	if !slices.Equal(classes, want) {
		t.Errorf("observations %q, want %q", classes, want)
	}
}

func TestSMSTimeoutBeforePrompt(t *testing.T) {
	gate := make(chan struct{})
	e, m := start(t, func(l string) string {
		switch l {
		case "AT+CMGS=23":
			<-gate
			return "\r\n> " // the prompt comes late
		case "\x1b":
			return reply("OK") // ESC cancels the prompt
		}
		return zte(l)
	})
	_, err := e.SMSCommand(ctx5(t), "+CMGS=23", submitPDU, Timeout(short))
	if !errors.Is(err, ErrDeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	close(gate)
	r, err := e.Command(ctx5(t), "+CGMI")
	if err != nil || !slices.Equal(r.Lines, []string{"ZTE CORPORATION"}) {
		t.Fatalf("%q, %v", r.Lines, err)
	}
	for _, l := range m.received() {
		if strings.Contains(l, submitPDU) {
			t.Errorf("body sent after a timeout: %q", m.received())
		}
	}
}

func TestSMSTimeoutAfterPrompt(t *testing.T) {
	gate := make(chan struct{})
	e, m := start(t, func(l string) string {
		switch l {
		case "AT+CMGS=23":
			return "\r\n> "
		case "\x1a" + submitPDU:
			<-gate // the network takes long
			return reply("OK", "+CMGS: 9")
		}
		return zte(l)
	})
	_, err := e.SMSCommand(ctx5(t), "+CMGS=23", submitPDU, BodyTimeout(short))
	if !errors.Is(err, ErrDeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	close(gate)
	r, err := e.Command(ctx5(t), "+CGMI")
	if err != nil || !slices.Equal(r.Lines, []string{"ZTE CORPORATION"}) {
		t.Fatalf("%q, %v", r.Lines, err)
	}
	if raw := m.rawReceived(); !strings.Contains(raw, submitPDU+"\x1a\x1b") {
		t.Errorf("no ESC after the body: %q", raw)
	}
}

func TestCancelThenResync(t *testing.T) {
	gate := make(chan struct{})
	e, _ := start(t, lateModem(gate, reply("OK", "+CSQ: 1,1")))
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := e.Command(ctx, "+CSQ")
		errc <- err
	}()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	close(gate)
	r, err := e.Command(ctx5(t), "+CGMI")
	if err != nil || !slices.Equal(r.Lines, []string{"ZTE CORPORATION"}) {
		t.Fatalf("%q, %v", r.Lines, err)
	}
}

func TestCloseWhileInFlight(t *testing.T) {
	gate := make(chan struct{})
	defer close(gate)
	e, _ := start(t, lateModem(gate, reply("OK")))
	errc := make(chan error, 2)
	for range 2 { // one in flight, one waiting its turn
		go func() {
			_, err := e.Command(ctx5(t), "+CSQ")
			errc <- err
		}()
	}
	// Close once the modem holds the first command.
	for {
		e.mu.Lock()
		busy := e.cur != nil
		e.mu.Unlock()
		if busy {
			break
		}
		time.Sleep(time.Millisecond)
	}
	_ = e.Close()
	for range 2 {
		if err := <-errc; !errors.Is(err, ErrClosed) {
			t.Errorf("got %v, want ErrClosed", err)
		}
	}
	if _, err := e.Command(ctx5(t), ""); !errors.Is(err, ErrClosed) {
		t.Errorf("after close: %v", err)
	}
}

func TestConcurrentCallers(t *testing.T) {
	var mu sync.Mutex
	inFlight := 0
	e, _ := start(t, func(l string) string {
		mu.Lock()
		inFlight++
		n := inFlight
		inFlight--
		mu.Unlock()
		if n != 1 {
			return reply("ERROR")
		}
		if v, ok := strings.CutPrefix(l, "AT+TEST="); ok {
			return "\r\n+TEST: " + v + "\r\n\r\n+CMTI: \"SM\",1\r\n\r\nOK\r\n"
		}
		return reply("ERROR")
	})
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := strings.Repeat("x", i%7) + string(rune('a'+i%26))
			r, err := e.Command(ctx5(t), "+TEST="+v)
			if err != nil {
				t.Error(err)
				return
			}
			if got, _ := r.Value("+TEST"); got != v {
				t.Errorf("caller %d got %q", i, r.Lines)
			}
		}()
	}
	wg.Wait()
}

func TestFIFOOrder(t *testing.T) {
	var f fifo
	if err := f.acquire(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	order := make(chan int, 10)
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f.acquire(context.Background(), nil); err != nil {
				t.Error(err)
				return
			}
			order <- i
			f.release()
		}()
		for { // wait until waiter i is queued
			f.mu.Lock()
			n := len(f.waiters)
			f.mu.Unlock()
			if n == i+1 {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
	// A waiter that gives up leaves the queue.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := f.acquire(ctx, nil); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	f.release()
	wg.Wait()
	close(order)
	want := 0
	for got := range order {
		if got != want {
			t.Fatalf("waiter %d ran as number %d", got, want)
		}
		want++
	}
}

func TestTrace(t *testing.T) {
	var b strings.Builder
	var mu sync.Mutex
	e, _ := start(t, zte, WithTraceFunc(func(dir, data string) {
		mu.Lock()
		b.WriteString(dir + " " + data + "\n")
		mu.Unlock()
	}))
	if _, err := e.SMSCommand(ctx5(t), "+CMGS=23", submitPDU); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Command(ctx5(t), "+CSQ"); err != nil {
		t.Fatal(err)
	}
	_ = e.Close()
	mu.Lock()
	got := b.String()
	mu.Unlock()
	want := `w AT+CMGS=23\r
r \r\n> 
w ` + submitPDU + `\x1A
r \r\n+CMGS: 7\r\n
r \r\nOK\r\n
w AT+CSQ\r
r \r\n+CSQ: 20,99\r\n
r \r\nOK\r\n
`
	if got != want {
		t.Errorf("trace:\n%s\nwant:\n%s", got, want)
	}
}

func TestWriterTrace(t *testing.T) {
	var b strings.Builder
	e, _ := start(t, zte, WithTrace(&b))
	if _, err := e.Command(ctx5(t), "+CGMI"); err != nil {
		t.Fatal(err)
	}
	_ = e.Close()
	if s := b.String(); !strings.Contains(s, `-> AT+CGMI\r`) || !strings.Contains(s, `<- \r\nZTE CORPORATION\r\n`) {
		t.Errorf("trace %q", s)
	}
}
