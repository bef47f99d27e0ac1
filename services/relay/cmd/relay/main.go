// Command relay exposes the modem's serial AT port on a TCP socket for one
// heartbeat-kept client at a time, logging every action and every serial
// byte to stdout, with Prometheus metrics and a health endpoint on a port
// of their own.
//
//	relay [flags]              run the relay (flags and RELAY_* env: relay -h)
//	relay healthcheck [flags]  exit 0 if the running relay is healthy (for a
//	                           container HEALTHCHECK; reads the same flags/env)
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"
	_ "time/tzdata" // TZ=Europe/Vienna works in a FROM scratch image

	"github.com/sim-modem-api/sim-modem-api/modem/relaytls"
	"github.com/sim-modem-api/sim-modem-api/services/relay/internal/config"
	"github.com/sim-modem-api/sim-modem-api/services/relay/internal/metrics"
	"github.com/sim-modem-api/sim-modem-api/services/relay/internal/relay"
	"github.com/sim-modem-api/sim-modem-api/services/relay/internal/serialport"
	"github.com/sim-modem-api/sim-modem-api/services/relay/internal/tracelog"
)

// softMemoryLimit is the Go runtime's soft memory limit unless GOMEMLIMIT is set.
const softMemoryLimit = 8 << 20

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run wires the relay and returns the exit code: 0 after SIGTERM/SIGINT, 1
// on a failure, 2 on bad configuration.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "healthcheck" {
		return healthcheck(args[1:], stderr)
	}
	cfg, err := config.Parse("relay", args, os.LookupEnv, stderr)
	if errors.Is(err, config.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "relay: %v\n", err)
		return 2
	}
	var tlsCfg *tls.Config
	if cfg.TLS() {
		if tlsCfg, err = relaytls.Server(cfg.TLSCert, cfg.TLSKey, cfg.TLSClientCA); err != nil {
			fmt.Fprintf(stderr, "relay: invalid TLS configuration: %v\n", err)
			return 2
		}
	}
	// A soft memory limit keeps the heap small on a 1 GB Pi shared with
	// other services: the garbage collector works harder near it instead
	// of letting the heap double. GOMEMLIMIT overrides it.
	if _, ok := os.LookupEnv("GOMEMLIMIT"); !ok {
		debug.SetMemoryLimit(softMemoryLimit)
	}
	// Keep relaying if whoever reads stdout goes away: a write to a broken
	// pipe then fails (and is dropped) instead of killing the process.
	signal.Ignore(syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	reg := metrics.NewRegistry()
	m := metrics.New(reg)
	log := tracelog.New(stdout, tracelog.Options{OnDrop: func(n int) { m.LogLinesDropped.Add(float64(n)) }})
	defer log.Close()

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		log.Printf("Failed to bind the socket server to %s: %v", cfg.Listen, err)
		return 1
	}
	r := relay.New(relay.Config{
		Device:           cfg.Device,
		HeartbeatTimeout: cfg.HeartbeatTimeout,
		Sentinel:         cfg.Sentinel,
		SentinelHold:     cfg.SentinelHold,
		WriteTimeout:     cfg.WriteTimeout,
	}, &serialport.Device{Pattern: cfg.Device, Baud: cfg.Baud}, log, m)

	over := "plain TCP"
	if tlsCfg != nil {
		// TLS is terminated per connection and bridged to the relay's
		// I/O loop through a unix socket pair (see package tlsbridge).
		bl := r.WithTLS(ln, tlsCfg)
		defer bl.Wait()
		ln = bl
		over = "mutual TLS"
	}

	metricsDone := make(chan error, 1)
	if cfg.MetricsListen != "" {
		mln, err := net.Listen("tcp", cfg.MetricsListen)
		if err != nil {
			ln.Close()
			log.Printf("Failed to bind the metrics server to %s: %v", cfg.MetricsListen, err)
			return 1
		}
		log.Printf("Metrics server is bound and listening on %s", mln.Addr())
		go func() { metricsDone <- metrics.Serve(ctx, mln, metrics.Handler(reg, r.Healthy)) }()
	} else {
		metricsDone <- nil
	}
	log.Printf("Relaying %s at %d baud 8N1 to clients on %s over %s (heartbeat %q every %v)",
		cfg.Device, cfg.Baud, ln.Addr(), over, cfg.Sentinel, cfg.HeartbeatTimeout)

	code := 0
	if err := r.Serve(ctx, ln); err != nil {
		log.Printf("Socket server failed: %v", err)
		code = 1
	}
	stop() // the metrics server goes down with the relay
	if err := <-metricsDone; err != nil {
		log.Printf("%v", err)
		code = 1
	}
	if code == 0 {
		log.Print("Shut down")
	}
	return code
}

// healthcheck asks the running relay's /healthz; it exits 0 if healthy.
func healthcheck(args []string, stderr io.Writer) int {
	cfg, err := config.Parse("relay healthcheck", args, os.LookupEnv, stderr)
	if errors.Is(err, config.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "relay healthcheck: %v\n", err)
		return 2
	}
	if cfg.MetricsListen == "" {
		fmt.Fprintln(stderr, "relay healthcheck: the metrics listener is disabled (RELAY_METRICS_LISTEN is empty), nothing to check")
		return 1
	}
	if err := metrics.Check(context.Background(), cfg.MetricsListen, 3*time.Second); err != nil {
		fmt.Fprintf(stderr, "relay healthcheck: %v\n", err)
		return 1
	}
	return 0
}
