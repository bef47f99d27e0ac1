// Package urc is the dispatcher of what the modem says unprompted: every
// URC and every line that belongs to no command arrives here from the AT
// engine and goes to the subscribers of its name. Today the USSD operation
// subscribes to +CUSD; receiving SMS (+CMTI, +CMT), delivery reports
// (+CDS) and registration changes (+CREG) plug in here later. Lines nobody
// handles are logged.
package urc

import (
	"log/slog"
	"sync"

	"github.com/sim-modem-api/sim-modem-api/modem/at"
)

// Handler consumes a URC; it reports whether it did.
type Handler func(at.URC) bool

// Dispatcher routes URCs by name.
type Dispatcher struct {
	log     *slog.Logger
	onURC   func(name string)
	mu      sync.Mutex
	subs    map[string][]*sub
	nextSub int
}

type sub struct {
	id int
	h  Handler
}

// New returns a dispatcher. onURC, if not nil, is called with the name of
// every URC ("" for an unknown line), for metrics.
func New(log *slog.Logger, onURC func(name string)) *Dispatcher {
	if log == nil {
		log = slog.Default()
	}
	if onURC == nil {
		onURC = func(string) {}
	}
	return &Dispatcher{log: log, onURC: onURC, subs: map[string][]*sub{}}
}

// Subscribe adds h for URCs named name ("+CUSD"; "" for lines matching no
// URC). The returned function removes it.
func (d *Dispatcher) Subscribe(name string, h Handler) (cancel func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.nextSub++
	s := &sub{id: d.nextSub, h: h}
	d.subs[name] = append(d.subs[name], s)
	return func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		l := d.subs[name]
		for i, x := range l {
			if x == s {
				d.subs[name] = append(l[:i:i], l[i+1:]...)
				return
			}
		}
	}
}

// Dispatch delivers u; it is the engine's handler.
func (d *Dispatcher) Dispatch(u at.URC) {
	d.onURC(u.Name)
	d.mu.Lock()
	subs := append([]*sub{}, d.subs[u.Name]...)
	d.mu.Unlock()
	for _, s := range subs {
		if s.h(u) {
			return
		}
	}
	switch {
	case u.Late:
		d.log.Warn("late modem line (answer of an abandoned command)", "line", u.Line)
	case u.Name == "":
		d.log.Info("unsolicited modem line", "line", u.Line)
	default:
		d.log.Info("URC", "name", u.Name, "line", u.Line, "pdu", u.PDU)
	}
}
