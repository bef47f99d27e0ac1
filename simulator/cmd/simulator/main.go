//go:build linux

// Command simulator is a ZTE MF831 LTE stick in serial mode on a
// pseudo-terminal: it links the pty's device at --link, where a client opens
// it as it would open /dev/ttyUSB2, and serves a JSON control API on
// --control. See simulator/README.md.
//
// Usage:
//
//	simulator [flags] [-- command [args...]]
//
// With a command, the simulator runs it as its child once the device is
// linked (typically the relay, so that the relay opens the pty in the same
// container), forwards SIGTERM and SIGINT to it, and exits with the child's
// status when the child exits.
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
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
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
	child    []string // command run once the device is linked; empty for none
	// identity and network of this stick (several simulated modems behind
	// one api need different SIMs); "" keeps the device's defaults.
	imei, imsi, iccid string
	network           *device.Network
}

func parseConfig(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("simulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: simulator [flags] [-- command [args...]]\n\nA ZTE MF831 on a pty. A command after -- runs as a child once the device is linked.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	link := fs.String("link", envOr("SIM_LINK", "/tmp/ttyUSB2"), "path at which the modem's device appears (env SIM_LINK)")
	ctl := fs.String("control", envOr("SIM_CONTROL", "127.0.0.1:8091"), "address of the JSON control API (env SIM_CONTROL)")
	profile := fs.String("profile", envOr("SIM_PROFILE", "instant"), "timing: instant, or realistic for a real stick's delays (env SIM_PROFILE)")
	seed := fs.String("seed", envOr("SIM_SEED", "1"), "seed of all randomness: the same seed gives the same run (env SIM_SEED)")
	level := fs.String("log-level", envOr("SIM_LOG_LEVEL", "info"), "debug, info, warn or error (env SIM_LOG_LEVEL)")
	imei := fs.String("imei", envOr("SIM_IMEI", ""), "the stick's IMEI, 15 digits; empty: "+device.DefaultIMEI+" (env SIM_IMEI)")
	imsi := fs.String("imsi", envOr("SIM_IMSI", ""), "the SIM's IMSI; empty: "+device.DefaultIMSI+" (env SIM_IMSI)")
	iccid := fs.String("iccid", envOr("SIM_ICCID", ""), "the SIM's ICCID, 19 or 20 digits; empty: "+device.DefaultICCID+" (env SIM_ICCID)")
	operator := fs.String("operator", envOr("SIM_OPERATOR", ""), "the network registered on, NAME:MCCMNC, e.g. A1:23201; empty: "+
		device.DefaultNetwork.Operator+":"+device.DefaultNetwork.OperatorNumeric+" (env SIM_OPERATOR)")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	var c config
	c.imei, c.imsi, c.iccid = *imei, *imsi, *iccid
	if *operator != "" {
		name, numeric, ok := strings.Cut(*operator, ":")
		n := device.DefaultNetwork
		n.Operator, n.OperatorNumeric = name, numeric
		if !ok || name == "" || len(numeric) < 5 || len(numeric) > 6 || strings.Trim(numeric, "0123456789") != "" {
			return c, fmt.Errorf("--operator (SIM_OPERATOR) %q: want NAME:MCCMNC, e.g. A1:23201", *operator)
		}
		c.network = &n
	}
	c.child = fs.Args()
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
	code, err := serve(ctx, cfg, log, stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "simulator: %v\n", err)
		return 1
	}
	return code
}

// serve runs the simulator until ctx is done or the child exits, and returns
// the exit code: the child's, or 0.
func serve(ctx context.Context, cfg config, log *slog.Logger, stdout, stderr io.Writer) (int, error) {
	ln, err := net.Listen("tcp", cfg.control)
	if err != nil {
		return 0, fmt.Errorf("listen for control on %s: %w", cfg.control, err)
	}
	s, err := sim.Start(ctx, sim.Config{
		Link:   cfg.link,
		Device: device.Config{Profile: cfg.profile, Seed: cfg.seed, Logger: log, IMEI: cfg.imei, IMSI: cfg.imsi, ICCID: cfg.iccid, Network: cfg.network},
		Logger: log,
	})
	if err != nil {
		ln.Close()
		return 0, err
	}
	fmt.Fprintf(stdout, "modem device: %s (-> %s)\ncontrol API:  http://%s\n", s.Link(), s.PTY(), ln.Addr())

	srv := &http.Server{Handler: control.Handler(s, log), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	var ch *child
	var childDone <-chan struct{}
	if len(cfg.child) > 0 {
		if ch, err = startChild(cfg.child, stdout, stderr); err != nil {
			err = fmt.Errorf("start child %q: %w", cfg.child[0], err)
		} else {
			childDone = ch.done
			log.Info("child started", "cmd", cfg.child, "pid", ch.cmd.Process.Pid)
		}
	}

	code := 0
	if err == nil {
		select {
		case <-ctx.Done():
			log.Info("stopping", "reason", context.Cause(ctx))
		case err = <-errc:
			err = fmt.Errorf("control API: %w", err)
		case <-childDone:
			code = ch.cmd.ProcessState.ExitCode()
			log.Info("child exited, stopping", "status", ch.cmd.ProcessState.String())
		}
	}
	if ch != nil {
		if c, stopErr := ch.stop(10 * time.Second); stopErr != nil {
			log.Error("stop child", "err", stopErr)
		} else if code == 0 {
			code = c
		}
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if serr := srv.Shutdown(shutdownCtx); serr != nil && err == nil {
		err = fmt.Errorf("stop control API: %w", serr)
	}
	if cerr := s.Close(); cerr != nil && !errors.Is(cerr, sim.ErrClosed) && err == nil {
		err = fmt.Errorf("unplug: %w", cerr)
	}
	return code, err
}

// child is a command run beside the modem, typically the relay.
type child struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the child has exited and been reaped
}

func startChild(argv []string, stdout, stderr io.Writer) (*child, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin = nil
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		_ = cmd.Wait() // the status is read from cmd.ProcessState
	}()
	return c, nil
}

// stop sends SIGTERM to a running child, kills it after grace, and returns
// its exit code (0 when it exited on the SIGTERM).
func (c *child) stop(grace time.Duration) (int, error) {
	select {
	case <-c.done:
		return c.cmd.ProcessState.ExitCode(), nil
	default:
	}
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return 0, fmt.Errorf("signal child: %w", err)
	}
	select {
	case <-c.done:
	case <-time.After(grace):
		if err := c.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			return 0, fmt.Errorf("kill child after %v: %w", grace, err)
		}
		<-c.done
		return 0, fmt.Errorf("child did not stop within %v of SIGTERM: killed", grace)
	}
	if ws, ok := c.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGTERM {
		return 0, nil
	}
	return c.cmd.ProcessState.ExitCode(), nil
}
