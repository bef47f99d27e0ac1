// Command api is the high-level HTTP API over the relay: send SMS, modem
// status and diagnostics, USSD, PIN, raw AT for admins, the original REST
// server's endpoints, and metrics. See services/api/README.md.
//
//	api [flags]            serve (flags and API_* env: api -h)
//	api healthcheck        GET /healthz of the configured listener; exit 0 or 1
//	api backup FILE        online copy of the message store into FILE (see backup.go)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sim-modem-api/sim-modem-api/services/api/internal/apikeys"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/config"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/fleet"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/httpapi"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/instancelock"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/lease"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/metrics"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/mqttbridge"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/submit"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/webhook"
)

func main() { os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr)) }

func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "healthcheck" {
		return healthcheck(args[1:], getenv, stderr)
	}
	if len(args) > 0 && args[0] == "backup" {
		return backup(args[1:], getenv, stdout, stderr)
	}
	cfg, err := config.Parse(args, getenv, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		for _, l := range strings.Split(err.Error(), "\n") {
			fmt.Fprintln(stderr, "api:", l)
		}
		return 2
	}
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	keys, generated, err := apikeys.Load(cfg.Keys, cfg.AdminKeys, cfg.DataDir)
	if err != nil {
		fmt.Fprintln(stderr, "api:", err)
		return 2
	}
	if generated != "" {
		fmt.Fprintf(stdout, "api: no API key configured; generated an admin key, stored in %s (shown only this once):\n\n    %s\n\n",
			cfg.DataDir+"/"+apikeys.FileName, generated)
	}

	sigCtx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// The modem side outlives the HTTP side at shutdown: requests in flight
	// finish their jobs before the relay session closes.
	ctx, stopModem := context.WithCancel(context.Background())
	defer stopModem()

	// The message store: every received SMS and status report (and the
	// outbox) is committed here before the modem's copy is deleted. The
	// SQLite file in the data directory, or the PostgreSQL database the
	// instances of a cluster share.
	st, err := store.OpenURL(ctx, cfg.DatabaseURL, cfg.DataDir, store.Options{IncompleteAfter: cfg.InboxIncompleteAfter})
	if err != nil {
		fmt.Fprintln(stderr, "api:", err)
		return 1
	}
	defer st.Close()
	if cfg.Cluster() {
		log.Info("store: PostgreSQL, shared by the instances of a cluster", "database", st.Path(), "instance", cfg.Instance,
			"advertise_url", cfg.AdvertiseURL, "lease_ttl", cfg.LeaseTTL)
		if generated != "" || (len(cfg.Keys) == 0 && len(cfg.AdminKeys) == 0) {
			log.Warn("no API_KEYS/API_ADMIN_KEYS configured: the key in the data directory is this instance's alone; " +
				"give every instance of the cluster the same keys")
		}
	} else {
		log.Info("store: SQLite, one instance", "database", st.Path(), "instance", cfg.Instance)
	}
	// In a cluster, the leases name this instance: no other running api
	// may use its name. The name is held until everything below has
	// stopped (this defer runs before the store's Close).
	var nameLost <-chan struct{}
	var name *instancelock.Lock
	if cfg.Cluster() {
		if name, err = instancelock.Take(sigCtx, instancelock.Config{Store: st, Name: cfg.Instance, Check: cfg.Heartbeat, Logger: log}); err != nil {
			fmt.Fprintln(stderr, "api:", err)
			return 1
		}
		keepCtx, stopKeep := context.WithCancel(context.Background())
		kept := make(chan struct{})
		go func() { defer close(kept); name.Keep(keepCtx) }()
		defer func() { stopKeep(); <-kept }()
		nameLost = name.Lost()
	}

	m := metrics.New()
	m.WatchStore(st)
	if cfg.Cluster() {
		m.SetInstance(cfg.Instance) // before the fleet: the modems' owned series name it
	}

	// The event log's consumers: webhooks (the environment's one kept in
	// step with API_WEBHOOK_URL) and the modems' own events.
	if _, err := st.EnsureEnvWebhook(ctx, store.WebhookRequest{URL: cfg.WebhookURL, Secret: cfg.WebhookSecret, Types: cfg.WebhookEvents}); err != nil {
		fmt.Fprintln(stderr, "api:", err)
		return 1
	}
	evm := m.WatchEvents(st)
	hooks := webhook.New(webhook.Config{
		Store: st, Timeout: cfg.WebhookTimeout, RetryMin: cfg.WebhookRetryMin, RetryMax: cfg.WebhookRetryMax, MaxAge: cfg.WebhookMaxAge,
		Logger: log, OnResult: func(r string) { evm.WebhookDeliveries.WithLabelValues(r).Inc() },
	})

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		fmt.Fprintln(stderr, "api:", err)
		return 1
	}
	if cfg.AdvertiseDefault { // the port is the listener's (API_LISTEN=:0 picks one)
		cfg.AdvertiseURL = advertised(cfg.AdvertiseURL, ln.Addr())
	}

	// The modems: one unit per modem entry, each with its relay session,
	// scheduler, poller, outbox worker and inbox sweep; the first is the
	// default modem of the single-modem routes. In a cluster each unit
	// drives its modem only while this instance holds the modem's lease.
	modems := fleet.New(cfg, st, m, log)
	def := modems.Default()
	sub := submit.New(submit.Config{Store: st, Prepare: def.Ops.Prepare, Router: modems, Accepted: modems.Kick})
	var handles []*httpapi.Modem
	for _, u := range modems.Units() {
		h := &httpapi.Modem{ID: u.ID(), Relay: u.Config.RelayAddr, Sched: u.Sched, Ops: u.Ops, Snapshot: u.Poller.Snapshot,
			Refresh: u.Poller.Refresh, Ready: u.Ready, Metrics: u.Metrics, Depth: u.Depth}
		if len(modems.Units()) > 1 {
			h.Eligible = func() string { return fleet.Eligible(u) }
		}
		if cfg.Cluster() {
			h.Owner = ownerOf(u, log)
			u.OnOwnership(func(o fleet.Ownership) {
				u.Metrics.SetOwned(o.Owned)
				if o.TookOver() {
					u.Metrics.TookOver()
				}
			})
		}
		handles = append(handles, h)
	}

	// The event streams end when the shutdown begins (the server waits
	// for open connections).
	streams, stopStreams := context.WithCancel(context.Background())
	defer stopStreams()
	app := httpapi.New(httpapi.Deps{
		Sched: def.Sched, Ops: def.Ops, Snapshot: def.Poller.Snapshot, Refresh: def.Poller.Refresh, Ready: def.Ready, Keys: keys,
		Metrics: m, ModemMetrics: def.Metrics, Modems: handles, Log: log,
		DefaultCountry: cfg.DefaultCountry, BodyLimit: cfg.BodyLimit, RequestTimeout: cfg.RequestTimeout,
		Pacing: def.Config.Pacing, CommandTimeout: cfg.CommandTimeout, SMSTimeout: cfg.SMSTimeout, USSDTimeout: cfg.USSDTimeout,
		Sentinel: def.Config.Sentinel, OriginalStatusReport: cfg.StatusReportOnSMS,
		Inbox: st,
		Store: st, Outbox: def.Outbox, Submit: sub,
		Events: st, WebhooksChanged: hooks.Reload, MaxStreams: cfg.SSEMaxStreams, KeepAlive: cfg.SSEKeepAlive, StreamStop: streams,
		SnapshotChanged: def.Poller.Changed, Instance: cfg.Instance,
		OnStreams: func(n int) { evm.Streams.Set(float64(n)) },
	})
	relays := make([]string, len(cfg.Modems))
	for i, mc := range cfg.Modems {
		relays[i] = mc.ID + "=" + mc.RelayAddr
	}
	log.Info("api listening", "addr", ln.Addr().String(), "modems", strings.Join(relays, ","), "keys", keys.Len())
	var metricsLn net.Listener
	if cfg.MetricsListen != "" {
		if metricsLn, err = net.Listen("tcp", cfg.MetricsListen); err != nil {
			ln.Close()
			fmt.Fprintln(stderr, "api: metrics listener:", err)
			return 1
		}
		log.Info("metrics listening", "addr", metricsLn.Addr().String())
	}

	var wg sync.WaitGroup
	bg := func(f func(context.Context)) {
		wg.Add(1)
		go func() { defer wg.Done(); f(ctx) }()
	}
	// The event delivery: webhooks, the MQTT bridge (API_MQTT_URL;
	// mqtt.go) and the retention. With one instance they run all the
	// time, the bridge built before the modems run so that it publishes
	// every event from their start on; in a cluster they run on the
	// instance that holds the lease "events", once for the cluster.
	bridges := mqttBridges(cfg, st, modems.Units(), sub, m, log)
	var bridge *mqttbridge.Bridge
	if bridges != nil && !cfg.Cluster() {
		if bridge, err = bridges(ctx); err != nil {
			ln.Close()
			if metricsLn != nil {
				metricsLn.Close()
			}
			fmt.Fprintln(stderr, "api:", err)
			return 1
		}
	}
	singletons := func(ctx context.Context) {
		var wg sync.WaitGroup
		run := func(f func(context.Context)) {
			wg.Add(1)
			go func() { defer wg.Done(); f(ctx) }()
		}
		run(hooks.Run)
		run(func(ctx context.Context) { retain(ctx, st, cfg.Retention, log) })
		switch {
		case bridge != nil:
			run(bridge.Run)
		case bridges != nil: // a bridge per term, from the events committed at its start on
			run(func(ctx context.Context) { runBridge(ctx, bridges, cfg.Heartbeat, log) })
		}
		wg.Wait()
	}
	if cfg.Cluster() {
		bg(func(ctx context.Context) {
			lease.Hold(ctx, lease.Config{Store: st, Name: eventsLease, Holder: cfg.Instance, URL: cfg.AdvertiseURL,
				TTL: cfg.LeaseTTL, Renew: cfg.Heartbeat, What: "the event delivery (webhooks, MQTT, retention)", Logger: log}, singletons)
		})
	} else {
		bg(singletons)
	}
	bg(modems.Run)
	serveErr := make(chan error, 2) // the API listener and the metrics listener
	go func() { serveErr <- app.Listener(ln) }()
	if metricsLn != nil {
		bg(func(ctx context.Context) {
			if err := m.Serve(ctx, metricsLn); err != nil {
				serveErr <- err
			}
		})
	}

	code := 0
	select {
	case <-sigCtx.Done():
	case err := <-serveErr:
		log.Error("http server failed", "err", err)
		code = 1
	case <-nameLost:
		log.Error("stopping: this instance's name is held by another process", "err", name.Err())
		code = 1
	}
	log.Info("shutting down: finishing the requests in flight")
	stopStreams()
	_ = app.ShutdownWithTimeout(10 * time.Second)
	stopModem()
	wg.Wait()
	log.Info("shut down")
	return code
}

// ownerOf is the HTTP layer's view of who drives the unit's modem.
func ownerOf(u *fleet.Unit, log *slog.Logger) func(context.Context) httpapi.Owner {
	return func(ctx context.Context) httpapi.Owner {
		l, local, err := u.Owner(ctx)
		if err != nil {
			log.Warn("the owner of a modem is unknown", "modem", u.ID(), "err", err)
			return httpapi.Owner{}
		}
		if !l.Current {
			return httpapi.Owner{}
		}
		return httpapi.Owner{Instance: l.Holder, URL: l.URL, Since: l.Acquired, Local: local, Known: true}
	}
}

// eventsLease is the lease of the cluster-wide event delivery: webhooks,
// the MQTT bridge, the retention.
const eventsLease = "events"

// advertised is the default advertised URL with the listener's actual
// port (API_LISTEN=:0 listens on a port the kernel picks).
func advertised(def string, addr net.Addr) string {
	u, err := url.Parse(def)
	if err != nil {
		return def
	}
	_, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return def
	}
	u.Host = net.JoinHostPort(u.Hostname(), port)
	return u.String()
}

func healthcheck(args []string, getenv func(string) string, stderr io.Writer) int {
	cfg, err := config.Parse(args, getenv, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "api healthcheck:", err)
		return 1
	}
	host, port, _ := net.SplitHostPort(cfg.Listen)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get("http://" + net.JoinHostPort(host, port) + "/healthz")
	if err != nil {
		fmt.Fprintln(stderr, "api healthcheck:", err)
		return 1
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(stderr, "api healthcheck: status", resp.Status)
		return 1
	}
	return 0
}
