package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Serve answers GET /metrics on ln, without authentication, until ctx
// ends; then it stops accepting and finishes the scrapes in flight. It is
// the listener Prometheus scrapes (API_METRICS_LISTEN): keep it off
// published ports, since the metrics name the modem (its IMEI). The API
// port's /metrics needs a key.
func (m *Metrics) Serve(ctx context.Context, ln net.Listener) error {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	stopped := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(stopped)
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx) // scrapes still running after 5 s are cut
	})
	err := srv.Serve(ln)
	if stop() {
		// Serve failed on its own: nobody else will close the server.
		srv.Close()
	} else {
		<-stopped
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("metrics listener %s: %w", ln.Addr(), err)
}
