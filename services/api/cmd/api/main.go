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
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/at"
	"github.com/sim-modem-api/sim-modem-api/modem/modemops"
	"github.com/sim-modem-api/sim-modem-api/modem/poller"
	"github.com/sim-modem-api/sim-modem-api/modem/relayconn"
	"github.com/sim-modem-api/sim-modem-api/modem/scheduler"
	"github.com/sim-modem-api/sim-modem-api/modem/urc"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/apikeys"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/config"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/httpapi"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/inbox"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/metrics"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/modemevents"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/modemid"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/outbox"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
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
	// outbox) is committed here before the modem's copy is deleted.
	st, err := store.OpenDir(ctx, cfg.DataDir, store.Options{IncompleteAfter: cfg.InboxIncompleteAfter})
	if err != nil {
		fmt.Fprintln(stderr, "api:", err)
		return 1
	}
	defer st.Close()

	var pl *poller.Poller
	var inb *inbox.Sweeper
	var out *outbox.Worker
	m := metrics.New()
	mm := m.Modem("modem", func() *poller.Snapshot { return pl.Snapshot() })
	m.WatchStore(st)

	// The event log's consumers: webhooks (the environment's one kept in
	// step with API_WEBHOOK_URL) and the modem's own events.
	if _, err := st.EnsureEnvWebhook(ctx, store.WebhookRequest{URL: cfg.WebhookURL, Secret: cfg.WebhookSecret, Types: cfg.WebhookEvents}); err != nil {
		fmt.Fprintln(stderr, "api:", err)
		return 1
	}
	evm := m.WatchEvents(st)
	hooks := webhook.New(webhook.Config{
		Store: st, Timeout: cfg.WebhookTimeout, RetryMin: cfg.WebhookRetryMin, RetryMax: cfg.WebhookRetryMax, MaxAge: cfg.WebhookMaxAge,
		Logger: log, OnResult: func(r string) { evm.WebhookDeliveries.WithLabelValues(r).Inc() },
	})
	modemEvents := modemevents.New(st, log)
	disp := urc.New(log, mm.URC)
	ops := modemops.New(modemops.Config{
		SMSC: cfg.SMSC, CommandTimeout: cfg.CommandTimeout, SMSTimeout: cfg.SMSTimeout,
		USSDTimeout: cfg.USSDTimeout, Logger: log, MaxParts: cfg.MaxParts,
	})
	disp.Subscribe("+CUSD", ops.HandleURC)
	disp.Subscribe("", ops.HandleURC) // the continuation lines of a multi-line USSD text
	ids := modemid.New(st, ops, "modem")
	disp.Subscribe("+CMTI", func(u at.URC) bool { return inb.HandleURC(u) }) // an SMS was stored: sweep
	disp.Subscribe("+CDSI", func(u at.URC) bool { return inb.HandleURC(u) }) // a status report was stored: sweep

	engineOpts := []at.Option{at.WithTimeout(cfg.CommandTimeout), at.WithSMSTimeout(cfg.SMSTimeout), at.WithObserver(mm.ObserveAT)}
	if level <= slog.LevelDebug {
		engineOpts = append(engineOpts, at.WithTraceFunc(at.LoggerTrace(log)))
	}
	var readyCount int
	sess := relayconn.New(relayconn.Config{
		Addr: cfg.RelayAddr, Sentinel: cfg.Sentinel, Heartbeat: cfg.Heartbeat,
		BackoffMin: cfg.ReconnectMin, BackoffMax: cfg.ReconnectMax, EngineOptions: engineOpts,
		Init:   func(ctx context.Context, e *at.Engine) error { return ops.Init(ctx, e) },
		OnURC:  disp.Dispatch,
		Logger: log,
		OnReady: func(ready bool) {
			if ready {
				mm.RelayConnected.Set(1)
				if readyCount++; readyCount > 1 {
					mm.RelayReconnects.Inc()
				}
				pl.Refresh()
				ids.Invalidate()  // another stick or SIM may be behind the new session
				inb.Trigger()     // whatever arrived while the api was not in control
				out.Reconnected() // reconcile the modem's memory, then send
				modemEvents.Connected()
				return
			}
			mm.RelayConnected.Set(0)
			pl.Unreachable("relay session lost")
		},
		OnDisconnect: func(reason string) {
			mm.RelayDisconnects.WithLabelValues(reason).Inc()
			modemEvents.Disconnected(reason)
		},
	})
	sched := scheduler.New(cfg.QueueSize, func() (modemops.AT, error) {
		e, err := sess.Engine()
		if err != nil {
			return nil, err
		}
		return e, nil
	}, func(n int) { mm.QueueDepth.Set(float64(n)) },
		scheduler.WithClassDepth(func(c scheduler.Class, n int) { mm.QueueClassDepth.WithLabelValues(c.String()).Set(float64(n)) }))
	mm.QueueCapacity.Set(float64(sched.Capacity()))
	pl = poller.New(sched, ops, cfg.PollInterval)
	pl.OnChange(modemEvents.Snapshot)
	// The outbox: one worker for the one modem, its work read back from
	// the store at start.
	out = outbox.New(outbox.Config{
		Store: st, Sched: sched, Modem: ids, Pacing: cfg.Pacing, CommandTimeout: cfg.CommandTimeout, SMSTimeout: cfg.SMSTimeout,
		RetryMin: cfg.RetryMin, RetryMax: cfg.RetryMax, RetryMaxAge: cfg.RetryMaxAge, Logger: log,
		OnPart: mm.Part, OnRetry: func(reason string) { mm.OutboxRetries.WithLabelValues(reason).Inc() },
	})
	inb = inbox.New(inbox.Config{
		Store: st, Sched: sched, ModemID: ids.Current, Interval: cfg.InboxSweep, CommandTimeout: cfg.CommandTimeout, Logger: log,
		Hooks: inbox.Hooks{
			Part:    mm.InboxPart,
			Message: func(msg *store.Message) { mm.InboxMessage(string(msg.State)) },
			Report:  func(r *store.Report) { mm.StatusReport(r.Outcome != store.OutcomeInvalid, r.Matched) },
			Fill:    func(f inbox.Fill) { mm.InboxStoreFill(f.Memory, f.Used, f.Total) },
			Error:   mm.InboxError,
		},
	})

	// The event streams end when the shutdown begins (the server waits
	// for open connections).
	streams, stopStreams := context.WithCancel(context.Background())
	defer stopStreams()
	app := httpapi.New(httpapi.Deps{
		Sched: sched, Ops: ops, Snapshot: pl.Snapshot, Refresh: pl.Refresh, Ready: sess.Ready, Keys: keys, Metrics: m, ModemMetrics: mm, Log: log,
		DefaultCountry: cfg.DefaultCountry, BodyLimit: cfg.BodyLimit, RequestTimeout: cfg.RequestTimeout,
		Pacing: cfg.Pacing, CommandTimeout: cfg.CommandTimeout, SMSTimeout: cfg.SMSTimeout, USSDTimeout: cfg.USSDTimeout,
		Sentinel: cfg.Sentinel, OriginalStatusReport: cfg.StatusReportOnSMS,
		Inbox: st,
		Store: st, Outbox: out,
		Events: st, WebhooksChanged: hooks.Reload, MaxStreams: cfg.SSEMaxStreams, KeepAlive: cfg.SSEKeepAlive, StreamStop: streams, SnapshotChanged: pl.Changed,
		OnStreams: func(n int) { evm.Streams.Set(float64(n)) },
	})
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		fmt.Fprintln(stderr, "api:", err)
		return 1
	}
	log.Info("api listening", "addr", ln.Addr().String(), "relay", cfg.RelayAddr, "keys", keys.Len())
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
	bg(sess.Run)
	bg(sched.Run)
	bg(pl.Run)
	bg(inb.Run)
	bg(out.Run)
	bg(func(ctx context.Context) { retain(ctx, st, cfg.Retention, log) })
	bg(hooks.Run)
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
	}
	log.Info("shutting down: finishing the requests in flight")
	stopStreams()
	_ = app.ShutdownWithTimeout(10 * time.Second)
	stopModem()
	wg.Wait()
	log.Info("shut down")
	return code
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
