// Package modemevents appends the modem's events to the store's event
// log: modem.connected and modem.disconnected from the relay session,
// modem.registration and modem.sim when the status snapshot's network
// registration or SIM state changes. Each carries the modem's identity
// and status, so that a receiver needs no second call.
package modemevents

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/modemops"
	"github.com/sim-modem-api/sim-modem-api/modem/poller"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
)

// Appender is the store's AppendEvent.
type Appender interface {
	AppendEvent(ctx context.Context, typ string, data any) (store.Event, error)
}

// Modem names the modem in an event: the configured id of its entry and
// what it said of itself.
type Modem struct {
	ID string `json:"id"`
	modemops.Identity
}

// Data is the payload of a modem event.
type Data struct {
	Modem  Modem            `json:"modem"`
	Status *modemops.Status `json:"status,omitempty"` // as last read; absent when never read
	// Reason: why the session ended (modem.disconnected).
	Reason string `json:"reason,omitempty"`
	// Previous is the registration (modem.registration) or SIM state
	// (modem.sim) before the change.
	Previous string `json:"previous,omitempty"`
	Current  string `json:"current,omitempty"`
}

// writeTimeout bounds one append.
const writeTimeout = 10 * time.Second

// Recorder turns session and snapshot changes into events. Its methods
// are called from the relay session's and the poller's goroutines.
type Recorder struct {
	st  Appender
	id  string
	log *slog.Logger

	mu      sync.Mutex
	pending bool // connected, its event waits for the first fresh snapshot
	up      bool // modem.connected appended, modem.disconnected not yet
	last    *poller.Snapshot
	known   bool // last holds a read status (reachable at least once)
	sim     string
	reg     string
}

// New returns a recorder appending to st the events of the modem entry
// with the configured id.
func New(st Appender, id string, log *slog.Logger) *Recorder {
	if log == nil {
		log = slog.Default()
	}
	return &Recorder{st: st, id: id, log: log}
}

// Connected records that the relay session became ready. Its event
// waits for the next successful poll (Snapshot), so that it carries the
// identity and status of the modem now behind the session.
func (r *Recorder) Connected() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending = true
}

// Disconnected records that the relay session was lost.
func (r *Recorder) Disconnected(reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pending { // lost before a poll: the connection still happened
		r.pending = false
		r.up = true
		r.append(store.EventModemConnected, r.data())
	}
	if !r.up {
		return
	}
	r.up = false
	d := r.data()
	d.Reason = reason
	r.append(store.EventModemDisconnect, d)
}

// Snapshot is the poller's OnChange: a fresh snapshot after Connected
// appends modem.connected; a changed registration or SIM state appends
// modem.registration or modem.sim.
func (r *Recorder) Snapshot(_, n *poller.Snapshot) {
	if n == nil || !n.Reachable {
		return // an unreachable snapshot keeps the old status: nothing changed that we know of
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	prevKnown, prevSIM, prevReg := r.known, r.sim, r.reg
	r.last, r.known, r.sim, r.reg = n, true, n.Status.SIM, n.Status.Registration
	if r.pending {
		r.pending = false
		r.up = true
		r.append(store.EventModemConnected, r.data())
	}
	if !prevKnown {
		return
	}
	if prevReg != n.Status.Registration {
		d := r.data()
		d.Previous, d.Current = prevReg, n.Status.Registration
		r.append(store.EventModemRegistration, d)
	}
	if prevSIM != n.Status.SIM {
		d := r.data()
		d.Previous, d.Current = prevSIM, n.Status.SIM
		r.append(store.EventModemSIM, d)
	}
}

func (r *Recorder) data() Data {
	d := Data{Modem: Modem{ID: r.id}}
	if r.last != nil {
		d.Modem.Identity = r.last.Identity
		st := r.last.Status
		d.Status = &st
	}
	return d
}

// append commits the event; a failure is logged (the store's own
// failures show in its metrics and in every request using it).
func (r *Recorder) append(typ string, d Data) {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	if _, err := r.st.AppendEvent(ctx, typ, d); err != nil {
		r.log.Error("appending a modem event", "type", typ, "err", err)
	}
}
