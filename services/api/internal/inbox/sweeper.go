package inbox

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/at"
	"github.com/sim-modem-api/sim-modem-api/modem/modemops"
	"github.com/sim-modem-api/sim-modem-api/modem/scheduler"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
)

// Defaults of Config.
const (
	DefaultInterval    = 30 * time.Second
	DefaultListTimeout = 20 * time.Second
)

// DefaultMemories are the stores swept: SM and ME for received messages
// (incoming SMS land in SM on ZTE sticks whatever +CPMS says; ME where a
// modem puts them there), SR for status reports (+CNMI <ds>=2).
var DefaultMemories = []string{"SM", "ME", "SR"}

// DefaultRestore is the api's store selection (modemops' init sequence),
// restored after a sweep when AT+CPMS? does not name the stores.
const DefaultRestore = `+CPMS="SM","SM","SM"`

// Hooks observe the sweeps (for metrics); nil fields are ignored.
type Hooks struct {
	// Part: a received part was committed (new) or found already stored.
	Part func(isNew bool)
	// Message: a received message was completed: its State is received,
	// incomplete or undecodable.
	Message func(m *store.Message)
	// Report: a new status report was committed (Matched or not).
	Report func(r *store.Report)
	// Fill: a store's fill as AT+CPMS showed it when the sweep selected it.
	Fill func(f Fill)
	// Error: a sweep (stage "sweep"), a deletion ("delete") or the
	// incomplete check ("expire") failed.
	Error func(stage string)
}

func (h *Hooks) fill() {
	if h.Part == nil {
		h.Part = func(bool) {}
	}
	if h.Message == nil {
		h.Message = func(*store.Message) {}
	}
	if h.Report == nil {
		h.Report = func(*store.Report) {}
	}
	if h.Fill == nil {
		h.Fill = func(Fill) {}
	}
	if h.Error == nil {
		h.Error = func(string) {}
	}
}

// Config configures a Sweeper.
type Config struct {
	Store *store.Store
	// Sched runs the sweeps as jobs of class Send, so that reads never
	// starve them and no other job's commands come between a sweep's.
	Sched *scheduler.Scheduler[modemops.AT]
	// ModemID gives the store's id of the modem the engine talks to
	// (modemid.Tracker.Current).
	ModemID func(ctx context.Context, e modemops.AT) (int64, error)
	// Interval is the period of the sweep that runs whatever else
	// triggers one, and of the incomplete check (DefaultInterval).
	Interval time.Duration
	// Memories are the stores swept, in order (DefaultMemories).
	Memories []string
	// Restore is the AT+CPMS set command restored after a sweep when
	// AT+CPMS? gives only numbers (DefaultRestore).
	Restore string
	// CommandTimeout is the timeout of every command but the listing.
	CommandTimeout time.Duration
	// ListTimeout is the timeout of AT+CMGL=4, which lists a whole store
	// (DefaultListTimeout).
	ListTimeout time.Duration
	Hooks       Hooks
	Logger      *slog.Logger
}

// Sweeper moves received messages and status reports from the modem's
// stores into the message store, exactly once.
type Sweeper struct {
	cfg     Config
	log     *slog.Logger
	trigger chan struct{}
}

// New returns a Sweeper; Run starts it.
func New(cfg Config) *Sweeper {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if len(cfg.Memories) == 0 {
		cfg.Memories = DefaultMemories
	}
	if cfg.Restore == "" {
		cfg.Restore = DefaultRestore
	}
	if cfg.CommandTimeout <= 0 {
		cfg.CommandTimeout = at.DefaultTimeout
	}
	if cfg.ListTimeout <= 0 {
		cfg.ListTimeout = DefaultListTimeout
	}
	cfg.Hooks.fill()
	l := cfg.Logger
	if l == nil {
		l = slog.Default()
	}
	return &Sweeper{cfg: cfg, log: l, trigger: make(chan struct{}, 1)}
}

// Trigger asks for a sweep soon; it never blocks. Triggers that come
// while one is pending are merged into it; one that comes while a sweep
// runs makes another run after it.
func (s *Sweeper) Trigger() {
	select {
	case s.trigger <- struct{}{}:
	default:
	}
}

// HandleURC is the events handler for +CMTI and +CDSI: a message or a
// status report was stored, so a sweep is triggered. The index it names
// is not trusted alone: the relay drops what the modem says while the api
// is not in control, so every sweep lists the whole store.
func (s *Sweeper) HandleURC(u at.URC) bool {
	s.Trigger()
	return true
}

// Run sweeps when triggered (every (re)connect and indication) and every
// Interval, and delivers incomplete messages after every periodic sweep,
// until ctx ends. A sweep that could not run (no modem, a full send
// queue) waits for the next trigger or tick; one that deleted messages
// triggers another (a full store makes room for the messages the network
// held).
func (s *Sweeper) Run(ctx context.Context) {
	tick := time.NewTicker(s.cfg.Interval)
	defer tick.Stop()
	s.expire(ctx)
	for {
		periodic := false
		select {
		case <-ctx.Done():
			return
		case <-s.trigger:
		case <-tick.C:
			periodic = true
		}
		s.runSweep(ctx)
		if periodic {
			s.expire(ctx)
		}
	}
}

// runSweep runs one sweep job and reports its outcome.
func (s *Sweeper) runSweep(ctx context.Context) {
	var res Result
	err := s.cfg.Sched.DoClass(ctx, scheduler.Send, func(ctx context.Context, e modemops.AT) error {
		var err error
		res, err = s.Sweep(ctx, e)
		return err
	})
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return
	case errors.Is(err, scheduler.ErrQueueFull), errors.Is(err, scheduler.ErrStopped):
		s.log.Warn("inbox: sweep not queued; the next trigger or tick retries", "err", err)
		s.cfg.Hooks.Error("sweep")
	default:
		s.log.Warn("inbox: sweep failed; the next trigger or tick retries", "err", err)
		s.cfg.Hooks.Error("sweep")
	}
	if res.Parts+res.Again+res.Reports+res.Deleted > 0 {
		s.log.Info("inbox: swept", "parts", res.Parts, "again", res.Again, "reports", res.Reports,
			"deleted", res.Deleted, "left", res.Left, "messages", len(res.Messages))
	}
	if res.Deleted > 0 {
		s.Trigger()
	}
}

// expire delivers the concatenated messages that waited too long for
// their missing parts as incomplete.
func (s *Sweeper) expire(ctx context.Context) {
	made, err := s.cfg.Store.ExpireIncomplete(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("inbox: delivering incomplete messages failed", "err", err)
			s.cfg.Hooks.Error("expire")
		}
		return
	}
	for _, m := range made {
		s.log.Info("inbox: incomplete message delivered", "id", m.ID, "from", m.Peer, "missing", m.Missing)
		s.cfg.Hooks.Message(m)
	}
}
