package metrics

import (
	"fmt"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sim-modem-api/sim-modem-api/modem/at"
	"github.com/sim-modem-api/sim-modem-api/modem/poller"
)

// modemLabel is the label every per-modem series carries: the unit's
// configured id.
const modemLabel = "modem"

// Modem is the instruments of one modem, every series labelled
// modem=<id>. Its vectors are curried: WithLabelValues takes the labels
// after modem. Collecting one of them directly (testutil.CollectAndCount)
// yields every modem's series, since the curried vectors share their
// children; read one modem's value with WithLabelValues.
type Modem struct {
	id      string
	metrics *Metrics
	owned   *prometheus.GaugeVec // curried with modem; labelled instance at SetOwned
	// drives: SetOwned's last value. In cluster mode (SetInstance) an
	// instance exports the modem_* gauges only of the modems it drives,
	// so that a standby instance's unpolled view (modem_up 0) neither
	// fires the per-modem alerts nor hides the owner's series.
	drives atomic.Bool

	// ATCommands counts AT commands by command and result class.
	ATCommands *prometheus.CounterVec
	// ATDuration observes AT command durations by command.
	ATDuration prometheus.ObserverVec
	// SMSPartsSent counts parts the modem accepted.
	SMSPartsSent prometheus.Counter
	// SMSPartsFailed counts parts that did not go out, by reason.
	SMSPartsFailed *prometheus.CounterVec
	// SMSPartsUnknown counts parts whose outcome is unknown, by reason.
	SMSPartsUnknown *prometheus.CounterVec
	// SMSMessages counts send requests by result.
	SMSMessages *prometheus.CounterVec
	// QueueDepth is the modem jobs queued or running.
	QueueDepth prometheus.Gauge
	// QueueCapacity is the capacity of each job class's queue.
	QueueCapacity prometheus.Gauge
	// QueueRejected counts requests refused on a full queue, by class.
	QueueRejected *prometheus.CounterVec
	// QueueClassDepth is the jobs waiting, by class.
	QueueClassDepth *prometheus.GaugeVec
	// RelayConnected is 1 while the relay session is ready.
	RelayConnected prometheus.Gauge
	// RelayReconnects counts sessions that became ready again.
	RelayReconnects prometheus.Counter
	// RelayDisconnects counts ended attempts or sessions, by reason.
	RelayDisconnects *prometheus.CounterVec
	// URCs counts unsolicited lines by URC name.
	URCs *prometheus.CounterVec
	// OutboxRetries counts the outbox's transient failures, retried, by reason.
	OutboxRetries *prometheus.CounterVec
	// InboxMessages counts received messages that entered the inbox, by state.
	InboxMessages *prometheus.CounterVec
	// InboxParts counts received parts the sweep read, by result.
	InboxParts *prometheus.CounterVec
	// StatusReports counts stored status reports, by result.
	StatusReports *prometheus.CounterVec
	// InboxErrors counts inbox failures, by stage.
	InboxErrors *prometheus.CounterVec
	// InboxStoreUsed is each modem message store's fill, by memory.
	InboxStoreUsed *prometheus.GaugeVec
	// InboxStoreTotal is each modem message store's capacity, by memory.
	InboxStoreTotal *prometheus.GaugeVec
	// Takeovers counts the times this instance took the modem's lease
	// (cluster mode; see TookOver).
	Takeovers prometheus.Counter
	// ForwardedRequests counts the requests on this modem that this
	// instance forwarded to its owner or refused for want of one, by
	// result (see Forwarded).
	ForwardedRequests *prometheus.CounterVec
}

// Modem returns the instruments of one modem, every series labelled
// modem=<id>, with the series of the fixed label values present at 0;
// snapshot gives that modem's state at scrape time (the modem_* gauges).
// Calling it twice with one id, or with an empty id, panics.
func (m *Metrics) Modem(id string, snapshot func() *poller.Snapshot) *Modem {
	if id == "" {
		panic("metrics: Modem with an empty id")
	}
	if snapshot == nil {
		snapshot = func() *poller.Snapshot { return nil }
	}
	l := prometheus.Labels{modemLabel: id}
	v := &m.vecs
	mm := &Modem{
		id:                id,
		metrics:           m,
		owned:             v.owned.MustCurryWith(l),
		ATCommands:        v.atCommands.MustCurryWith(l),
		ATDuration:        v.atDuration.MustCurryWith(l),
		SMSPartsSent:      v.smsPartsSent.With(l),
		SMSPartsFailed:    v.smsPartsFailed.MustCurryWith(l),
		SMSPartsUnknown:   v.smsPartsUnknown.MustCurryWith(l),
		SMSMessages:       v.smsMessages.MustCurryWith(l),
		QueueDepth:        v.queueDepth.With(l),
		QueueCapacity:     v.queueCapacity.With(l),
		QueueRejected:     v.queueRejected.MustCurryWith(l),
		QueueClassDepth:   v.queueClassDepth.MustCurryWith(l),
		RelayConnected:    v.relayConnected.With(l),
		RelayReconnects:   v.relayReconnects.With(l),
		RelayDisconnects:  v.relayDisconnects.MustCurryWith(l),
		URCs:              v.urcs.MustCurryWith(l),
		OutboxRetries:     v.outboxRetries.MustCurryWith(l),
		InboxMessages:     v.inboxMessages.MustCurryWith(l),
		InboxParts:        v.inboxParts.MustCurryWith(l),
		StatusReports:     v.statusReports.MustCurryWith(l),
		InboxErrors:       v.inboxErrors.MustCurryWith(l),
		InboxStoreUsed:    v.inboxStoreUsed.MustCurryWith(l),
		InboxStoreTotal:   v.inboxStoreTotal.MustCurryWith(l),
		Takeovers:         v.takeovers.With(l),
		ForwardedRequests: v.forwarded.MustCurryWith(l),
	}
	// The label values that do not carry a modem error code exist from
	// the start at 0, so that a rate over them is 0 rather than no data
	// before the first event (cms_<code> and cme_<code> appear when they
	// occur).
	zero := func(vec *prometheus.CounterVec, values ...string) {
		for _, val := range values {
			vec.WithLabelValues(val)
		}
	}
	zero(mm.SMSPartsFailed, "timeout", "no_prompt", "error", "unavailable", "other")
	zero(mm.SMSPartsUnknown, "timeout", "unavailable", "other")
	zero(mm.OutboxRetries, "timeout", "unavailable", "other")
	zero(mm.SMSMessages, "sent", "failed", "unknown", "rejected")
	zero(mm.QueueRejected, "send", "operation", "read")
	for _, class := range []string{"send", "operation", "read"} {
		mm.QueueClassDepth.WithLabelValues(class)
	}
	zero(mm.InboxMessages, "received", "incomplete", "undecodable")
	zero(mm.InboxParts, "stored", "again")
	zero(mm.StatusReports, "matched", "unmatched", "invalid")
	zero(mm.InboxErrors, "sweep", "delete", "expire")
	zero(mm.ForwardedRequests, forwardResults...)
	_, cluster := m.instanceName()
	if !m.states.add(id, snapshot, func() bool { return !cluster || mm.drives.Load() }) {
		panic(fmt.Sprintf("metrics: Modem(%q) called twice", id))
	}
	if inst, ok := m.instanceName(); ok {
		mm.owned.WithLabelValues(inst)
	}
	return mm
}

// ID is the modem's id, the value of its series' modem label.
func (mm *Modem) ID() string { return mm.id }

// ObserveAT is the engine's observer.
func (mm *Modem) ObserveAT(o at.Observation) {
	c := o.Command
	if !knownCommands[c] {
		c = "other"
	}
	mm.ATCommands.WithLabelValues(c, o.Result).Inc()
	mm.ATDuration.WithLabelValues(c).Observe(o.Duration.Seconds())
}

// Part counts an SMS part by its state (sent, failed, unknown) and, unless
// sent, the reason.
func (mm *Modem) Part(state, reason string) {
	switch state {
	case "sent":
		mm.SMSPartsSent.Inc()
	case "unknown":
		mm.SMSPartsUnknown.WithLabelValues(reason).Inc()
	default:
		mm.SMSPartsFailed.WithLabelValues(reason).Inc()
	}
}

// URC counts an unsolicited line.
func (mm *Modem) URC(name string) {
	if name == "" {
		name = "unknown"
	}
	mm.URCs.WithLabelValues(name).Inc()
}

// modemVecs are the per-modem instruments of every modem: vectors whose
// first label is modem, registered once by New and curried by Modem.
type modemVecs struct {
	atCommands       *prometheus.CounterVec
	atDuration       *prometheus.HistogramVec
	smsPartsSent     *prometheus.CounterVec
	smsPartsFailed   *prometheus.CounterVec
	smsPartsUnknown  *prometheus.CounterVec
	smsMessages      *prometheus.CounterVec
	queueDepth       *prometheus.GaugeVec
	queueCapacity    *prometheus.GaugeVec
	queueRejected    *prometheus.CounterVec
	queueClassDepth  *prometheus.GaugeVec
	relayConnected   *prometheus.GaugeVec
	relayReconnects  *prometheus.CounterVec
	relayDisconnects *prometheus.CounterVec
	urcs             *prometheus.CounterVec
	outboxRetries    *prometheus.CounterVec
	inboxMessages    *prometheus.CounterVec
	inboxParts       *prometheus.CounterVec
	statusReports    *prometheus.CounterVec
	inboxErrors      *prometheus.CounterVec
	inboxStoreUsed   *prometheus.GaugeVec
	inboxStoreTotal  *prometheus.GaugeVec
	owned            *prometheus.GaugeVec
	takeovers        *prometheus.CounterVec
	forwarded        *prometheus.CounterVec
}

func newModemVecs() modemVecs {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, append([]string{modemLabel}, labels...))
	}
	gauge := func(name, help string, labels ...string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, append([]string{modemLabel}, labels...))
	}
	return modemVecs{
		atCommands: counter("simmodem_api_at_commands_total",
			"AT commands sent, by modem, command name and result class (ok, error, cme_error, cms_error, no_prompt, timeout, canceled, out_of_sync, closed).",
			"command", "result"),
		atDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "simmodem_api_at_command_duration_seconds", Help: "Time from sending an AT command to its final result code, by modem and command.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{modemLabel, "command"}),
		smsPartsSent: counter("simmodem_api_sms_parts_sent_total", "SMS parts the modem accepted (+CMSS: <mr>), by modem."),
		smsPartsFailed: counter("simmodem_api_sms_parts_failed_total",
			"SMS parts that did not go out, by modem and reason (cms_<code>, cme_<code>, timeout, no_prompt, error, unavailable, other).", "reason"),
		smsPartsUnknown: counter("simmodem_api_sms_parts_unknown_total",
			"SMS parts whose body went to the modem but whose result never came (they may have been sent), by modem and reason (timeout, unavailable, other).", "reason"),
		smsMessages:   counter("simmodem_api_sms_messages_total", "SMS send requests by modem and result (sent, failed, unknown, rejected).", "result"),
		queueDepth:    gauge("simmodem_api_queue_depth", "Modem jobs queued or running, by modem."),
		queueCapacity: gauge("simmodem_api_queue_capacity", "Modem jobs that may wait in each job class's queue, by modem."),
		queueRejected: counter("simmodem_api_queue_rejected_total",
			"Requests refused because their job class's modem queue was full, by modem and class (send, operation, read).", "class"),
		queueClassDepth: gauge("simmodem_api_queue_waiting", "Modem jobs waiting, by modem and class (send, operation, read).", "class"),
		relayConnected: gauge("simmodem_api_relay_connected",
			"1 while the modem's relay session is ready (connected, in control, modem initialised), by modem."),
		relayReconnects:  counter("simmodem_api_relay_reconnects_total", "Relay sessions that became ready again after one was lost, by modem."),
		relayDisconnects: counter("simmodem_api_relay_disconnects_total", "Relay connection attempts or sessions that ended, by modem and reason.", "reason"),
		urcs:             counter("simmodem_api_urcs_total", "Unsolicited lines from the modem, by modem and URC name (\"unknown\" for other lines).", "name"),
		outboxRetries: counter("simmodem_api_outbox_retries_total",
			"Transient send failures the outbox retries after a backoff, by modem and reason (cms_<code>, cme_<code>, timeout, unavailable, error, other).", "reason"),
		inboxMessages: counter("simmodem_api_inbox_messages_total",
			"Received messages that entered the inbox, by modem and state: received (complete), incomplete (parts missing after API_INBOX_INCOMPLETE_AFTER), undecodable (kept raw).", "state"),
		inboxParts: counter("simmodem_api_inbox_parts_total",
			"Received SMS parts the sweep read from the modem, by modem and result: stored (committed the first time), again (already stored: read again after a crash between commit and delete).", "result"),
		statusReports: counter("simmodem_api_status_reports_total",
			"Status reports stored, by modem and result: matched (to a sent part), unmatched, invalid (undecodable, kept raw).", "result"),
		inboxErrors: counter("simmodem_api_inbox_sweep_errors_total",
			"Inbox failures, by modem and stage: sweep (a sweep did not finish; the next retries), delete (a stored message could not be deleted from the modem), expire (the incomplete check).", "stage"),
		inboxStoreUsed: gauge("simmodem_api_inbox_store_used",
			"Messages in each modem message store (SM, ME, SR) as the last sweep found it (AT+CPMS), before it took them, by modem and memory.", "memory"),
		inboxStoreTotal: gauge("simmodem_api_inbox_store_capacity",
			"Capacity of each modem message store (SM, ME, SR), by modem and memory; used == capacity: full, the network holds new messages.", "memory"),
		owned: gauge("simmodem_api_modem_owned",
			"1 while this instance drives the modem (holds its lease), 0 while another one or none does, by modem and instance (this instance's name); cluster mode only.", "instance"),
		takeovers: counter("simmodem_api_lease_takeovers_total",
			"Times this instance took the modem's lease and began to drive it (at its start, after another instance released it or let it lapse), by modem."),
		forwarded: counter("simmodem_api_forwarded_requests_total",
			"Requests on the modem that this instance did not serve itself, by modem and result: answered (forwarded to the owner, which answered), unreachable (the owner did not answer: 502), no_owner (no instance drives it: 503), loop (already forwarded by another instance: 503).", "result"),
	}
}

func (v *modemVecs) collectors() []prometheus.Collector {
	return []prometheus.Collector{v.atCommands, v.atDuration, v.smsPartsSent, v.smsPartsFailed, v.smsPartsUnknown,
		v.smsMessages, v.queueDepth, v.queueCapacity, v.queueRejected, v.queueClassDepth, v.relayConnected,
		v.relayReconnects, v.relayDisconnects, v.urcs, v.outboxRetries, v.inboxMessages, v.inboxParts,
		v.statusReports, v.inboxErrors, v.inboxStoreUsed, v.inboxStoreTotal, v.owned, v.takeovers, v.forwarded}
}

// The modem_* gauges, read from each modem's snapshot at scrape time.
// Every one's first label is modem.
var (
	descUp       = modemDesc("modem_up", "1 if the modem answered the last status poll, 0 if it is unreachable (then no other modem_* value of it is exported).")
	descRSSI     = modemDesc("modem_signal_rssi_dbm", "Received signal strength in dBm (AT+CSQ); absent when unknown.")
	descBER      = modemDesc("modem_signal_ber", "Bit error rate class 0..7 (AT+CSQ RXQUAL); absent when unknown.")
	descBars     = modemDesc("modem_signal_bars", "Signal bars 0..4 derived from AT+CSQ.")
	descReg      = modemDesc("modem_registration_state", "Network registration <stat> of AT+CREG/+CEREG: 0 not registered, 1 home, 2 searching, 3 denied, 4 unknown, 5 roaming.")
	descRegd     = modemDesc("modem_registered", "1 if registered (home or roaming).")
	descSIM      = modemDesc("modem_sim_state", "1 for the SIM's current state (ready, pin, puk, absent, unknown), 0 for the others.", "state")
	descInfo     = modemDesc("modem_info", "Identity of the modem; always 1.", "manufacturer", "model", "firmware", "imei")
	descOperator = modemDesc("modem_operator_info", "Operator and access technology; always 1.", "operator", "access_technology")
	descLastPoll = modemDesc("modem_last_poll_timestamp_seconds", "Unix time of the last successful status poll.")
	descRadio    = modemDesc("modem_radio_on", "1 if the radio is on (AT+CFUN: 1), 0 if off (0 minimum, 4 flight mode); absent when unknown.")
	descStUsed   = modemDesc("modem_sms_storage_used", "Messages in the store new SMS are received into (AT+CPMS <mem3>); absent when unknown.", "memory")
	descStTotal  = modemDesc("modem_sms_storage_capacity", "Capacity of the store new SMS are received into (AT+CPMS <mem3>); used == capacity: full, new messages are not received.", "memory")
	simStates    = []string{"ready", "pin", "puk", "absent", "unknown"}
)

func modemDesc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, append([]string{modemLabel}, labels...), nil)
}

// modemCollector exports the modem_* gauges of every modem added, each
// from its own snapshot.
type modemCollector struct {
	mu        sync.Mutex
	snapshots map[string]func() *poller.Snapshot
	exported  map[string]func() bool // whether this instance exports the modem's gauges now
}

// add adds a modem whose gauges are exported while exported() is true;
// false if its id is taken.
func (c *modemCollector) add(id string, snapshot func() *poller.Snapshot, exported func() bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.snapshots[id]; ok {
		return false
	}
	if c.exported == nil {
		c.exported = map[string]func() bool{}
	}
	c.snapshots[id], c.exported[id] = snapshot, exported
	return true
}

func (c *modemCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descUp, descRSSI, descBER, descBars, descReg, descRegd, descSIM, descInfo, descOperator, descLastPoll, descRadio, descStUsed, descStTotal} {
		ch <- d
	}
}

func (c *modemCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	ids := make([]string, 0, len(c.snapshots))
	for id := range c.snapshots {
		ids = append(ids, id)
	}
	snapshots := make([]func() *poller.Snapshot, len(ids))
	exported := make([]func() bool, len(ids))
	sort.Strings(ids)
	for i, id := range ids {
		snapshots[i], exported[i] = c.snapshots[id], c.exported[id]
	}
	c.mu.Unlock()
	for i, id := range ids {
		if exported[i]() {
			collectModem(ch, id, snapshots[i]())
		}
	}
}

// collectModem sends one modem's gauges from its snapshot s.
func collectModem(ch chan<- prometheus.Metric, id string, s *poller.Snapshot) {
	g := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append([]string{id}, l...)...)
	}
	if s == nil || !s.Reachable {
		g(descUp, 0)
		return
	}
	g(descUp, 1)
	st := s.Status
	if st.Signal.RSSIdBm != nil {
		g(descRSSI, float64(*st.Signal.RSSIdBm))
	}
	if st.Signal.BER != nil {
		g(descBER, float64(*st.Signal.BER))
	}
	g(descBars, float64(st.Signal.Bars))
	if st.RegistrationCode >= 0 {
		g(descReg, float64(st.RegistrationCode))
	}
	regd := 0.0
	if st.RegistrationCode == 1 || st.RegistrationCode == 5 {
		regd = 1
	}
	g(descRegd, regd)
	for _, state := range simStates {
		v := 0.0
		if st.SIM == state {
			v = 1
		}
		g(descSIM, v, state)
	}
	ident := s.Identity
	g(descInfo, 1, ident.Manufacturer, ident.Model, ident.Firmware, ident.IMEI)
	g(descOperator, 1, st.Operator, st.AccessTechnology)
	g(descLastPoll, float64(s.UpdatedAt.UnixNano())/1e9)
	switch st.Radio {
	case "on":
		g(descRadio, 1)
	case "off":
		g(descRadio, 0)
	}
	if sto := st.Storage; sto != nil {
		g(descStUsed, float64(sto.Used), sto.Memory)
		g(descStTotal, float64(sto.Total), sto.Memory)
	}
}
