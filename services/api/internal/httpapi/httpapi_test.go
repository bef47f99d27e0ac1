package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/sim-modem-api/sim-modem-api/modem/at"
	"github.com/sim-modem-api/sim-modem-api/modem/modemops"
	"github.com/sim-modem-api/sim-modem-api/modem/poller"
	"github.com/sim-modem-api/sim-modem-api/modem/relayconn"
	"github.com/sim-modem-api/sim-modem-api/modem/scheduler"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/apikeys"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/metrics"
	"github.com/sim-modem-api/sim-modem-api/simulator/device"
	"go.uber.org/goleak"
)

// fasthttp updates its Date header from one process-wide goroutine, and a
// served listener's worker pool cleaner notices the shutdown only after its
// 10 s sleep (fasthttp's MaxIdleWorkerDuration, which fiber does not expose).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"))
}

const (
	userKey  = "user-key-0123456789"
	adminKey = "admin-key-0123456789"
)

type rig struct {
	app   *fiber.App
	sched *scheduler.Scheduler[modemops.AT]
	d     *device.Device
	pl    *poller.Poller
	deps  Deps
}

// newRig wires the handlers to a simulated device over a pipe; with
// unavailable set, the scheduler has no modem.
func newRig(t *testing.T, unavailable bool) *rig { return newRigWith(t, unavailable, nil) }

// newRigWith is newRig with the dependencies changed by with before the
// app is made (nil: none).
func newRigWith(t *testing.T, unavailable bool, with func(*Deps)) *rig {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	d, err := device.New(device.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	ops := modemops.New(modemops.Config{Logger: log})
	var e *at.Engine
	if !unavailable {
		a, b := net.Pipe()
		wg.Add(1)
		go func() { defer wg.Done(); d.Serve(ctx, b) }()
		e = at.New(ctx, a, at.WithDefaultHandler(func(u at.URC) { ops.HandleURC(u) }), at.WithLogger(log))
		e.Handle("+CUSD", func(u at.URC) { ops.HandleURC(u) })
		if err := ops.Init(ctx, e); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close(); b.Close() })
	}
	sched := scheduler.New(4, func() (modemops.AT, error) {
		if e == nil {
			return nil, fmt.Errorf("%w: cannot connect to the relay", relayconn.ErrUnavailable)
		}
		return e, nil
	}, nil)
	wg.Add(1)
	go func() { defer wg.Done(); sched.Run(ctx) }()
	pl := poller.New(sched, ops, time.Hour)
	if !unavailable {
		pl.Poll(ctx) // readiness needs a status poll
	}
	m := metrics.New()
	deps := Deps{
		Sched: sched, Ops: ops, Snapshot: pl.Snapshot, Ready: func() (bool, string) { return !unavailable, "test" },
		Keys: apikeys.New([]string{userKey}, []string{adminKey}), Metrics: m, ModemMetrics: m.Modem("modem", pl.Snapshot), Log: log,
		DefaultCountry: "43", BodyLimit: 256 << 10, RequestTimeout: 5 * time.Second, Sentinel: "<heartbeat>",
		OriginalStatusReport: true,
	}
	withOutbox(t, &deps, ops, sched, 0, 0)
	if with != nil {
		with(&deps)
	}
	app := New(deps)
	t.Cleanup(func() {
		app.Shutdown()
		cancel()
		wg.Wait()
	})
	return &rig{app: app, sched: sched, d: d, pl: pl, deps: deps}
}

func (r *rig) do(t *testing.T, method, path, key, body string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := r.app.Test(req, 10000)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return resp.StatusCode, m
}

// openAPIPath writes a fiber route's parameters as OpenAPI does:
// /v1/inbox/:id is /v1/inbox/{id}.
func openAPIPath(route string) string {
	parts := strings.Split(route, "/")
	for i, p := range parts {
		if name, ok := strings.CutPrefix(p, ":"); ok {
			parts[i] = "{" + name + "}"
		}
	}
	return strings.Join(parts, "/")
}

func TestOpenAPICoversEveryRoute(t *testing.T) {
	r := newRig(t, true)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	seen := map[string]bool{}
	for _, rt := range r.app.GetRoutes(true) {
		if rt.Method == http.MethodHead || rt.Path == "/" {
			continue
		}
		m := strings.ToLower(rt.Method)
		path := openAPIPath(rt.Path)
		seen[m+" "+path] = true
		if _, ok := doc.Paths[path][m]; !ok {
			t.Errorf("route %s %s is not in openapi.json", rt.Method, rt.Path)
		}
	}
	for p, ms := range doc.Paths {
		for m := range ms {
			if !seen[m+" "+p] {
				t.Errorf("openapi.json documents %s %s, which is no route", m, p)
			}
		}
	}
	code, _ := r.do(t, "GET", "/openapi.json", "", "")
	if code != 200 {
		t.Fatalf("GET /openapi.json: %d", code)
	}
}

func TestAuth(t *testing.T) {
	r := newRig(t, false)
	for _, tc := range []struct {
		method, path, key string
		want              int
	}{
		{"POST", "/v1/sms", "", 401},
		{"POST", "/v1/sms", "wrong-key-0123456789", 401},
		{"GET", "/v1/modem/status", "", 401},
		{"POST", "/sms", "", 401},
		{"GET", "/info/signal-quality", "", 401},
		{"POST", "/custom-command", userKey, 403},
		{"POST", "/v1/at", userKey, 403},
		{"POST", "/v1/sim/pin", userKey, 403},
		{"GET", "/v1/modem/status", userKey, 200},
		{"GET", "/info/signal-quality", userKey, 200},
		{"GET", "/healthz", "", 200},
		{"GET", "/readyz", "", 200},
		{"GET", "/metrics", "", 401},
		{"GET", "/metrics", userKey, 200},
	} {
		if code, _ := r.do(t, tc.method, tc.path, tc.key, `{}`); code != tc.want {
			t.Errorf("%s %s with %q: %d, want %d", tc.method, tc.path, tc.key, code, tc.want)
		}
	}
}

// Every bad input gets its 4xx with a field-level message, and nothing
// reaches the modem.
func TestBadInputNeverReachesModem(t *testing.T) {
	r := newRig(t, false)
	before := len(r.d.Transcript())
	long := strings.Repeat("😀", 67*255+1)
	for _, tc := range []struct {
		path, key, body string
		want            int
		field           string
	}{
		{"/v1/sms", userKey, ``, 400, ""},
		{"/v1/sms", userKey, `{"to":"+436601234567","text":"x"`, 400, ""},
		{"/v1/sms", userKey, `{"to":"+436601234567","text":"x","extra":1}`, 400, "extra"},
		{"/v1/sms", userKey, `{"to":"+436601234567","text":"x"} {}`, 400, ""},
		{"/v1/sms", userKey, `{"to":436601234567,"text":"x"}`, 400, "to"},
		{"/v1/sms", userKey, `{"text":"x"}`, 422, "to"},
		{"/v1/sms", userKey, `{"to":"+436601234567"}`, 422, "text"},
		{"/v1/sms", userKey, `{"to":"MyBank","text":"x"}`, 422, "to"},
		{"/v1/sms", userKey, `{"to":"+43660<heartbeat>","text":"x"}`, 422, "to"},
		{"/v1/sms", userKey, `{"to":"+436601234567\r\nAT+CFUN=0","text":"x"}`, 422, "to"},
		{"/v1/sms", userKey, `{"to":"+436601234567","text":"x","validity":"1m"}`, 422, "validity"},
		{"/v1/sms", userKey, `{"to":"+436601234567","text":"x","validity":"soon"}`, 422, "validity"},
		{"/v1/sms", userKey, `{"to":"+436601234567","text":"` + long + `"}`, 400, "text"},                          // over 255 parts
		{"/v1/sms", userKey, `{"to":"+436601234567","text":"` + strings.Repeat("x", 153*10+1) + `"}`, 400, "text"}, // over API_MAX_PARTS (10)
		{"/sms", userKey, `{"recipient":"+436601234567","message":"` + strings.Repeat("x", 153*10+1) + `"}`, 400, "message"},
		{"/sms", userKey, `{"recipient":"+436601234567","message":"x","validityPeriodUnit":"YEARS","validityPeriodValue":1}`, 422, "validityPeriodUnit"},
		{"/sms", userKey, `{"recipient":"+436601234567","message":"x","validityPeriodUnit":"DAYS"}`, 422, "validityPeriodValue"},
		{"/sms", userKey, `{"recipient":"","message":"x"}`, 422, "recipient"},
		{"/sms", userKey, `{"recipient":"+436601234567","message":"x","unknown":true}`, 400, "unknown"},
		{"/v1/ussd", userKey, `{"code":"*100#\",15\r\nAT+CFUN=0"}`, 422, "code"},
		{"/v1/ussd", userKey, `{"code":""}`, 422, "code"},
		{"/v1/sim/pin", adminKey, `{"pin":"12a4"}`, 422, "pin"},
		{"/v1/sim/pin", adminKey, `{"pin":"1234","puk":"1"}`, 422, "puk"},
		{"/v1/at", adminKey, `{"command":"AT+CSQ;+CFUN=0"}`, 422, "command"},
		{"/v1/at", adminKey, `{"command":"AT+CSQ\r\nAT+CFUN=0"}`, 422, "command"},
		{"/v1/at", adminKey, `{"command":"AT+CMGS=23"}`, 400, "command"},
		{"/v1/at", adminKey, `{"command":"AT +CMGS=10"}`, 400, "command"},
		{"/v1/at", adminKey, `{"command":"ATE1+CMGS=10"}`, 400, "command"},
		{"/v1/at", adminKey, `{"command":"AT&F+CMGS=5"}`, 400, "command"},
		{"/v1/at", adminKey, `{"command":"ATV0"}`, 400, "command"},
		{"/v1/at", adminKey, `{"command":"ATQ1"}`, 400, "command"},
		{"/v1/at", adminKey, `{"hex":"41542B434D47533D31300D"}`, 400, "hex"},
		{"/custom-command", adminKey, `{"readableCommand":"ATV0"}`, 400, "readableCommand"},
		{"/v1/at", adminKey, `{"command":"AT\u001a"}`, 422, "command"},
		{"/v1/at", adminKey, `{"command":"AT<heartbeat>"}`, 422, "command"},
		{"/v1/at", adminKey, `{"hex":"41540D41540D"}`, 422, "hex"},
		{"/v1/at", adminKey, `{"hex":"3C6865617274626561743E"}`, 422, "hex"},
		{"/v1/at", adminKey, `{"command":"AT","hex":"41540D"}`, 422, "command"},
		{"/v1/at", adminKey, `{}`, 422, "command"},
		{"/v1/at", adminKey, `{"command":"AT","timeoutMs":-1}`, 422, "timeoutMs"},
		{"/custom-command", adminKey, `{"readableCommand":"AT+CSQ;+CFUN=0"}`, 422, "readableCommand"},
		{"/custom-command", adminKey, `{"binaryCommand":"zz"}`, 422, "binaryCommand"},
	} {
		code, body := r.do(t, "POST", tc.path, tc.key, tc.body)
		if code != tc.want {
			t.Errorf("POST %s %.60q: %d %v, want %d", tc.path, tc.body, code, body, tc.want)
			continue
		}
		if body["error"] == nil || body["code"] == nil {
			t.Errorf("POST %s %.60q: no error message: %v", tc.path, tc.body, body)
		}
		if tc.field != "" {
			fields, _ := body["fields"].([]any)
			if len(fields) == 0 || fields[0].(map[string]any)["field"] != tc.field {
				t.Errorf("POST %s %.60q: fields %v, want %s", tc.path, tc.body, body["fields"], tc.field)
			}
		}
	}
	if after := len(r.d.Transcript()); after != before {
		t.Fatalf("bad input reached the modem: %v", r.d.Transcript()[before:])
	}
}

func TestSendAndOriginalEndpoints(t *testing.T) {
	r := newRig(t, false)
	code, body := r.do(t, "POST", "/v1/sms", userKey, `{"to":"0660 1234567","text":"Grüße 👋 `+strings.Repeat("ab", 40)+`","statusReport":true,"validity":"24h"}`)
	if code != 200 || body["partCount"].(float64) != 2 || body["encoding"] != "ucs2" || body["to"] != "+436601234567" {
		t.Fatalf("%d %v", code, body)
	}
	sent := r.d.Sent()
	if len(sent) != 1 || sent[0].Text != "Grüße 👋 "+strings.Repeat("ab", 40) || !sent[0].StatusReportRequested || sent[0].Validity != 24*time.Hour {
		t.Fatalf("sent %+v", sent)
	}
	code, body = r.do(t, "POST", "/sms", userKey, `{"recipient":"+436601234567","message":"Hello","validityPeriodUnit":"HOURS","validityPeriodValue":2}`)
	if code != 200 || body["result"] != "SUCCESS" || len(body["executedCommands"].([]any)) != 1 {
		t.Fatalf("%d %v", code, body)
	}
	if s := r.d.Sent()[1]; s.Validity != 2*time.Hour || !s.StatusReportRequested {
		t.Fatalf("original SMS %+v", s)
	}
	for path, want := range map[string]string{
		"/info/signal-quality": "+CSQ:", "/info/subscriber-number": "+CNUM:",
		"/info/selected-character-set": `+CSCS: "GSM"`, "/info/selectable-character-sets": "+CSCS: (",
	} {
		code, body = r.do(t, "GET", path, userKey, "")
		xs, _ := body["executedCommands"].([]any)
		if code != 200 || body["result"] != "SUCCESS" || len(xs) != 1 ||
			!strings.HasPrefix(xs[0].(map[string]any)["response"].([]any)[0].(string), want) {
			t.Errorf("GET %s: %d %v", path, code, body)
		}
	}
	code, body = r.do(t, "POST", "/custom-command", adminKey, `{"readableCommand":"AT+CFOO"}`)
	if code != 502 || body["result"] != "PREDICATE_MISMATCH" {
		t.Errorf("custom-command error: %d %v", code, body)
	}
	code, body = r.do(t, "POST", "/custom-command", adminKey, `{"binaryCommand":"41542B43474D490D","readableCommand":"AT+CGMI"}`)
	if code != 200 || body["result"] != "SUCCESS" {
		t.Errorf("custom-command hex: %d %v", code, body)
	}
	code, body = r.do(t, "POST", "/v1/at", adminKey, `{"command":"AT+CGMM"}`)
	if code != 200 || body["final"] != "OK" {
		t.Errorf("/v1/at: %d %v", code, body)
	}
	code, body = r.do(t, "POST", "/v1/ussd", userKey, `{"code":"*100#"}`)
	if code != 200 || body["text"] != "Your balance is EUR 12.34" {
		t.Errorf("/v1/ussd: %d %v", code, body)
	}
	// A network that refuses for now keeps the message in the outbox
	// (TestSMSThroughOutboxInProgress); a permanent refusal fails it (e2e).
	n := r.d.Network()
	n.Reg = 0
	if err := r.d.SetNetwork(n); err != nil {
		t.Fatal(err)
	}
	// SIM locked: 409; wrong PIN 422; right PIN 200.
	if err := r.d.SetSIM("pin"); err != nil {
		t.Fatal(err)
	}
	if code, body = r.do(t, "POST", "/v1/ussd", userKey, `{"code":"*100#"}`); code != 409 && code != 502 {
		t.Errorf("ussd with SIM PIN: %d %v", code, body)
	}
	if code, body = r.do(t, "POST", "/v1/sim/pin", adminKey, `{"pin":"0000"}`); code != 422 || body["code"] != "incorrect_pin" {
		t.Errorf("wrong PIN: %d %v", code, body)
	}
	if code, body = r.do(t, "POST", "/v1/sim/pin", adminKey, `{"pin":"1234"}`); code != 200 || body["sim"] != "ready" {
		t.Errorf("PIN: %d %v", code, body)
	}
}

func TestModemUnavailable(t *testing.T) {
	r := newRig(t, true)
	code, body := r.do(t, "POST", "/v1/sms", userKey, `{"to":"+436601234567","text":"x"}`)
	if code != 503 || body["code"] != "modem_unavailable" {
		t.Errorf("%d %v", code, body)
	}
	code, body = r.do(t, "POST", "/sms", userKey, `{"recipient":"+436601234567","message":"x"}`)
	if code != 503 || body["result"] != "UNAVAILABLE" {
		t.Errorf("%d %v", code, body)
	}
	code, body = r.do(t, "GET", "/readyz", "", "")
	if code != 503 || body["ready"] != false {
		t.Errorf("%d %v", code, body)
	}
	code, body = r.do(t, "GET", "/v1/modem/status", userKey, "")
	if code != 200 || body["reachable"] != false {
		t.Errorf("%d %v", code, body)
	}
	req := httptest.NewRequest("GET", "/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+userKey)
	resp, err := r.app.Test(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `modem_up{modem="modem"} 0`) || strings.Contains(string(b), "modem_signal_rssi_dbm") {
		t.Errorf("metrics while unreachable:\n%s", b)
	}
}

// A full queue is a 429 with Retry-After (UNAVAILABLE on the original
// endpoints); an accepted message waits in the store and is sent after.
func TestQueueFull(t *testing.T) {
	r := newRig(t, false)
	release := make(chan struct{})
	started := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.sched.Do(context.Background(), func(context.Context, modemops.AT) error { close(started); <-release; return nil })
	}()
	<-started
	// Every class's queue is full (each class has its own).
	for _, class := range scheduler.Classes {
		for i := 0; i < r.sched.Capacity(); i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.sched.DoClass(context.Background(), class, func(context.Context, modemops.AT) error { return nil })
			}()
		}
	}
	for r.sched.Depth() != 1+len(scheduler.Classes)*r.sched.Capacity() {
		time.Sleep(time.Millisecond)
	}
	// Messages do not queue as jobs: they are stored, and the outbox
	// worker sends them when the modem is free.
	code, body := r.do(t, "POST", "/v1/messages", userKey, `{"to":"+436601234567","text":"x"}`)
	if code != 202 {
		t.Errorf("message with a full queue: %d %v", code, body)
	}
	id, _ := body["id"].(string)
	code, body = r.do(t, "GET", "/info/signal-quality", userKey, "")
	if code != 429 || body["result"] != "UNAVAILABLE" {
		t.Errorf("original with a full queue: %d %v", code, body)
	}
	close(release)
	wg.Wait()
	r.waitState(t, id, "sent")
	if len(r.d.Sent()) != 1 {
		t.Fatalf("sent %+v, want the accepted message once", r.d.Sent())
	}
}
