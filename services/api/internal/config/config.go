// Package config reads the api's configuration from flags and API_*
// environment variables (a flag on the command line wins over its variable,
// which wins over the default) and validates it at start, naming the flag
// or variable of every bad value.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/phone"
	"github.com/sim-modem-api/sim-modem-api/modem/relaywire"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
)

// Config is the validated configuration.
type Config struct {
	Listen        string
	MetricsListen string // "" when off
	RelayAddr     string
	DataDir       string
	Keys          []string
	AdminKeys     []string
	Heartbeat     time.Duration
	Sentinel      string
	// RelayHeartbeatTimeout is the relay's heartbeat timeout (the default
	// of every modem entry).
	RelayHeartbeatTimeout time.Duration
	SMSC                  string
	DefaultCountry        string // calling code digits, "" for none
	Pacing                time.Duration
	CommandTimeout        time.Duration
	SMSTimeout            time.Duration
	USSDTimeout           time.Duration
	PollInterval          time.Duration
	QueueSize             int
	MaxParts              int // SMS parts per message, 1..255
	BodyLimit             int
	ReconnectMin          time.Duration
	ReconnectMax          time.Duration
	LogLevel              string
	RequestTimeout        time.Duration
	StatusReportOnSMS     bool // the original endpoint's status report request
	// Retention is how long finished messages are kept (0: forever).
	Retention time.Duration
	// RetryMin, RetryMax: the outbox's backoff after a transient failure;
	// RetryMaxAge: how long after its acceptance a message is retried.
	RetryMin, RetryMax, RetryMaxAge time.Duration
	// InboxSweep is the period of the inbox sweep that runs whatever else
	// triggers one; InboxIncompleteAfter how long a concatenated received
	// message waits for its missing parts.
	InboxSweep, InboxIncompleteAfter time.Duration
	// Webhook* configure the webhook of the environment (WebhookURL "":
	// none) and the delivery of every webhook.
	WebhookURL                      string
	WebhookSecret                   string
	WebhookEvents                   []string
	WebhookTimeout, WebhookRetryMin time.Duration
	WebhookRetryMax, WebhookMaxAge  time.Duration
	// SSEMaxStreams bounds the open GET /v1/events streams; SSEKeepAlive
	// is the period of their keep-alive comment.
	SSEMaxStreams int
	SSEKeepAlive  time.Duration

	// Modems are the modem entries (modems.go), at least one; the first
	// is the default modem of the single-modem routes. Routes narrow the
	// modems of a message by its recipient's prefix; Failover returns a
	// message in flight on a modem that cannot send to the queue.
	Modems   []Modem
	Routes   []Route
	Failover bool

	MQTT MQTT // the MQTT bridge (mqtt.go)

	// DatabaseURL is the PostgreSQL database several instances share
	// ("": the SQLite store in DataDir, one instance; see Cluster).
	DatabaseURL string
	// Instance is this instance's name (the holder of its leases);
	// AdvertiseURL is where the other instances reach its HTTP API;
	// AdvertiseDefault says that AdvertiseURL was derived from the
	// hostname and API_LISTEN's port rather than configured.
	Instance         string
	AdvertiseURL     string
	AdvertiseDefault bool
	// LeaseTTL is how long a lease (a modem's, the event delivery's)
	// outlives its last renewal; the holder renews it every heartbeat.
	LeaseTTL time.Duration
}

// entry is one setting: flag name, env name, default, help, and where its
// value came from.
type entry struct {
	flag, env, def, help string
	value                string
	source               string
}

func (e *entry) String() string { return e.value }
func (e *entry) Set(s string) error {
	e.value, e.source = s, "flag -"+e.flag
	return nil
}

func newEntries() []*entry {
	return []*entry{
		{flag: "listen", env: "API_LISTEN", def: ":8090", help: "HTTP listen address"},
		{flag: "metrics-listen", env: "API_METRICS_LISTEN", def: "127.0.0.1:9102", help: "listen address of the unauthenticated /metrics for Prometheus (never a published port: the metrics name the modem); off: none (the API port's /metrics needs a key)"},
		{flag: "relay-addr", env: "API_RELAY_ADDR", def: "127.0.0.1:8080", help: "the relay's TCP address"},
		{flag: "data-dir", env: "API_DATA_DIR", def: "./data", help: "directory for the generated keys and the message store (messages.db)"},
		{flag: "keys", env: "API_KEYS", def: "", help: "comma-separated bearer keys (user role)"},
		{flag: "admin-keys", env: "API_ADMIN_KEYS", def: "", help: "comma-separated bearer keys (admin role: raw AT, PIN)"},
		{flag: "heartbeat", env: "API_HEARTBEAT", def: "2s", help: "heartbeat period towards the relay"},
		{flag: "heartbeat-sentinel", env: "API_HEARTBEAT_SENTINEL", def: relaywire.DefaultSentinel, help: "heartbeat sentinel (as the relay's)"},
		{flag: "smsc", env: "API_SMSC", def: "", help: "SMSC number written into every PDU (+E.164); empty uses the modem's (AT+CSCA)"},
		{flag: "default-country", env: "API_DEFAULT_COUNTRY", def: "", help: "calling code for national numbers (e.g. 43); empty refuses national numbers"},
		{flag: "sms-pacing", env: "API_SMS_PACING", def: "3.5s", help: "least time between two SMS bodies"},
		{flag: "command-timeout", env: "API_COMMAND_TIMEOUT", def: "3s", help: "timeout of one AT command"},
		{flag: "sms-timeout", env: "API_SMS_TIMEOUT", def: "10s", help: "timeout from an SMS body to its result"},
		{flag: "ussd-timeout", env: "API_USSD_TIMEOUT", def: "15s", help: "timeout for the network's USSD answer"},
		{flag: "poll-interval", env: "API_POLL_INTERVAL", def: "10s", help: "status snapshot refresh period"},
		{flag: "queue-size", env: "API_QUEUE_SIZE", def: "64", help: "modem jobs waiting at most in each job class (send, operation, read); more are refused with 429"},
		{flag: "max-parts", env: "API_MAX_PARTS", def: "10", help: "most SMS parts one message may have (1 to 255); a longer text is refused with 400"},
		{flag: "body-limit", env: "API_BODY_LIMIT", def: "65536", help: "request body limit in bytes"},
		{flag: "reconnect-min", env: "API_RECONNECT_MIN", def: "200ms", help: "first reconnect delay (doubles up to reconnect-max)"},
		{flag: "reconnect-max", env: "API_RECONNECT_MAX", def: "10s", help: "longest reconnect delay"},
		{flag: "log-level", env: "API_LOG_LEVEL", def: "info", help: "debug, info, warn, error"},
		{flag: "request-timeout", env: "API_REQUEST_TIMEOUT", def: "30s", help: "how long an HTTP request waits for its modem job (the job still completes)"},
		{flag: "original-status-report", env: "API_ORIGINAL_STATUS_REPORT", def: "true", help: "request a status report on SMS sent through the original POST /sms"},
		{flag: "retention", env: "API_RETENTION", def: "2160h", help: "how long finished messages are kept (2160h = 90 days), applied at start and daily; 0 or off keeps them forever"},
		{flag: "retry-min", env: "API_RETRY_MIN", def: "2s", help: "the outbox's first wait after a transient send failure (doubles up to retry-max, with jitter)"},
		{flag: "retry-max", env: "API_RETRY_MAX", def: "5m", help: "the outbox's longest wait between retries"},
		{flag: "retry-max-age", env: "API_RETRY_MAX_AGE", def: "24h", help: "how long after its acceptance (or sendAt) a message is retried; a transient failure after that fails it"},
		{flag: "inbox-sweep", env: "API_INBOX_SWEEP", def: "30s", help: "period of the inbox sweep (SM, ME, SR into the store), besides the sweeps at every (re)connect and +CMTI/+CDSI"},
		{flag: "inbox-incomplete-after", env: "API_INBOX_INCOMPLETE_AFTER", def: "24h", help: "how long a concatenated received message waits for missing parts before it is delivered as incomplete"},
		{flag: "webhook-url", env: "API_WEBHOOK_URL", def: "", help: "a webhook kept in step with the environment (http:// or https://; it receives events from its first start on); empty: none"},
		{flag: "webhook-secret", env: "API_WEBHOOK_SECRET", def: "", help: "the HMAC secret of API_WEBHOOK_URL's deliveries, 16 to 256 characters (required with it)"},
		{flag: "webhook-events", env: "API_WEBHOOK_EVENTS", def: "*", help: "comma-separated event types or families (message.*) API_WEBHOOK_URL receives; * for all"},
		{flag: "webhook-timeout", env: "API_WEBHOOK_TIMEOUT", def: "10s", help: "how long a webhook delivery waits for the receiver's 2xx"},
		{flag: "webhook-retry-min", env: "API_WEBHOOK_RETRY_MIN", def: "1s", help: "the first wait after a failed webhook delivery (doubles up to webhook-retry-max, with jitter)"},
		{flag: "webhook-retry-max", env: "API_WEBHOOK_RETRY_MAX", def: "10m", help: "the longest wait between webhook delivery attempts"},
		{flag: "webhook-max-age", env: "API_WEBHOOK_MAX_AGE", def: "24h", help: "an event older than this whose delivery fails is given up (dead) for that webhook, which goes on with the next"},
		{flag: "sse-max-streams", env: "API_SSE_MAX_STREAMS", def: "32", help: "most GET /v1/events streams open at once; one more is refused with 503"},
		{flag: "sse-keepalive", env: "API_SSE_KEEPALIVE", def: "15s", help: "period of the keep-alive comment on GET /v1/events streams"},
		{flag: "modem-id", env: "API_MODEM_ID", def: DefaultModemID, help: "the id of the one modem of the API_RELAY_* settings (without a modems file or list)"},
		{flag: "modems", env: "API_MODEMS", def: "", help: "several modems: comma-separated id=relay-host:port; each takes the other API_* modem settings"},
		{flag: "modems-file", env: "API_MODEMS_FILE", def: "", help: "several modems, each with its own settings, and prefix routes: a JSON file (see the README)"},
		{flag: "relay-heartbeat-timeout", env: "API_RELAY_HEARTBEAT_TIMEOUT", def: relaywire.DefaultHeartbeatTimeout.String(), help: "the relay's heartbeat timeout (its -heartbeat-timeout); the heartbeat must stay below it"},
		{flag: "relay-tls-ca", env: "API_RELAY_TLS_CA", def: "", help: "CA certificate (PEM) that signed the relay's certificate: connect with TLS"},
		{flag: "relay-tls-cert", env: "API_RELAY_TLS_CERT", def: "", help: "the api's client certificate (PEM) for a relay with TLS"},
		{flag: "relay-tls-key", env: "API_RELAY_TLS_KEY", def: "", help: "the key (PEM) of API_RELAY_TLS_CERT"},
		{flag: "relay-tls-server-name", env: "API_RELAY_TLS_SERVER_NAME", def: "", help: "the name the relay's certificate must carry; empty: the relay address's host"},
		{flag: "failover", env: "API_FAILOVER", def: "true", help: "with several modems: a message in flight on a modem that cannot send (relay lost, not registered) returns to the queue for another, if none of its parts was submitted"},
	}
}

// Parse reads args (without the program name) and the environment.
// Errors name every bad value, one per line.
func Parse(args []string, getenv func(string) string, out io.Writer) (*Config, error) {
	entries := append(append(newEntries(), mqttEntries()...), clusterEntries()...)
	fs := flag.NewFlagSet("api", flag.ContinueOnError)
	fs.SetOutput(out)
	for _, e := range entries {
		e.value, e.source = e.def, "default"
		if v := getenv(e.env); v != "" {
			e.value, e.source = v, "env "+e.env
		}
		fs.Var(e, e.flag, e.help+" (env "+e.env+", default "+strconv.Quote(e.def)+")")
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	get := map[string]*entry{}
	for _, e := range entries {
		get[e.flag] = e
	}
	var errs []error
	bad := func(name, want string) {
		e := get[name]
		errs = append(errs, fmt.Errorf("invalid %s=%q (%s): want %s", e.env, e.value, e.source, want))
	}
	dur := func(name string, min time.Duration) time.Duration {
		v := get[name].value
		d, err := time.ParseDuration(v)
		if err != nil {
			if ms, err2 := strconv.Atoi(v); err2 == nil {
				d, err = time.Duration(ms)*time.Millisecond, nil
			}
		}
		if err != nil || d < min {
			bad(name, fmt.Sprintf("a duration of at least %v, e.g. 2s or 1500ms", min))
		}
		return d
	}
	num := func(name string, min, max int) int {
		n, err := strconv.Atoi(get[name].value)
		if err != nil || n < min || n > max {
			bad(name, fmt.Sprintf("a whole number between %d and %d", min, max))
		}
		return n
	}
	addr := func(name string, allowEmptyHost bool) string {
		v := get[name].value
		host, port, err := net.SplitHostPort(v)
		if err != nil || port == "" || (!allowEmptyHost && host == "") {
			bad(name, "host:port, e.g. 127.0.0.1:8080")
		}
		return v
	}
	metricsListen := ""
	if v := get["metrics-listen"].value; !strings.EqualFold(v, "off") {
		metricsListen = addr("metrics-listen", true)
	}
	c := &Config{
		Listen:         addr("listen", true),
		MetricsListen:  metricsListen,
		RelayAddr:      addr("relay-addr", false),
		DataDir:        get["data-dir"].value,
		Keys:           splitKeys(get["keys"].value),
		AdminKeys:      splitKeys(get["admin-keys"].value),
		Heartbeat:      dur("heartbeat", 10*time.Millisecond),
		Sentinel:       get["heartbeat-sentinel"].value,
		SMSC:           strings.TrimSpace(get["smsc"].value),
		DefaultCountry: strings.TrimPrefix(strings.TrimSpace(get["default-country"].value), "+"),
		Pacing:         dur("sms-pacing", 0),
		CommandTimeout: dur("command-timeout", 10*time.Millisecond),
		SMSTimeout:     dur("sms-timeout", 10*time.Millisecond),
		USSDTimeout:    dur("ussd-timeout", 10*time.Millisecond),
		PollInterval:   dur("poll-interval", 100*time.Millisecond),
		QueueSize:      num("queue-size", 1, 100000),
		MaxParts:       num("max-parts", 1, 255),
		BodyLimit:      num("body-limit", 1024, 16<<20),
		ReconnectMin:   dur("reconnect-min", time.Millisecond),
		ReconnectMax:   dur("reconnect-max", time.Millisecond),
		LogLevel:       strings.ToLower(get["log-level"].value),
		RequestTimeout: dur("request-timeout", 10*time.Millisecond),
	}
	if v := strings.TrimSpace(get["retention"].value); v == "0" || strings.EqualFold(v, "off") {
		c.Retention = 0
	} else {
		c.Retention = dur("retention", time.Hour)
	}
	c.RetryMin = dur("retry-min", time.Millisecond)
	c.RetryMax = dur("retry-max", time.Millisecond)
	c.RetryMaxAge = dur("retry-max-age", time.Second)
	c.InboxSweep = dur("inbox-sweep", 100*time.Millisecond)
	c.InboxIncompleteAfter = dur("inbox-incomplete-after", time.Second)
	c.WebhookURL = strings.TrimSpace(get["webhook-url"].value)
	c.WebhookSecret = get["webhook-secret"].value
	c.WebhookTimeout = dur("webhook-timeout", 10*time.Millisecond)
	c.WebhookRetryMin = dur("webhook-retry-min", time.Millisecond)
	c.WebhookRetryMax = dur("webhook-retry-max", time.Millisecond)
	c.WebhookMaxAge = dur("webhook-max-age", time.Second)
	c.SSEMaxStreams = num("sse-max-streams", 1, 10000)
	c.SSEKeepAlive = dur("sse-keepalive", 10*time.Millisecond)
	if c.WebhookRetryMax < c.WebhookRetryMin {
		bad("webhook-retry-max", "at least webhook-retry-min")
	}
	if v := strings.TrimSpace(get["webhook-events"].value); v != "*" && v != "" {
		for _, t := range strings.Split(v, ",") {
			if t = strings.TrimSpace(t); !store.ValidEventPattern(t) {
				bad("webhook-events", "comma-separated event types ("+strings.Join(store.EventTypes, ", ")+"), families like message.*, or *")
				break
			}
			c.WebhookEvents = append(c.WebhookEvents, t)
		}
	}
	if c.WebhookURL != "" {
		r := store.WebhookRequest{URL: c.WebhookURL, Secret: c.WebhookSecret, Types: c.WebhookEvents, Source: store.WebhookFromEnv}
		if u, err := url.Parse(c.WebhookURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			bad("webhook-url", "an http:// or https:// URL without user:password@")
		} else if err := r.Validate(); err != nil || len(c.WebhookSecret) < 16 {
			bad("webhook-secret", "16 to 256 characters, required with API_WEBHOOK_URL")
		}
	}
	if c.RetryMax < c.RetryMin {
		bad("retry-max", "at least retry-min")
	}
	if c.MetricsListen != "" && c.MetricsListen == c.Listen {
		bad("metrics-listen", "an address other than API_LISTEN's, or off")
	}
	if c.DataDir == "" {
		bad("data-dir", "a directory path")
	}
	if c.RelayHeartbeatTimeout = dur("relay-heartbeat-timeout", 10*time.Millisecond); c.Heartbeat >= c.RelayHeartbeatTimeout {
		bad("heartbeat", fmt.Sprintf("less than the relay's heartbeat timeout %v (API_RELAY_HEARTBEAT_TIMEOUT)", c.RelayHeartbeatTimeout))
	}
	if n := len(c.Sentinel); n < 1 || n > 64 || strings.Trim(c.Sentinel, "0123456789ABCDEFabcdef") == "" {
		bad("heartbeat-sentinel", "1 to 64 bytes, not all hex digits (so that it can never occur in a PDU)")
	}
	if c.SMSC != "" && !isE164(c.SMSC) {
		bad("smsc", "an international number like +4365009000000")
	}
	if c.DefaultCountry != "" && !phone.Digits(c.DefaultCountry, 1, 3) {
		bad("default-country", "a country calling code of 1 to 3 digits, e.g. 43")
	}
	if c.ReconnectMax < c.ReconnectMin {
		bad("reconnect-max", "at least reconnect-min")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log-level", "debug, info, warn or error")
	}
	switch v := strings.ToLower(get["original-status-report"].value); v {
	case "true", "1", "yes":
		c.StatusReportOnSMS = true
	case "false", "0", "no":
	default:
		bad("original-status-report", "true or false")
	}
	for _, k := range append(append([]string{}, c.Keys...), c.AdminKeys...) {
		if len(k) < 16 {
			errs = append(errs, fmt.Errorf("invalid API_KEYS/API_ADMIN_KEYS: every key needs at least 16 characters"))
			break
		}
	}
	if len(errs) == 0 { // the modem entries take the validated API_* values
		c.modems(get, bad, func(err error) { errs = append(errs, err) })
	}
	c.mqtt(get, bad)
	c.cluster(get, bad, func(err error) { errs = append(errs, err) })
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// FromOS parses os.Args and the process environment.
func FromOS() (*Config, error) { return Parse(os.Args[1:], os.Getenv, os.Stderr) }

func splitKeys(s string) []string {
	var out []string
	for _, k := range strings.Split(s, ",") {
		if k = strings.TrimSpace(k); k != "" {
			out = append(out, k)
		}
	}
	return out
}

func isE164(s string) bool { return strings.HasPrefix(s, "+") && phone.Digits(s[1:], 3, 15) }
