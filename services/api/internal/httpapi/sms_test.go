package httpapi

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/sim-modem-api/sim-modem-api/modem/at"
	"github.com/sim-modem-api/sim-modem-api/modem/modemops"
	"github.com/sim-modem-api/sim-modem-api/modem/poller"
	"github.com/sim-modem-api/sim-modem-api/modem/scheduler"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/apikeys"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/metrics"
	"github.com/sim-modem-api/sim-modem-api/simulator/device"
)

// smsRig wires the handlers to a simulated device over a pipe with the
// given operation settings and request budget.
func newSMSRig(t *testing.T, cfg modemops.Config, requestTimeout time.Duration) (*rig, *metrics.Modem) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	d, err := device.New(device.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var pl *poller.Poller
	m := metrics.New()
	mm := m.Modem("modem", func() *poller.Snapshot { return pl.Snapshot() })
	cfg.Logger = log
	ops := modemops.New(cfg)
	a, b := net.Pipe()
	wg.Add(1)
	go func() { defer wg.Done(); d.Serve(ctx, b) }()
	e := at.New(ctx, a, at.WithDefaultHandler(func(u at.URC) { ops.HandleURC(u) }), at.WithLogger(log))
	if err := ops.Init(ctx, e); err != nil {
		t.Fatal(err)
	}
	sched := scheduler.New(4, func() (modemops.AT, error) { return e, nil }, nil)
	wg.Add(1)
	go func() { defer wg.Done(); sched.Run(ctx) }()
	pl = poller.New(sched, ops, time.Hour)
	deps := Deps{
		Sched: sched, Ops: ops, Snapshot: pl.Snapshot, Ready: func() (bool, string) { return true, "" },
		Keys: apikeys.New([]string{userKey}, []string{adminKey}), Metrics: m, ModemMetrics: mm, Log: log,
		DefaultCountry: "43", RequestTimeout: requestTimeout, Sentinel: "<heartbeat>", OriginalStatusReport: true,
	}
	withOutbox(t, &deps, ops, sched, cfg.SMSTimeout, cfg.CommandTimeout)
	app := New(deps)
	t.Cleanup(func() {
		app.Shutdown()
		e.Close()
		b.Close()
		cancel()
		wg.Wait()
	})
	return &rig{app: app, sched: sched, d: d, pl: pl}, mm
}

func partStates(body map[string]any) string {
	var s []string
	parts, _ := body["parts"].([]any)
	for _, p := range parts {
		s = append(s, p.(map[string]any)["state"].(string))
	}
	return strings.Join(s, ",")
}

// The SMS timeout runs out after AT+CMSS went to the modem (each answer
// comes 300 ms late): the outbox reads the stored copy back (STO SENT),
// records the part as sent without its reference, and never submits it
// again. Before the outbox this was a 504 sms_outcome_unknown: the client
// could not know whether to resend.
func TestSMSTimeoutAfterSubmissionIsResolved(t *testing.T) {
	r, m := newSMSRig(t, modemops.Config{SMSTimeout: 100 * time.Millisecond, CommandTimeout: 2 * time.Second}, 10*time.Second)
	r.d.SetFaults(device.Faults{Delay: 300 * time.Millisecond})
	code, body := r.do(t, "POST", "/v1/sms", userKey, `{"to":"+436601234567","text":"maybe"}`)
	if code != 200 || partStates(body) != "sent" || !strings.HasPrefix(body["id"].(string), "sms_") {
		t.Fatalf("%d %v", code, body)
	}
	if sent := r.d.Sent(); len(sent) != 1 || len(sent[0].Parts) != 1 {
		t.Fatalf("the modem sent %+v", sent)
	}
	if v := testutil.ToFloat64(m.SMSMessages.WithLabelValues("sent")); v != 1 {
		t.Fatalf("sent messages %v", v)
	}
	// The original endpoint: SUCCESS, with the submissions it ran.
	code, body = r.do(t, "POST", "/sms", userKey, `{"recipient":"+436601234567","message":"maybe again"}`)
	if code != 200 || body["result"] != "SUCCESS" || partStates(body) != "sent" || body["executedCommands"] == nil {
		t.Fatalf("original: %d %v", code, body)
	}
	if sent := r.d.Sent(); len(sent) != 2 {
		t.Fatalf("the modem sent %+v", sent)
	}
}

// The caller's request budget runs out while its message is being sent:
// the answer says it is in progress (504 sms_in_progress with its id and
// no part failed), the outbox goes on, and the modem sends it once.
func TestSMSRequestTimeoutWhileSending(t *testing.T) {
	r, m := newSMSRig(t, modemops.Config{SMSTimeout: 5 * time.Second, CommandTimeout: 5 * time.Second}, 50*time.Millisecond)
	r.d.SetFaults(device.Faults{Delay: 300 * time.Millisecond})
	code, body := r.do(t, "POST", "/v1/sms", userKey, `{"to":"+436601234567","text":"`+strings.Repeat("two parts ", 20)+`"}`)
	msg, _ := body["error"].(string)
	if code != 504 || body["code"] != "sms_in_progress" || !strings.HasPrefix(body["id"].(string), "sms_") ||
		strings.Contains(msg, "failed") || !strings.Contains(partStates(body), "pending") {
		t.Fatalf("%d %v", code, body)
	}
	r.waitState(t, body["id"].(string), "sent")
	if sent := r.d.Sent(); len(sent) != 1 || len(sent[0].Parts) != 2 {
		t.Fatalf("sent %+v", sent)
	}
	if v := testutil.ToFloat64(m.SMSMessages.WithLabelValues("failed")); v != 0 {
		t.Fatalf("counted as failed: %v", v)
	}
}

// Concurrent identical /info/* reads share one modem command.
func TestInfoReadsCoalesce(t *testing.T) {
	r, _ := newSMSRig(t, modemops.Config{}, 5*time.Second)
	r.d.SetFaults(device.Faults{Delay: 200 * time.Millisecond})
	before := len(r.d.Transcript())
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, body := r.do(t, "GET", "/info/signal-quality", userKey, ""); code != 200 || body["result"] != "SUCCESS" {
				t.Errorf("%d %v", code, body)
			}
		}()
	}
	wg.Wait()
	n := 0
	for _, x := range r.d.Transcript()[before:] {
		if x.Command == "AT+CSQ" {
			n++
		}
	}
	if n < 1 || n > 3 {
		t.Fatalf("%d AT+CSQ for 20 concurrent reads, want 1 to 3", n)
	}
}
