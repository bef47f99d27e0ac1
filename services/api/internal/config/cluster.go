package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// DefaultLeaseTTL is API_LEASE_TTL's default: three default heartbeats.
const DefaultLeaseTTL = 6 * time.Second

// hostname is os.Hostname, replaced by the tests.
var hostname = os.Hostname

// clusterEntries are the settings of several instances on one database.
func clusterEntries() []*entry {
	return []*entry{
		{flag: "database-url", env: "API_DATABASE_URL", def: "", help: "PostgreSQL database shared by several api instances, postgres://user:password@host:5432/db?sslmode=disable; empty: the SQLite store in API_DATA_DIR (one instance)"},
		{flag: "instance", env: "API_INSTANCE", def: "", help: "this instance's name, unique among the instances of one database: 1 to 64 of A-Z a-z 0-9 . _ -; empty: the hostname"},
		{flag: "advertise-url", env: "API_ADVERTISE_URL", def: "", help: "the base URL where the other instances reach this instance's HTTP API (modem operations are forwarded there), e.g. http://api1:8090; empty: http://<hostname>:<API_LISTEN's port>"},
		{flag: "lease-ttl", env: "API_LEASE_TTL", def: DefaultLeaseTTL.String(), help: "with API_DATABASE_URL: how long a modem (and the event delivery) stays with an instance that stopped renewing its lease, which it does every heartbeat; at least twice every modem's heartbeat"},
	}
}

// Cluster reports whether the api is one of several instances on a
// PostgreSQL database (API_DATABASE_URL set): modems and the event
// delivery then go by leases.
func (c *Config) Cluster() bool { return c.DatabaseURL != "" }

// cluster reads and checks API_DATABASE_URL, API_INSTANCE,
// API_ADVERTISE_URL and API_LEASE_TTL; it runs after the modem entries
// are built (the lease must outlast two heartbeats of each).
func (c *Config) cluster(get map[string]*entry, bad func(name, want string), fail func(error)) {
	v := func(name string) string { return strings.TrimSpace(get[name].value) }
	c.DatabaseURL = v("database-url")
	if c.DatabaseURL != "" {
		if err := checkDatabaseURL(c.DatabaseURL); err != nil {
			e := get["database-url"]
			fail(fmt.Errorf("invalid API_DATABASE_URL=%q (%s): %v", redactURL(c.DatabaseURL), e.source, err))
		}
	}

	host, herr := hostname()
	if c.Instance = v("instance"); c.Instance != "" {
		if !ValidInstance(c.Instance) {
			bad("instance", "1 to 64 characters of A-Z a-z 0-9 . _ -, unique among the instances")
		}
	} else {
		c.Instance = host
		if herr != nil || !ValidInstance(host) {
			c.Instance = "api"
			if c.Cluster() { // one instance does not need a name
				fail(fmt.Errorf("API_INSTANCE is not set and the hostname %q is not a usable instance name (%v): set API_INSTANCE "+
					"to 1 to 64 characters of A-Z a-z 0-9 . _ -, unique among the instances", host, herr))
			}
		}
	}

	if c.AdvertiseURL = strings.TrimRight(v("advertise-url"), "/"); c.AdvertiseURL != "" {
		u, err := url.Parse(c.AdvertiseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			bad("advertise-url", "an http:// or https:// base URL without user:password@, query or fragment, e.g. http://api1:8090")
		}
	} else {
		c.AdvertiseDefault = true
		_, port, _ := net.SplitHostPort(c.Listen)
		h := host
		if herr != nil || h == "" {
			h = "localhost"
		}
		c.AdvertiseURL = "http://" + net.JoinHostPort(h, port)
	}

	ttl := get["lease-ttl"]
	d, err := time.ParseDuration(ttl.value)
	if err != nil || d < 20*time.Millisecond {
		bad("lease-ttl", "a duration of at least 20ms, e.g. 6s")
		return
	}
	c.LeaseTTL = d
	if !c.Cluster() {
		return // no leases with one instance
	}
	if c.LeaseTTL < 2*c.Heartbeat {
		fail(fmt.Errorf("invalid API_LEASE_TTL=%q (%s): want at least twice the heartbeat, 2 × %v (API_HEARTBEAT) = %v: "+
			"the lease is renewed every heartbeat and must survive a late renewal", ttl.value, ttl.source, c.Heartbeat, 2*c.Heartbeat))
		return
	}
	for _, m := range c.Modems {
		if c.LeaseTTL < 2*m.Heartbeat {
			fail(fmt.Errorf("invalid API_LEASE_TTL=%q (%s): want at least twice the heartbeat of every modem: modem %q's heartbeat is %v, so at least %v",
				ttl.value, ttl.source, m.ID, m.Heartbeat, 2*m.Heartbeat))
			return
		}
	}
}

// ValidInstance reports whether s is a usable instance name (API_INSTANCE):
// 1 to 64 characters of A-Z a-z 0-9 . _ -.
func ValidInstance(s string) bool {
	if len(s) < 1 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
		default:
			return false
		}
	}
	return true
}

// checkDatabaseURL checks a PostgreSQL URL without connecting.
func checkDatabaseURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("want a URL like postgres://user:password@host:5432/db?sslmode=disable")
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return fmt.Errorf("want a postgres:// or postgresql:// URL, e.g. postgres://user:password@host:5432/db?sslmode=disable (SQLite needs none: leave it empty)")
	}
	if _, err := pgconn.ParseConfig(s); err != nil {
		// Only the cause: the parser's own message quotes the URL.
		inner := errors.Unwrap(err)
		var ue *url.Error
		if errors.As(inner, &ue) {
			inner = ue.Err
		}
		if inner == nil {
			return errors.New("not a usable PostgreSQL URL")
		}
		return fmt.Errorf("not a usable PostgreSQL URL: %v", inner)
	}
	return nil
}

// redactURL is a database URL without its password, for messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(not a URL)"
	}
	return u.Redacted()
}
