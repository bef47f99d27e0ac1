// Package poller keeps the snapshot of the modem's state that status reads
// are served from, so that any number of readers cost no AT traffic. It
// refreshes the snapshot through the scheduler, only when the queue is idle
// (it never delays a caller's job), and marks the modem unreachable as soon
// as the relay session is lost or a refresh fails.
package poller

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/modemops"
	"github.com/sim-modem-api/sim-modem-api/modem/scheduler"
)

// Snapshot is the modem's state at UpdatedAt.
type Snapshot struct {
	Reachable bool              `json:"reachable"`
	Reason    string            `json:"reason,omitempty"` // why not reachable
	UpdatedAt time.Time         `json:"updatedAt"`        // of the last successful refresh; zero if none
	Identity  modemops.Identity `json:"identity"`
	Status    modemops.Status   `json:"status"`
	Polls     uint64            `json:"-"`
}

// Poller refreshes the snapshot.
type Poller struct {
	sched     *scheduler.Scheduler[modemops.AT]
	ops       *modemops.Ops
	interval  time.Duration
	snap      atomic.Pointer[Snapshot]
	needID    atomic.Bool
	kick      chan struct{}
	onChange  func(old, new *Snapshot)
	changedMu sync.Mutex
	changed   chan struct{} // closed by the next store; nil until Changed asks
}

// New returns a poller; Run starts it.
func New(s *scheduler.Scheduler[modemops.AT], ops *modemops.Ops, interval time.Duration) *Poller {
	p := &Poller{sched: s, ops: ops, interval: interval, kick: make(chan struct{}, 1)}
	p.snap.Store(&Snapshot{Reason: "not polled yet", Status: modemops.Status{SIM: "unknown", Registration: "unknown", RegistrationCode: -1, Signal: modemops.Signal{CSQ: 99}, Radio: "unknown", Functionality: -1}})
	p.needID.Store(true)
	return p
}

// Snapshot returns the current snapshot; do not modify it.
func (p *Poller) Snapshot() *Snapshot { return p.snap.Load() }

// OnChange sets f to be called with the previous and the new snapshot
// after every store of a snapshot (a poll, or Unreachable), in the
// goroutine that stored it. Set it before Run.
func (p *Poller) OnChange(f func(old, new *Snapshot)) { p.onChange = f }

// store publishes n, wakes the waiters of Changed and tells OnChange.
func (p *Poller) store(old, n *Snapshot) {
	p.snap.Store(n)
	p.changedMu.Lock()
	if p.changed != nil {
		close(p.changed)
		p.changed = nil
	}
	p.changedMu.Unlock()
	if p.onChange != nil {
		p.onChange(old, n)
	}
}

// Changed returns a channel that is closed when the next snapshot is
// stored (every poll, or Unreachable): read Snapshot after it fires, then
// ask for a new channel. For live views of the status (the event stream's
// modem.status), which must not poll.
func (p *Poller) Changed() <-chan struct{} {
	p.changedMu.Lock()
	defer p.changedMu.Unlock()
	if p.changed == nil {
		p.changed = make(chan struct{})
	}
	return p.changed
}

// Refresh asks for a refresh now, with the identity re-read (after a
// reconnect or a PIN entry).
func (p *Poller) Refresh() {
	p.needID.Store(true)
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// Unreachable marks the snapshot unreachable at once.
func (p *Poller) Unreachable(reason string) {
	old := p.snap.Load()
	n := *old
	n.Reachable, n.Reason = false, reason
	p.store(old, &n)
}

// Run polls until ctx ends.
func (p *Poller) Run(ctx context.Context) {
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		var retry <-chan time.Time
		if p.poll(ctx) { // skipped, the queue was busy: try again soon, not an interval later
			retry = time.After(busyRetry)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-p.kick:
		case <-retry:
		}
	}
}

// busyRetry is how soon a poll skipped for a busy queue is tried again:
// after a (re)connect the outbox and the inbox run their jobs at once, and
// readiness needs a poll.
const busyRetry = 250 * time.Millisecond

// Poll refreshes the snapshot once, now, unless the queue is busy (Run
// does this every interval and on Refresh).
func (p *Poller) Poll(ctx context.Context) { p.poll(ctx) }

// poll refreshes the snapshot; it reports whether it was skipped because
// the queue was busy.
func (p *Poller) poll(ctx context.Context) (busy bool) {
	needID := p.needID.Swap(false)
	var id modemops.Identity
	var st modemops.Status
	err := p.sched.TryDo(ctx, func(ctx context.Context, e modemops.AT) error {
		var err error
		if needID {
			if id, err = p.ops.Identity(ctx, e); err != nil {
				return err
			}
		}
		st, err = p.ops.ReadStatus(ctx, e)
		return err
	})
	if err == scheduler.ErrQueueFull {
		// Busy with callers' jobs: the modem is reachable, the snapshot
		// stays as it is until the queue is idle.
		if needID {
			p.needID.Store(true)
		}
		return true
	}
	old := p.snap.Load()
	n := *old
	if err != nil {
		if needID {
			p.needID.Store(true)
		}
		n.Reachable, n.Reason = false, err.Error()
		p.store(old, &n)
		return
	}
	if needID {
		n.Identity = id
	}
	n.Status, n.Reachable, n.Reason, n.UpdatedAt = st, true, "", time.Now().UTC()
	n.Polls++
	p.store(old, &n)
	return false
}

// NotReady lists why a send would not be attempted now, as far as the
// snapshot tells: the modem does not answer (the last poll failed, or none
// has succeeded yet), the SIM wants its PIN or PUK or is absent, the radio
// is off. Empty when nothing stands in the way. Registration is not among
// them: searching is often transient, and the modem still takes the
// message (the network's answer is the send's result); it is in the
// status and the modem_registered metric.
func (s *Snapshot) NotReady() []string {
	if !s.Reachable {
		return []string{"the modem does not answer: " + s.Reason}
	}
	var out []string
	switch s.Status.SIM {
	case "pin":
		out = append(out, "the SIM wants its PIN (POST /v1/sim/pin)")
	case "puk":
		out = append(out, "the SIM is blocked and wants its PUK (POST /v1/sim/pin with puk)")
	case "absent":
		out = append(out, "no SIM card")
	}
	if s.Status.Radio == "off" {
		out = append(out, fmt.Sprintf("the radio is off (+CFUN: %d)", s.Status.Functionality))
	}
	return out
}
