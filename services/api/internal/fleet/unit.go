// Package fleet is the api's set of modems. A Unit is one modem entry of
// the configuration with everything that drives it: the relay session
// (heartbeat, init), the scheduler of its modem jobs, the status poller,
// its operations, the tracker of its identity in the store, its outbox
// worker, its inbox sweep, its events and its metrics. A Fleet holds the
// units, routes outbound messages among them (Route) and tells which are
// eligible to send. main builds one Fleet from the configuration and runs
// it; the HTTP layer reaches a modem through it.
//
// With several api instances on one database (Cluster, API_DATABASE_URL)
// a unit drives its modem only while this instance holds the modem's
// lease (package lease): its components run for each lease term and stop
// when the lease is lost or the api stops; meanwhile it is standby and
// neither claims a message nor talks to the modem. Owner tells who drives
// it, OnOwnership and OwnerChanged when that changes.
package fleet

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/at"
	"github.com/sim-modem-api/sim-modem-api/modem/modemops"
	"github.com/sim-modem-api/sim-modem-api/modem/poller"
	"github.com/sim-modem-api/sim-modem-api/modem/relayconn"
	"github.com/sim-modem-api/sim-modem-api/modem/scheduler"
	"github.com/sim-modem-api/sim-modem-api/modem/urc"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/config"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/inbox"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/lease"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/metrics"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/modemevents"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/modemid"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/outbox"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
)

// Settings are what the units of a fleet share: the api-wide settings of
// config.Config that are not per modem entry.
type Settings struct {
	CommandTimeout, SMSTimeout, USSDTimeout time.Duration
	PollInterval                            time.Duration
	QueueSize, MaxParts                     int
	ReconnectMin, ReconnectMax              time.Duration
	RetryMin, RetryMax, RetryMaxAge         time.Duration
	InboxSweep                              time.Duration
	// Trace logs every AT exchange (debug level).
	Trace bool
}

// SettingsOf takes the shared settings from the configuration.
func SettingsOf(c *config.Config) Settings {
	return Settings{CommandTimeout: c.CommandTimeout, SMSTimeout: c.SMSTimeout, USSDTimeout: c.USSDTimeout,
		PollInterval: c.PollInterval, QueueSize: c.QueueSize, MaxParts: c.MaxParts,
		ReconnectMin: c.ReconnectMin, ReconnectMax: c.ReconnectMax,
		RetryMin: c.RetryMin, RetryMax: c.RetryMax, RetryMaxAge: c.RetryMaxAge, InboxSweep: c.InboxSweep,
		Trace: c.LogLevel == "debug"}
}

// Unit is one modem and what drives it.
type Unit struct {
	// Config is the modem entry.
	Config config.Modem
	// Ops are its operations (its SMSC, timeouts).
	Ops *modemops.Ops
	// Session is its relay session.
	Session *relayconn.Session
	// Sched runs its modem jobs.
	Sched *scheduler.Scheduler[modemops.AT]
	// Poller keeps its status snapshot.
	Poller *poller.Poller
	// Identity tracks its SIM's row in the store.
	Identity *modemid.Tracker
	// Outbox sends the messages it claims; Inbox sweeps what it received.
	Outbox *outbox.Worker
	Inbox  *inbox.Sweeper
	// Metrics are its instruments (label modem=<id>).
	Metrics *metrics.Modem

	events  *modemevents.Recorder
	store   *store.Store
	log     *slog.Logger
	cluster Cluster
	own     owner
}

// ID is the configured id of the modem entry.
func (u *Unit) ID() string { return u.Config.ID }

// newUnit builds the unit of one modem entry; eligible (nil with one
// modem) is the fleet's rule for its outbox.
func newUnit(mc config.Modem, s Settings, cl Cluster, st *store.Store, m *metrics.Metrics, log *slog.Logger, failover bool, eligible func(*Unit) string) *Unit {
	log = log.With("modem", mc.ID)
	u := &Unit{Config: mc, store: st, log: log, cluster: cl}
	u.Ops = modemops.New(modemops.Config{
		SMSC: mc.SMSC, CommandTimeout: s.CommandTimeout, SMSTimeout: s.SMSTimeout,
		USSDTimeout: s.USSDTimeout, Logger: log, MaxParts: s.MaxParts,
	})
	u.Metrics = m.Modem(mc.ID, func() *poller.Snapshot { return u.Poller.Snapshot() })
	u.events = modemevents.New(st, mc.ID, log)
	u.Identity = modemid.New(st, u.Ops, mc.ID)

	disp := urc.New(log, u.Metrics.URC)
	disp.Subscribe("+CUSD", u.Ops.HandleURC)
	disp.Subscribe("", u.Ops.HandleURC)                                          // the continuation lines of a multi-line USSD text
	disp.Subscribe("+CMTI", func(x at.URC) bool { return u.Inbox.HandleURC(x) }) // an SMS was stored: sweep
	disp.Subscribe("+CDSI", func(x at.URC) bool { return u.Inbox.HandleURC(x) }) // a status report was stored: sweep

	engineOpts := []at.Option{at.WithTimeout(s.CommandTimeout), at.WithSMSTimeout(s.SMSTimeout), at.WithObserver(u.Metrics.ObserveAT)}
	if s.Trace {
		engineOpts = append(engineOpts, at.WithTraceFunc(at.LoggerTrace(log)))
	}
	var readyMu sync.Mutex
	readyCount := 0
	u.Session = relayconn.New(relayconn.Config{
		Addr: mc.RelayAddr, TLS: mc.TLS, Sentinel: mc.Sentinel, Heartbeat: mc.Heartbeat,
		BackoffMin: s.ReconnectMin, BackoffMax: s.ReconnectMax, EngineOptions: engineOpts,
		Init:   func(ctx context.Context, e *at.Engine) error { return u.Ops.Init(ctx, e) },
		OnURC:  disp.Dispatch,
		Logger: log,
		OnReady: func(ready bool) {
			if !ready {
				u.Metrics.RelayConnected.Set(0)
				u.Poller.Unreachable("relay session lost")
				u.Outbox.Kick() // failover: its message in flight may go to another modem
				return
			}
			u.Metrics.RelayConnected.Set(1)
			readyMu.Lock()
			readyCount++
			again := readyCount > 1
			readyMu.Unlock()
			if again {
				u.Metrics.RelayReconnects.Inc()
			}
			u.Poller.Refresh()
			u.Identity.Invalidate() // another stick or SIM may be behind the new session
			u.Inbox.Trigger()       // whatever arrived while the api was not in control
			u.Outbox.Reconnected()  // reconcile the modem's memory, then send
			u.events.Connected()
		},
		OnDisconnect: func(reason string) {
			u.Metrics.RelayDisconnects.WithLabelValues(reason).Inc()
			u.events.Disconnected(reason)
		},
	})
	u.Sched = scheduler.New(s.QueueSize, func() (modemops.AT, error) {
		e, err := u.Session.Engine()
		if err != nil {
			return nil, err
		}
		return e, nil
	}, func(n int) { u.Metrics.QueueDepth.Set(float64(n)) },
		scheduler.WithClassDepth(func(c scheduler.Class, n int) { u.Metrics.QueueClassDepth.WithLabelValues(c.String()).Set(float64(n)) }))
	u.Metrics.QueueCapacity.Set(float64(u.Sched.Capacity()))
	u.Poller = poller.New(u.Sched, u.Ops, s.PollInterval)

	ocfg := outbox.Config{
		Store: st, Sched: u.Sched, Modem: u.Identity, Pacing: mc.Pacing, CommandTimeout: s.CommandTimeout, SMSTimeout: s.SMSTimeout,
		RetryMin: s.RetryMin, RetryMax: s.RetryMax, RetryMaxAge: s.RetryMaxAge, Logger: log, SMSC: mc.SMSC, Failover: failover,
		OnPart: u.Metrics.Part, OnRetry: func(reason string) { u.Metrics.OutboxRetries.WithLabelValues(reason).Inc() },
	}
	if eligible != nil {
		ocfg.Eligible = func() string { return eligible(u) }
	}
	u.Outbox = outbox.New(ocfg)
	u.Inbox = inbox.New(inbox.Config{
		Store: st, Sched: u.Sched, ModemID: u.Identity.Current, Interval: s.InboxSweep, CommandTimeout: s.CommandTimeout, Logger: log,
		Hooks: inbox.Hooks{
			Part:    u.Metrics.InboxPart,
			Message: func(msg *store.Message) { u.Metrics.InboxMessage(string(msg.State)) },
			Report:  func(r *store.Report) { u.Metrics.StatusReport(r.Outcome != store.OutcomeInvalid, r.Matched) },
			Fill:    func(f inbox.Fill) { u.Metrics.InboxStoreFill(f.Memory, f.Used, f.Total) },
			Error:   u.Metrics.InboxError,
		},
	})
	var eligibleMu sync.Mutex // OnChange runs in the poller's and the session's goroutines
	prevEligible := ""
	u.Poller.OnChange(func(old, n *poller.Snapshot) {
		u.events.Snapshot(old, n)
		if eligible != nil { // a modem that became eligible (or stopped being) looks at the queue now
			why := eligible(u)
			eligibleMu.Lock()
			changed := why != prevEligible
			prevEligible = why
			eligibleMu.Unlock()
			if changed {
				u.Outbox.Kick()
			}
		}
	})
	return u
}

// Ready is the relay session's readiness; in cluster mode, while another
// instance drives the modem (or none does), not ready, saying so.
func (u *Unit) Ready() (bool, string) {
	if u.cluster.On {
		u.own.mu.Lock()
		held, l := u.own.held, u.own.status.Lease
		u.own.mu.Unlock()
		switch {
		case held:
		case l.Current && l.Holder != u.cluster.Instance:
			return false, fmt.Sprintf("standby: instance %s drives this modem", l.Holder)
		default:
			return false, "standby: no instance drives this modem now"
		}
	}
	return u.Session.Ready()
}

// Depth is its outbox depth (store.ModemDepth).
func (u *Unit) Depth(ctx context.Context) (int, error) { return u.store.ModemDepth(ctx, u.Config.ID) }

// Run runs the unit until ctx ends: with one instance, its components all
// the time; in cluster mode, while this instance holds the modem's lease
// (a standby unit never claims a message nor talks to the modem).
func (u *Unit) Run(ctx context.Context) {
	if u.cluster.On {
		u.runLeased(ctx)
		return
	}
	since := time.Now()
	u.own.mu.Lock()
	u.own.since = since
	u.own.mu.Unlock()
	l := store.Lease{Name: store.LeaseName(u.ID()), Holder: u.cluster.Instance, URL: u.cluster.URL, Acquired: since, Renewed: since, Current: true}
	u.observe(lease.Status{Lease: l, Held: true, Seen: since})
	defer func() {
		l.Current = false
		u.observe(lease.Status{Lease: l, Seen: time.Now(), Lost: "shutting down"})
	}()
	u.runComponents(ctx)
}

// runComponents runs the relay session, the scheduler, the poller, the
// inbox sweep and the outbox worker until ctx ends.
func (u *Unit) runComponents(ctx context.Context) {
	var wg sync.WaitGroup
	for _, f := range []func(context.Context){u.Session.Run, u.Sched.Run, u.Poller.Run, u.Inbox.Run, u.Outbox.Run} {
		wg.Add(1)
		go func() { defer wg.Done(); f(ctx) }()
	}
	wg.Wait()
}
