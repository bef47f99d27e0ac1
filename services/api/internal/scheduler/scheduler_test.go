package scheduler

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type res struct {
	mu    sync.Mutex
	log   []int
	inJob atomic.Int32
}

func start(t *testing.T, size int, r *res) (*Scheduler[*res], func()) {
	s := New(size, func() (*res, error) { return r, nil }, nil)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); s.Run(ctx) }()
	return s, func() { cancel(); wg.Wait() }
}

// Jobs of many steps are never interleaved, whatever the concurrency.
func TestNoInterleaving(t *testing.T) {
	r := &res{}
	s, stop := start(t, 1000, r)
	defer stop()
	var wg sync.WaitGroup
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			err := s.Do(context.Background(), func(ctx context.Context, r *res) error {
				if r.inJob.Add(1) != 1 {
					t.Error("two jobs at once")
				}
				for step := 0; step < 5; step++ {
					r.mu.Lock()
					r.log = append(r.log, i)
					r.mu.Unlock()
				}
				r.inJob.Add(-1)
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	if len(r.log) != 1000 {
		t.Fatalf("%d steps", len(r.log))
	}
	for i := 0; i < len(r.log); i += 5 {
		for k := 1; k < 5; k++ {
			if r.log[i+k] != r.log[i] {
				t.Fatalf("interleaved at %d: %v", i, r.log[i:i+5])
			}
		}
	}
}

// A full queue says so; a caller that leaves while queued is skipped; a
// started job runs to its end although its caller left.
func TestFullSkipAndRunToCompletion(t *testing.T) {
	r := &res{}
	s, stop := start(t, 1, r)
	defer stop()

	release := make(chan struct{})
	started := make(chan struct{})
	finished := make(chan error, 1)
	leaverCtx, leave := context.WithCancel(context.Background())
	go func() {
		// The running job; its caller leaves mid-job.
		err := s.Do(leaverCtx, func(ctx context.Context, r *res) error {
			close(started)
			<-release
			finished <- ctx.Err()
			return nil
		})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("leaving caller got %v", err)
		}
	}()
	<-started
	queuedCtx, cancelQueued := context.WithCancel(context.Background())
	ran := atomic.Bool{}
	queued := make(chan error, 1)
	go func() {
		queued <- s.Do(queuedCtx, func(ctx context.Context, r *res) error { ran.Store(true); return nil })
	}()
	// Wait until the second job is in the queue (depth 2), then the queue (size 1) is full.
	for s.Depth() != 2 {
		waitABit()
	}
	if err := s.Do(context.Background(), func(context.Context, *res) error { return nil }); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("third job: %v, want ErrQueueFull", err)
	}
	if err := s.TryDo(context.Background(), func(context.Context, *res) error { return nil }); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("TryDo while busy: %v", err)
	}
	leave()
	cancelQueued()
	if err := <-queued; !errors.Is(err, context.Canceled) {
		t.Fatalf("queued caller got %v", err)
	}
	close(release)
	if err := <-finished; err != nil {
		t.Fatalf("running job's context ended with its caller: %v", err)
	}
	// The queue drains; the skipped job never ran.
	for s.Depth() != 0 {
		waitABit()
	}
	if err := s.Do(context.Background(), func(context.Context, *res) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if ran.Load() {
		t.Fatal("a job whose caller left before it started ran")
	}
}

func TestResourceErrorAndStop(t *testing.T) {
	unavailable := errors.New("modem unavailable")
	s := New(4, func() (*res, error) { return nil, unavailable }, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	if err := s.Do(context.Background(), func(context.Context, *res) error { return nil }); !errors.Is(err, unavailable) {
		t.Fatalf("got %v", err)
	}
	cancel()
	<-done
	if err := s.Do(context.Background(), func(context.Context, *res) error { return nil }); !errors.Is(err, ErrStopped) {
		t.Fatalf("after stop: %v", err)
	}
}
