package poller

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"

	"github.com/sim-modem-api/sim-modem-api/modem/at"
	"github.com/sim-modem-api/sim-modem-api/modem/modemops"
	"github.com/sim-modem-api/sim-modem-api/modem/scheduler"
	"github.com/sim-modem-api/sim-modem-api/simulator/device"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSnapshot(t *testing.T) {
	d, err := device.New(device.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	a, b := net.Pipe()
	wg.Add(1)
	go func() { defer wg.Done(); d.Serve(ctx, b) }()
	e := at.New(ctx, a)
	ops := modemops.New(modemops.Config{})
	if err := ops.Init(ctx, e); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	down := false
	s := scheduler.New(4, func() (modemops.AT, error) {
		mu.Lock()
		defer mu.Unlock()
		if down {
			return nil, errors.New("modem unavailable: test")
		}
		return e, nil
	}, nil)
	wg.Add(1)
	go func() { defer wg.Done(); s.Run(ctx) }()
	p := New(s, ops, 1<<40)
	if p.Snapshot().Reachable {
		t.Fatal("reachable before the first poll")
	}
	p.poll(ctx)
	snap := p.Snapshot()
	if !snap.Reachable || snap.Identity.Model != "MF831" || snap.Status.SIM != "ready" || snap.UpdatedAt.IsZero() {
		t.Fatalf("%+v", snap)
	}
	mu.Lock()
	down = true
	mu.Unlock()
	p.poll(ctx)
	if s := p.Snapshot(); s.Reachable || s.Reason == "" || s.Identity.Model != "MF831" {
		t.Fatalf("after failure: %+v", s)
	}
	mu.Lock()
	down = false
	mu.Unlock()
	p.poll(ctx)
	p.Unreachable("relay session lost")
	if s := p.Snapshot(); s.Reachable || s.Reason != "relay session lost" {
		t.Fatalf("%+v", s)
	}
	cancel()
	e.Close()
	b.Close()
	wg.Wait()
}
