package fleet

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/modemops"
	"github.com/sim-modem-api/sim-modem-api/modem/relaywire"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/config"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/metrics"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store/storetest"
	"github.com/sim-modem-api/sim-modem-api/services/api/pgtest"
	"github.com/sim-modem-api/sim-modem-api/simulator/device"
)

// pg is the PostgreSQL server of a postgres run (pgtest.DatabaseEnv):
// one Store per instance on one database; nil for SQLite.
var pg *pgtest.Server

func TestMain(m *testing.M) {
	pgtest.Main(m, "fleet tests", func(s *pgtest.Server) { pg = s })
}

// openStores opens the store of n instances (storetest.Instances).
func openStores(t *testing.T, n int) []*store.Store { return storetest.Instances(t, pg, n) }

// relay is a stand-in for the relay in front of a simulated modem: one
// client in control at a time (another is refused as the relay refuses
// it), the heartbeat sentinel taken out of what the client sends, the
// modem's memory kept from one client to the next.
type relay struct {
	ln  net.Listener
	d   *device.Device
	ctx context.Context

	mu        sync.Mutex
	inControl int
	most      int // the most clients in control at once
	clients   int // clients that were in control
	refused   int
	wg        sync.WaitGroup
}

func newRelay(t *testing.T) *relay {
	t.Helper()
	d, err := device.New(device.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &relay{ln: ln, d: d, ctx: ctx}
	r.wg.Add(1)
	go r.accept()
	t.Cleanup(func() {
		ln.Close()
		cancel()
		r.wg.Wait()
	})
	return r
}

func (r *relay) addr() string { return r.ln.Addr().String() }

func (r *relay) accept() {
	defer r.wg.Done()
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.mu.Lock()
		if r.inControl > 0 {
			r.refused++
			r.mu.Unlock()
			_, _ = c.Write([]byte(relaywire.MsgAlreadyInControl))
			c.Close()
			continue
		}
		r.inControl++
		r.clients++
		r.most = max(r.most, r.inControl)
		r.mu.Unlock()
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			_ = r.d.Serve(r.ctx, &stripConn{Conn: c, sentinel: []byte(relaywire.DefaultSentinel)})
			c.Close()
			r.mu.Lock()
			r.inControl--
			r.mu.Unlock()
		}()
	}
}

func (r *relay) stats() (most, clients, refused int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.most, r.clients, r.refused
}

// stripConn takes the heartbeat sentinel out of what the client sends,
// as the relay does.
type stripConn struct {
	net.Conn
	sentinel  []byte
	pend, out []byte
}

func (c *stripConn) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		buf := make([]byte, 4096)
		n, err := c.Conn.Read(buf)
		c.pend = bytes.ReplaceAll(append(c.pend, buf[:n]...), c.sentinel, nil)
		keep := 0 // a tail that may begin a sentinel waits for the next read
		for k := min(len(c.sentinel)-1, len(c.pend)); k > 0; k-- {
			if bytes.HasSuffix(c.pend, c.sentinel[:k]) {
				keep = k
				break
			}
		}
		c.out = append(c.out, c.pend[:len(c.pend)-keep]...)
		c.pend = append([]byte(nil), c.pend[len(c.pend)-keep:]...)
		if err != nil && len(c.out) == 0 {
			return 0, err
		}
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}

// instance is one api instance's fleet.
type instance struct {
	name   string
	f      *Fleet
	st     *store.Store
	cancel context.CancelFunc
	done   chan struct{}
	log    *syncBuffer

	mu      sync.Mutex
	changes []Ownership
}

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

// Test timings: a 100 ms heartbeat, a 500 ms lease.
func testConfig(t *testing.T, name, relayAddr string, cluster bool) *config.Config {
	t.Helper()
	env := map[string]string{
		"API_RELAY_ADDR": relayAddr, "API_MODEM_ID": "at", "API_HEARTBEAT": "100ms", "API_LEASE_TTL": "500ms",
		"API_INSTANCE": name, "API_ADVERTISE_URL": "http://" + name + ":8090", "API_SMS_PACING": "0",
		"API_DATA_DIR": t.TempDir(), "API_RETRY_MIN": "10ms", "API_RETRY_MAX": "100ms", "API_RECONNECT_MIN": "10ms",
		"API_RECONNECT_MAX": "100ms",
	}
	if cluster {
		// With SQLite both instances share one Store: the fleet's
		// cluster mode is the configuration's, the store either engine.
		env["API_DATABASE_URL"] = "postgres://cluster.test/sms"
	}
	c, err := config.Parse(nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func startInstance(t *testing.T, name string, st *store.Store, relayAddr string, cluster bool) *instance {
	t.Helper()
	in := &instance{name: name, st: st, done: make(chan struct{}), log: &syncBuffer{}}
	in.f = New(testConfig(t, name, relayAddr, cluster), st, metrics.New(), slog.New(slog.NewTextHandler(in.log, nil)))
	for _, u := range in.f.Units() {
		u.OnOwnership(func(o Ownership) { in.mu.Lock(); in.changes = append(in.changes, o); in.mu.Unlock() })
	}
	ctx, cancel := context.WithCancel(context.Background())
	in.cancel = cancel
	go func() { defer close(in.done); in.f.Run(ctx) }()
	t.Cleanup(in.stop)
	return in
}

func (in *instance) stop() {
	in.cancel()
	<-in.done
}

func (in *instance) unit() *Unit { return in.f.Default() }

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

// accept stores a message as another instance's HTTP layer would: in the
// store only, with no Kick of this process's workers.
func accept(t *testing.T, st *store.Store, id string) {
	t.Helper()
	to, text := "+436601234567", "message "+id
	p, err := modemops.New(modemops.Config{}).Prepare(modemops.SMS{To: to, Text: text})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.AcceptOutbound(context.Background(), store.OutboundRequest{ID: id, To: to, Text: text, Parts: p.PDUs}); err != nil {
		t.Fatal(err)
	}
}

func sent(t *testing.T, st *store.Store, ids ...string) bool {
	t.Helper()
	for _, id := range ids {
		m, err := st.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if m.State != store.StateSent {
			return false
		}
	}
	return true
}

// Two instances, one modem: one drives it, the other is standby; a
// message accepted on the standby is sent by the owner without a local
// kick; when the owner stops, the standby takes the modem over and sends
// the rest; every message goes out once, and the relay never has two
// clients in control.
func TestTwoInstancesShareAModem(t *testing.T) {
	stores := openStores(t, 2)
	r := newRelay(t)
	a := startInstance(t, "api-1", stores[0], r.addr(), true)
	waitFor(t, "api-1 drives the modem", func() bool { return a.unit().Owned() })
	waitFor(t, "api-1's session is ready", func() bool { ok, _ := a.unit().Ready(); return ok })
	b := startInstance(t, "api-2", stores[1], r.addr(), true)
	waitFor(t, "api-2 sees api-1 drive the modem", func() bool {
		l, local, err := b.unit().Owner(context.Background())
		return err == nil && !local && l.Current && l.Holder == "api-1" && l.URL == "http://api-1:8090"
	})
	if ok, why := b.unit().Ready(); ok || why != "standby: instance api-1 drives this modem" {
		t.Fatalf("api-2's Ready: %v %q", ok, why)
	}
	if l, local, err := a.unit().Owner(context.Background()); err != nil || !local || l.Holder != "api-1" || !l.Current || l.Token != 1 {
		t.Fatalf("api-1's Owner: %+v %v %v", l, local, err)
	}

	// Accepted on api-2's side (no kick in api-1's process): api-1's
	// worker wakes on the commit and sends it long before its idle wait
	// (a minute) would have. m0 goes first, with a kick, so that the
	// worker is idle when m1 comes (the pause only makes that likely: on
	// a slow machine m1 may still be claimed without the wake-up).
	accept(t, stores[0], "m0")
	a.unit().Outbox.Kick()
	waitFor(t, "m0 sent by api-1", func() bool { return sent(t, stores[0], "m0") })
	time.Sleep(300 * time.Millisecond)
	t0 := time.Now()
	accept(t, stores[1], "m1")
	waitFor(t, "m1 sent by api-1", func() bool { return sent(t, stores[0], "m1") })
	wake := time.Since(t0)

	// The owner stops with messages queued: api-2 takes the modem over
	// and sends them.
	for i := 2; i <= 6; i++ {
		accept(t, stores[1], fmt.Sprintf("m%d", i))
	}
	t1 := time.Now()
	a.stop()
	waitFor(t, "api-2 drives the modem", func() bool { return b.unit().Owned() })
	takeOver := time.Since(t1)
	waitFor(t, "every message sent", func() bool { return sent(t, stores[1], "m0", "m1", "m2", "m3", "m4", "m5", "m6") })

	// Another holder takes the lease from api-2 (as if api-2 had missed
	// its renewals): api-2 stops driving the modem and is standby; when
	// the lease is free again it takes it back, and its components run
	// again in the same process and send what was accepted meanwhile.
	ctx := context.Background()
	for {
		if err := stores[0].ReleaseLease(ctx, store.LeaseName("at"), "api-2"); err != nil {
			t.Fatal(err)
		}
		_, held, err := stores[0].AcquireLease(ctx, store.LeaseName("at"), "intruder", "", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if held {
			break
		}
	}
	waitFor(t, "api-2 stops driving the modem", func() bool { return !b.unit().Owned() })
	waitFor(t, "api-2 disconnects from the relay", func() bool { r.mu.Lock(); defer r.mu.Unlock(); return r.inControl == 0 })
	if ok, why := b.unit().Ready(); ok || why != "standby: instance intruder drives this modem" {
		t.Fatalf("api-2's Ready: %v %q", ok, why)
	}
	accept(t, stores[0], "m7")
	if err := stores[0].ReleaseLease(ctx, store.LeaseName("at"), "intruder"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "api-2 drives the modem again", func() bool { return b.unit().Owned() })
	waitFor(t, "m7 sent", func() bool { return sent(t, stores[1], "m7") })

	got := map[string]int{}
	for _, s := range r.d.Sent() {
		got[s.Text]++
	}
	for i := 0; i <= 7; i++ {
		if n := got[fmt.Sprintf("message m%d", i)]; n != 1 {
			t.Errorf("message m%d went out %d times", i, n)
		}
	}
	most, clients, refused := r.stats()
	if most != 1 || clients != 3 {
		t.Errorf("the relay had at most %d clients in control at once and %d in all (want 1, 3)", most, clients)
	}
	if refused > 0 {
		t.Logf("the relay refused %d connections", refused)
	}
	l, local, err := b.unit().Owner(context.Background())
	if err != nil || !local || l.Holder != "api-2" || l.Token != 4 {
		t.Fatalf("api-2's Owner after taking the modem back: %+v %v %v", l, local, err)
	}
	b.mu.Lock()
	changes := append([]Ownership(nil), b.changes...)
	b.mu.Unlock()
	if len(changes) != 3 || !changes[0].Owned || changes[0].Previous != "api-1" || !changes[0].TookOver() ||
		changes[1].Owned || changes[1].Why != "instance intruder holds the lease (token 3)" ||
		!changes[2].Owned || changes[2].Previous != "intruder" || changes[2].Lease.Token != 4 {
		t.Fatalf("api-2's ownership changes: %+v", changes)
	}
	a.mu.Lock()
	aChanges := append([]Ownership(nil), a.changes...)
	a.mu.Unlock()
	if len(aChanges) != 2 || !aChanges[0].Owned || aChanges[1].Owned {
		t.Fatalf("api-1's ownership changes: %+v", aChanges)
	}
	for _, want := range []string{"took over modem at (lease token 1, previous holder none)", "released modem at"} {
		if !bytes.Contains([]byte(a.log.String()), []byte(want)) {
			t.Errorf("api-1's log lacks %q:\n%s", want, a.log.String())
		}
	}
	if want := "took over modem at (lease token 2, previous holder api-1)"; !bytes.Contains([]byte(b.log.String()), []byte(want)) {
		t.Errorf("api-2's log lacks %q:\n%s", want, b.log.String())
	}
	t.Logf("a message accepted on the standby was sent by the owner in %v; take-over after the owner's stop %v",
		wake.Round(time.Millisecond), takeOver.Round(time.Millisecond))
}

// With one instance nothing is leased: the unit runs at once, owns its
// modem, and the store holds no lease.
func TestSingleInstanceWritesNoLease(t *testing.T) {
	st := openStores(t, 1)[0]
	r := newRelay(t)
	in := startInstance(t, "api-1", st, r.addr(), false)
	waitFor(t, "the session is ready", func() bool { ok, _ := in.unit().Ready(); return ok })
	accept(t, st, "m1")
	in.unit().Outbox.Kick() // the HTTP layer's accept path
	waitFor(t, "m1 sent", func() bool { return sent(t, st, "m1") })
	l, local, err := in.unit().Owner(context.Background())
	if err != nil || !local || !l.Current || l.Holder != "api-1" || l.URL != "http://api-1:8090" || !in.unit().Owned() {
		t.Fatalf("Owner: %+v %v %v", l, local, err)
	}
	in.stop()
	leases, err := st.Leases(context.Background())
	if err != nil || len(leases) != 0 {
		t.Fatalf("leases: %+v %v", leases, err)
	}
	if in.unit().Owned() {
		t.Fatal("owned after the stop")
	}
}
