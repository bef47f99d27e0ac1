package modemops

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/at"
	"github.com/sim-modem-api/sim-modem-api/simulator/device"
)

// smsRig is an engine on a simulated device over a pipe, with the late
// +CMGS handler wired as the api wires it, and the part counts recorded.
type smsRig struct {
	d      *device.Device
	e      *at.Engine
	ops    *Ops
	device net.Conn // the device's end; closing it is a lost connection

	mu     sync.Mutex
	counts map[string]int // "state/reason"
	late   chan struct{}
}

func newSMSRig(t *testing.T, cfg Config) *smsRig {
	t.Helper()
	d, err := device.New(device.Config{})
	if err != nil {
		t.Fatal(err)
	}
	a, b := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { d.Serve(ctx, b); close(served) }()
	r := &smsRig{d: d, device: b, counts: map[string]int{}, late: make(chan struct{}, 4)}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.OnPart = func(state, reason string) {
		r.mu.Lock()
		r.counts[state+"/"+reason]++
		r.mu.Unlock()
	}
	cfg.OnLateSent = func() { r.late <- struct{}{} }
	r.ops = New(cfg)
	r.e = at.New(ctx, a, at.WithDefaultHandler(func(u at.URC) {
		if !r.ops.HandleLateCMGS(u) {
			r.ops.HandleURC(u)
		}
	}))
	t.Cleanup(func() {
		cancel()
		r.e.Close()
		b.Close()
		<-served
	})
	if err := r.ops.Init(ctx, r.e); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *smsRig) count(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts[key]
}

func states(parts []Part) string {
	var s []string
	for _, p := range parts {
		s = append(s, string(p.State))
	}
	return strings.Join(s, ",")
}

// The SMS timeout runs out after the body was written (the modem answers
// after 300 ms, the timeout is 100 ms): the part is unknown, not failed,
// although the modem sent it; the late +CMGS is taken and reported.
func TestSendTimeoutAfterBodyIsUnknown(t *testing.T) {
	r := newSMSRig(t, Config{SMSTimeout: 100 * time.Millisecond, CommandTimeout: 2 * time.Second})
	p, err := r.ops.Prepare(SMS{To: "+436601234567", Text: "maybe sent"})
	if err != nil {
		t.Fatal(err)
	}
	p.ID = "sms_test1"
	r.d.SetFaults(device.Faults{Delay: 300 * time.Millisecond})
	parts, _, err := r.ops.Send(context.Background(), r.e, p)
	var se *SendError
	if !errors.As(err, &se) || !se.Unknown || se.Failed != 1 || se.ID != "sms_test1" {
		t.Fatalf("got %v, want an unknown outcome of part 1", err)
	}
	if states(parts) != "unknown" || strings.Contains(se.Error(), "failed") || !strings.Contains(se.Error(), "part 1: outcome unknown") {
		t.Fatalf("parts %s, error %q", states(parts), se.Error())
	}
	if r.count("unknown/timeout") != 1 || r.count("failed/timeout") != 0 {
		t.Fatalf("counts %v", r.counts)
	}
	if sent := r.d.Sent(); len(sent) != 1 || sent[0].Text != "maybe sent" {
		t.Fatalf("the modem sent %+v", sent)
	}
	select {
	case <-r.late:
	case <-time.After(5 * time.Second):
		t.Fatal("the late +CMGS was not reported")
	}
	// The engine is in step again: the next message goes out.
	r.d.SetFaults(device.Faults{})
	p2, _ := r.ops.Prepare(SMS{To: "+436601234567", Text: "next"})
	if parts, _, err := r.ops.Send(context.Background(), r.e, p2); err != nil || states(parts) != "sent" {
		t.Fatalf("next message: %s %v", states(parts), err)
	}
}

// No prompt within the command timeout: nothing of the body went out, so
// the part failed (and the rest were not attempted).
func TestSendNoPromptIsFailed(t *testing.T) {
	r := newSMSRig(t, Config{CommandTimeout: 100 * time.Millisecond})
	p, err := r.ops.Prepare(SMS{To: "+436601234567", Text: strings.Repeat("two parts ", 20)})
	if err != nil {
		t.Fatal(err)
	}
	r.d.SetFaults(device.Faults{Delay: 300 * time.Millisecond})
	parts, _, err := r.ops.Send(context.Background(), r.e, p)
	var se *SendError
	if !errors.As(err, &se) || se.Unknown || se.Failed != 1 {
		t.Fatalf("got %v, want part 1 failed", err)
	}
	if states(parts) != "failed,not_attempted" || r.count("failed/timeout") != 1 || r.count("unknown/timeout") != 0 {
		t.Fatalf("parts %s, counts %v", states(parts), r.counts)
	}
	if len(r.d.Sent()) != 0 {
		t.Fatal("the modem sent a part that failed")
	}
}

// The connection ends after the body of part 2: part 1 sent with its
// reference, part 2 unknown (the modem did send it), part 3 not attempted.
func TestSendConnectionLostAfterBodyIsUnknown(t *testing.T) {
	r := newSMSRig(t, Config{CommandTimeout: 5 * time.Second, SMSTimeout: 5 * time.Second})
	text := strings.Repeat("three parts ", 30)
	p, err := r.ops.Prepare(SMS{To: "+436601234567", Text: text})
	if err != nil || len(p.PDUs) != 3 {
		t.Fatalf("%d parts, %v", len(p.PDUs), err)
	}
	r.d.SetFaults(device.Faults{Delay: 200 * time.Millisecond})
	type result struct {
		parts []Part
		err   error
	}
	done := make(chan result, 1)
	go func() {
		parts, _, err := r.ops.Send(context.Background(), r.e, p)
		done <- result{parts, err}
	}()
	for {
		if sent := r.d.Sent(); len(sent) == 1 && len(sent[0].Parts) == 2 {
			break // part 2's body is in; its +CMGS is 200 ms away
		}
		time.Sleep(time.Millisecond)
	}
	r.device.Close()
	res := <-done
	var se *SendError
	if !errors.As(res.err, &se) || !se.Unknown || se.Failed != 2 || !errors.Is(res.err, at.ErrClosed) {
		t.Fatalf("got %v, want part 2 unknown after the connection was lost", res.err)
	}
	if states(res.parts) != "sent,unknown,not_attempted" || res.parts[0].Reference != r.d.Sent()[0].Parts[0].MR {
		t.Fatalf("parts %+v", res.parts)
	}
	if len(se.Sent()) != 1 || r.count("unknown/unavailable") != 1 || r.count("sent/") != 1 {
		t.Fatalf("sent %v, counts %v", se.Sent(), r.counts)
	}
	b, _ := json.Marshal(res.parts)
	if want := `[{"seq":1,"state":"sent","reference":`; !strings.HasPrefix(string(b), want) ||
		!strings.HasSuffix(string(b), `{"seq":2,"state":"unknown"},{"seq":3,"state":"not_attempted"}]`) {
		t.Fatalf("JSON %s", b)
	}
}

// API_MAX_PARTS: a text over the limit is refused before the modem, with
// the field and the limit.
func TestPrepareMaxParts(t *testing.T) {
	o := New(Config{MaxParts: 2})
	if _, err := o.Prepare(SMS{To: "+436601234567", Text: strings.Repeat("x", 153*2)}); err != nil {
		t.Fatalf("2 parts: %v", err)
	}
	_, err := o.Prepare(SMS{To: "+436601234567", Text: strings.Repeat("x", 153*2+1)})
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "text" || fe.Limit != 2 || !strings.Contains(fe.Message, "at most 2") {
		t.Fatalf("3 parts with a limit of 2: %v", err)
	}
	if New(Config{}).cfg.MaxParts != DefaultMaxParts || New(Config{MaxParts: 1000}).cfg.MaxParts != MaxParts {
		t.Fatal("MaxParts defaults")
	}
}

// A +CMGS line that matches no watched part is taken and logged; other
// lines are left to the other handlers.
func TestHandleLateCMGS(t *testing.T) {
	late := 0
	o := New(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), OnLateSent: func() { late++ }})
	if o.HandleLateCMGS(at.URC{Line: "+CSQ: 20,99"}) || o.HandleLateCMGS(at.URC{Name: "+CMTI", Line: "+CMTI: \"SM\",1"}) {
		t.Fatal("took a line that is no +CMGS")
	}
	if !o.HandleLateCMGS(at.URC{Line: "+CMGS: 7", Late: true}) || late != 0 {
		t.Fatal("an unmatched +CMGS")
	}
	o.watchLate("sms_a", 2)
	if !o.HandleLateCMGS(at.URC{Line: "+cmgs: 8", Late: true}) || late != 1 || len(o.late) != 0 {
		t.Fatal("a matched +CMGS")
	}
}

// FuzzHandleLateCMGS: any line is handled without panicking, and only
// +CMGS lines are taken.
func FuzzHandleLateCMGS(f *testing.F) {
	for _, s := range []string{"+CMGS: 7", "+CMGS:", "+cmgs: 255", "+CMGS", "OK", "", "+CMGS: \xff"} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, line string, watched bool) {
		o := New(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if watched {
			o.watchLate("sms_f", 1)
		}
		took := o.HandleLateCMGS(at.URC{Line: line, Late: true})
		if took != strings.HasPrefix(strings.ToUpper(line), "+CMGS:") {
			t.Fatalf("HandleLateCMGS(%q) = %v", line, took)
		}
	})
}
