package metrics

import "github.com/prometheus/client_golang/prometheus"

// inboxMetrics are the inbox sweep's instruments (package inbox's hooks).
type inboxMetrics struct {
	InboxMessages   *prometheus.CounterVec
	InboxParts      *prometheus.CounterVec
	StatusReports   *prometheus.CounterVec
	InboxErrors     *prometheus.CounterVec
	InboxStoreUsed  *prometheus.GaugeVec
	InboxStoreTotal *prometheus.GaugeVec
}

func newInboxMetrics() inboxMetrics {
	im := inboxMetrics{
		InboxMessages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "simmodem_api_inbox_messages_total", Help: "Received messages that entered the inbox, by state: received (complete), incomplete (parts missing after API_INBOX_INCOMPLETE_AFTER), undecodable (kept raw).",
		}, []string{"state"}),
		InboxParts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "simmodem_api_inbox_parts_total", Help: "Received SMS parts the sweep read from the modem, by result: stored (committed the first time), again (already stored: read again after a crash between commit and delete).",
		}, []string{"result"}),
		StatusReports: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "simmodem_api_status_reports_total", Help: "Status reports stored, by result: matched (to a sent part), unmatched, invalid (undecodable, kept raw).",
		}, []string{"result"}),
		InboxErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "simmodem_api_inbox_sweep_errors_total", Help: "Inbox failures, by stage: sweep (a sweep did not finish; the next retries), delete (a stored message could not be deleted from the modem), expire (the incomplete check).",
		}, []string{"stage"}),
		InboxStoreUsed: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "simmodem_api_inbox_store_used", Help: "Messages in each modem message store (SM, ME, SR) as the last sweep found it (AT+CPMS), before it took them.",
		}, []string{"memory"}),
		InboxStoreTotal: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "simmodem_api_inbox_store_capacity", Help: "Capacity of each modem message store (SM, ME, SR); used == capacity: full, the network holds new messages.",
		}, []string{"memory"}),
	}
	for _, s := range []string{"received", "incomplete", "undecodable"} {
		im.InboxMessages.WithLabelValues(s)
	}
	for _, r := range []string{"stored", "again"} {
		im.InboxParts.WithLabelValues(r)
	}
	for _, r := range []string{"matched", "unmatched", "invalid"} {
		im.StatusReports.WithLabelValues(r)
	}
	for _, s := range []string{"sweep", "delete", "expire"} {
		im.InboxErrors.WithLabelValues(s)
	}
	return im
}

func (im inboxMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{im.InboxMessages, im.InboxParts, im.StatusReports, im.InboxErrors, im.InboxStoreUsed, im.InboxStoreTotal}
}

// InboxPart counts a received part the sweep read: stored the first time
// (isNew) or found already stored.
func (m *Metrics) InboxPart(isNew bool) {
	r := "again"
	if isNew {
		r = "stored"
	}
	m.InboxParts.WithLabelValues(r).Inc()
}

// InboxMessage counts a message that entered the inbox, by its state.
func (m *Metrics) InboxMessage(state string) { m.InboxMessages.WithLabelValues(state).Inc() }

// StatusReport counts a stored status report: invalid if it does not
// decode, else matched or not.
func (m *Metrics) StatusReport(valid, matched bool) {
	r := "unmatched"
	switch {
	case !valid:
		r = "invalid"
	case matched:
		r = "matched"
	}
	m.StatusReports.WithLabelValues(r).Inc()
}

// InboxStoreFill records a modem store's fill as a sweep found it.
func (m *Metrics) InboxStoreFill(memory string, used, total int) {
	m.InboxStoreUsed.WithLabelValues(memory).Set(float64(used))
	m.InboxStoreTotal.WithLabelValues(memory).Set(float64(total))
}

// InboxError counts an inbox failure at a stage (sweep, delete, expire).
func (m *Metrics) InboxError(stage string) { m.InboxErrors.WithLabelValues(stage).Inc() }
