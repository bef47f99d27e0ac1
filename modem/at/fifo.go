package at

import (
	"context"
	"sync"
)

// fifo is a lock that is granted strictly in the order it was asked for:
// concurrent commands run one at a time, first come first served. A
// waiter whose context ends leaves the queue.
type fifo struct {
	mu      sync.Mutex
	busy    bool
	waiters []chan struct{}
}

// acquire takes the lock, waiting behind earlier callers. It fails with
// ctx's error or errStop if stop closes first.
func (f *fifo) acquire(ctx context.Context, stop <-chan struct{}) error {
	f.mu.Lock()
	if !f.busy {
		f.busy = true
		f.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	f.waiters = append(f.waiters, ch)
	f.mu.Unlock()

	var err error
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-stop:
		err = ErrClosed
	}
	f.mu.Lock()
	for i, w := range f.waiters {
		if w == ch {
			f.waiters = append(f.waiters[:i], f.waiters[i+1:]...)
			f.mu.Unlock()
			return err
		}
	}
	f.mu.Unlock()
	// Not in the queue any more: the lock was handed over meanwhile.
	f.release()
	return err
}

// release hands the lock to the longest waiter, or frees it.
func (f *fifo) release() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.waiters) == 0 {
		f.busy = false
		return
	}
	ch := f.waiters[0]
	f.waiters = f.waiters[1:]
	close(ch)
}
