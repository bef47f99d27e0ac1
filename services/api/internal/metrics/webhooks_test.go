package metrics

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
)

// watchedWebhook is a store with a webhook that received one event and
// failed at the next (a backlog of one), watched by m.
func watchedWebhook(t *testing.T, m *Metrics) (*Events, *store.Webhook) {
	t.Helper()
	st := openTestStore(t)
	ctx := context.Background()
	wh, err := st.CreateWebhook(ctx, store.WebhookRequest{URL: "http://127.0.0.1:9/hook"})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := st.AppendEvent(ctx, store.EventModemConnected, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.WebhookAttemptBegin(ctx, wh.ID, 1, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := st.WebhookDelivered(ctx, wh.ID, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := st.WebhookAttemptBegin(ctx, wh.ID, 2, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := st.WebhookFailed(ctx, wh.ID, 2, "HTTP 500", time.Now()); err != nil {
		t.Fatal(err)
	}
	return m.WatchEvents(st), wh
}

func TestWebhookFigures(t *testing.T) {
	m := New()
	e, wh := watchedWebhook(t, m)
	e.WebhookDeliveries.WithLabelValues("http_error").Inc()
	e.Streams.Set(3)
	want := `
# HELP simmodem_api_webhook_backlog Events a webhook has yet to receive, by webhook id, read from the store at scrape time.
# TYPE simmodem_api_webhook_backlog gauge
simmodem_api_webhook_backlog{webhook="ID"} 1
# HELP simmodem_api_webhook_state 1 for a webhook's current state (active, failing: its head event is being retried, disabled: it answered 410), by webhook id.
# TYPE simmodem_api_webhook_state gauge
simmodem_api_webhook_state{state="active",webhook="ID"} 0
simmodem_api_webhook_state{state="disabled",webhook="ID"} 0
simmodem_api_webhook_state{state="failing",webhook="ID"} 1
# HELP simmodem_api_event_streams Open GET /v1/events streams.
# TYPE simmodem_api_event_streams gauge
simmodem_api_event_streams 3
`
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(strings.ReplaceAll(want, "ID", wh.ID)),
		"simmodem_api_webhook_backlog", "simmodem_api_webhook_state", "simmodem_api_event_streams"); err != nil {
		t.Fatal(err)
	}
	if v := testutil.ToFloat64(e.WebhookDeliveries.WithLabelValues("http_error")); v != 1 {
		t.Fatalf("deliveries %v", v)
	}
}
