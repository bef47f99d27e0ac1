// Package scheduler owns the modem on behalf of all callers: every request
// becomes a job of a class (send, operation, read), each class has its own
// bounded queue, and one worker runs the jobs one at a time, each to its
// end, so that the commands of a multi-command job (an SMS of many parts)
// are never interleaved with another job's.
//
// The worker takes the oldest job of the most important class that has one
// waiting (send before operation before read), except that a class passed
// over Patience times in a row while it had a job waiting goes next. So
// reads never crowd out sends (a full read queue refuses reads only), and
// a busy send queue delays a read by at most one job of each other class:
// between two messages, other classes' jobs run.
//
// A caller that gives up (its context ends) while its job waits is answered
// at once and the job leaves the queue: it never reaches the modem. Once a
// job has started it runs to completion with a context that the caller
// cannot cancel (only Run's context, at shutdown, ends it), so a caller
// that disconnects never leaves the modem mid-command; that caller gets
// ErrStillRunning.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
)

var (
	// ErrQueueFull: the job's class queue holds its maximum of waiting jobs.
	ErrQueueFull = errors.New("scheduler: queue full")
	// ErrStopped: the scheduler is not running (shut down).
	ErrStopped = errors.New("scheduler: stopped")
	// ErrStillRunning wraps the caller's context error when the caller's
	// wait ended after its job had started: the job runs on to its end,
	// so its outcome is not known to the caller.
	ErrStillRunning = errors.New("scheduler: the job is still running")
)

// Class is a job's class; a lower value is more important.
type Class int

// The classes, most important first.
const (
	// Send: sending SMS (and later the outbox and the inbox sweep).
	Send Class = iota
	// Operation: USSD, PIN entry, raw AT commands.
	Operation
	// Read: reads of modem state (the original's /info/*, status polls).
	Read
	numClasses
)

// Classes are all classes, most important first.
var Classes = []Class{Send, Operation, Read}

func (c Class) String() string {
	switch c {
	case Send:
		return "send"
	case Operation:
		return "operation"
	case Read:
		return "read"
	}
	return fmt.Sprintf("class(%d)", int(c))
}

// Patience is how many times in a row a class with a job waiting may be
// passed over for a more important one before it goes next.
const Patience = 1

// Job is one unit of work on the resource R (the modem's AT engine).
type Job[R any] func(ctx context.Context, r R) error

type job[R any] struct {
	ctx     context.Context
	fn      Job[R]
	class   Class
	done    chan error
	started bool // guarded by Scheduler.mu
}

// Scheduler runs jobs on R one at a time.
type Scheduler[R any] struct {
	size    int
	get     func() (R, error)
	onDepth func(int)
	onClass func(Class, int)

	mu     sync.Mutex
	queues [numClasses][]*job[R]
	passed [numClasses]int
	closed bool
	wake   chan struct{}
	depth  atomic.Int64
}

// Option configures a Scheduler.
type Option func(*options)

type options struct{ onClass func(Class, int) }

// WithClassDepth calls f with a class and the number of its jobs waiting
// whenever that changes (for metrics).
func WithClassDepth(f func(Class, int)) Option { return func(o *options) { o.onClass = f } }

// New returns a scheduler whose class queues hold up to size waiting jobs
// each. get returns the resource for each job when it starts, or the
// error the job's caller gets instead (e.g. the modem is unavailable).
// onDepth, if not nil, is called with the number of jobs queued or running
// whenever it changes.
func New[R any](size int, get func() (R, error), onDepth func(int), opts ...Option) *Scheduler[R] {
	var o options
	for _, f := range opts {
		f(&o)
	}
	if onDepth == nil {
		onDepth = func(int) {}
	}
	if o.onClass == nil {
		o.onClass = func(Class, int) {}
	}
	return &Scheduler[R]{size: max(size, 1), get: get, onDepth: onDepth, onClass: o.onClass,
		wake: make(chan struct{}, 1)}
}

// Depth is the number of jobs queued or running.
func (s *Scheduler[R]) Depth() int { return int(s.depth.Load()) }

// Capacity is the most jobs that can wait in each class.
func (s *Scheduler[R]) Capacity() int { return s.size }

// Waiting is the number of jobs of class c waiting.
func (s *Scheduler[R]) Waiting(c Class) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queues[c])
}

func (s *Scheduler[R]) add(n int64) { s.onDepth(int(s.depth.Add(n))) }

// Do runs fn as an Operation job; see DoClass.
func (s *Scheduler[R]) Do(ctx context.Context, fn Job[R]) error {
	return s.DoClass(ctx, Operation, fn)
}

// DoClass queues fn in class c and waits for its result. It returns
// ErrQueueFull at once if c's queue is full, ErrStopped after shutdown,
// and, if ctx ends first, ctx's error: as it is if the job had not started
// (it is then dropped), wrapped in ErrStillRunning if it had (it runs on
// to its end).
func (s *Scheduler[R]) DoClass(ctx context.Context, c Class, fn Job[R]) error {
	if c < 0 || c >= numClasses {
		return fmt.Errorf("scheduler: unknown job class %d", int(c))
	}
	j := &job[R]{ctx: ctx, fn: fn, class: c, done: make(chan error, 1)}
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return ErrStopped
	case len(s.queues[c]) >= s.size:
		s.mu.Unlock()
		return ErrQueueFull
	}
	s.queues[c] = append(s.queues[c], j)
	n := len(s.queues[c])
	s.add(1)
	s.mu.Unlock()
	s.onClass(c, n)
	select {
	case s.wake <- struct{}{}:
	default:
	}

	select {
	case err := <-j.done:
		return err
	case <-ctx.Done():
	}
	s.mu.Lock()
	if !j.started {
		if i := slices.Index(s.queues[c], j); i >= 0 {
			s.queues[c] = slices.Delete(s.queues[c], i, i+1)
			n := len(s.queues[c])
			s.add(-1)
			s.mu.Unlock()
			s.onClass(c, n)
			return ctx.Err()
		}
		// Not queued and not started: Run answered it at shutdown.
		s.mu.Unlock()
		return <-j.done
	}
	s.mu.Unlock()
	select {
	case err := <-j.done: // it finished meanwhile
		return err
	default:
		return fmt.Errorf("%w: %w", ErrStillRunning, ctx.Err())
	}
}

// TryDo is DoClass(Read) for background work (the poller): it queues fn
// only if no job is queued or running, so that it never delays or crowds
// out callers' jobs.
func (s *Scheduler[R]) TryDo(ctx context.Context, fn Job[R]) error {
	if s.Depth() > 0 {
		return ErrQueueFull
	}
	return s.DoClass(ctx, Read, fn)
}

// nextLocked takes the job to run now, or nil if none waits. s.mu is held.
func (s *Scheduler[R]) nextLocked() *job[R] {
	pick := Class(-1)
	for _, c := range Classes {
		if len(s.queues[c]) > 0 && s.passed[c] >= Patience {
			pick = c // the most important class that ran out of patience
			break
		}
	}
	if pick < 0 {
		for _, c := range Classes {
			if len(s.queues[c]) > 0 {
				pick = c
				break
			}
		}
	}
	if pick < 0 {
		return nil
	}
	for _, c := range Classes {
		if c != pick && len(s.queues[c]) > 0 {
			s.passed[c]++
		}
	}
	s.passed[pick] = 0
	j := s.queues[pick][0]
	s.queues[pick] = slices.Delete(s.queues[pick], 0, 1)
	j.started = true
	return j
}

// Open makes a scheduler that Run stopped queue jobs again, for the next
// Run (which opens it too): call it before starting what submits jobs at
// once, so that none of them is refused with ErrStopped meanwhile.
func (s *Scheduler[R]) Open() {
	s.mu.Lock()
	s.closed = false
	s.mu.Unlock()
}

// Run is the worker: it runs jobs until ctx ends, then answers the jobs
// still queued with ErrStopped, as it does every job until it is opened
// again (Open, Run). One Run at a time: an api instance that drives the
// modem only while it holds its lease runs the scheduler once per lease
// term.
func (s *Scheduler[R]) Run(ctx context.Context) {
	s.Open()
	defer func() {
		s.mu.Lock()
		s.closed = true
		var left []*job[R]
		for _, c := range Classes {
			left = append(left, s.queues[c]...)
			s.queues[c] = nil
		}
		s.mu.Unlock()
		for _, j := range left {
			s.add(-1)
			s.onClass(j.class, 0)
			j.done <- ErrStopped
		}
	}()
	for {
		s.mu.Lock()
		j := s.nextLocked()
		var n int
		var left error
		if j != nil {
			n = len(s.queues[j.class])
			if left = j.ctx.Err(); left != nil {
				j.started = false // the caller left just as the job was taken: skip it
			}
		}
		s.mu.Unlock()
		if j == nil {
			select {
			case <-ctx.Done():
				return
			case <-s.wake:
			}
			continue
		}
		s.onClass(j.class, n)
		err := left
		if err == nil {
			err = s.run(ctx, j)
		}
		s.add(-1) // before the caller hears, so that Depth is 0 once every caller has its answer
		j.done <- err
		if ctx.Err() != nil {
			return
		}
	}
}

func (s *Scheduler[R]) run(ctx context.Context, j *job[R]) error {
	r, err := s.get()
	if err != nil {
		return err
	}
	// The job keeps the caller's values (trace ids) but not its
	// cancellation; it ends early only at shutdown.
	jctx, cancel := context.WithCancel(context.WithoutCancel(j.ctx))
	stop := context.AfterFunc(ctx, cancel)
	defer func() {
		stop()
		cancel()
	}()
	return j.fn(jctx, r)
}
