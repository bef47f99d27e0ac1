// Package scheduler owns the modem on behalf of all callers: every request
// becomes a job in one bounded FIFO queue, and one worker runs the jobs one
// at a time, each to its end, so that the commands of a multi-command job
// (an SMS of many parts) are never interleaved with another job's.
//
// A caller that gives up (its context ends) while its job waits is answered
// at once and the job is skipped: it never reaches the modem. Once a job has
// started it runs to completion with a context that the caller cannot
// cancel (only Run's context, at shutdown, ends it), so a caller that
// disconnects never leaves the modem mid-command.
package scheduler

import (
	"context"
	"errors"
	"sync/atomic"
)

var (
	// ErrQueueFull: the queue holds its maximum of waiting jobs.
	ErrQueueFull = errors.New("scheduler: queue full")
	// ErrStopped: the scheduler is not running (shut down).
	ErrStopped = errors.New("scheduler: stopped")
)

// Job is one unit of work on the resource R (the modem's AT engine).
type Job[R any] func(ctx context.Context, r R) error

type job[R any] struct {
	ctx  context.Context
	fn   Job[R]
	done chan error
}

// Scheduler runs jobs on R one at a time.
type Scheduler[R any] struct {
	queue   chan *job[R]
	get     func() (R, error)
	depth   atomic.Int64
	onDepth func(int)
	stopped chan struct{}
}

// New returns a scheduler whose queue holds up to size waiting jobs. get
// returns the resource for each job when it starts, or the error the job's
// caller gets instead (e.g. the modem is unavailable). onDepth, if not nil,
// is called with the number of jobs queued or running whenever it changes.
func New[R any](size int, get func() (R, error), onDepth func(int)) *Scheduler[R] {
	if onDepth == nil {
		onDepth = func(int) {}
	}
	return &Scheduler[R]{queue: make(chan *job[R], size), get: get, onDepth: onDepth, stopped: make(chan struct{})}
}

// Depth is the number of jobs queued or running.
func (s *Scheduler[R]) Depth() int { return int(s.depth.Load()) }

// Capacity is the most jobs that can wait.
func (s *Scheduler[R]) Capacity() int { return cap(s.queue) }

func (s *Scheduler[R]) add(n int64) { s.onDepth(int(s.depth.Add(n))) }

// Do queues fn and waits for its result. It returns ErrQueueFull at once
// if the queue is full, ErrStopped after shutdown, and ctx's error if ctx
// ends first (the job is then skipped if it has not started, and otherwise
// runs on to its end).
func (s *Scheduler[R]) Do(ctx context.Context, fn Job[R]) error {
	select {
	case <-s.stopped:
		return ErrStopped
	default:
	}
	j := &job[R]{ctx: ctx, fn: fn, done: make(chan error, 1)}
	s.add(1)
	select {
	case s.queue <- j:
	default:
		s.add(-1)
		return ErrQueueFull
	}
	select {
	case err := <-j.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-s.stopped:
		// Run answers every queued job before it returns; prefer that answer.
		select {
		case err := <-j.done:
			return err
		default:
			return ErrStopped
		}
	}
}

// TryDo is Do for background work (the poller): it queues fn only if the
// queue is empty, so that it never delays or crowds out callers' jobs.
func (s *Scheduler[R]) TryDo(ctx context.Context, fn Job[R]) error {
	if s.Depth() > 0 {
		return ErrQueueFull
	}
	return s.Do(ctx, fn)
}

// Run is the worker: it runs jobs until ctx ends, then answers the jobs
// still queued with ErrStopped.
func (s *Scheduler[R]) Run(ctx context.Context) {
	defer func() {
		close(s.stopped)
		for {
			select {
			case j := <-s.queue:
				j.done <- ErrStopped
				s.add(-1)
			default:
				return
			}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-s.queue:
			err := s.run(ctx, j)
			s.add(-1) // before the caller hears, so that Depth is 0 once every caller has its answer
			j.done <- err
		}
	}
}

func (s *Scheduler[R]) run(ctx context.Context, j *job[R]) error {
	if err := j.ctx.Err(); err != nil {
		return err // the caller left before the job started: skip it
	}
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
