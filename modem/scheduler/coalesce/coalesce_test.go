package coalesce

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Concurrent callers of one key share one call; another key has its own.
func TestShared(t *testing.T) {
	var g Group[int]
	var calls atomic.Int32
	release := make(chan struct{})
	started := make(chan struct{})
	fn := func(ctx context.Context) (int, error) {
		if calls.Add(1) == 1 {
			close(started)
		}
		<-release
		return 42, nil
	}
	const n = 50
	var wg sync.WaitGroup
	var sharedCount atomic.Int32
	results := make(chan int, n)
	wg.Add(1)
	go func() {
		defer wg.Done()
		v, _, err := g.Do(context.Background(), "+CSQ", fn)
		if err != nil {
			t.Error(err)
		}
		results <- v
	}()
	<-started
	for i := 1; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, shared, err := g.Do(context.Background(), "+CSQ", fn)
			if err != nil {
				t.Error(err)
			}
			if shared {
				sharedCount.Add(1)
			}
			results <- v
		}()
	}
	// Wait until every caller joined, then let the one call finish.
	for {
		g.mu.Lock()
		w := g.calls["+CSQ"].waiters
		g.mu.Unlock()
		if w == n {
			break
		}
		runtime.Gosched()
	}
	close(release)
	wg.Wait()
	close(results)
	for v := range results {
		if v != 42 {
			t.Fatalf("result %d", v)
		}
	}
	if calls.Load() != 1 || sharedCount.Load() != n-1 {
		t.Fatalf("%d calls, %d shared; want 1 call shared by %d", calls.Load(), sharedCount.Load(), n-1)
	}
	// Finished: the next caller starts a new call.
	other, _, _ := g.Do(context.Background(), "+CNUM", func(context.Context) (int, error) { return 7, nil })
	again, shared, _ := g.Do(context.Background(), "+CSQ", func(context.Context) (int, error) { return 43, nil })
	if other != 7 || again != 43 || shared {
		t.Fatalf("after the call: %d %d %v", other, again, shared)
	}
}

// One caller leaving does not cancel the work for the others; when the
// last one leaves, the work's context ends.
func TestLeaving(t *testing.T) {
	var g Group[string]
	started := make(chan struct{})
	release := make(chan struct{})
	ended := make(chan error, 1)
	fn := func(ctx context.Context) (string, error) {
		close(started)
		select {
		case <-release:
			return "ok", nil
		case <-ctx.Done():
			ended <- ctx.Err()
			return "", ctx.Err()
		}
	}
	ctx1, leave1 := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() { _, _, err := g.Do(ctx1, "k", fn); first <- err }()
	<-started
	ctx2, leave2 := context.WithCancel(context.Background())
	second := make(chan error, 1)
	go func() { _, _, err := g.Do(ctx2, "k", fn); second <- err }()
	for {
		g.mu.Lock()
		w := g.calls["k"].waiters
		g.mu.Unlock()
		if w == 2 {
			break
		}
		runtime.Gosched()
	}
	leave1()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Fatalf("first: %v", err)
	}
	select {
	case err := <-ended:
		t.Fatalf("the work ended with one caller still waiting: %v", err)
	default:
	}
	leave2()
	if err := <-second; !errors.Is(err, context.Canceled) {
		t.Fatalf("second: %v", err)
	}
	if err := <-ended; !errors.Is(err, context.Canceled) {
		t.Fatalf("work context: %v", err)
	}
	close(release)
}

func BenchmarkShared(b *testing.B) {
	var g Group[int]
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := g.Do(context.Background(), "k", func(context.Context) (int, error) { return 1, nil }); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
