// Package instancelock makes sure that no two running api processes of a
// cluster share one instance name (API_INSTANCE). The leases that say
// which instance drives which modem name the instance, so two processes
// with the same name (two Raspberry Pis both called raspberrypi, whose
// name is the default) would each think they hold every lease of that
// name, and both drive the same modems.
//
// Take holds the name with the store's instance lock (a PostgreSQL session
// lock, store.TryLockInstance) before the api drives anything; a second
// process with the same name waits up to Wait for the lock to go, as it
// does when the first one has just died, and then refuses to start.
// Keep checks the lock's session with the heartbeat, takes the lock again
// on a new session when that one was lost (a database restart), and
// reports the name lost, for the api to stop, when another process holds
// it by then.
package instancelock

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
)

// ErrInUse says another running api holds the instance name.
var ErrInUse = errors.New("another running api uses this instance name")

// Store is the part of *store.Store the lock uses.
type Store interface {
	TryLockInstance(ctx context.Context, name string) (*store.InstanceLock, string, error)
}

// Config configures Take.
type Config struct {
	Store Store
	// Name is the instance name (API_INSTANCE).
	Name string
	// Wait is how long the lock held by another session may take to go
	// before the name counts as in use: at the start, and after this
	// process lost its session. It covers a process that has just died
	// (the server ends its session at once) and a host that died (the
	// server's keepalive gives up on it after about 10 s). Default 15 s.
	Wait time.Duration
	// Check is the period of the session checks (the heartbeat); the
	// attempts to take the lock come every 200 ms, or every Check if that
	// is shorter. Default 2 s.
	Check  time.Duration
	Logger *slog.Logger
}

// takeRetry is the longest pause between two attempts to take the lock.
const takeRetry = 200 * time.Millisecond

// Default values of Config.
const (
	DefaultWait  = 15 * time.Second
	DefaultCheck = 2 * time.Second
)

// Lock is this process's hold on its instance name.
type Lock struct {
	c    Config
	held *store.InstanceLock // nil while the lock is being taken again

	mu   sync.Mutex
	err  error
	lost chan struct{}
}

// Take takes the instance lock of c.Name, waiting up to c.Wait while
// another session holds it; then it fails with ErrInUse, naming the other
// session. It fails at once on an error of the store.
func Take(ctx context.Context, c Config) (*Lock, error) {
	if c.Wait <= 0 {
		c.Wait = DefaultWait
	}
	if c.Check <= 0 {
		c.Check = DefaultCheck
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	l := &Lock{c: c, lost: make(chan struct{})}
	held, err := l.take(ctx, true)
	if err != nil {
		return nil, err
	}
	l.held = held
	return l, nil
}

// take tries to take the lock every takeRetry (or Check, if shorter)
// until it has it, or another session has held it for Wait (ErrInUse), or
// ctx ends; at the start (first) a store error ends it at once, later it
// is retried.
func (l *Lock) take(ctx context.Context, first bool) (*store.InstanceLock, error) {
	var since time.Time // when another session was first seen holding it
	failing := false
	for {
		held, holder, err := l.c.Store.TryLockInstance(ctx, l.c.Name)
		switch {
		case err != nil && first:
			return nil, fmt.Errorf("instance %q: %w", l.c.Name, err)
		case err != nil:
			if !failing {
				l.c.Logger.Warn("cannot take the instance lock again; retrying", "instance", l.c.Name, "err", err)
			}
			failing, since = true, time.Time{}
		case held != nil:
			return held, nil
		case since.IsZero():
			since = time.Now()
			l.c.Logger.Warn(fmt.Sprintf("instance %q is held by %s; waiting up to %v for it to go (a process of this name that just stopped)",
				l.c.Name, holder, l.c.Wait), "instance", l.c.Name)
		case time.Since(since) >= l.c.Wait:
			return nil, fmt.Errorf("%w: instance %q is held by %s: give each api instance its own API_INSTANCE "+
				"(its default is the hostname: two hosts with the same hostname, such as two Raspberry Pis called raspberrypi, collide)",
				ErrInUse, l.c.Name, holder)
		}
		// Soon again: a process of this name that has just died frees the
		// lock within milliseconds, and its restart should not wait a
		// heartbeat for it.
		t := time.NewTimer(min(l.c.Check, l.c.Wait/4, takeRetry))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("instance %q: %w", l.c.Name, ctx.Err())
		case <-t.C:
		}
	}
}

// Keep checks the lock's session every Check until ctx ends, then
// releases the lock. A session that is gone is replaced: the lock is
// taken again on a new one. If another process holds the name by then
// (ErrInUse), Lost is closed, Err says why, and Keep returns.
func (l *Lock) Keep(ctx context.Context) {
	tick := time.NewTicker(l.c.Check)
	defer tick.Stop()
	defer func() {
		if l.held != nil {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := l.held.Unlock(rctx); err != nil {
				l.c.Logger.Warn("releasing the instance lock; it goes with its session", "err", err)
			}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		// A generous bound: a slow answer on a loaded database is not a
		// lost session, and replacing a healthy one opens a gap.
		cctx, cancel := context.WithTimeout(ctx, max(2*l.c.Check, 5*time.Second))
		err := l.held.Check(cctx)
		cancel()
		if err == nil || ctx.Err() != nil {
			continue
		}
		l.c.Logger.Warn("the instance lock's session is gone; taking the lock again", "instance", l.c.Name, "err", err)
		_ = l.held.Unlock(context.WithoutCancel(ctx)) // the connection is broken: closing it frees it
		l.held = nil
		held, err := l.take(ctx, false)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			l.mu.Lock()
			l.err = err
			l.mu.Unlock()
			close(l.lost)
			return
		}
		l.held = held
		l.c.Logger.Info("took the instance lock again", "instance", l.c.Name)
	}
}

// Lost is closed when another process took the instance name (Err).
func (l *Lock) Lost() <-chan struct{} { return l.lost }

// Err says why the name was lost; nil while it is held.
func (l *Lock) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}
