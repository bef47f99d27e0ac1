//go:build linux

// Command simulator is a ZTE MF831 LTE stick in serial mode on a
// pseudo-terminal: it links the pty's device at --link, where a client opens
// it as it would open /dev/ttyUSB2, and serves a JSON control API on
// --control. See simulator/README.md.
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
	"strconv"
	"syscall"
	"time"

	"github.com/sim-modem-api/sim-modem-api/simulator/control"
	"github.com/sim-modem-api/sim-modem-api/simulator/device"
	"github.com/sim-modem-api/sim-modem-api/simulator/sim"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// config is the command line, each flag with an environment variable.
type config struct {
	link     string
	control  string
	profile  device.Profile
	seed     int64
	logLevel slog.Level
}

func parseConfig(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("simulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	link := fs.String("link", envOr("SIM_LINK", "/tmp/ttyUSB2"), "path at which the modem's device appears (env SIM_LINK)")
	ctl := fs.String("control", envOr("SIM_CONTROL", "127.0.0.1:8091"), "address of the JSON control API (env SIM_CONTROL)")
	profile := fs.String("profile", envOr("SIM_PROFILE", "instant"), "timing: instant, or realistic for a real stick's delays (env SIM_PROFILE)")
	seed := fs.String("seed", envOr("SIM_SEED", "1"), "seed of all randomness: the same seed gives the same run (env SIM_SEED)")
	level := fs.String("log-level", envOr("SIM_LOG_LEVEL", "info"), "debug, info, warn or error (env SIM_LOG_LEVEL)")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var c config
	var err error
	if c.link = *link; c.link == "" {
		return c, errors.New("--link (SIM_LINK) is empty")
	}
	if _, _, err := net.SplitHostPort(*ctl); err != nil {
		return c, fmt.Errorf("--control (SIM_CONTROL) %q: %w", *ctl, err)
	}
	c.control = *ctl
	if c.profile, err = device.ParseProfile(*profile); err != nil {
		return c, fmt.Errorf("--profile (SIM_PROFILE): %w", err)
	}
	if c.seed, err = strconv.ParseInt(*seed, 10, 64); err != nil {
		return c, fmt.Errorf("--seed (SIM_SEED) %q: not an integer", *seed)
	}
	if err := c.logLevel.UnmarshalText([]byte(*level)); err != nil {
		return c, fmt.Errorf("--log-level (SIM_LOG_LEVEL): %w", err)
	}
	return c, nil
}

func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func run(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseConfig(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "simulator: %v\n", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stdout, &slog.HandlerOptions{Level: cfg.logLevel}))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := serve(ctx, cfg, log, stdout); err != nil {
		fmt.Fprintf(stderr, "simulator: %v\n", err)
		return 1
	}
	return 0
}

func serve(ctx context.Context, cfg config, log *slog.Logger, stdout io.Writer) error {
	ln, err := net.Listen("tcp", cfg.control)
	if err != nil {
		return fmt.Errorf("listen for control on %s: %w", cfg.control, err)
	}
	s, err := sim.Start(ctx, sim.Config{
		Link:   cfg.link,
		Device: device.Config{Profile: cfg.profile, Seed: cfg.seed, Logger: log},
		Logger: log,
	})
	if err != nil {
		ln.Close()
		return err
	}
	fmt.Fprintf(stdout, "modem device: %s (-> %s)\ncontrol API:  http://%s\n", s.Link(), s.PTY(), ln.Addr())

	srv := &http.Server{Handler: control.Handler(s, log), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case <-ctx.Done():
		log.Info("stopping", "reason", context.Cause(ctx))
	case err = <-errc:
		err = fmt.Errorf("control API: %w", err)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if serr := srv.Shutdown(shutdownCtx); serr != nil && err == nil {
		err = fmt.Errorf("stop control API: %w", serr)
	}
	if cerr := s.Close(); cerr != nil && !errors.Is(cerr, sim.ErrClosed) && err == nil {
		err = fmt.Errorf("unplug: %w", cerr)
	}
	return err
}
