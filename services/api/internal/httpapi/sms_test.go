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
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/apikeys"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/metrics"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/modemops"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/poller"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/scheduler"
	"github.com/sim-modem-api/sim-modem-api/simulator/device"
)

// smsRig wires the handlers to a simulated device over a pipe with the
// given operation settings and request budget.
func newSMSRig(t *testing.T, cfg modemops.Config, requestTimeout time.Duration) (*rig, *metrics.Metrics) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	d, err := device.New(device.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var pl *poller.Poller
	m := metrics.New(func() *poller.Snapshot { return pl.Snapshot() })
	cfg.Logger, cfg.Sentinel, cfg.OnPart, cfg.OnLateSent = log, "<heartbeat>", m.Part, m.SMSPartsLateSent.Inc
	ops := modemops.New(cfg)
	a, b := net.Pipe()
	wg.Add(1)
	go func() { defer wg.Done(); d.Serve(ctx, b) }()
	e := at.New(ctx, a, at.WithDefaultHandler(func(u at.URC) {
		if !ops.HandleLateCMGS(u) {
			ops.HandleURC(u)
		}
	}), at.WithLogger(log))
	if err := ops.Init(ctx, e); err != nil {
		t.Fatal(err)
	}
	sched := scheduler.New(4, func() (modemops.AT, error) { return e, nil }, nil)
	wg.Add(1)
	go func() { defer wg.Done(); sched.Run(ctx) }()
	pl = poller.New(sched, ops, time.Hour)
	app := New(Deps{
		Sched: sched, Ops: ops, Snapshot: pl.Snapshot, Ready: func() (bool, string) { return true, "" },
		Keys: apikeys.New([]string{userKey}, []string{adminKey}), Metrics: m, Log: log,
		DefaultCountry: "43", RequestTimeout: requestTimeout, Sentinel: "<heartbeat>", OriginalStatusReport: true,
	})
	t.Cleanup(func() {
		app.Shutdown()
		e.Close()
		b.Close()
		cancel()
		wg.Wait()
	})
	return &rig{app: app, sched: sched, d: d, pl: pl}, m
}

func partStates(body map[string]any) string {
	var s []string
	parts, _ := body["parts"].([]any)
	for _, p := range parts {
		s = append(s, p.(map[string]any)["state"].(string))
	}
	return strings.Join(s, ",")
}

// The SMS timeout runs out after the body went to the modem: the answer
// says the outcome is unknown (never "failed"), with the message id and
// the parts; metrics count it as unknown. Before the fix this was a 504
// "part 1 of the SMS failed after 0 sent" counted as failed.
func TestSMSOutcomeUnknown(t *testing.T) {
	r, m := newSMSRig(t, modemops.Config{SMSTimeout: 100 * time.Millisecond, CommandTimeout: 2 * time.Second}, 5*time.Second)
	r.d.SetFaults(device.Faults{Delay: 300 * time.Millisecond})
	code, body := r.do(t, "POST", "/v1/sms", userKey, `{"to":"+436601234567","text":"maybe"}`)
	msg, _ := body["error"].(string)
	if code != 504 || body["code"] != "sms_outcome_unknown" || partStates(body) != "unknown" ||
		!strings.HasPrefix(body["id"].(string), "sms_") || strings.Contains(msg, "failed") || !strings.Contains(msg, "part 1: outcome unknown") {
		t.Fatalf("%d %v", code, body)
	}
	if len(r.d.Sent()) != 1 {
		t.Fatal("the modem did not send it")
	}
	if v := testutil.ToFloat64(m.SMSPartsUnknown.WithLabelValues("timeout")); v != 1 {
		t.Fatalf("unknown parts %v", v)
	}
	if v := testutil.ToFloat64(m.SMSPartsFailed.WithLabelValues("timeout")); v != 0 {
		t.Fatalf("failed parts %v", v)
	}
	if v := testutil.ToFloat64(m.SMSMessages.WithLabelValues("unknown")); v != 1 {
		t.Fatalf("unknown messages %v", v)
	}
	// The original endpoint keeps its shape and does not claim failure either.
	code, body = r.do(t, "POST", "/sms", userKey, `{"recipient":"+436601234567","message":"maybe again"}`)
	if code != 504 || body["result"] != "TIMED_OUT" || partStates(body) != "unknown" ||
		strings.Contains(body["error"].(string), "failed") || body["executedCommands"] == nil {
		t.Fatalf("original: %d %v", code, body)
	}
}

// The caller's request budget runs out after its job started: the answer
// says the message is still being sent (504 sms_in_progress with its id),
// the job goes on, the modem sends it, and it is counted as sent.
func TestSMSRequestTimeoutWhileSending(t *testing.T) {
	r, m := newSMSRig(t, modemops.Config{SMSTimeout: 5 * time.Second, CommandTimeout: 5 * time.Second}, 50*time.Millisecond)
	r.d.SetFaults(device.Faults{Delay: 300 * time.Millisecond})
	code, body := r.do(t, "POST", "/v1/sms", userKey, `{"to":"+436601234567","text":"`+strings.Repeat("two parts ", 20)+`"}`)
	msg, _ := body["error"].(string)
	if code != 504 || body["code"] != "sms_in_progress" || !strings.HasPrefix(body["id"].(string), "sms_") ||
		strings.Contains(msg, "failed") || !strings.Contains(partStates(body), "pending") {
		t.Fatalf("%d %v", code, body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for testutil.ToFloat64(m.SMSMessages.WithLabelValues("sent")) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the job did not finish")
		}
		time.Sleep(10 * time.Millisecond)
	}
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
