package scheduler

import (
	"context"
	"errors"
	"fmt"
	"slices"
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

func start(t testing.TB, size int, r *res) (*Scheduler[*res], func()) {
	s := New(size, func() (*res, error) { return r, nil }, nil)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); s.Run(ctx) }()
	return s, func() { cancel(); wg.Wait() }
}

// block occupies the worker until the returned function is called.
func block(t *testing.T, s *Scheduler[*res]) (release func()) {
	t.Helper()
	started, rel, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- s.DoClass(context.Background(), Send, func(context.Context, *res) error {
			close(started)
			<-rel
			return nil
		})
	}()
	<-started
	return func() {
		close(rel)
		if err := <-done; err != nil {
			t.Errorf("blocking job: %v", err)
		}
	}
}

// Jobs of many steps are never interleaved, whatever the concurrency and
// the classes.
func TestNoInterleaving(t *testing.T) {
	r := &res{}
	s, stop := start(t, 1000, r)
	defer stop()
	var wg sync.WaitGroup
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			err := s.DoClass(context.Background(), Classes[i%len(Classes)], func(ctx context.Context, r *res) error {
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

// A full queue refuses only its own class; a caller that leaves while
// queued is dropped; a started job runs to its end although its caller
// left, and that caller hears that the job is still running.
func TestFullSkipAndRunToCompletion(t *testing.T) {
	r := &res{}
	s, stop := start(t, 1, r)
	defer stop()

	release := make(chan struct{})
	started := make(chan struct{})
	finished := make(chan error, 1)
	leaverCtx, leave := context.WithCancel(context.Background())
	leaver := make(chan error, 1)
	go func() {
		// The running job; its caller leaves mid-job.
		leaver <- s.DoClass(leaverCtx, Send, func(ctx context.Context, r *res) error {
			close(started)
			<-release
			finished <- ctx.Err()
			return nil
		})
	}()
	<-started
	queuedCtx, cancelQueued := context.WithCancel(context.Background())
	ran := atomic.Bool{}
	queued := make(chan error, 1)
	go func() {
		queued <- s.DoClass(queuedCtx, Read, func(ctx context.Context, r *res) error { ran.Store(true); return nil })
	}()
	for s.Waiting(Read) != 1 {
		waitABit()
	}
	if err := s.DoClass(context.Background(), Read, func(context.Context, *res) error { return nil }); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("second read: %v, want ErrQueueFull", err)
	}
	if err := s.TryDo(context.Background(), func(context.Context, *res) error { return nil }); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("TryDo while busy: %v", err)
	}
	// The send queue is not full: a send waits its turn.
	sendDone := make(chan error, 1)
	go func() {
		sendDone <- s.DoClass(context.Background(), Send, func(context.Context, *res) error { return nil })
	}()
	for s.Waiting(Send) != 1 {
		waitABit()
	}
	leave()
	if err := <-leaver; !errors.Is(err, ErrStillRunning) || !errors.Is(err, context.Canceled) {
		t.Fatalf("caller that left its running job got %v, want ErrStillRunning wrapping context.Canceled", err)
	}
	cancelQueued()
	if err := <-queued; !errors.Is(err, context.Canceled) || errors.Is(err, ErrStillRunning) {
		t.Fatalf("queued caller got %v", err)
	}
	if n := s.Waiting(Read); n != 0 {
		t.Fatalf("the left job still waits: %d", n)
	}
	close(release)
	if err := <-finished; err != nil {
		t.Fatalf("running job's context ended with its caller: %v", err)
	}
	if err := <-sendDone; err != nil {
		t.Fatal(err)
	}
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

// The order of the case: reads and operations wait while sends
// are busy, but a class passed over Patience times goes next, so a read
// waits for at most one job of each other class.
func TestClassOrderAndPatience(t *testing.T) {
	r := &res{}
	s, stop := start(t, 10, r)
	defer stop()
	release := block(t, s)
	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	enqueue := func(c Class, name string) {
		want := s.Waiting(c) + 1
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.DoClass(context.Background(), c, func(context.Context, *res) error {
				mu.Lock()
				order = append(order, name)
				mu.Unlock()
				return nil
			}); err != nil {
				t.Error(err)
			}
		}()
		for s.Waiting(c) != want {
			waitABit()
		}
	}
	for _, j := range []struct {
		c    Class
		name string
	}{{Read, "R1"}, {Read, "R2"}, {Operation, "O1"}, {Send, "S1"}, {Send, "S2"}, {Send, "S3"}} {
		enqueue(j.c, j.name)
	}
	release()
	wg.Wait()
	want := []string{"S1", "O1", "S2", "R1", "S3", "R2"}
	if !slices.Equal(order, want) {
		t.Fatalf("order %v, want %v", order, want)
	}
}

// 200 readers fill the read queue; every send is still accepted and run.
func TestReadsNeverRefuseSends(t *testing.T) {
	r := &res{}
	s, stop := start(t, 8, r)
	defer stop()
	release := block(t, s)
	var refusedReads, refusedSends atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.DoClass(context.Background(), Read, func(context.Context, *res) error { return nil }); errors.Is(err, ErrQueueFull) {
				refusedReads.Add(1)
			}
		}()
	}
	for s.Waiting(Read) != 8 {
		waitABit()
	}
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.DoClass(context.Background(), Send, func(context.Context, *res) error { return nil }); err != nil {
				refusedSends.Add(1)
				t.Errorf("send: %v", err)
			}
		}()
	}
	for s.Waiting(Send) != 4 {
		waitABit()
	}
	release()
	wg.Wait()
	if refusedSends.Load() != 0 || refusedReads.Load() == 0 {
		t.Fatalf("refused: %d sends, %d reads", refusedSends.Load(), refusedReads.Load())
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
	if err := s.DoClass(context.Background(), numClasses, func(context.Context, *res) error { return nil }); err == nil {
		t.Fatal("an unknown class was accepted")
	}
}

// Run again after a stop takes jobs again (Open queues them before Run
// starts): between the two runs every job is answered ErrStopped at once.
func TestRunAgainAfterStop(t *testing.T) {
	r := &res{}
	s := New(4, func() (*res, error) { return r, nil }, nil)
	ran := 0
	job := func(context.Context, *res) error { ran++; return nil }
	for term := range 3 {
		s.Open()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { s.Run(ctx); close(done) }()
		if err := s.Do(context.Background(), job); err != nil {
			t.Fatalf("term %d: %v", term, err)
		}
		cancel()
		<-done
		if err := s.Do(context.Background(), job); !errors.Is(err, ErrStopped) {
			t.Fatalf("after term %d: %v", term, err)
		}
	}
	if ran != 3 || s.Depth() != 0 {
		t.Fatalf("ran %d jobs, depth %d", ran, s.Depth())
	}
}

// Jobs still queued at shutdown are answered ErrStopped and never run.
func TestStopAnswersQueued(t *testing.T) {
	r := &res{}
	s := New(4, func() (*res, error) { return r, nil }, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	started, rel := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- s.DoClass(context.Background(), Send, func(ctx context.Context, r *res) error {
			close(started)
			<-rel
			return nil
		})
	}()
	<-started
	queued := make(chan error, 1)
	go func() {
		queued <- s.DoClass(context.Background(), Read, func(context.Context, *res) error { t.Error("ran after shutdown"); return nil })
	}()
	for s.Waiting(Read) != 1 {
		waitABit()
	}
	cancel()
	close(rel)
	<-done
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-queued; !errors.Is(err, ErrStopped) {
		t.Fatalf("queued at shutdown: %v", err)
	}
	if s.Depth() != 0 {
		t.Fatalf("depth %d after shutdown", s.Depth())
	}
}

// BenchmarkDoClass measures the scheduler's own cost per job: many
// callers of all classes, empty jobs.
func BenchmarkDoClass(b *testing.B) {
	for _, callers := range []int{1, 16, 256} {
		b.Run(fmt.Sprintf("callers_per_cpu=%d", callers), func(b *testing.B) {
			r := &res{}
			s, stop := start(b, 1<<20, r)
			defer stop()
			b.SetParallelism(callers)
			var i atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					c := Classes[int(i.Add(1))%len(Classes)]
					if err := s.DoClass(context.Background(), c, func(context.Context, *res) error { return nil }); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
