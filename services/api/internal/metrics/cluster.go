package metrics

// The instruments of several api instances on one database (cluster mode:
// API_DATABASE_URL), in which each modem is driven by the one instance
// that holds its lease and the others forward its operations there.

// Results of Modem.Forwarded.
const (
	// ForwardAnswered: forwarded to the owner, which answered (whatever
	// its status).
	ForwardAnswered = "answered"
	// ForwardUnreachable: the owner did not answer (502).
	ForwardUnreachable = "unreachable"
	// ForwardNoOwner: no instance drives the modem now (503).
	ForwardNoOwner = "no_owner"
	// ForwardLoop: the request had already been forwarded by another
	// instance and is not forwarded again (503).
	ForwardLoop = "loop"
)

var forwardResults = []string{ForwardAnswered, ForwardUnreachable, ForwardNoOwner, ForwardLoop}

// SetInstance names this instance (API_INSTANCE): the instance label of
// simmodem_api_modem_owned. Call it once, in cluster mode only and before
// Modem: every modem's owned series then exists at 0 from the start.
// Without it (a single instance, which holds no leases) no owned series
// is exported unless SetOwned is called, and then with instance="".
func (m *Metrics) SetInstance(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.instance, m.named = name, true
}

// instanceName is SetInstance's name, and whether it was called.
func (m *Metrics) instanceName() (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.instance, m.named
}

// SetOwned sets simmodem_api_modem_owned{modem,instance}: 1 while this
// instance drives the modem (holds its lease), 0 while it does not. In
// cluster mode the modem's modem_* gauges are exported only while it is
// 1: the owner's are the modem's. The
// fleet calls it when it acquires the lease (true), and when it stops
// driving the modem (false): lease lost, not renewed in time, released.
func (mm *Modem) SetOwned(owned bool) {
	mm.drives.Store(owned)
	inst, _ := mm.metrics.instanceName()
	v := 0.0
	if owned {
		v = 1
	}
	mm.owned.WithLabelValues(inst).Set(v)
}

// TookOver counts a take-over: this instance acquired the modem's lease
// and begins to drive it (simmodem_api_lease_takeovers_total{modem}).
// Renewals of a lease it holds are not take-overs.
func (mm *Modem) TookOver() { mm.Takeovers.Inc() }

// Forwarded counts a request on the modem that this instance did not
// serve itself, by result: ForwardAnswered, ForwardUnreachable,
// ForwardNoOwner or ForwardLoop.
func (mm *Modem) Forwarded(result string) { mm.ForwardedRequests.WithLabelValues(result).Inc() }
