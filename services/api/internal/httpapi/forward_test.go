package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/metrics"
)

// The tests of several instances: two apps of the real handlers, each
// with its own simulated modem (the same modem id, as two instances of
// one configuration), served on loopback. Which one drives the modem is
// the cluster's owner (what the fleet's leases say in the api).

// cluster is the lease table the instances' Owner funcs read.
type cluster struct {
	mu    sync.Mutex
	owner Owner // Local unused: each instance compares Instance with its own
	// seen is what an instance sees instead of owner (a split view).
	seen map[string]Owner
}

// setFor makes instance see o as the owner (Local as given).
func (c *cluster) setFor(instance string, o Owner) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[string]Owner{}
	}
	c.seen[instance] = o
}

func (c *cluster) set(o Owner) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.owner, c.seen = o, nil
}

// ownerFor is instance's Owner func.
func (c *cluster) ownerFor(instance string) func(context.Context) Owner {
	return func(context.Context) Owner {
		c.mu.Lock()
		defer c.mu.Unlock()
		if o, ok := c.seen[instance]; ok {
			return o
		}
		o := c.owner
		o.Local = o.Known && o.Instance == instance
		return o
	}
}

// instance is one api instance of a test cluster, served on loopback.
type instance struct {
	*rig
	name, url string
	mm        *metrics.Modem
}

// serve makes an instance named name of the cluster c from with, served
// on a loopback listener; its Owner func is c's view for name.
func serve(t *testing.T, c *cluster, name string, with func(*Deps)) *instance {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	in := &instance{name: name, url: "http://" + ln.Addr().String()}
	in.rig = newRigWith(t, false, func(d *Deps) {
		d.Instance = name
		in.mm = d.ModemMetrics
		d.Modems = []*Modem{{ID: DefaultModemID, Sched: d.Sched, Ops: d.Ops, Snapshot: d.Snapshot, Refresh: d.Refresh, Ready: d.Ready,
			Metrics: d.ModemMetrics, Owner: c.ownerFor(name)}}
		if with != nil {
			with(d)
		}
	})
	done := make(chan struct{})
	go func() { defer close(done); _ = in.app.Listener(ln) }()
	t.Cleanup(func() { _ = in.app.Shutdown(); <-done })
	return in
}

// newCluster is instances a (the owner) and b, and the cluster.
func newCluster(t *testing.T) (c *cluster, a, b *instance) {
	c = &cluster{}
	a = serve(t, c, "a", nil)
	b = serve(t, c, "b", nil)
	c.set(Owner{Instance: "a", URL: a.url, Since: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC), Known: true})
	return c, a, b
}

// call sends a request over HTTP to base (no keep-alive: nothing is left
// open after the test).
func call(t *testing.T, base, method, path, key, body string, headers map[string]string) (int, map[string]any, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s %s: %d %v: %s", method, path, resp.StatusCode, err, b)
	}
	return resp.StatusCode, m, resp.Header
}

// commands are the command lines a simulated modem received from index
// from on.
func commands(r *rig, from int) []string {
	var out []string
	for _, x := range r.d.Transcript()[from:] {
		out = append(out, x.Command)
	}
	return out
}

// pollUntil polls r's modem until ok (a poll is skipped while its queue
// is busy).
func pollUntil(t *testing.T, r *rig, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for r.pl.Poll(context.Background()); !ok(); r.pl.Poll(context.Background()) {
		if time.Now().After(deadline) {
			t.Fatalf("the poller's snapshot: %+v", r.pl.Snapshot())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func hasCommand(cmds []string, prefix string) bool {
	for _, c := range cmds {
		if strings.HasPrefix(c, prefix) {
			return true
		}
	}
	return false
}

// A modem operation sent to the instance that does not drive the modem
// is answered by the one that does: its modem runs the command, the other
// modem sees nothing, and the answer (status, body) is the owner's.
func TestForwardToOwner(t *testing.T) {
	_, a, b := newCluster(t)
	aFrom, bFrom := len(a.d.Transcript()), len(b.d.Transcript())
	for _, tc := range []struct {
		method, path, key, body string
		want                    string // a command line the owner's modem must have received
		check                   func(map[string]any) bool
	}{
		{"POST", "/v1/ussd", userKey, `{"code":"*100#"}`, "AT+CUSD=1,\"*100#\"",
			func(m map[string]any) bool { return m["text"] == "Your balance is EUR 12.34" }},
		{"POST", "/v1/modems/modem/ussd", userKey, `{"code":"*101#"}`, "AT+CUSD=1,\"*101#\"",
			func(m map[string]any) bool { return m["text"] != nil }},
		{"POST", "/v1/at", adminKey, `{"command":"AT+CGMM"}`, "AT+CGMM",
			func(m map[string]any) bool { return m["final"] == "OK" }},
		{"POST", "/v1/modems/modem/at", adminKey, `{"command":"AT+CGMR"}`, "AT+CGMR",
			func(m map[string]any) bool { return m["final"] == "OK" }},
		{"POST", "/custom-command", adminKey, `{"readableCommand":"AT+CGSN"}`, "AT+CGSN",
			func(m map[string]any) bool { return m["result"] == "SUCCESS" }},
		{"GET", "/info/subscriber-number", userKey, ``, "AT+CNUM",
			func(m map[string]any) bool { return m["result"] == "SUCCESS" }},
	} {
		code, body, hdr := call(t, b.url, tc.method, tc.path, tc.key, tc.body, nil)
		if code != 200 || !tc.check(body) || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
			t.Errorf("%s %s on b: %d %v %v", tc.method, tc.path, code, body, hdr)
		}
		if cmds := commands(a.rig, aFrom); !hasCommand(cmds, tc.want) {
			t.Errorf("%s %s: the owner's modem did not get %s: %q", tc.method, tc.path, tc.want, cmds)
		}
	}
	if cmds := commands(b.rig, bFrom); len(cmds) != 0 {
		t.Errorf("the modem of the instance that does not drive it got %q", cmds)
	}
	// The owner's own errors come back as they are: status, code, fields.
	code, body, _ := call(t, b.url, "POST", "/v1/modems/modem/at", adminKey, `{"command":"ATV0"}`, nil)
	if code != 400 || body["code"] != "command_refused" {
		t.Errorf("refused command through b: %d %v", code, body)
	}
	// Authorization goes along (the owner checks it too) and is checked
	// first here: a user key is refused on an admin route without a hop.
	if code, body, _ = call(t, b.url, "POST", "/v1/at", userKey, `{"command":"AT"}`, nil); code != 403 {
		t.Errorf("user key on /v1/at through b: %d %v", code, body)
	}
	// The status is the owner's poller's.
	a.pl.Poll(context.Background())
	code, body, _ = call(t, b.url, "GET", "/v1/modems/modem/status", userKey, ``, nil)
	if code != 200 || body["reachable"] != true || body["updatedAt"] != a.pl.Snapshot().UpdatedAt.Format(time.RFC3339Nano) {
		t.Errorf("status through b: %d %v, want a's snapshot of %v", code, body, a.pl.Snapshot().UpdatedAt)
	}
	if v := testutil.ToFloat64(b.mm.ForwardedRequests.WithLabelValues(metrics.ForwardAnswered)); v != 8 {
		t.Errorf("b forwarded %v answered requests, want 8", v)
	}
	// On the owner nothing is forwarded.
	aFrom = len(a.d.Transcript())
	if code, body, _ = call(t, a.url, "POST", "/v1/at", adminKey, `{"command":"AT+CSQ"}`, nil); code != 200 || !hasCommand(commands(a.rig, aFrom), "AT+CSQ") {
		t.Errorf("on the owner: %d %v", code, body)
	}
	if v := testutil.ToFloat64(a.mm.ForwardedRequests.WithLabelValues(metrics.ForwardAnswered)); v != 0 {
		t.Errorf("a forwarded %v requests", v)
	}
}

// A request that was forwarded already is not forwarded again: while two
// instances each think the other drives the modem, a request to one ends
// at the other with a 503 naming the owner and the forwarder.
func TestForwardNoLoop(t *testing.T) {
	c, a, b := newCluster(t)
	aFrom, bFrom := len(a.d.Transcript()), len(b.d.Transcript())
	// b thinks a drives it; a thinks b does.
	c.setFor("a", Owner{Instance: "b", URL: b.url, Known: true})
	code, body, hdr := call(t, b.url, "POST", "/v1/ussd", userKey, `{"code":"*100#"}`, nil)
	msg, _ := body["error"].(string)
	if code != 503 || body["code"] != "not_owner" || !strings.Contains(msg, "instance b ("+b.url+") does") ||
		!strings.Contains(msg, "forwarded here by b") || hdr.Get("Retry-After") == "" {
		t.Errorf("loop: %d %v %v", code, body, hdr)
	}
	// The same header from a client: refused, not forwarded.
	c.set(Owner{Instance: "a", URL: a.url, Known: true})
	code, body, _ = call(t, b.url, "GET", "/info/signal-quality", userKey, ``, map[string]string{ForwardedHeader: "x"})
	if code != 503 || body["result"] != ResultUnavailable || !strings.Contains(body["error"].(string), "instance a ("+a.url+") does") {
		t.Errorf("already forwarded, original shape: %d %v", code, body)
	}
	if ca, cb := commands(a.rig, aFrom), commands(b.rig, bFrom); len(ca)+len(cb) != 0 {
		t.Errorf("a loop reached a modem: %q %q", ca, cb)
	}
	if v := testutil.ToFloat64(a.mm.ForwardedRequests.WithLabelValues(metrics.ForwardLoop)); v != 1 {
		t.Errorf("a refused %v loops, want 1", v)
	}
}

// No instance drives the modem: 503 no_owner with Retry-After; the owner
// does not answer: 502 naming it. Nothing reaches a modem.
func TestForwardNoOwnerAndUnreachable(t *testing.T) {
	c, a, b := newCluster(t)
	aFrom := len(a.d.Transcript())
	c.set(Owner{})
	code, body, hdr := call(t, b.url, "POST", "/v1/modems/modem/ussd", userKey, `{"code":"*100#"}`, nil)
	if code != 503 || body["code"] != "no_owner" || body["error"] != "no instance drives modem modem now" || hdr.Get("Retry-After") != noOwnerRetryAfter {
		t.Errorf("no owner: %d %v %v", code, body, hdr)
	}
	code, body, _ = call(t, b.url, "GET", "/info/signal-quality", userKey, ``, nil)
	if code != 503 || body["result"] != ResultUnavailable {
		t.Errorf("no owner, original: %d %v", code, body)
	}
	// Not ready while nobody drives the default modem; ready on the
	// instance that does not drive it while another one does.
	if code, body, _ = call(t, b.url, "GET", "/readyz", "", ``, nil); code != 503 || body["reason"] != "no instance drives modem modem now" {
		t.Errorf("readyz, no owner: %d %v", code, body)
	}
	c.set(Owner{Instance: "a", URL: a.url, Known: true})
	if code, body, _ = call(t, b.url, "GET", "/readyz", "", ``, nil); code != 200 || body["ready"] != true || body["owner"] != "a" {
		t.Errorf("readyz, driven by a: %d %v", code, body)
	}
	// A port nobody listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := "http://" + ln.Addr().String()
	ln.Close()
	c.set(Owner{Instance: "c", URL: gone, Known: true})
	code, body, _ = call(t, b.url, "POST", "/v1/at", adminKey, `{"command":"AT"}`, nil)
	msg, _ := body["error"].(string)
	if code != 502 || body["code"] != "owner_unreachable" || !strings.Contains(msg, "instance c ("+gone+") drives modem modem and did not answer") {
		t.Errorf("unreachable owner: %d %v", code, body)
	}
	if cmds := commands(a.rig, aFrom); len(cmds) != 0 {
		t.Errorf("a's modem got %q", cmds)
	}
	for result, want := range map[string]float64{metrics.ForwardNoOwner: 2, metrics.ForwardUnreachable: 1} {
		if v := testutil.ToFloat64(b.mm.ForwardedRequests.WithLabelValues(result)); v != want {
			t.Errorf("b forwarded %s %v, want %v", result, v, want)
		}
	}
}

// GET /v1/modems names the owner on every instance; the instance that
// does not drive the modem shows the owner's view of it, or, when it
// cannot have it, state unknown with the reason.
func TestModemsShowOwner(t *testing.T) {
	c, a, b := newCluster(t)
	a.pl.Poll(context.Background())
	since := "2025-06-01T12:00:00Z"
	modem := func(in *instance, headers map[string]string) map[string]any {
		t.Helper()
		code, body, _ := call(t, in.url, "GET", "/v1/modems", userKey, ``, headers)
		ms, _ := body["modems"].([]any)
		if code != 200 || len(ms) != 1 {
			t.Fatalf("GET /v1/modems on %s: %d %v", in.name, code, body)
		}
		code, one, _ := call(t, in.url, "GET", "/v1/modems/modem", userKey, ``, headers)
		if code != 200 || one["id"] != "modem" {
			t.Fatalf("GET /v1/modems/modem on %s: %d %v", in.name, code, one)
		}
		return ms[0].(map[string]any)
	}
	owner := func(m map[string]any) map[string]any { o, _ := m["owner"].(map[string]any); return o }
	status := func(m map[string]any) map[string]any { s, _ := m["status"].(map[string]any); return s }

	ma := modem(a, nil)
	if o := owner(ma); o["instance"] != "a" || o["url"] != a.url || o["since"] != since || o["local"] != true ||
		ma["state"] != nil || ma["ready"] != true || status(ma)["reachable"] != true {
		t.Errorf("on the owner: %v", ma)
	}
	mb := modem(b, nil)
	if o := owner(mb); o["instance"] != "a" || o["local"] != false || mb["state"] != nil || mb["default"] != true ||
		mb["ready"] != true || status(mb)["updatedAt"] != a.pl.Snapshot().UpdatedAt.Format(time.RFC3339Nano) {
		t.Errorf("on b, a's view: %v", mb)
	}

	// Forwarded already: what b knows, without asking a.
	mb = modem(b, map[string]string{ForwardedHeader: "x"})
	if o := owner(mb); o["instance"] != "a" || mb["state"] != StateUnknown || !strings.Contains(mb["stateReason"].(string), "forwarded already") ||
		mb["ready"] != false || status(mb)["reachable"] != false {
		t.Errorf("on b, forwarded: %v", mb)
	}

	// The owner does not answer.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := "http://" + ln.Addr().String()
	ln.Close()
	c.set(Owner{Instance: "c", URL: gone, Known: true})
	mb = modem(b, nil)
	reason, _ := mb["stateReason"].(string)
	if o := owner(mb); o["instance"] != "c" || mb["state"] != StateUnknown || !strings.Contains(reason, "instance c ("+gone+") drives modem modem and did not answer") ||
		mb["ready"] != false || mb["eligible"] != false || status(mb)["reason"] != reason {
		t.Errorf("on b, owner gone: %v", mb)
	}

	// No owner.
	c.set(Owner{})
	for _, in := range []*instance{a, b} {
		m := modem(in, nil)
		if m["owner"] != nil || m["state"] != StateUnknown || m["stateReason"] != "no instance drives modem modem now" {
			t.Errorf("on %s, no owner: %v", in.name, m)
		}
	}
}

// A single instance (no Owner) shows no owner and no state: the answer
// of GET /v1/modems is as it always was.
func TestModemsSingleInstanceUnchanged(t *testing.T) {
	r := newRig(t, false)
	code, body := r.do(t, "GET", "/v1/modems/modem", userKey, "")
	want := []string{"default", "eligible", "id", "outbox", "ready", "status"}
	var got []string
	for k := range body {
		got = append(got, k)
	}
	if code != 200 || len(got) != len(want) {
		t.Fatalf("%d %v, want the keys %v", code, body, want)
	}
	for _, k := range want {
		if _, ok := body[k]; !ok {
			t.Errorf("no %s: %v", k, body)
		}
	}
}
