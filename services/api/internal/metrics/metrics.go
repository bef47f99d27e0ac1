// Package metrics defines the api's Prometheus instruments. Service
// metrics are named simmodem_api_*, the modem's state modem_*. The
// instruments of one modem (Metrics.Modem) carry a label modem=<id>;
// the process-wide ones (HTTP, store, webhooks, Go, process) do not. A
// modem's gauges come from its poller's snapshot at scrape time and are
// left out (with modem_up 0) while it is unreachable, so that no stale
// value is ever exported. services/api/README.md lists every metric.
package metrics

import (
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/sim-modem-api/sim-modem-api/modem/poller"
)

// Metrics holds the process-wide instruments (HTTP, Go and process
// collectors, and what WatchStore and WatchEvents add) and the vectors of
// the per-modem ones, which Modem hands out one modem at a time.
type Metrics struct {
	Registry *prometheus.Registry

	HTTPRequests *prometheus.CounterVec
	HTTPDuration *prometheus.HistogramVec

	vecs   modemVecs
	states *modemCollector

	mu       sync.Mutex
	instance string // SetInstance
	named    bool
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

// New registers the process-wide instruments and the per-modem vectors,
// which export nothing until Modem adds a modem.
func New() *Metrics {
	r := prometheus.NewPedanticRegistry()
	m := &Metrics{
		Registry: r,
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "simmodem_api_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		HTTPDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "simmodem_api_http_request_duration_seconds", Help: "HTTP request duration by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route"}),
		vecs:   newModemVecs(),
		states: &modemCollector{snapshots: map[string]func() *poller.Snapshot{}},
	}
	r.MustRegister(m.HTTPRequests, m.HTTPDuration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.states)
	r.MustRegister(m.vecs.collectors()...)
	return m
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
