package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
)

var (
	descMessages = prometheus.NewDesc("simmodem_api_messages", "Stored messages by direction (out, in) and state, read from the message store at scrape time.", []string{"direction", "state"}, nil)
	descDepth    = prometheus.NewDesc("simmodem_api_outbox_depth", "Outbound messages queued or sending.", nil, nil)
	descPending  = prometheus.NewDesc("simmodem_api_inbox_reassembly_pending", "Concatenated received messages waiting for parts (delivered as incomplete after API_INBOX_INCOMPLETE_AFTER).", nil, nil)
	descOldest   = prometheus.NewDesc("simmodem_api_outbox_oldest_queued_age_seconds", "How long the oldest due queued message has waited since it was accepted (or its sendAt); 0 if none waits.", nil, nil)

	// The states exported even at 0, so that alerts on them have data.
	outStates = []store.State{store.StateQueued, store.StateSending, store.StateSent, store.StateDelivered,
		store.StateFailed, store.StateExpired, store.StateCancelled}
	inStates = []store.State{store.StateReceived, store.StateIncomplete, store.StateUndecodable}
)

// WatchStore exports the message store's figures (store.Stats), read at
// every scrape: messages by direction and state, the outbox depth and
// the oldest queued message's age. A scrape while the store cannot be
// read leaves them out.
func (m *Metrics) WatchStore(st *store.Store) {
	m.Registry.MustRegister(&storeCollector{st: st})
}

type storeCollector struct{ st *store.Store }

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descMessages
	ch <- descDepth
	ch <- descOldest
	ch <- descPending
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := c.st.Stats(ctx)
	if err != nil {
		return
	}
	g := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, l...)
	}
	seen := map[store.Direction]map[store.State]bool{store.Out: {}, store.In: {}}
	for dir, states := range map[store.Direction][]store.State{store.Out: outStates, store.In: inStates} {
		for _, state := range states {
			g(descMessages, float64(s.Messages[dir][state]), string(dir), string(state))
			seen[dir][state] = true
		}
	}
	for dir, byState := range s.Messages {
		for state, n := range byState {
			if seen[dir] == nil || !seen[dir][state] {
				g(descMessages, float64(n), string(dir), string(state))
			}
		}
	}
	g(descDepth, float64(s.OutboxDepth))
	g(descOldest, s.OldestQueuedAge.Seconds())
	g(descPending, float64(s.ReassemblyPending))
}
