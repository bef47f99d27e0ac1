package lease

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store/storetest"
	"github.com/sim-modem-api/sim-modem-api/services/api/pgtest"
)

// pg is the PostgreSQL server of a postgres run (pgtest.DatabaseEnv):
// one Store per instance on one database; nil for SQLite.
var pg *pgtest.Server

func TestMain(m *testing.M) {
	pgtest.Main(m, "lease tests", func(s *pgtest.Server) { pg = s })
}

// Timings of the tests: short, with room for a loaded machine under -race.
const (
	ttl   = time.Second
	renew = 200 * time.Millisecond
)

// openStores opens the store of n instances (storetest.Instances).
func openStores(t *testing.T, n int) []*store.Store { return storetest.Instances(t, pg, n) }

// killable is a holder's store that can be cut off as by kill -9 or a
// network partition: from then on every call hangs until its context
// ends and the lease is neither renewed nor released.
type killable struct {
	Store
	dead  atomic.Bool
	calls chan string // every call, if not nil (non-blocking)
}

func (k *killable) note(s string) {
	if k.calls != nil {
		select {
		case k.calls <- s:
		default:
		}
	}
}

func (k *killable) AcquireLease(ctx context.Context, name, holder, url string, ttl time.Duration) (store.Lease, bool, error) {
	if k.dead.Load() {
		<-ctx.Done()
		return store.Lease{}, false, ctx.Err()
	}
	k.note("acquire")
	return k.Store.AcquireLease(ctx, name, holder, url, ttl)
}

func (k *killable) ReleaseLease(ctx context.Context, name, holder string) error {
	if k.dead.Load() {
		<-ctx.Done()
		return ctx.Err()
	}
	k.note("release")
	return k.Store.ReleaseLease(ctx, name, holder)
}

// syncBuffer is a log both a Hold and the test touch.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// waitFor polls cond until it holds; a generous deadline fails the test.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30 s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// runner is the work of the tests' holders: it counts how many run at
// once (never more than one) and who runs.
type runner struct {
	mu       sync.Mutex
	running  string // the holder whose work runs, "" none
	overlaps []string
	started  map[string]int
	startAt  map[string]time.Time
	stopAt   map[string]time.Time
}

func newRunner() *runner {
	return &runner{started: map[string]int{}, startAt: map[string]time.Time{}, stopAt: map[string]time.Time{}}
}

func (r *runner) work(who string) func(context.Context) {
	return func(ctx context.Context) {
		r.mu.Lock()
		if r.running != "" {
			r.overlaps = append(r.overlaps, fmt.Sprintf("%s started while %s ran", who, r.running))
		}
		r.running = who
		r.started[who]++
		r.startAt[who] = time.Now()
		r.mu.Unlock()
		<-ctx.Done()
		r.mu.Lock()
		if r.running == who {
			r.running = ""
		}
		r.stopAt[who] = time.Now()
		r.mu.Unlock()
	}
}

func (r *runner) who() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.running
}

func (r *runner) starts(who string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.started[who]
}

func (r *runner) check(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, o := range r.overlaps {
		t.Error(o)
	}
}

func TestHoldTakesRenewsReleases(t *testing.T) {
	st := openStores(t, 1)[0]
	ks := &killable{Store: st, calls: make(chan string, 100)}
	var log syncBuffer
	var mu sync.Mutex
	var seen []Status
	r := newRunner()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		Hold(ctx, Config{Store: ks, Name: store.LeaseName("at"), Holder: "api-1", URL: "http://api-1:8090", TTL: ttl, Renew: renew,
			What: "modem at", Logger: slog.New(slog.NewTextHandler(&log, nil)),
			Observe: func(s Status) { mu.Lock(); seen = append(seen, s); mu.Unlock() }}, r.work("api-1"))
	}()
	waitFor(t, "the work runs", func() bool { return r.who() == "api-1" })
	l, err := st.GetLease(context.Background(), store.LeaseName("at"))
	if err != nil || !l.Current || l.Holder != "api-1" || l.URL != "http://api-1:8090" || l.Token != 1 {
		t.Fatalf("lease while held: %+v %v", l, err)
	}
	// It renews: the expiry moves on, the token stays.
	waitFor(t, "two renewals", func() bool {
		n, err := st.GetLease(context.Background(), store.LeaseName("at"))
		return err == nil && n.Renewed.After(l.Renewed.Add(renew)) && n.Token == 1
	})
	// Stopped, it stops the work first and then releases the lease.
	for len(ks.calls) > 0 {
		<-ks.calls
	}
	cancel()
	<-done
	if r.who() != "" {
		t.Fatal("the work still runs")
	}
	var last string
	for len(ks.calls) > 0 {
		last = <-ks.calls
	}
	if last != "release" {
		t.Fatalf("the last call was %q, not the release", last)
	}
	if l, err := st.GetLease(context.Background(), store.LeaseName("at")); err != nil || l.Current {
		t.Fatalf("lease after the release: %+v %v", l, err)
	}
	if !strings.Contains(log.String(), "took over modem at (lease token 1, previous holder none)") ||
		!strings.Contains(log.String(), "released modem at") {
		t.Fatalf("log:\n%s", log.String())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) < 3 || !seen[0].Held || seen[len(seen)-1].Held || seen[len(seen)-1].Lease.Current {
		t.Fatalf("observed %+v", seen)
	}
	r.check(t)
}

// Two instances' holders of one lease: exactly one runs the work at a
// time; the other takes over after the first's shutdown (released) and
// after it is cut off without a release (kill -9), and the time it takes
// is reported.
func TestTwoHoldersTakeOver(t *testing.T) {
	stores := openStores(t, 2)
	r := newRunner()
	var logs [2]syncBuffer
	ks := [2]*killable{{Store: stores[0]}, {Store: stores[1]}}
	names := [2]string{"api-1", "api-2"}
	var cancels [2]context.CancelFunc
	var dones [2]chan struct{}
	start := func(i int) {
		ctx, cancel := context.WithCancel(context.Background())
		cancels[i], dones[i] = cancel, make(chan struct{})
		go func() {
			defer close(dones[i])
			Hold(ctx, Config{Store: ks[i], Name: "events", Holder: names[i], URL: "http://" + names[i], TTL: ttl, Renew: renew,
				What: "the event delivery", Logger: slog.New(slog.NewTextHandler(&logs[i], nil))}, r.work(names[i]))
		}()
	}
	t.Cleanup(func() {
		for i := range cancels {
			if cancels[i] != nil {
				cancels[i]()
				<-dones[i]
			}
		}
	})
	start(0)
	waitFor(t, "api-1 runs", func() bool { return r.who() == "api-1" })
	start(1)
	// api-2 is standby while api-1 renews.
	time.Sleep(3 * renew) // not an assertion: time for api-2's attempts to be refused
	if r.starts("api-2") != 0 {
		t.Fatal("api-2 ran while api-1 held the lease")
	}
	waitFor(t, "api-2 logs that it is standby", func() bool {
		return strings.Contains(logs[1].String(), `msg="standby: another instance has the event delivery" lease=events holder=api-1`)
	})

	// A shutdown releases: api-2 takes over at its next attempt.
	t0 := time.Now()
	cancels[0]()
	<-dones[0]
	cancels[0] = nil
	waitFor(t, "api-2 takes over after api-1's release", func() bool { return r.who() == "api-2" })
	released := time.Since(t0)
	if !strings.Contains(logs[1].String(), "took over the event delivery (lease token 2, previous holder api-1)") {
		t.Fatalf("api-2's log:\n%s", logs[1].String())
	}

	// api-1 comes back, standby; then api-2 is cut off without a release:
	// its work stops by its own clock, api-1 takes over once the lease
	// has lapsed, and never while api-2's work runs.
	start(0)
	time.Sleep(3 * renew) // not an assertion: api-1's attempts are refused meanwhile
	if r.who() != "api-2" {
		t.Fatalf("%q runs, not api-2", r.who())
	}
	t1 := time.Now()
	ks[1].dead.Store(true)
	waitFor(t, "api-1 takes over after api-2 was cut off", func() bool { return r.who() == "api-1" })
	killed := time.Since(t1)
	r.mu.Lock()
	stopped := r.stopAt["api-2"].Sub(t1)
	r.mu.Unlock()
	if !strings.Contains(logs[1].String(), "lost the event delivery") {
		t.Fatalf("api-2's log:\n%s", logs[1].String())
	}
	r.check(t)
	t.Logf("take-over after a release %v; after a cut-off %v (the cut-off holder stopped its work after %v; ttl %v, renew %v)",
		released.Round(time.Millisecond), killed.Round(time.Millisecond), stopped.Round(time.Millisecond), ttl, renew)
}

// refusing is a store whose renewals say another instance took the lease.
type refusing struct {
	Store
	refuse atomic.Bool
}

func (s *refusing) AcquireLease(ctx context.Context, name, holder, url string, ttl time.Duration) (store.Lease, bool, error) {
	if s.refuse.Load() {
		return store.Lease{Name: name, Holder: "api-9", URL: "http://api-9", Token: 42, Current: true}, false, nil
	}
	return s.Store.AcquireLease(ctx, name, holder, url, ttl)
}

// A renewal that finds another holder stops the work at once, and the
// Status that reports the loss already names the holder: no observer sees
// a moment in which nobody drives the work.
func TestHoldStopsWhenAnotherHolds(t *testing.T) {
	st := &refusing{Store: openStores(t, 1)[0]}
	r := newRunner()
	var mu sync.Mutex
	var last, loss Status
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		Hold(ctx, Config{Store: st, Name: "events", Holder: "api-1", TTL: ttl, Renew: renew, Logger: slog.New(slog.DiscardHandler),
			Observe: func(s Status) {
				mu.Lock()
				defer mu.Unlock()
				if last = s; s.Lost != "" && loss.Lost == "" {
					loss = s
				}
			}}, r.work("api-1"))
	}()
	defer func() { cancel(); <-done }()
	waitFor(t, "the work runs", func() bool { return r.who() == "api-1" })
	st.refuse.Store(true)
	waitFor(t, "the work stops", func() bool { return r.who() == "" })
	waitFor(t, "the holder is seen", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return !last.Held && last.Lease.Holder == "api-9" && last.Lease.Current
	})
	mu.Lock()
	if loss.Held || loss.Lease.Holder != "api-9" || !loss.Lease.Current || loss.Lost != "instance api-9 holds the lease (token 42)" {
		t.Errorf("the loss was reported as %+v", loss)
	}
	mu.Unlock()
	st.refuse.Store(false)
	// The lease is still this instance's in the store: taken again.
	waitFor(t, "the work runs again", func() bool { return r.starts("api-1") == 2 && r.who() == "api-1" })
	r.check(t)
}

// failing is a store whose calls fail, as with the database away.
type failing struct {
	Store
	fail atomic.Bool
}

func (s *failing) AcquireLease(ctx context.Context, name, holder, url string, ttl time.Duration) (store.Lease, bool, error) {
	if s.fail.Load() {
		return store.Lease{}, false, errors.New("connection refused")
	}
	return s.Store.AcquireLease(ctx, name, holder, url, ttl)
}

// A renewal that fails is retried; the work stops only when no renewal
// succeeded for the window, and the lease is taken again when the store
// answers.
func TestHoldRidesOutAFailedRenewal(t *testing.T) {
	st := &failing{Store: openStores(t, 1)[0]}
	r := newRunner()
	var log syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		Hold(ctx, Config{Store: st, Name: "events", Holder: "api-1", TTL: ttl, Renew: renew,
			Logger: slog.New(slog.NewTextHandler(&log, nil))}, r.work("api-1"))
	}()
	defer func() { cancel(); <-done }()
	waitFor(t, "the work runs", func() bool { return r.who() == "api-1" })
	st.fail.Store(true)
	waitFor(t, "a renewal fails", func() bool { return strings.Contains(log.String(), "cannot renew the lease") })
	st.fail.Store(false)
	waitFor(t, "a renewal succeeds again", func() bool { return strings.Contains(log.String(), "answers again") })
	if r.starts("api-1") != 1 || r.who() != "api-1" {
		// A loaded machine may have let the window pass: then it must
		// have been logged as lost and taken again.
		if !strings.Contains(log.String(), "lost lease events") {
			t.Fatalf("the work stopped without a loss:\n%s", log.String())
		}
	}
	// The loss is logged after the work has stopped: wait for the log
	// line, not for the work, or the check races the logger.
	const lapsed = "no renewal of the lease succeeded for 800ms"
	before := strings.Count(log.String(), lapsed)
	st.fail.Store(true)
	waitFor(t, "the work stops after the window", func() bool { return strings.Count(log.String(), lapsed) > before })
	if who := r.who(); who != "" {
		t.Fatalf("the loss was logged but %q still runs:\n%s", who, log.String())
	}
	st.fail.Store(false)
	waitFor(t, "the work runs again", func() bool { return r.who() == "api-1" })
	r.check(t)
}
