package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
)

var (
	descWebhookBacklog = prometheus.NewDesc("simmodem_api_webhook_backlog",
		"Events a webhook has yet to receive, by webhook id, read from the store at scrape time.", []string{"webhook"}, nil)
	descWebhookState = prometheus.NewDesc("simmodem_api_webhook_state",
		"1 for a webhook's current state (active, failing: its head event is being retried, disabled: it answered 410), by webhook id.", []string{"webhook", "state"}, nil)
	descWebhookDead = prometheus.NewDesc("simmodem_api_webhook_dead_events",
		"Events a webhook gave up after API_WEBHOOK_MAX_AGE, by webhook id.", []string{"webhook"}, nil)
	descWebhookLastSuccess = prometheus.NewDesc("simmodem_api_webhook_last_success_timestamp_seconds",
		"When a webhook last acknowledged an event (Unix time; absent if never), by webhook id.", []string{"webhook"}, nil)

	webhookStates = []string{store.WebhookActive, "failing", store.WebhookDisabled}
)

// Events is the instruments of the event log's consumers.
type Events struct {
	// WebhookDeliveries counts delivery attempts by result (delivered,
	// http_error, network_error, timeout, gone) and events given up (dead).
	WebhookDeliveries *prometheus.CounterVec
	// Streams is the number of open GET /v1/events streams.
	Streams prometheus.Gauge
}

// WatchEvents registers the event instruments, and the webhooks' backlog,
// state, dead events and last success read from st at every scrape.
func (m *Metrics) WatchEvents(st *store.Store) *Events {
	e := &Events{
		WebhookDeliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "simmodem_api_webhook_deliveries_total", Help: "Webhook delivery attempts by result (delivered, http_error, network_error, timeout, gone) and events given up (dead).",
		}, []string{"result"}),
		Streams: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "simmodem_api_event_streams", Help: "Open GET /v1/events streams.",
		}),
	}
	for _, r := range []string{"delivered", "http_error", "network_error", "timeout", "gone", "dead"} {
		e.WebhookDeliveries.WithLabelValues(r)
	}
	m.Registry.MustRegister(e.WebhookDeliveries, e.Streams, &webhookCollector{st: st})
	return e
}

type webhookCollector struct{ st *store.Store }

func (c *webhookCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descWebhookBacklog
	ch <- descWebhookState
	ch <- descWebhookDead
	ch <- descWebhookLastSuccess
}

func (c *webhookCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	list, err := c.st.Webhooks(ctx)
	if err != nil {
		return
	}
	for _, w := range list {
		ch <- prometheus.MustNewConstMetric(descWebhookBacklog, prometheus.GaugeValue, float64(w.Backlog), w.ID)
		ch <- prometheus.MustNewConstMetric(descWebhookDead, prometheus.GaugeValue, float64(w.Dead), w.ID)
		status := w.Status()
		for _, s := range webhookStates {
			v := 0.0
			if s == status {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(descWebhookState, prometheus.GaugeValue, v, w.ID, s)
		}
		if !w.LastSuccess.IsZero() {
			ch <- prometheus.MustNewConstMetric(descWebhookLastSuccess, prometheus.GaugeValue, float64(w.LastSuccess.UnixMilli())/1000, w.ID)
		}
	}
}
