package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/at"
	"github.com/sim-modem-api/sim-modem-api/modem/modemops"
	"github.com/sim-modem-api/sim-modem-api/modem/scheduler"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/modemid"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
)

// Defaults of Config.
const (
	DefaultRetryMin    = 2 * time.Second
	DefaultRetryMax    = 5 * time.Minute
	DefaultRetryMaxAge = 24 * time.Hour
)

// Config configures a Worker.
type Config struct {
	Store *store.Store
	Sched *scheduler.Scheduler[modemops.AT]
	Modem *modemid.Tracker
	// Pacing is the least time between two submissions (AT+CMSS), as the
	// original kept SMS bodies apart.
	Pacing         time.Duration
	CommandTimeout time.Duration // AT+CMGW (command and body: a local write), AT+CMGR, AT+CMGL, AT+CMGD
	SMSTimeout     time.Duration // AT+CMSS (the network's answer)
	// RetryMin and RetryMax bound the backoff after a transient failure
	// (doubling, with ±25 % jitter); RetryMaxAge is how long after it was
	// accepted (or its sendAt) a message is retried: a transient failure
	// after that fails it.
	RetryMin, RetryMax, RetryMaxAge time.Duration
	Logger                          *slog.Logger
	// OnPart is called for every part outcome: "sent", "failed" (for
	// good) or "unknown", with a reason class for the latter two
	// (modemops.FailureReason).
	OnPart func(state, reason string)
	// OnRetry is called for every transient failure that is retried, with
	// its reason class.
	OnRetry func(reason string)

	// SMSC is this modem's service centre ("" for the SIM's own): every
	// part is written with it in place of the SMSC part it was encoded
	// with at accept, since the modem that sends a message is chosen
	// later.
	SMSC string
	// Eligible, if set, says why the modem may not take a new message now
	// ("" when it may): with several modems, one that is not registered
	// or whose SIM is not ready leaves the queue to the others. Nil: the
	// modem always claims (the one-modem setup retries instead).
	Eligible func() string
	// Failover: when the modem cannot send (its relay session is lost or
	// Eligible says no), its message in flight returns to the queue for
	// another modem of its route, if none of its parts may have reached
	// the network (store.Release).
	Failover bool
	// OnRelease is called with the ids of the messages Failover returned
	// to the queue.
	OnRelease func(ids []string)
}

// Worker sends one modem's outbox. See the package doc.
type Worker struct {
	cfg Config
	log *slog.Logger
	sca []byte // the SMSC part every write uses (cfg.SMSC encoded)

	kick chan struct{} // a new message or a ready modem: look now

	mu        sync.Mutex
	reconcile bool             // reconcile the modem's memory before the next send (start, reconnect, an unknown write)
	changed   chan struct{}    // closed and replaced when a message may have changed (Wait)
	lastSub   time.Time        // the last submission, for pacing
	failures  int              // consecutive transient failures, for the backoff
	records   map[string]*kept // per message: what this process did for it, for Wait
	recOrder  []string
}

// New returns a worker; Run starts it.
func New(cfg Config) *Worker {
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = DefaultRetryMin
	}
	if cfg.RetryMax < cfg.RetryMin {
		cfg.RetryMax = max(DefaultRetryMax, cfg.RetryMin)
	}
	if cfg.RetryMaxAge <= 0 {
		cfg.RetryMaxAge = DefaultRetryMaxAge
	}
	if cfg.CommandTimeout <= 0 {
		cfg.CommandTimeout = at.DefaultTimeout
	}
	if cfg.SMSTimeout <= 0 {
		cfg.SMSTimeout = at.DefaultSMSTimeout
	}
	if cfg.OnPart == nil {
		cfg.OnPart = func(string, string) {}
	}
	if cfg.OnRetry == nil {
		cfg.OnRetry = func(string) {}
	}
	if cfg.OnRelease == nil {
		cfg.OnRelease = func([]string) {}
	}
	l := cfg.Logger
	if l == nil {
		l = slog.Default()
	}
	sca, err := encodeSCA(cfg.SMSC)
	if err != nil { // config validates it; keep each part's own SMSC part
		l.Error("outbox: the configured SMSC is not usable; parts keep the SMSC they were encoded with", "smsc", cfg.SMSC, "err", err)
		sca = nil
	}
	return &Worker{cfg: cfg, log: l, sca: sca, kick: make(chan struct{}, 1), reconcile: true,
		changed: make(chan struct{}), records: map[string]*kept{}}
}

// Kick makes the worker look for work now (a message was accepted).
func (w *Worker) Kick() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Reconnected tells the worker that the relay session is (again) ready:
// the modem may be another one or have lost or kept copies, so its memory
// is reconciled before the next send; and any backoff ends.
func (w *Worker) Reconnected() {
	w.mu.Lock()
	w.reconcile = true
	w.failures = 0
	w.mu.Unlock()
	w.Kick()
}

// Run sends until ctx ends. It reads its work from the store (nothing is
// held only in memory): at start, on Kick, on Reconnected, when the next
// message's sendAt comes, and after a backoff.
func (w *Worker) Run(ctx context.Context) {
	for ctx.Err() == nil {
		wait := w.step(ctx)
		if wait == 0 {
			continue
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-w.kick:
		case <-t.C:
		}
		t.Stop()
	}
}

// idleWait is how long the worker sleeps with nothing due and no sendAt
// ahead; a kick wakes it sooner.
const idleWait = time.Minute

// step runs one job (one message) and returns how long to wait before the
// next (0: at once).
func (w *Worker) step(ctx context.Context) time.Duration {
	var res result
	err := w.cfg.Sched.DoClass(ctx, scheduler.Send, func(jctx context.Context, e modemops.AT) error {
		res = w.job(jctx, e)
		return res.err
	})
	w.notify()
	if err == nil && res.err == nil {
		w.mu.Lock()
		w.failures = 0
		w.mu.Unlock()
		if res.idle {
			if res.nextDue.IsZero() {
				return idleWait
			}
			return max(time.Until(res.nextDue), time.Millisecond)
		}
		return 0
	}
	if ctx.Err() != nil {
		return 0
	}
	if err == nil {
		err = res.err
	}
	if errors.Is(err, scheduler.ErrQueueFull) {
		return 100 * time.Millisecond
	}
	reason := modemops.FailureReason(err)
	if reason == "unavailable" {
		w.release(ctx, "its modem's relay session is not ready")
	}
	w.cfg.OnRetry(reason)
	d := w.backoff()
	w.log.Info("outbox: will retry", "in", d.Round(time.Millisecond), "reason", reason, "err", err)
	return d
}

// release returns the modem's message in flight to the queue when
// Failover is on (see Config.Failover): the one bound to a SIM this modem
// entry saw last (the store's modem name), even before this process has
// identified the modem again.
func (w *Worker) release(ctx context.Context, why string) {
	if !w.cfg.Failover {
		return
	}
	ids, err := w.cfg.Store.Release(ctx, w.cfg.Modem.Name(), "returned to the queue: "+why)
	if err != nil {
		w.log.Error("outbox: returning the message in flight to the queue", "err", err)
		return
	}
	if len(ids) > 0 {
		w.log.Info("outbox: returned to the queue for another modem", "messages", ids, "why", why)
		w.cfg.OnRelease(ids)
		w.notify()
	}
}

// backoff is the next wait after a transient failure: RetryMin doubling
// to RetryMax, ±25 % jitter.
func (w *Worker) backoff() time.Duration {
	w.mu.Lock()
	n := w.failures
	w.failures++
	w.mu.Unlock()
	d := w.cfg.RetryMin
	for i := 0; i < n && d < w.cfg.RetryMax; i++ {
		d *= 2
	}
	d = min(d, w.cfg.RetryMax)
	return d - d/4 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// notify wakes the waiters of Wait.
func (w *Worker) notify() {
	w.mu.Lock()
	close(w.changed)
	w.changed = make(chan struct{})
	w.mu.Unlock()
}

// Changed wakes Wait callers after a store change made outside the worker
// (a cancel).
func (w *Worker) Changed() { w.notify() }

// Outcome is a message that is no longer queued or sending, with what
// this process knows of how it got there.
type Outcome struct {
	Message *store.Message
	// Exchanges are the AT exchanges this process ran for it (nil if it
	// was sent in an earlier run, or too long ago).
	Exchanges []modemops.Exchange
	// Cause is the modem's error that failed it, if this process saw it.
	Cause error
}

// Wait waits until the message is no longer queued or sending. It returns
// ctx's error (and the message as it is) when ctx ends first; the message
// stays in the store and will still be sent.
func (w *Worker) Wait(ctx context.Context, id string) (Outcome, error) {
	for {
		w.mu.Lock()
		ch := w.changed
		w.mu.Unlock()
		m, err := w.cfg.Store.Get(ctx, id)
		if err != nil {
			return Outcome{}, err
		}
		if m.State.Final() {
			o := Outcome{Message: m}
			w.mu.Lock()
			if k := w.records[id]; k != nil {
				o.Exchanges, o.Cause = append([]modemops.Exchange(nil), k.xs...), k.cause
			}
			w.mu.Unlock()
			return o, nil
		}
		select {
		case <-ctx.Done():
			return Outcome{Message: m}, ctx.Err()
		case <-ch:
		}
	}
}

// kept is what the worker keeps of a message for Wait.
type kept struct {
	xs    []modemops.Exchange
	cause error
}

// keptRecords is how many messages' exchanges are kept for Wait.
const keptRecords = 256

// keptLocked returns the message's record, making room. w.mu is held.
func (w *Worker) keptLocked(id string) *kept {
	k := w.records[id]
	if k == nil {
		k = &kept{}
		w.records[id] = k
		w.recOrder = append(w.recOrder, id)
		if len(w.recOrder) > keptRecords {
			delete(w.records, w.recOrder[0])
			w.recOrder = w.recOrder[1:]
		}
	}
	return k
}

func (w *Worker) record(id string) func(modemops.Exchange) {
	return func(x modemops.Exchange) {
		w.mu.Lock()
		defer w.mu.Unlock()
		k := w.keptLocked(id)
		k.xs = append(k.xs, x)
	}
}

func (w *Worker) setCause(id string, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.keptLocked(id).cause = err
}

// pace waits until Pacing has passed since the last submission.
func (w *Worker) pace(ctx context.Context) error {
	w.mu.Lock()
	wait := time.Until(w.lastSub.Add(w.cfg.Pacing))
	w.mu.Unlock()
	if wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (w *Worker) submitted() {
	w.mu.Lock()
	w.lastSub = time.Now()
	w.mu.Unlock()
}

func (w *Worker) needReconcile() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.reconcile
}

func (w *Worker) setReconcile(v bool) {
	w.mu.Lock()
	w.reconcile = v
	w.mu.Unlock()
}

// result is what one job did.
// eligibleRecheck is how soon a modem that may not take a message
// (Config.Eligible) looks again; a change of its status kicks it sooner.
const eligibleRecheck = 5 * time.Second

type result struct {
	idle    bool      // nothing was due
	nextDue time.Time // when idle: the next sendAt, zero if none
	err     error     // a transient failure: back off
}

func now() time.Time { return time.Now().UTC() }

// errTransient marks a failure the worker retries.
var errTransient = errors.New("transient")

func transient(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errTransient}, args...)...)
}
