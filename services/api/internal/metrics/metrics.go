// Package metrics defines the api's Prometheus instruments. Service
// metrics are named simmodem_api_*, the modem's state modem_*; the modem's
// gauges come from the poller's snapshot at scrape time and are left out
// (with modem_up 0) while the modem is unreachable, so that no stale value
// is ever exported. services/api/README.md lists every metric.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/sim-modem-api/sim-modem-api/modem/at"
	"github.com/sim-modem-api/sim-modem-api/modem/poller"
)

// Metrics holds the instruments.
type Metrics struct {
	Registry *prometheus.Registry

	ATCommands       *prometheus.CounterVec
	ATDuration       *prometheus.HistogramVec
	SMSPartsSent     prometheus.Counter
	SMSPartsFailed   *prometheus.CounterVec
	SMSPartsUnknown  *prometheus.CounterVec
	SMSMessages      *prometheus.CounterVec
	QueueDepth       prometheus.Gauge
	QueueCapacity    prometheus.Gauge
	QueueRejected    *prometheus.CounterVec
	QueueClassDepth  *prometheus.GaugeVec
	RelayConnected   prometheus.Gauge
	RelayReconnects  prometheus.Counter
	RelayDisconnects *prometheus.CounterVec
	URCs             *prometheus.CounterVec
	HTTPRequests     *prometheus.CounterVec
	HTTPDuration     *prometheus.HistogramVec
	// OutboxRetries counts the outbox's transient failures, retried.
	OutboxRetries *prometheus.CounterVec
	inboxMetrics
}

// knownCommands bounds the label values of the AT metrics: a raw command
// of an admin counts as "other".
var knownCommands = map[string]bool{
	"AT": true, "E": true, "I": true, "S7": true, "resync": true, "+CMEE": true, "+CMGF": true, "+CSCS": true,
	"+CNMI": true, "+CPMS": true, "+CGMI": true, "+CGMM": true, "+CGMR": true, "+CGSN": true, "+CIMI": true,
	"+ZGETICCID": true, "+CCID": true, "+CNUM": true, "+CPIN": true, "+CSQ": true, "+CREG": true, "+CEREG": true,
	"+COPS": true, "+ZPAS": true, "+CMGS": true, "+CUSD": true, "+CSCA": true,
	"+CMGW": true, "+CMSS": true, "+CMGR": true, "+CMGL": true, "+CMGD": true,
}

// New registers every instrument; snapshot gives the modem state at scrape time.
func New(snapshot func() *poller.Snapshot) *Metrics {
	r := prometheus.NewPedanticRegistry()
	m := &Metrics{
		Registry: r,
		ATCommands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "simmodem_api_at_commands_total", Help: "AT commands sent, by command name and result class (ok, error, cme_error, cms_error, no_prompt, timeout, canceled, out_of_sync, closed).",
		}, []string{"command", "result"}),
		ATDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "simmodem_api_at_command_duration_seconds", Help: "Time from sending an AT command to its final result code.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"command"}),
		SMSPartsSent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "simmodem_api_sms_parts_sent_total", Help: "SMS parts the modem accepted (+CMSS: <mr>).",
		}),
		SMSPartsFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "simmodem_api_sms_parts_failed_total", Help: "SMS parts that did not go out, by reason (cms_<code>, cme_<code>, timeout, no_prompt, error, unavailable, other).",
		}, []string{"reason"}),
		SMSPartsUnknown: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "simmodem_api_sms_parts_unknown_total", Help: "SMS parts whose body went to the modem but whose result never came (they may have been sent), by reason (timeout, unavailable, other).",
		}, []string{"reason"}),
		SMSMessages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "simmodem_api_sms_messages_total", Help: "SMS send requests by result (sent, failed, unknown, rejected).",
		}, []string{"result"}),
		QueueDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "simmodem_api_queue_depth", Help: "Modem jobs queued or running.",
		}),
		QueueCapacity: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "simmodem_api_queue_capacity", Help: "Modem jobs that may wait in each job class's queue.",
		}),
		QueueRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "simmodem_api_queue_rejected_total", Help: "Requests refused because their job class's modem queue was full, by class (send, operation, read).",
		}, []string{"class"}),
		QueueClassDepth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "simmodem_api_queue_waiting", Help: "Modem jobs waiting, by class (send, operation, read).",
		}, []string{"class"}),
		RelayConnected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "simmodem_api_relay_connected", Help: "1 while the relay session is ready (connected, in control, modem initialised).",
		}),
		RelayReconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "simmodem_api_relay_reconnects_total", Help: "Relay sessions that became ready again after one was lost.",
		}),
		RelayDisconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "simmodem_api_relay_disconnects_total", Help: "Relay connection attempts or sessions that ended, by reason.",
		}, []string{"reason"}),
		URCs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "simmodem_api_urcs_total", Help: "Unsolicited lines from the modem, by URC name (\"unknown\" for other lines).",
		}, []string{"name"}),
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "simmodem_api_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		HTTPDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "simmodem_api_http_request_duration_seconds", Help: "HTTP request duration by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route"}),
		OutboxRetries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "simmodem_api_outbox_retries_total", Help: "Transient send failures the outbox retries after a backoff, by reason (cms_<code>, cme_<code>, timeout, unavailable, error, other).",
		}, []string{"reason"}),
	}
	r.MustRegister(m.OutboxRetries, m.ATCommands, m.ATDuration, m.SMSPartsSent, m.SMSPartsFailed, m.SMSMessages, m.QueueDepth,
		m.QueueCapacity, m.QueueRejected, m.SMSPartsUnknown, m.QueueClassDepth, m.RelayConnected, m.RelayReconnects, m.RelayDisconnects, m.URCs,
		m.HTTPRequests, m.HTTPDuration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&modemCollector{snapshot: snapshot})
	m.inboxMetrics = newInboxMetrics()
	r.MustRegister(m.inboxMetrics.collectors()...)
	// The reasons that do not carry a modem error code exist from the
	// start at 0, so that a rate over them is 0 rather than no data before
	// the first failure (cms_<code> and cme_<code> appear when they occur).
	for _, reason := range []string{"timeout", "no_prompt", "error", "unavailable", "other"} {
		m.SMSPartsFailed.WithLabelValues(reason)
	}
	for _, reason := range []string{"timeout", "unavailable", "other"} {
		m.SMSPartsUnknown.WithLabelValues(reason)
	}
	for _, reason := range []string{"timeout", "unavailable", "other"} {
		m.OutboxRetries.WithLabelValues(reason)
	}
	for _, result := range []string{"sent", "failed", "unknown", "rejected"} {
		m.SMSMessages.WithLabelValues(result)
	}
	for _, class := range []string{"send", "operation", "read"} {
		m.QueueRejected.WithLabelValues(class)
		m.QueueClassDepth.WithLabelValues(class)
	}
	return m
}

// ObserveAT is the engine's observer.
func (m *Metrics) ObserveAT(o at.Observation) {
	c := o.Command
	if !knownCommands[c] {
		c = "other"
	}
	m.ATCommands.WithLabelValues(c, o.Result).Inc()
	m.ATDuration.WithLabelValues(c).Observe(o.Duration.Seconds())
}

// Part counts an SMS part by its state (sent, failed, unknown) and, unless
// sent, the reason.
func (m *Metrics) Part(state, reason string) {
	switch state {
	case "sent":
		m.SMSPartsSent.Inc()
	case "unknown":
		m.SMSPartsUnknown.WithLabelValues(reason).Inc()
	default:
		m.SMSPartsFailed.WithLabelValues(reason).Inc()
	}
}

// URC counts an unsolicited line.
func (m *Metrics) URC(name string) {
	if name == "" {
		name = "unknown"
	}
	m.URCs.WithLabelValues(name).Inc()
}

// HTTP observes a request.
func (m *Metrics) HTTP(route string, code int, d time.Duration) {
	m.HTTPRequests.WithLabelValues(route, itoa(code)).Inc()
	m.HTTPDuration.WithLabelValues(route).Observe(d.Seconds())
}

func itoa(n int) string {
	b := [8]byte{}
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}

var (
	descUp       = prometheus.NewDesc("modem_up", "1 if the modem answered the last status poll, 0 if it is unreachable (then no other modem_* value is exported).", nil, nil)
	descRSSI     = prometheus.NewDesc("modem_signal_rssi_dbm", "Received signal strength in dBm (AT+CSQ); absent when unknown.", nil, nil)
	descBER      = prometheus.NewDesc("modem_signal_ber", "Bit error rate class 0..7 (AT+CSQ RXQUAL); absent when unknown.", nil, nil)
	descBars     = prometheus.NewDesc("modem_signal_bars", "Signal bars 0..4 derived from AT+CSQ.", nil, nil)
	descReg      = prometheus.NewDesc("modem_registration_state", "Network registration <stat> of AT+CREG/+CEREG: 0 not registered, 1 home, 2 searching, 3 denied, 4 unknown, 5 roaming.", nil, nil)
	descRegd     = prometheus.NewDesc("modem_registered", "1 if registered (home or roaming).", nil, nil)
	descSIM      = prometheus.NewDesc("modem_sim_state", "1 for the SIM's current state (ready, pin, puk, absent, unknown), 0 for the others.", []string{"state"}, nil)
	descInfo     = prometheus.NewDesc("modem_info", "Identity of the modem; always 1.", []string{"manufacturer", "model", "firmware", "imei"}, nil)
	descOperator = prometheus.NewDesc("modem_operator_info", "Operator and access technology; always 1.", []string{"operator", "access_technology"}, nil)
	descLastPoll = prometheus.NewDesc("modem_last_poll_timestamp_seconds", "Unix time of the last successful status poll.", nil, nil)
	descRadio    = prometheus.NewDesc("modem_radio_on", "1 if the radio is on (AT+CFUN: 1), 0 if off (0 minimum, 4 flight mode); absent when unknown.", nil, nil)
	descStUsed   = prometheus.NewDesc("modem_sms_storage_used", "Messages in the store new SMS are received into (AT+CPMS <mem3>); absent when unknown.", []string{"memory"}, nil)
	descStTotal  = prometheus.NewDesc("modem_sms_storage_capacity", "Capacity of the store new SMS are received into (AT+CPMS <mem3>); used == capacity: full, new messages are not received.", []string{"memory"}, nil)
	simStates    = []string{"ready", "pin", "puk", "absent", "unknown"}
)

type modemCollector struct{ snapshot func() *poller.Snapshot }

func (c *modemCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descUp, descRSSI, descBER, descBars, descReg, descRegd, descSIM, descInfo, descOperator, descLastPoll, descRadio, descStUsed, descStTotal} {
		ch <- d
	}
}

func (c *modemCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.snapshot()
	if s == nil || !s.Reachable {
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 0)
		return
	}
	g := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, l...)
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
	id := s.Identity
	g(descInfo, 1, id.Manufacturer, id.Model, id.Firmware, id.IMEI)
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
