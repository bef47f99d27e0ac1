package metrics

import "github.com/prometheus/client_golang/prometheus"

// MQTT is the instruments of the MQTT bridge (package mqttbridge).
type MQTT struct {
	// Connected is 1 while the api is connected to the broker.
	Connected prometheus.Gauge
	// Published counts the messages the broker took, by kind (event, sms,
	// state, discovery, result, status).
	Published *prometheus.CounterVec
	// Dropped counts the messages given up, by reason (queue_full: the
	// oldest while the broker was away; refused: by the broker; shutdown:
	// still queued when the api stopped).
	Dropped *prometheus.CounterVec
	// ConnectFailures counts failed connection attempts by reason (auth:
	// the broker refused the credentials; refused: another CONNACK
	// refusal; network).
	ConnectFailures *prometheus.CounterVec
	// Commands counts the send commands (P/send and the notify entity) by
	// result (accepted, duplicate, invalid, conflict, internal).
	Commands *prometheus.CounterVec
	// Queue is the messages waiting for the broker.
	Queue prometheus.Gauge
}

// WatchMQTT registers the MQTT bridge's instruments (only when the bridge
// is on: the series exist from the start, at zero).
func (m *Metrics) WatchMQTT() *MQTT {
	q := &MQTT{
		Connected: prometheus.NewGauge(prometheus.GaugeOpts{Name: "simmodem_api_mqtt_connected", Help: "1 while the api is connected to the MQTT broker."}),
		Published: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "simmodem_api_mqtt_published_total",
			Help: "MQTT messages the broker took, by kind (event, sms, state, discovery, result, status)."}, []string{"kind"}),
		Dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "simmodem_api_mqtt_dropped_total",
			Help: "MQTT messages given up, by reason (queue_full: the oldest while the broker was away; refused: by the broker; shutdown: queued at the api's stop)."}, []string{"reason"}),
		ConnectFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "simmodem_api_mqtt_connect_failures_total",
			Help: "Failed connection attempts to the MQTT broker, by reason (auth: credentials refused; refused; network)."}, []string{"reason"}),
		Commands: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "simmodem_api_mqtt_commands_total",
			Help: "SMS send commands taken from MQTT, by result (accepted, duplicate, invalid, conflict, internal)."}, []string{"result"}),
		Queue: prometheus.NewGauge(prometheus.GaugeOpts{Name: "simmodem_api_mqtt_queue", Help: "MQTT messages waiting for the broker."}),
	}
	for _, k := range []string{"event", "sms", "state", "discovery", "result", "status"} {
		q.Published.WithLabelValues(k)
	}
	for _, r := range []string{"queue_full", "refused", "shutdown"} {
		q.Dropped.WithLabelValues(r)
	}
	for _, r := range []string{"auth", "refused", "network"} {
		q.ConnectFailures.WithLabelValues(r)
	}
	for _, r := range []string{"accepted", "duplicate", "invalid", "conflict", "internal"} {
		q.Commands.WithLabelValues(r)
	}
	m.Registry.MustRegister(q.Connected, q.Published, q.Dropped, q.ConnectFailures, q.Commands, q.Queue)
	return q
}
