// Package metrics defines the relay's Prometheus metrics and serves them,
// with a health endpoint, on their own HTTP listener.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/sim-modem-api/sim-modem-api/services/relay/internal/tlsbridge"
)

// Reasons a connection is rejected (label "reason" of relay_connections_rejected_total).
const (
	RejectInControl = "client_in_control"
	RejectNoDevice  = "no_serial_device"
	RejectShutdown  = "shutting_down"
)

// Reasons a client in control is disconnected (label "reason" of
// relay_client_disconnects_total).
const (
	DisconnectClientClosed     = "client_closed"
	DisconnectReadError        = "read_error"
	DisconnectWriteError       = "write_error"
	DisconnectSlowClient       = "slow_client"
	DisconnectHeartbeatTimeout = "heartbeat_timeout"
	DisconnectSerialLost       = "serial_unavailable"
	DisconnectShutdown         = "shutdown"
)

// Metrics are the relay's instruments. The zero value is not usable; call New.
type Metrics struct {
	SerialDeviceUp      prometheus.Gauge
	ClientInControl     prometheus.Gauge
	SerialWrittenBytes  prometheus.Counter
	SerialReadBytes     prometheus.Counter
	SerialDroppedBytes  prometheus.Counter
	ConnectionsAccepted prometheus.Counter
	ConnectionsRejected *prometheus.CounterVec
	ClientDisconnects   *prometheus.CounterVec
	HeartbeatsReceived  prometheus.Counter
	// SentinelHoldReleases counts possible sentinel starts released as data
	// because the rest did not follow within the sentinel hold.
	SentinelHoldReleases prometheus.Counter
	// ClientDiscardedBytes counts bytes a client in control sent after its
	// last line terminator and left behind when it went away.
	ClientDiscardedBytes prometheus.Counter
	SerialReopens        prometheus.Counter
	LogLinesDropped      prometheus.Counter
	// TLSHandshakeFailures counts TLS clients refused in the handshake, by
	// reason (tlsbridge.Reasons); zero unless the relay listens with TLS.
	TLSHandshakeFailures *prometheus.CounterVec
}

// New creates the metrics and registers them with reg. Every label value
// is created up front, so that series exist at zero before the first event.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		SerialDeviceUp: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "relay_serial_device_up", Help: "1 while the serial device is open, 0 while it is missing or being reopened."}),
		ClientInControl: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "relay_client_in_control", Help: "1 while a client is in control, else 0."}),
		SerialWrittenBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "relay_serial_written_bytes_total", Help: "Bytes written to the serial device (client to modem, heartbeats removed)."}),
		SerialReadBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "relay_serial_read_bytes_total", Help: "Bytes read from the serial device (modem to client)."}),
		SerialDroppedBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "relay_serial_dropped_bytes_total", Help: "Bytes read from the serial device while no client was in control (logged, then dropped)."}),
		ConnectionsAccepted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "relay_connections_accepted_total", Help: "TCP connections accepted, whether given control or rejected."}),
		ConnectionsRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "relay_connections_rejected_total", Help: "Connections told why and closed at once, by reason."}, []string{"reason"}),
		ClientDisconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "relay_client_disconnects_total", Help: "Clients in control that were disconnected, by reason."}, []string{"reason"}),
		HeartbeatsReceived: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "relay_heartbeats_received_total", Help: "Heartbeat sentinels received from the client in control."}),
		SentinelHoldReleases: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "relay_sentinel_hold_releases_total", Help: "Possible heartbeat starts released to the serial device as data because the rest of the sentinel did not follow within the sentinel hold."}),
		ClientDiscardedBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "relay_client_discarded_bytes_total", Help: "Bytes a client in control sent after its last line terminator (CR, Ctrl-Z, ESC) and left behind when it went away: discarded, never written to the serial device."}),
		SerialReopens: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "relay_serial_reopens_total", Help: "Times the serial device was opened again after it had been lost."}),
		LogLinesDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "relay_log_lines_dropped_total", Help: "Log lines dropped because stdout could not keep up (each loss is also reported in the log)."}),
		TLSHandshakeFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "relay_tls_handshake_failures_total", Help: "Connections refused because their TLS handshake failed (relay with TLS only), by reason."}, []string{"reason"}),
	}
	for _, r := range tlsbridge.Reasons {
		m.TLSHandshakeFailures.WithLabelValues(r)
	}
	for _, r := range []string{RejectInControl, RejectNoDevice, RejectShutdown} {
		m.ConnectionsRejected.WithLabelValues(r)
	}
	for _, r := range []string{DisconnectClientClosed, DisconnectReadError, DisconnectWriteError, DisconnectSlowClient,
		DisconnectHeartbeatTimeout, DisconnectSerialLost, DisconnectShutdown} {
		m.ClientDisconnects.WithLabelValues(r)
	}
	reg.MustRegister(m.SerialDeviceUp, m.ClientInControl, m.SerialWrittenBytes, m.SerialReadBytes, m.SerialDroppedBytes,
		m.ConnectionsAccepted, m.ConnectionsRejected, m.ClientDisconnects, m.HeartbeatsReceived, m.SentinelHoldReleases, m.ClientDiscardedBytes, m.SerialReopens,
		m.LogLinesDropped, m.TLSHandshakeFailures)
	return m
}

// NewRegistry returns a registry with the Go runtime and process collectors
// (process_resident_memory_bytes shows the relay's memory).
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// HealthFunc reports whether the relay is healthy, and why not.
type HealthFunc func() error

// Handler serves /metrics from g and /healthz from health: 200 "ok" when
// health returns nil, else 503 with the reason.
func Handler(g prometheus.Gatherer, health HealthFunc) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := health(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "unhealthy: %v\n", err)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	return mux
}

// Serve serves h on ln until ctx is cancelled, then shuts the server down.
func Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("metrics server: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("metrics server shutdown: %w", err)
	}
	return nil
}

// Check performs the health check of the `relay healthcheck` subcommand:
// GET http://addr/healthz must answer 200 within timeout.
func Check(ctx context.Context, addr string, timeout time.Duration) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("metrics address %q: %w", addr, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	url := "http://" + net.JoinHostPort(host, port) + "/healthz"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("health request: %w", err)
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	var body [256]byte
	n, _ := resp.Body.Read(body[:])
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, trimNL(body[:n]))
	}
	return nil
}

func trimNL(b []byte) string {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return string(b)
}
