package fleet

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/sim-modem-api/sim-modem-api/services/api/internal/config"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/metrics"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
)

// Fleet is the api's modems, in configuration order; the first is the
// default modem of the single-modem routes.
type Fleet struct {
	store   *store.Store
	cluster Cluster
	units   []*Unit
	byID    map[string]*Unit
	routes  []config.Route
	country string // the api's default country (API_DEFAULT_COUNTRY)
}

// New builds a unit per modem entry of c. With several modems a unit
// claims a message only while it is eligible (Eligible) and, with
// c.Failover, returns its message in flight to the queue when it cannot
// send; a single modem keeps the one-modem behaviour (it claims, and
// retries). With c.Cluster() each unit drives its modem only while this
// instance (c.Instance, reached at c.AdvertiseURL) holds its lease.
func New(c *config.Config, st *store.Store, m *metrics.Metrics, log *slog.Logger) *Fleet {
	cl := Cluster{On: c.Cluster(), Instance: c.Instance, URL: c.AdvertiseURL, TTL: c.LeaseTTL}
	f := &Fleet{store: st, cluster: cl, byID: map[string]*Unit{}, routes: c.Routes, country: c.DefaultCountry}
	s := SettingsOf(c)
	var eligible func(*Unit) string
	failover := false
	if len(c.Modems) > 1 {
		eligible, failover = Eligible, c.Failover
	}
	for _, mc := range c.Modems {
		u := newUnit(mc, s, cl, st, m, log, failover, eligible)
		f.units = append(f.units, u)
		f.byID[mc.ID] = u
	}
	return f
}

// Units are the units in configuration order.
func (f *Fleet) Units() []*Unit { return f.units }

// Default is the default modem (the first entry).
func (f *Fleet) Default() *Unit { return f.units[0] }

// Get returns the unit with this id.
func (f *Fleet) Get(id string) (*Unit, bool) {
	u, ok := f.byID[id]
	return u, ok
}

// IDs are the configured ids, in order.
func (f *Fleet) IDs() []string {
	ids := make([]string, len(f.units))
	for i, u := range f.units {
		ids[i] = u.ID()
	}
	return ids
}

// Eligible says why a unit may not take a new message now, "" if it may:
// its relay session is ready, the modem answers with its SIM ready and
// its radio on, and it is registered (home or roaming).
func Eligible(u *Unit) string {
	if ok, why := u.Ready(); !ok {
		return "relay session: " + why
	}
	snap := u.Poller.Snapshot()
	if nr := snap.NotReady(); len(nr) > 0 {
		return nr[0]
	}
	if r := snap.Status.Registration; r != "home" && r != "roaming" {
		return "not registered (" + r + ")"
	}
	return ""
}

// Route implements submit.Router: a pinned message goes to its modem
// alone; else the first prefix rule the recipient matches names the
// modems; else any modem (nil). An unknown modem is an error.
func (f *Fleet) Route(modem, to string) ([]string, error) {
	if modem != "" {
		if _, ok := f.byID[modem]; !ok {
			return nil, fmt.Errorf("no modem %q (the modems are %s)", modem, strings.Join(f.IDs(), ", "))
		}
		return []string{modem}, nil
	}
	for _, r := range f.routes {
		if strings.HasPrefix(to, r.Prefix) {
			return slices.Clone(r.Modems), nil
		}
	}
	return nil, nil
}

// DefaultCountry implements submit.Router: the pinned modem's default
// country, else the api's.
func (f *Fleet) DefaultCountry(modem string) string {
	if u, ok := f.byID[modem]; ok && u.Config.DefaultCountry != "" {
		return u.Config.DefaultCountry
	}
	return f.country
}

// Kick wakes the outbox workers of the units that may send m (a message
// was accepted: any of them may be the one to claim it).
func (f *Fleet) Kick(m *store.Message) {
	for _, u := range f.units {
		if m == nil || m.Route == nil || slices.Contains(m.Route, u.ID()) {
			u.Outbox.Kick()
		}
	}
}

// Cluster is the fleet's cluster settings (the zero value with one
// instance).
func (f *Fleet) Cluster() Cluster { return f.cluster }

// Run runs every unit until ctx ends; in cluster mode it also wakes the
// outbox workers of the units this instance drives when a message is
// accepted on another instance (watchOutbox).
func (f *Fleet) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, u := range f.units {
		wg.Add(1)
		go func() { defer wg.Done(); u.Run(ctx) }()
	}
	if f.cluster.On {
		wg.Add(1)
		go func() { defer wg.Done(); f.watchOutbox(ctx) }()
	}
	wg.Wait()
}
