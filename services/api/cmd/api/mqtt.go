package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/sim-modem-api/sim-modem-api/services/api/internal/config"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/fleet"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/metrics"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/mqttbridge"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/submit"
)

// mqttBridges returns what builds the MQTT bridge of cfg.MQTT (nil when
// API_MQTT_URL is empty) over every modem unit. A bridge publishes the
// events committed from its build on: with one instance main builds one
// before the modems run; in a cluster the holder of the events lease
// builds one per lease term (runBridge).
func mqttBridges(cfg *config.Config, st *store.Store, units []*fleet.Unit, sub *submit.Submitter,
	m *metrics.Metrics, log *slog.Logger) func(ctx context.Context) (*mqttbridge.Bridge, error) {
	c := cfg.MQTT
	if c.URL == "" {
		return nil
	}
	var modems []mqttbridge.Modem
	depth := map[string]func(context.Context) (int, error){}
	for _, u := range units {
		modems = append(modems, mqttbridge.Modem{ID: u.ID(), Snapshot: u.Poller.Snapshot, Changed: u.Poller.Changed})
		depth[u.ID()] = u.Depth
	}
	mm := m.WatchMQTT()
	log.Info("mqtt: bridge on", "broker", c.URL, "topic_prefix", c.TopicPrefix, "discovery", c.Discovery, "discovery_prefix", c.DiscoveryPrefix)
	return func(ctx context.Context) (*mqttbridge.Bridge, error) {
		after, err := st.LastEventSeq(ctx)
		if err != nil {
			return nil, fmt.Errorf("mqtt: %w", err)
		}
		return mqttbridge.New(mqttbridge.Config{
			Addr: c.Addr, TLS: c.TLS, ClientID: c.ClientID, Username: c.Username, Password: c.Password,
			TopicPrefix: c.TopicPrefix, DiscoveryPrefix: c.DiscoveryPrefix, Discovery: c.Discovery, QoS: c.QoS, Queue: c.Queue,
			KeepAlive: c.KeepAlive, ReconnectMin: c.ReconnectMin, ReconnectMax: c.ReconnectMax, NotifyTo: c.NotifyTo,
			Modems: modems, Events: st, After: after, Submit: sub.Submit, Logger: log,
			Queued: func(ctx context.Context, id string) (int, error) { return depth[id](ctx) },
			Hooks: mqttbridge.Hooks{
				Published:     func(k string) { mm.Published.WithLabelValues(k).Inc() },
				Dropped:       func(r string) { mm.Dropped.WithLabelValues(r).Inc() },
				ConnectFailed: func(r string) { mm.ConnectFailures.WithLabelValues(r).Inc() },
				Command:       func(r string) { mm.Commands.WithLabelValues(r).Inc() },
				Queue:         func(n int) { mm.Queue.Set(float64(n)) },
				Connected: func(up bool) {
					v := 0.0
					if up {
						v = 1
					}
					mm.Connected.Set(v)
				},
			},
		}), nil
	}
}

// runBridge builds a bridge and runs it until ctx ends; a build that
// fails (the store did not answer) is tried again every retry.
func runBridge(ctx context.Context, build func(context.Context) (*mqttbridge.Bridge, error), retry time.Duration, log *slog.Logger) {
	for {
		b, err := build(ctx)
		if err == nil {
			b.Run(ctx)
			return
		}
		if ctx.Err() != nil {
			return
		}
		log.Error("mqtt: cannot start the bridge; retrying", "err", err, "retry_in", retry)
		t := time.NewTimer(retry)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}
