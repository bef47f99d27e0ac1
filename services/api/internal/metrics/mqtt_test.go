package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestWatchMQTT(t *testing.T) {
	m := New()
	q := m.WatchMQTT()
	q.ConnectFailures.WithLabelValues("auth").Inc()
	q.Dropped.WithLabelValues("queue_full").Add(2)
	q.Connected.Set(1)
	want := `
# HELP simmodem_api_mqtt_connect_failures_total Failed connection attempts to the MQTT broker, by reason (auth: credentials refused; refused; network).
# TYPE simmodem_api_mqtt_connect_failures_total counter
simmodem_api_mqtt_connect_failures_total{reason="auth"} 1
simmodem_api_mqtt_connect_failures_total{reason="network"} 0
simmodem_api_mqtt_connect_failures_total{reason="refused"} 0
# HELP simmodem_api_mqtt_connected 1 while the api is connected to the MQTT broker.
# TYPE simmodem_api_mqtt_connected gauge
simmodem_api_mqtt_connected 1
`
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(want), "simmodem_api_mqtt_connect_failures_total", "simmodem_api_mqtt_connected"); err != nil {
		t.Error(err)
	}
	if n := testutil.ToFloat64(q.Dropped.WithLabelValues("queue_full")); n != 2 {
		t.Errorf("dropped %v", n)
	}
}
