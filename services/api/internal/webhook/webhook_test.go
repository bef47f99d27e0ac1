package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// receiver is a real HTTP receiver on 127.0.0.1 whose behaviour the test
// switches: it can be down (its listener closed), answer with a status,
// or answer late. It verifies every delivery's signature and records
// what it acknowledged.
type receiver struct {
	t      *testing.T
	secret string
	addr   string

	mu      sync.Mutex
	srv     *http.Server
	done    chan struct{}
	status  int           // the answer; 0 is 204
	delay   time.Duration // before answering
	bodies  map[string]string
	acked   []string // event ids answered 2xx, in order
	seqs    []int64  // their seqs
	tries   map[string]int
	badSigs int
}

func newReceiver(t *testing.T, secret string) *receiver {
	r := &receiver{t: t, secret: secret, bodies: map[string]string{}, tries: map[string]int{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	r.serve(ln)
	t.Cleanup(r.down)
	return r
}

func (r *receiver) url() string { return "http://" + r.addr + "/hook" }

func (r *receiver) serve(ln net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(r.handle), ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	r.mu.Lock()
	r.srv, r.done = srv, done
	r.mu.Unlock()
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
}

// down closes the listener and every connection: connections are refused.
func (r *receiver) down() {
	r.mu.Lock()
	srv, done := r.srv, r.done
	r.srv = nil
	r.mu.Unlock()
	if srv == nil {
		return
	}
	_ = srv.Close()
	<-done
}

// up listens again on the same address.
func (r *receiver) up() {
	ln, err := net.Listen("tcp", r.addr)
	if err != nil {
		r.t.Fatal(err)
	}
	r.serve(ln)
}

func (r *receiver) set(status int, delay time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status, r.delay = status, delay
}

func (r *receiver) handle(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return
	}
	id := req.Header.Get(HeaderEventID)
	r.mu.Lock()
	status, delay := r.status, r.delay
	if Verify(r.secret, req.Header.Get(HeaderSignature), req.Header.Get(HeaderTimestamp), body, time.Now(), DefaultTolerance) != nil {
		r.badSigs++
	}
	if prev, ok := r.bodies[id]; ok && prev != string(body) {
		r.t.Errorf("event %s sent again with another body:\n%s\n%s", id, prev, body)
	}
	r.bodies[id] = string(body)
	r.tries[id]++
	r.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-req.Context().Done():
			return
		}
	}
	if status == 0 {
		status = http.StatusNoContent
	}
	var ev struct {
		ID  string
		Seq int64
	}
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID != id {
		r.t.Errorf("body %s: %v", body, err)
	}
	if status/100 == 2 {
		r.mu.Lock()
		// The receiver deduplicates by event id, as the README says.
		if r.tries[id] > 0 && !contains(r.acked, id) {
			r.acked = append(r.acked, id)
			r.seqs = append(r.seqs, ev.Seq)
		}
		r.mu.Unlock()
	}
	w.WriteHeader(status)
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func (r *receiver) ackedCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.acked)
}

func openStore(t *testing.T, now func() time.Time) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), filepath.Join(t.TempDir(), store.FileName), store.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// run starts a manager; the returned function stops it and waits.
func run(t *testing.T, cfg Config) (*Manager, func()) {
	t.Helper()
	m := New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx) }()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	return m, stop
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type results struct {
	mu sync.Mutex
	n  map[string]int
}

func (r *results) add(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == nil {
		r.n = map[string]int{}
	}
	r.n[s]++
}

func (r *results) get(s string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n[s]
}

func appendN(t *testing.T, s *store.Store, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, err := s.AppendEvent(context.Background(), store.EventModemRegistration, map[string]int{"i": i}); err != nil {
			t.Fatal(err)
		}
	}
}

// Every event arrives, in order, through a receiver that is down, then
// answers 500s, then answers too slowly, then comes back.
func TestEveryEventArrivesInOrderThroughFailures(t *testing.T) {
	s := openStore(t, nil)
	ctx := context.Background()
	rcv := newReceiver(t, "0123456789abcdef-secret")
	wh, err := s.CreateWebhook(ctx, store.WebhookRequest{URL: rcv.url(), Secret: rcv.secret})
	if err != nil {
		t.Fatal(err)
	}
	var res results
	run(t, Config{Store: s, Timeout: 150 * time.Millisecond, RetryMin: 5 * time.Millisecond, RetryMax: 40 * time.Millisecond,
		OnResult: res.add})

	appendN(t, s, 5)
	waitFor(t, "the first events", 5*time.Second, func() bool { return rcv.ackedCount() == 5 })

	rcv.down()
	appendN(t, s, 5)
	waitFor(t, "refused connections", 5*time.Second, func() bool { return res.get(ResultNetwork) >= 3 })
	rcv.up()
	rcv.set(http.StatusInternalServerError, 0)
	waitFor(t, "500s", 5*time.Second, func() bool { return res.get(ResultHTTPError) >= 3 })
	rcv.set(http.StatusOK, time.Second) // slower than the timeout
	appendN(t, s, 5)
	waitFor(t, "timeouts", 5*time.Second, func() bool { return res.get(ResultTimeout) >= 2 })
	if w, _ := s.GetWebhook(ctx, wh.ID); w.LastError == "" || w.Backlog != 10 || w.Attempt == nil || w.Attempt.Attempts < 2 {
		t.Fatalf("a failing webhook is visible: %+v %+v", w, w.Attempt)
	}
	rcv.set(http.StatusOK, 0)
	appendN(t, s, 5)
	waitFor(t, "every event", 10*time.Second, func() bool { return rcv.ackedCount() == 20 })

	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	for i := 1; i < len(rcv.seqs); i++ {
		if rcv.seqs[i] != rcv.seqs[i-1]+1 {
			t.Fatalf("out of order or a gap: %v", rcv.seqs)
		}
	}
	if rcv.badSigs != 0 {
		t.Fatalf("%d deliveries with a bad signature", rcv.badSigs)
	}
	waitFor(t, "the last commit", 5*time.Second, func() bool {
		w, _ := s.GetWebhook(ctx, wh.ID)
		return w.Delivered == 20
	})
	w, _ := s.GetWebhook(ctx, wh.ID)
	if w.Backlog != 0 || w.Cursor != 20 || w.Dead != 0 || w.Attempt != nil {
		t.Fatalf("after: %+v", w)
	}
	if res.get(ResultDelivered) < 20 {
		t.Fatalf("results %+v", res.n)
	}
}

func TestGoneDisables(t *testing.T) {
	s := openStore(t, nil)
	ctx := context.Background()
	rcv := newReceiver(t, "0123456789abcdef-secret")
	rcv.set(http.StatusGone, 0)
	wh, err := s.CreateWebhook(ctx, store.WebhookRequest{URL: rcv.url(), Secret: rcv.secret})
	if err != nil {
		t.Fatal(err)
	}
	var res results
	run(t, Config{Store: s, RetryMin: time.Millisecond, OnResult: res.add})
	appendN(t, s, 3)
	waitFor(t, "disabled", 5*time.Second, func() bool {
		w, _ := s.GetWebhook(ctx, wh.ID)
		return w.State == store.WebhookDisabled
	})
	time.Sleep(50 * time.Millisecond)
	rcv.mu.Lock()
	tries := len(rcv.tries)
	rcv.mu.Unlock()
	if tries != 1 || res.get(ResultGone) != 1 {
		t.Fatalf("after 410: %d events tried, results %v", tries, res.n)
	}
	w, _ := s.GetWebhook(ctx, wh.ID)
	if w.Backlog != 3 || w.DisabledReason == "" {
		t.Fatalf("%+v", w)
	}
}

func TestMaxAgeGivesUpAndMovesOn(t *testing.T) {
	var mu sync.Mutex
	now := time.Now().Add(-2 * time.Hour)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := openStore(t, clock)
	ctx := context.Background()
	rcv := newReceiver(t, "0123456789abcdef-secret")
	rcv.set(http.StatusServiceUnavailable, 0)
	wh, err := s.CreateWebhook(ctx, store.WebhookRequest{URL: rcv.url(), Secret: rcv.secret})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, s, 2) // two hours old
	mu.Lock()
	now = time.Now()
	mu.Unlock()
	appendN(t, s, 1) // fresh
	var res results
	run(t, Config{Store: s, RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond, MaxAge: time.Hour, OnResult: res.add})
	waitFor(t, "two dead", 5*time.Second, func() bool {
		w, _ := s.GetWebhook(ctx, wh.ID)
		return w.Dead == 2
	})
	w, _ := s.GetWebhook(ctx, wh.ID)
	if w.Cursor != 2 || w.Backlog != 1 {
		t.Fatalf("%+v", w)
	}
	if d, err := s.WebhookDeadEvents(ctx, wh.ID, 10); err != nil || len(d) != 2 || d[0].Attempts != 1 {
		t.Fatalf("%+v %v", d, err)
	}
	rcv.set(http.StatusOK, 0)
	waitFor(t, "the fresh event", 5*time.Second, func() bool { return rcv.ackedCount() == 1 })
	if res.get(ResultDead) != 2 {
		t.Fatalf("%v", res.n)
	}
}

// A manager stopped during the backoff, and a new one started: the same
// event, its attempts counted on, then the rest in order.
func TestRestartResumesFromTheStore(t *testing.T) {
	s := openStore(t, nil)
	ctx := context.Background()
	rcv := newReceiver(t, "0123456789abcdef-secret")
	rcv.set(http.StatusInternalServerError, 0)
	wh, err := s.CreateWebhook(ctx, store.WebhookRequest{URL: rcv.url(), Secret: rcv.secret})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, s, 3)
	_, stop := run(t, Config{Store: s, RetryMin: 20 * time.Millisecond, RetryMax: 20 * time.Millisecond})
	waitFor(t, "two failures", 5*time.Second, func() bool {
		w, _ := s.GetWebhook(ctx, wh.ID)
		return w.Attempt != nil && w.Attempt.Attempts >= 2 && w.Attempt.LastError != ""
	})
	stop()
	w, _ := s.GetWebhook(ctx, wh.ID)
	before := w.Attempt.Attempts
	rcv.set(http.StatusOK, 0)
	run(t, Config{Store: s, RetryMin: 20 * time.Millisecond, RetryMax: 20 * time.Millisecond})
	waitFor(t, "all three", 5*time.Second, func() bool { return rcv.ackedCount() == 3 })
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	// The attempt in flight when the first manager stopped was counted
	// before it was sent, and may not have reached the receiver.
	if n := rcv.tries[rcv.acked[0]]; n < before || n > before+1 || rcv.seqs[0] != 1 || rcv.seqs[2] != 3 {
		t.Fatalf("tries %v (before the restart %d), seqs %v", rcv.tries, before, rcv.seqs)
	}
}

func TestDeletedWebhookStops(t *testing.T) {
	s := openStore(t, nil)
	ctx := context.Background()
	rcv := newReceiver(t, "0123456789abcdef-secret")
	wh, err := s.CreateWebhook(ctx, store.WebhookRequest{URL: rcv.url(), Secret: rcv.secret, Types: []string{"modem.*"}})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := run(t, Config{Store: s})
	appendN(t, s, 1)
	waitFor(t, "one", 5*time.Second, func() bool { return rcv.ackedCount() == 1 })
	if err := s.DeleteWebhook(ctx, wh.ID); err != nil {
		t.Fatal(err)
	}
	m.Reload()
	appendN(t, s, 2)
	time.Sleep(100 * time.Millisecond)
	if n := rcv.ackedCount(); n != 1 {
		t.Fatalf("a deleted webhook received %d", n)
	}
	// A new one is started on Reload.
	rcv2 := newReceiver(t, "another-secret-0123456789")
	if _, err := s.CreateWebhook(ctx, store.WebhookRequest{URL: rcv2.url(), Secret: rcv2.secret}); err != nil {
		t.Fatal(err)
	}
	m.Reload()
	appendN(t, s, 1)
	waitFor(t, "the new webhook", 5*time.Second, func() bool { return rcv2.ackedCount() == 1 })
}

func TestSignAndVerify(t *testing.T) {
	body := []byte(`{"id":"evt_1"}`)
	now := time.Unix(1_700_000_000, 0)
	sig := Sign("secret-secret-secret", now.Unix(), body)
	ts := "1700000000"
	if err := Verify("secret-secret-secret", sig, ts, body, now.Add(time.Minute), DefaultTolerance); err != nil {
		t.Fatal(err)
	}
	if err := Verify("secret-secret-secret", "v1=00,"+sig, ts, body, now, DefaultTolerance); err != nil {
		t.Fatalf("one of several signatures: %v", err)
	}
	for name, c := range map[string]struct {
		secret, sig, ts string
		body            []byte
		at              time.Time
		want            error
	}{
		"other secret": {"other-secret-other", sig, ts, body, now, ErrBadSignature},
		"other body":   {"secret-secret-secret", sig, ts, []byte(`{"id":"evt_2"}`), now, ErrBadSignature},
		"other time":   {"secret-secret-secret", sig, "1700000001", body, now, ErrBadSignature},
		"stale":        {"secret-secret-secret", sig, ts, body, now.Add(6 * time.Minute), ErrStale},
		"future":       {"secret-secret-secret", sig, ts, body, now.Add(-6 * time.Minute), ErrStale},
		"no timestamp": {"secret-secret-secret", sig, "", body, now, ErrBadSignature},
	} {
		if err := Verify(c.secret, c.sig, c.ts, c.body, c.at, DefaultTolerance); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}

func TestBackoffBounds(t *testing.T) {
	for n := 1; n <= 40; n++ {
		want := min(time.Second<<min(n-1, 30), time.Minute)
		for range 20 {
			d := Backoff(time.Second, time.Minute, n)
			if d < want*3/4 || d > want*5/4 {
				t.Fatalf("attempt %d: %v, want %v ±25%%", n, d, want)
			}
		}
	}
}

// Verify never panics, and accepts exactly what Sign made.
func FuzzVerify(f *testing.F) {
	f.Add("secret-secret-secret", "v1=00", "1700000000", []byte(`{"id":"evt_1"}`))
	f.Add("s", "v1=,v1=", "-1", []byte{})
	f.Add("s", "", "99999999999999999999", []byte("x"))
	now := time.Unix(1_700_000_000, 0)
	f.Fuzz(func(t *testing.T, secret, sig, ts string, body []byte) {
		_ = Verify(secret, sig, ts, body, now, DefaultTolerance)
		good := Sign(secret, now.Unix(), body)
		if err := Verify(secret, good, "1700000000", body, now, DefaultTolerance); err != nil {
			t.Fatalf("a signature Sign made: %v", err)
		}
		if sig != good && !strings.Contains(sig, good) && Verify(secret, sig, "1700000000", body, now, DefaultTolerance) == nil {
			t.Fatalf("%q verified, want %q", sig, good)
		}
	})
}
