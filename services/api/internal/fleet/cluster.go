package fleet

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sim-modem-api/sim-modem-api/services/api/internal/lease"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
)

// Cluster is how a fleet shares its modems with the other api instances
// of one database (config.Config's cluster settings). The zero value is a
// single instance: every unit runs all the time and no lease is written.
type Cluster struct {
	// On: several instances (API_DATABASE_URL); each unit drives its
	// modem only while it holds the lease store.LeaseName(id).
	On bool
	// Instance is this instance's name, URL where the others reach it.
	Instance, URL string
	// TTL is the leases' time to live; each unit renews its lease every
	// heartbeat of its modem entry.
	TTL time.Duration
}

// Ownership is a change of who drives a unit's modem, as this instance
// sees it (Unit.OnOwnership).
type Ownership struct {
	// Owned: this instance drives the modem from now on (false: no
	// longer).
	Owned bool
	// Lease is the modem's lease: this instance's while Owned.
	Lease store.Lease
	// Previous is the holder before this instance took it ("" none or
	// unknown; this instance's name for a lease taken back); set when
	// Owned.
	Previous string
	// Why the modem was lost, when not Owned.
	Why string
}

// TookOver reports whether this instance took the modem from another
// instance (the lease had another holder before).
func (o Ownership) TookOver() bool {
	return o.Owned && o.Previous != "" && o.Previous != o.Lease.Holder
}

// owner is a unit's view of its lease.
type owner struct {
	mu       sync.Mutex
	status   lease.Status // the lease as last seen (lease.Hold's Observe, GetLease)
	held     bool         // the unit's components run (cluster: a lease term)
	since    time.Time    // single instance: when Run started
	readAt   time.Time    // the last GetLease of Owner
	changed  chan struct{}
	onChange []func(Ownership)
}

// OnOwnership registers f to be called at every change of ownership of
// the modem: when this instance takes it and when it loses it (with one
// instance: once when Run starts and once when it ends). It runs in the
// goroutine that drives the unit; call OnOwnership before Run.
func (u *Unit) OnOwnership(f func(Ownership)) {
	u.own.mu.Lock()
	defer u.own.mu.Unlock()
	u.own.onChange = append(u.own.onChange, f)
}

// OwnerChanged returns a channel closed at the next change of ownership
// (then call it again).
func (u *Unit) OwnerChanged() <-chan struct{} {
	u.own.mu.Lock()
	defer u.own.mu.Unlock()
	if u.own.changed == nil {
		u.own.changed = make(chan struct{})
	}
	return u.own.changed
}

// Owned reports whether this instance drives the modem now (its relay
// session, scheduler, poller, inbox sweep and outbox worker run here).
func (u *Unit) Owned() bool {
	u.own.mu.Lock()
	defer u.own.mu.Unlock()
	return u.own.held
}

// Owner returns the modem's lease (who drives it, where it is reached,
// since when) and whether that is this instance. Lease.Current false: no
// instance drives it now. With one instance the lease is made up: this
// instance, since Run started. In cluster mode the lease is the one the
// unit's lease loop saw last, at most a heartbeat ago; when that is
// older (the store did not answer the loop) it is read from the store,
// at most once per heartbeat.
func (u *Unit) Owner(ctx context.Context) (store.Lease, bool, error) {
	name := store.LeaseName(u.ID())
	if !u.cluster.On {
		u.own.mu.Lock()
		defer u.own.mu.Unlock()
		return store.Lease{Name: name, Holder: u.cluster.Instance, URL: u.cluster.URL, Acquired: u.own.since,
			Renewed: u.own.since, Current: u.own.held}, u.own.held, nil
	}
	hb := u.Config.Heartbeat
	u.own.mu.Lock()
	st, held, readAt := u.own.status, u.own.held, u.own.readAt
	u.own.mu.Unlock()
	if time.Since(st.Seen) > 2*hb && time.Since(readAt) >= hb {
		u.own.mu.Lock()
		u.own.readAt = time.Now()
		u.own.mu.Unlock()
		seen := time.Now()
		l, err := u.store.GetLease(ctx, name)
		switch {
		case errors.Is(err, store.ErrNotFound):
			l, err = store.Lease{Name: name}, nil
		case err != nil:
			return store.Lease{Name: name}, false, fmt.Errorf("fleet: the owner of modem %s: %w", u.ID(), err)
		}
		u.own.mu.Lock()
		if u.own.status.Seen.Before(seen) {
			u.own.status = lease.Status{Lease: l, Held: u.own.held, Seen: seen}
		}
		st, held = u.own.status, u.own.held
		u.own.mu.Unlock()
	}
	l := st.Lease
	if l.Name == "" {
		l.Name = name
	}
	local := held && l.Holder == u.cluster.Instance
	if l.Holder == u.cluster.Instance && !held {
		l.Current = false // this instance does not drive it, whatever the store says: nobody does now
	}
	return l, local, nil
}

// observe is the lease loop's Observe.
func (u *Unit) observe(s lease.Status) {
	u.own.mu.Lock()
	was := u.own.held
	u.own.status, u.own.held = s, s.Held
	var notify []func(Ownership)
	if was != s.Held {
		if u.own.changed != nil {
			close(u.own.changed)
			u.own.changed = nil
		}
		notify = append(notify, u.own.onChange...)
	}
	u.own.mu.Unlock()
	for _, f := range notify {
		f(Ownership{Owned: s.Held, Lease: s.Lease, Previous: s.Previous, Why: s.Lost})
	}
}

// runLeased drives the modem while this instance holds its lease.
func (u *Unit) runLeased(ctx context.Context) {
	lease.Hold(ctx, lease.Config{
		Store: u.store, Name: store.LeaseName(u.ID()), Holder: u.cluster.Instance, URL: u.cluster.URL,
		TTL: u.cluster.TTL, Renew: u.Config.Heartbeat, What: "modem " + u.ID(), Logger: u.log, Observe: u.observe,
	}, u.term)
}

// term is one lease term: the components run until ctx ends (the lease
// was lost, or the api stops). Each runs again in the next term.
func (u *Unit) term(ctx context.Context) {
	u.Sched.Open()         // the components' first jobs are not refused as after the last term
	u.Outbox.Reconnected() // the previous owner may have left copies: reconcile before the first send
	u.runComponents(ctx)
}

// watchOutbox wakes the outbox workers of the units this instance drives
// after another instance's commit appended an event (a message accepted
// there, or returned to the queue), until ctx ends: the local accept path
// kicks them itself (Kick), a remote one cannot. Every commit of the
// cluster wakes it; it reads the event log's last seq and kicks when the
// seq moved, and once more at the next commit, because a seq is taken
// before its transaction commits (the claim may not see the message yet).
func (f *Fleet) watchOutbox(ctx context.Context) {
	var last int64 = -1
	moved := false
	for {
		ch := f.store.EventsChanged() // before reading: no commit is missed
		seq, err := f.store.LastEventSeq(ctx)
		now := err == nil && last >= 0 && seq != last
		if now || moved {
			for _, u := range f.units {
				if u.Owned() {
					u.Outbox.Kick()
				}
			}
		}
		moved = now
		if err == nil {
			last = seq
		}
		select {
		case <-ctx.Done():
			return
		case <-ch:
		}
	}
}
