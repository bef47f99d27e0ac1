package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
)

// retentionEvery is how often the retention runs after the one at start.
const retentionEvery = 24 * time.Hour

// retain deletes the messages that finished longer than horizon ago, at
// start and then daily, until ctx ends; horizon 0 keeps everything
// (API_RETENTION=off).
func retain(ctx context.Context, st *store.Store, horizon time.Duration, log *slog.Logger) {
	if horizon <= 0 {
		log.Info("retention off: finished messages are kept")
		return
	}
	t := time.NewTicker(retentionEvery)
	defer t.Stop()
	for {
		res, err := st.Retention(ctx, horizon)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("retention failed; retried in a day", "err", err)
		case err == nil && (res.Messages > 0 || res.Reports > 0 || res.Events > 0):
			log.Info("retention: deleted what finished before the horizon", "horizon", horizon, "messages", res.Messages, "reports", res.Reports,
				"events", res.Events)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
