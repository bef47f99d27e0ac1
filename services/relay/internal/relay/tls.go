package relay

import (
	"crypto/tls"
	"net"

	"github.com/sim-modem-api/sim-modem-api/services/relay/internal/tlsbridge"
)

// WithTLS returns a listener for Serve that terminates mutual TLS (cfg,
// see relaytls.Server) on each connection accepted from ln and hands the
// relay the client's bytes through a unix socket pair (package
// tlsbridge), so that the I/O loop and every rule of the relay apply to a
// TLS client as to a plain one. A failed handshake is logged as a
// rejected client socket with its address and reason and counted in
// relay_tls_handshake_failures_total; it never reaches the control slot.
// After Serve has returned, call Wait on the listener.
func (r *Relay) WithTLS(ln net.Listener, cfg *tls.Config) *tlsbridge.Listener {
	return tlsbridge.New(ln, tlsbridge.Config{
		TLS:          cfg,
		WriteTimeout: r.cfg.WriteTimeout,
		Linger:       lingerTime,
		OnFailure: func(addr net.Addr, reason string, err error) {
			r.m.TLSHandshakeFailures.WithLabelValues(reason).Inc()
			r.log.Printf("Rejected the client socket %s: the TLS handshake failed (%s): %v", addr, reason, err)
		},
	})
}
