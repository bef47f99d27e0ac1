// Package config reads the relay's configuration from command-line flags
// and their RELAY_* environment equivalents, and validates it. A flag given
// on the command line wins over the environment, which wins over the
// default. Every bad value is reported with the flag or variable it came
// from, so that the relay stops at start with a clear message.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/relaywire"
)

// DefaultMetricsListen is the address of the metrics and health endpoint.
const DefaultMetricsListen = ":9101"

// Config is the relay's validated configuration.
type Config struct {
	// Device is the serial device: a path (/dev/ttyUSB2), a symlink
	// (/dev/serial/by-id/...) or a glob (/dev/ttyUSB*), of which the first
	// match in sorted order is used.
	Device string
	// Baud is the serial speed; the port is always raw 8N1.
	Baud int
	// Listen is the TCP address for the client.
	Listen string
	// HeartbeatTimeout is how long the client in control may go without a heartbeat.
	HeartbeatTimeout time.Duration
	// Sentinel is the heartbeat marker removed from the client's stream.
	Sentinel string
	// SentinelHold bounds how long bytes that may start a sentinel are held
	// back before they are sent to the modem as data.
	SentinelHold time.Duration
	// WriteTimeout is how long a write to the client may block before the
	// client is considered gone and disconnected.
	WriteTimeout time.Duration
	// MetricsListen is the HTTP address of /metrics and /healthz; empty disables it.
	MetricsListen string
	// TLSCert, TLSKey and TLSClientCA are PEM files: the relay's server
	// certificate and key, and the CA that signs the client certificates it
	// accepts. All three make the listener mutual TLS; none is plain TCP.
	TLSCert, TLSKey, TLSClientCA string
}

// TLS reports whether the relay listens with mutual TLS.
func (c Config) TLS() bool { return c.TLSCert != "" }

// Defaults of the settings that are not in package protocol.
const (
	DefaultWriteTimeout = 5 * time.Second
)

// Env names the environment variable of each flag.
var Env = map[string]string{
	"device":             "RELAY_DEVICE",
	"baud":               "RELAY_BAUD",
	"listen":             "RELAY_LISTEN",
	"heartbeat-timeout":  "RELAY_HEARTBEAT_TIMEOUT",
	"heartbeat-sentinel": "RELAY_HEARTBEAT_SENTINEL",
	"sentinel-hold":      "RELAY_SENTINEL_HOLD",
	"write-timeout":      "RELAY_WRITE_TIMEOUT",
	"metrics-listen":     "RELAY_METRICS_LISTEN",
	"tls-cert":           "RELAY_TLS_CERT",
	"tls-key":            "RELAY_TLS_KEY",
	"tls-client-ca":      "RELAY_TLS_CLIENT_CA",
}

// ErrHelp is returned when -h or -help was given; usage has been printed.
var ErrHelp = flag.ErrHelp

// Parse reads the configuration from args (without the program name) and
// the environment, through lookupEnv (os.LookupEnv in production). Usage
// and flag errors are written to output.
func Parse(name string, args []string, lookupEnv func(string) (string, bool), output io.Writer) (Config, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(output)
	raw := map[string]*string{}
	def := func(fl, value, usage string) {
		raw[fl] = fs.String(fl, value, fmt.Sprintf("%s (env %s)", usage, Env[fl]))
	}
	def("device", relaywire.DefaultDevice, "serial device: a path, a symlink such as /dev/serial/by-id/..., or a glob (first match in sorted order)")
	def("baud", strconv.Itoa(relaywire.DefaultBaud), "serial speed in baud (raw 8N1)")
	def("listen", relaywire.DefaultListen, "TCP address for the client")
	def("heartbeat-timeout", relaywire.DefaultHeartbeatTimeout.String(), "heartbeat timeout: a duration (5s) or milliseconds (5000)")
	def("heartbeat-sentinel", relaywire.DefaultSentinel, "heartbeat marker, removed from the client's stream")
	def("sentinel-hold", relaywire.DefaultSentinelHold.String(), "longest time bytes that may start a heartbeat are held back (below the heartbeat timeout)")
	def("write-timeout", DefaultWriteTimeout.String(), "longest time a write to the client may block before it is disconnected")
	def("metrics-listen", DefaultMetricsListen, "HTTP address for /metrics and /healthz; empty disables it")
	def("tls-cert", "", "PEM server certificate: with -tls-key and -tls-client-ca the client socket is mutual TLS; none of the three is plain TCP")
	def("tls-key", "", "PEM private key of -tls-cert")
	def("tls-client-ca", "", "PEM CA certificate(s) that sign the client certificates accepted")
	fs.Usage = func() {
		fmt.Fprintf(output, "Usage: %s [flags]\n       %s healthcheck [flags]\n\nRelays the modem's serial AT port to one TCP client at a time.\n\nFlags:\n", name, name)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	// Where each value came from, for the error messages.
	source := map[string]string{}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for fl, env := range Env {
		source[fl] = "-" + fl
		if set[fl] {
			continue
		}
		if v, ok := lookupEnv(env); ok {
			*raw[fl] = v
			source[fl] = env
		} else {
			source[fl] = "default -" + fl
		}
	}
	bad := func(fl, why string) error {
		return fmt.Errorf("invalid %s=%q: %s", source[fl], *raw[fl], why)
	}

	var c Config
	var errs []error
	c.Device = strings.TrimSpace(*raw["device"])
	if c.Device == "" {
		errs = append(errs, bad("device", "empty; give the modem's AT port, e.g. /dev/ttyUSB2"))
	} else if _, err := filepath.Match(c.Device, ""); err != nil {
		errs = append(errs, bad("device", "not a valid glob pattern"))
	}
	if b, err := strconv.Atoi(strings.TrimSpace(*raw["baud"])); err != nil || b <= 0 || b > 4_000_000 {
		errs = append(errs, bad("baud", "want a whole number of baud between 1 and 4000000, e.g. 115200"))
	} else {
		c.Baud = b
	}
	var err error
	if c.Listen, err = checkAddr(*raw["listen"], false); err != nil {
		errs = append(errs, bad("listen", err.Error()))
	}
	if c.MetricsListen, err = checkAddr(*raw["metrics-listen"], true); err != nil {
		errs = append(errs, bad("metrics-listen", err.Error()))
	}
	if c.Listen != "" && c.Listen == c.MetricsListen && !strings.HasSuffix(c.Listen, ":0") {
		errs = append(errs, bad("metrics-listen", "the same address as the relay's own listener"))
	}
	durations := []struct {
		fl  string
		dst *time.Duration
		min time.Duration
	}{
		{"heartbeat-timeout", &c.HeartbeatTimeout, time.Millisecond},
		{"sentinel-hold", &c.SentinelHold, time.Millisecond},
		{"write-timeout", &c.WriteTimeout, time.Millisecond},
	}
	for _, d := range durations {
		v, err := parseDuration(*raw[d.fl])
		switch {
		case err != nil:
			errs = append(errs, bad(d.fl, err.Error()))
		case v < d.min:
			errs = append(errs, bad(d.fl, fmt.Sprintf("must be at least %v", d.min)))
		default:
			*d.dst = v
		}
	}
	c.Sentinel = *raw["heartbeat-sentinel"]
	switch {
	case c.Sentinel == "":
		errs = append(errs, bad("heartbeat-sentinel", "empty; the original's is <heartbeat>"))
	case len(c.Sentinel) > 64:
		errs = append(errs, bad("heartbeat-sentinel", "longer than 64 bytes"))
	}
	if c.SentinelHold > 0 && c.HeartbeatTimeout > 0 && c.SentinelHold >= c.HeartbeatTimeout {
		errs = append(errs, bad("sentinel-hold", "must be shorter than the heartbeat timeout"))
	}
	c.TLSCert = strings.TrimSpace(*raw["tls-cert"])
	c.TLSKey = strings.TrimSpace(*raw["tls-key"])
	c.TLSClientCA = strings.TrimSpace(*raw["tls-client-ca"])
	if given := (c.TLSCert != "") || (c.TLSKey != "") || (c.TLSClientCA != ""); given {
		for _, fl := range []string{"tls-cert", "tls-key", "tls-client-ca"} {
			if strings.TrimSpace(*raw[fl]) == "" {
				errs = append(errs, fmt.Errorf("missing -%s (env %s): mutual TLS needs all three of -tls-cert, -tls-key and -tls-client-ca (RELAY_TLS_CERT, RELAY_TLS_KEY, RELAY_TLS_CLIENT_CA); give none for plain TCP", fl, Env[fl]))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, err
	}
	return c, nil
}

// parseDuration accepts a Go duration ("5s", "1500ms") or a whole number of
// milliseconds ("5000"), the unit of the original.
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		if ms < 0 || ms > int64(24*time.Hour/time.Millisecond) {
			return 0, errors.New("milliseconds out of range")
		}
		return time.Duration(ms) * time.Millisecond, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, errors.New("want a duration such as 5s or 1500ms, or milliseconds such as 5000")
	}
	return d, nil
}

// checkAddr validates a host:port listen address; empty is allowed only if
// optional.
func checkAddr(s string, optional bool) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		if optional {
			return "", nil
		}
		return "", errors.New("empty; want host:port or :port, e.g. :8080")
	}
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", errors.New("want host:port or :port, e.g. :8080")
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return "", errors.New("port must be a number from 0 to 65535")
	}
	return s, nil
}
