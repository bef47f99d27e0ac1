package poller

import (
	"context"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/at"
	"github.com/sim-modem-api/sim-modem-api/modem/modemops"
	"github.com/sim-modem-api/sim-modem-api/modem/scheduler"
	"github.com/sim-modem-api/sim-modem-api/simulator/device"
)

// Readiness from the snapshot: a hung modem, a SIM that wants its PIN and
// a radio that is off each make it not ready, with the reason; each
// recovers.
func TestNotReady(t *testing.T) {
	d, err := device.New(device.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	a, b := net.Pipe()
	wg.Add(1)
	go func() { defer wg.Done(); d.Serve(ctx, b) }()
	// Short timeouts so that the hung modem is noticed quickly; they are
	// upper bounds, nothing asserts on durations.
	e := at.New(ctx, a, at.WithResyncTimeout(300*time.Millisecond))
	ops := modemops.New(modemops.Config{CommandTimeout: 200 * time.Millisecond})
	if err := ops.Init(ctx, e); err != nil {
		t.Fatal(err)
	}
	s := scheduler.New(4, func() (modemops.AT, error) { return e, nil }, nil)
	wg.Add(1)
	go func() { defer wg.Done(); s.Run(ctx) }()
	p := New(s, ops, 1<<40)
	if r := p.Snapshot().NotReady(); len(r) != 1 || !strings.Contains(r[0], "not polled yet") {
		t.Fatalf("before the first poll: %q", r)
	}
	want := func(step string, substr ...string) {
		t.Helper()
		p.poll(ctx)
		r := p.Snapshot().NotReady()
		if len(r) != len(substr) {
			t.Fatalf("%s: not ready %q, want %q", step, r, substr)
		}
		for i, s := range substr {
			if !strings.Contains(r[i], s) {
				t.Fatalf("%s: not ready %q, want %q", step, r, substr)
			}
		}
	}
	want("ready")
	d.SetFaults(device.Faults{Hang: true})
	want("hung", "does not answer")
	want("still hung", "does not answer")
	if e.InSync() {
		t.Error("engine in sync with a hung modem")
	}
	d.SetFaults(device.Faults{})
	want("answering again")
	if err := d.SetSIM(device.SIMState("pin")); err != nil {
		t.Fatal(err)
	}
	want("SIM PIN", "PIN")
	if _, err := ops.EnterPIN(ctx, e, d.Config().PIN, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Command(ctx, "+CFUN=0"); err != nil {
		t.Fatal(err)
	}
	want("radio off", "radio is off")
	if _, err := e.Command(ctx, "+CFUN=1"); err != nil {
		t.Fatal(err)
	}
	want("radio on")
	if snap := p.Snapshot(); snap.Status.Radio != "on" || !slices.Contains([]string{"home", "roaming", "searching"}, snap.Status.Registration) {
		t.Errorf("status %+v", snap.Status)
	}
	cancel()
	e.Close()
	b.Close()
	wg.Wait()
}

// Changed fires on the next stored snapshot, once per channel.
func TestChangedFiresOnTheNextSnapshot(t *testing.T) {
	p := New(nil, nil, time.Hour)
	ch := p.Changed()
	if ch2 := p.Changed(); ch2 != ch {
		t.Fatal("two calls before a change gave two channels")
	}
	select {
	case <-ch:
		t.Fatal("fired before any change")
	default:
	}
	p.Unreachable("test")
	select {
	case <-ch:
	default:
		t.Fatal("did not fire on Unreachable")
	}
	if p.Snapshot().Reason != "test" {
		t.Fatalf("snapshot after the change: %+v", p.Snapshot())
	}
	next := p.Changed()
	select {
	case <-next:
		t.Fatal("the new channel fired before the next change")
	default:
	}
}
