// Package lease runs work only while this api instance holds a named
// lease of the store: with several instances on one database (cluster
// mode), a modem's relay session and outbox ("modem:<id>") and the
// cluster-wide singletons such as webhook delivery ("events") each run on
// one instance at a time.
//
// Hold acquires the lease, renews it every Renew for TTL, and runs the
// work under a context of its own while it holds it. It stops the work
// (cancels that context and waits for it to return) when a renewal says
// another instance holds the lease, or when no renewal has succeeded for
// TTL minus one Renew since it was sent, by the local monotonic clock:
// store.AcquireLease's rule that a holder stops acting before TTL has
// passed since it sent the last call that succeeded, with one Renew of
// margin for the work to wind down. It renews every Renew, or more often
// if TTL is less than three Renews, so that two renewals fit in that
// window: a renewal that fails is retried until then, and a single
// database hiccup does not drop a modem.
// Then it is standby again and tries to acquire the lease every Renew.
// When Hold's context ends it stops the work first and then releases the
// lease, so that a standby instance takes it over at its next attempt.
package lease

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
)

// Store is the part of *store.Store that Hold uses.
type Store interface {
	AcquireLease(ctx context.Context, name, holder, url string, ttl time.Duration) (store.Lease, bool, error)
	ReleaseLease(ctx context.Context, name, holder string) error
	GetLease(ctx context.Context, name string) (store.Lease, error)
}

// Config configures Hold.
type Config struct {
	Store Store
	// Name is the lease (store.LeaseName(id), "events"); Holder is this
	// instance (API_INSTANCE); URL is where the other instances reach it
	// (API_ADVERTISE_URL).
	Name, Holder, URL string
	// TTL is how long the lease outlives a renewal (API_LEASE_TTL);
	// Renew is the period of the renewals and of the standby's attempts
	// (the heartbeat), at most TTL/2.
	TTL, Renew time.Duration
	// What names the lease's work in the log: "modem at", "the event
	// delivery". Default: "lease <Name>".
	What   string
	Logger *slog.Logger
	// Observe, if not nil, is called in Hold's goroutine with every state
	// of the lease Hold learns: after each acquire or renewal that
	// succeeded, and when the work starts and after it stopped.
	Observe func(Status)
}

// Status is the lease as Hold last saw it.
type Status struct {
	// Lease is the lease as the store returned it: this instance's while
	// Held, else the holder's (Current false: nobody's now).
	Lease store.Lease
	// Held: the work runs on this instance.
	Held bool
	// Seen is when Lease was read (local clock; time.Time's monotonic
	// reading included).
	Seen time.Time
	// Previous is the holder before this instance took the lease ("" if
	// none, or not known); set while Held.
	Previous string
	// Lost says why the work stopped, in the Status that reports it
	// stopping ("" otherwise).
	Lost string
}

// Hold runs run while this instance holds the lease (see the package
// doc), as often as it takes the lease, until ctx ends; it returns when
// run has returned and the lease is released. run should return when its
// context ends; if it returns earlier the lease is still held (and
// renewed) until it is lost or ctx ends.
func Hold(ctx context.Context, c Config, run func(ctx context.Context)) {
	c.defaults()
	h := &holder{Config: c}
	h.standby(ctx, run)
}

func (c *Config) defaults() {
	if c.Renew <= 0 || c.Renew > c.TTL/2 {
		c.Renew = c.TTL / 3
	}
	if c.What == "" {
		c.What = "lease " + c.Name
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Observe == nil {
		c.Observe = func(Status) {}
	}
	c.Logger = c.Logger.With("lease", c.Name)
}

type holder struct {
	Config
	failing bool // the last attempt failed (logged once per streak)
}

// standby tries to take the lease every Renew and runs a term of work
// whenever it has it, until ctx ends.
func (h *holder) standby(ctx context.Context, run func(context.Context)) {
	prev := ""
	shown := "" // the other holder the log named last
	// Who held it before: for the log of the first take-over.
	{
		rctx, cancel := context.WithTimeout(ctx, h.TTL)
		if l, err := h.Store.GetLease(rctx, h.Name); err == nil {
			prev = l.Holder
			h.Observe(Status{Lease: l, Seen: time.Now()})
		}
		cancel()
	}
	for ctx.Err() == nil {
		sent := time.Now()
		rctx, cancel := context.WithTimeout(ctx, h.TTL)
		l, held, err := h.Store.AcquireLease(rctx, h.Name, h.Holder, h.URL, h.TTL)
		cancel()
		switch {
		case ctx.Err() != nil:
			if err == nil && held { // taken just as the shutdown began
				h.release(ctx)
			}
			return
		case err != nil:
			h.failed("cannot acquire the lease; retrying", err)
		case held:
			h.recovered()
			prev = h.term(ctx, l, sent, prev, run)
			shown = ""
			if ctx.Err() != nil {
				return
			}
		default:
			h.recovered()
			if l.Holder != shown {
				h.Logger.Info("standby: another instance has "+h.What, "holder", l.Holder, "url", l.URL, "token", l.Token)
				shown = l.Holder
			}
			prev = l.Holder
			h.Observe(Status{Lease: l, Seen: sent})
		}
		if !sleep(ctx, h.Renew) {
			return
		}
	}
}

// renewal is the outcome of one AcquireLease call sent at sent.
type renewal struct {
	sent  time.Time
	lease store.Lease
	held  bool
	err   error
}

// term runs the work while the lease taken at sent is held, until it is
// lost or ctx ends (then the lease is released). It returns the holder
// as far as it knows.
func (h *holder) term(ctx context.Context, l store.Lease, sent time.Time, prev string, run func(context.Context)) string {
	window := h.TTL - h.Renew // the work stops this long after the last renewal that succeeded was sent
	deadline := sent.Add(window)
	if prev == h.Holder {
		h.Logger.Info(fmt.Sprintf("took over %s (lease token %d, previous holder: this instance)", h.What, l.Token), "token", l.Token)
	} else {
		shown := prev
		if shown == "" {
			shown = "none"
		}
		h.Logger.Info(fmt.Sprintf("took over %s (lease token %d, previous holder %s)", h.What, l.Token, shown), "token", l.Token, "previous", prev)
	}
	h.Observe(Status{Lease: l, Held: true, Seen: sent, Previous: prev})

	tctx, stopWork := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); run(tctx) }()
	working := done // nil once run returned on its own

	results := make(chan renewal, 1)
	inflight := false
	every := time.NewTicker(min(h.Renew, window/2))
	defer every.Stop()
	expire := time.NewTimer(time.Until(deadline))
	defer expire.Stop()

	// stop ends the term: the work first, then the renewal in flight
	// (its context ends at the deadline, or with ctx). It reports, in one
	// Status, the loss and the lease as this instance now knows it: now,
	// read at seen.
	stop := func(why string, now store.Lease, seen time.Time) {
		stopWork()
		<-done
		if inflight {
			<-results
		}
		h.Observe(Status{Lease: now, Seen: seen, Previous: prev, Lost: why})
	}
	// lapsed is this instance's lease once it stopped: as far as it
	// knows, nobody drives the work now.
	lapsed := func() store.Lease { c := l; c.Current = false; return c }
	for {
		select {
		case <-ctx.Done():
			stop("shutting down", lapsed(), time.Now())
			h.release(ctx)
			h.Logger.Info("released " + h.What)
			return h.Holder
		case <-working:
			working = nil
			h.Logger.Warn(h.What + ": the work returned on its own; the lease is kept until it is lost or the api stops")
		case <-every.C:
			if inflight {
				continue // the last renewal has not answered yet; the deadline decides
			}
			inflight = true
			go func(d time.Time) {
				s := time.Now()
				rctx, cancel := context.WithDeadline(ctx, d)
				defer cancel()
				nl, held, err := h.Store.AcquireLease(rctx, h.Name, h.Holder, h.URL, h.TTL)
				results <- renewal{sent: s, lease: nl, held: held, err: err}
			}(deadline)
		case r := <-results:
			inflight = false
			switch {
			case r.err != nil:
				if ctx.Err() == nil {
					h.failed(fmt.Sprintf("cannot renew the lease; %s goes on until %v after the last renewal", h.What,
						window.Round(time.Millisecond)), r.err)
				}
			case !r.held:
				why := fmt.Sprintf("instance %s holds the lease (token %d)", r.lease.Holder, r.lease.Token)
				stop(why, r.lease, r.sent)
				h.Logger.Warn("lost "+h.What, "why", why, "holder", r.lease.Holder)
				return r.lease.Holder
			default:
				h.recovered()
				l, deadline = r.lease, r.sent.Add(window)
				expire.Reset(time.Until(deadline))
				h.Observe(Status{Lease: l, Held: true, Seen: r.sent, Previous: prev})
			}
		case <-expire.C:
			why := fmt.Sprintf("no renewal of the lease succeeded for %v", window.Round(time.Millisecond))
			stop(why, lapsed(), time.Now())
			h.Logger.Warn("lost "+h.What, "why", why)
			return h.Holder
		}
	}
}

// release gives the lease up after a shutdown, so that a standby takes
// it over at once; bounded by the TTL (it lapses by itself then anyway).
func (h *holder) release(ctx context.Context) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.TTL)
	defer cancel()
	if err := h.Store.ReleaseLease(rctx, h.Name, h.Holder); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		h.Logger.Warn("cannot release the lease; it lapses by itself", "ttl", h.TTL, "err", err)
	} else if err != nil {
		h.Logger.Warn("releasing the lease timed out; it lapses by itself", "ttl", h.TTL)
	}
}

// failed logs a failed attempt: the first of a streak as a warning.
func (h *holder) failed(msg string, err error) {
	if !h.failing {
		h.Logger.Warn(msg, "err", err)
	} else {
		h.Logger.Debug(msg, "err", err)
	}
	h.failing = true
}

func (h *holder) recovered() {
	if h.failing {
		h.Logger.Info("the lease's store answers again")
	}
	h.failing = false
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
