// Package coalesce merges identical concurrent calls into one: the first
// caller for a key starts the work, and callers for the same key that come
// while it runs wait for it and share its result (singleflight). The api
// answers the original's /info/* reads this way, so that any number of
// concurrent identical reads cost one modem command.
//
// Unlike golang.org/x/sync/singleflight, a caller that leaves does not
// cancel the work for the others: the work's context ends only when every
// waiting caller has left.
package coalesce

import (
	"context"
	"sync"
)

// Group coalesces calls by key. The zero value is ready to use.
type Group[T any] struct {
	mu    sync.Mutex
	calls map[string]*call[T]
}

type call[T any] struct {
	done    chan struct{}
	val     T
	err     error
	waiters int
	cancel  context.CancelFunc
}

// Do returns the result of fn for key: of a call already in flight for
// key, if any (shared is then true), else of a new one. fn runs in its own
// goroutine with a context that keeps ctx's values and ends when every
// caller waiting for it has left; Do returns ctx's error if ctx ends first.
func (g *Group[T]) Do(ctx context.Context, key string, fn func(context.Context) (T, error)) (v T, shared bool, err error) {
	g.mu.Lock()
	if g.calls == nil {
		g.calls = map[string]*call[T]{}
	}
	c, shared := g.calls[key]
	if !shared {
		cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		c = &call[T]{done: make(chan struct{}), cancel: cancel}
		g.calls[key] = c
		go func() {
			defer cancel()
			v, err := fn(cctx)
			g.mu.Lock()
			c.val, c.err = v, err
			if g.calls[key] == c {
				delete(g.calls, key)
			}
			g.mu.Unlock()
			close(c.done)
		}()
	}
	c.waiters++
	g.mu.Unlock()

	select {
	case <-c.done:
		return c.val, shared, c.err
	case <-ctx.Done():
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	c.waiters--
	if c.waiters == 0 {
		c.cancel()
		if g.calls[key] == c {
			delete(g.calls, key) // the next caller starts afresh
		}
	}
	var zero T
	return zero, shared, ctx.Err()
}
