package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
)

// Group commit. Every write is a transaction fsynced before it returns
// (synchronous=FULL), and SQLite has one writer: with several modems'
// outbox workers, inbox sweeps and HTTP accepts writing at once, the
// fsyncs, not the work, would bound the api. So concurrent writes share
// one transaction: the first caller leads, runs every write queued by
// then, each in its own savepoint, and commits them with one fsync; the
// others wait for that commit. A write's result is exactly that of
// running it alone, in queue order: a write that fails is rolled back to
// its savepoint and the others go on; a commit that fails fails them all,
// and none is applied. No caller returns before its write is durable, and
// none returns an error for a write that was committed. When the leader's
// batch is done and more writes are queued, it hands the lead to the
// first of them, so that no caller serves others for long.

// maxBatch bounds the writes of one transaction.
const maxBatch = 64

type writeReq struct {
	ctx  context.Context
	what string
	f    func(tx *sql.Tx) error
	err  error
	done chan struct{} // closed once err is final
	lead chan struct{} // closed when this request's caller is to lead
}

type groupCommit struct {
	mu      sync.Mutex
	queue   []*writeReq
	leading bool
}

// write runs f in a write transaction, shared with the writes of other
// callers queued at the same time (see above).
func (s *Store) write(ctx context.Context, what string, f func(tx *sql.Tx) error) error {
	r := &writeReq{ctx: ctx, what: what, f: f, done: make(chan struct{}), lead: make(chan struct{})}
	g := &s.group
	g.mu.Lock()
	g.queue = append(g.queue, r)
	lead := !g.leading
	g.leading = true
	g.mu.Unlock()
	if !lead {
		// A queued write is never abandoned: once queued it is run (or
		// skipped if its context ended first) and its caller learns which.
		select {
		case <-r.done:
			return r.err
		case <-r.lead:
		}
	}
	g.mu.Lock()
	n := min(len(g.queue), maxBatch)
	batch := g.queue[:n:n]
	g.queue = g.queue[n:]
	g.mu.Unlock()
	s.runBatch(batch)
	g.mu.Lock()
	if len(g.queue) > 0 {
		close(g.queue[0].lead)
	} else {
		g.leading = false
	}
	g.mu.Unlock()
	<-r.done
	return r.err
}

// runBatch runs the writes in one transaction, each in a savepoint, and
// commits it; it sets every request's result and closes its done.
func (s *Store) runBatch(batch []*writeReq) {
	defer func() {
		for _, r := range batch {
			close(r.done)
		}
	}()
	failAll := func(format string, err error) {
		for _, r := range batch {
			r.err = fmt.Errorf("store: %s: "+format, r.what, err)
		}
	}
	// The transaction outlives any one caller's context: a caller whose
	// context ends makes only its own write fail.
	tx, err := s.w.BeginTx(context.Background(), nil)
	if err != nil {
		failAll("begin: %w", err)
		return
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if err := s.beginWrite(context.Background(), tx); err != nil {
		failAll("%w", err)
		return
	}
	applied := 0
	// A write alone in its transaction needs no savepoint: if it fails,
	// the transaction is rolled back whole (two statements fewer, two
	// round trips to PostgreSQL).
	alone := len(batch) == 1
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = fmt.Errorf("store: %s: %w", r.what, err)
			continue
		}
		if alone {
			if err := r.f(tx); err != nil {
				r.err = fmt.Errorf("store: %s: %w", r.what, err)
				return
			}
			applied++
			continue
		}
		if _, err := tx.Exec("SAVEPOINT w"); err != nil {
			failAll("savepoint: %w", err)
			return
		}
		if err := r.f(tx); err != nil {
			r.err = fmt.Errorf("store: %s: %w", r.what, err)
			// Undo this write alone. If the engine cannot (an error that
			// ended the whole transaction), nothing of the batch is applied.
			if _, rerr := tx.Exec("ROLLBACK TO w"); rerr != nil {
				failAll("rolled back with the writes of its transaction: %w", errors.Join(err, rerr))
				return
			}
		} else {
			applied++
		}
		if _, err := tx.Exec("RELEASE w"); err != nil {
			failAll("release: %w", err)
			return
		}
	}
	if applied == 0 {
		return // nothing to commit: the deferred rollback ends it
	}
	if err := tx.Commit(); err != nil {
		for _, r := range batch {
			if r.err == nil {
				r.err = fmt.Errorf("store: %s: commit: %w", r.what, err)
			}
		}
		return
	}
	s.changed.notify()
}
