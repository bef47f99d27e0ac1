package config

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// withHostname makes Parse see this hostname (or error) for the test.
func withHostname(t *testing.T, name string, err error) {
	t.Helper()
	old := hostname
	hostname = func() (string, error) { return name, err }
	t.Cleanup(func() { hostname = old })
}

func TestClusterDefaults(t *testing.T) {
	withHostname(t, "gw-1.lan", nil)
	c, err := Parse(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Cluster() || c.DatabaseURL != "" || c.Instance != "gw-1.lan" || c.AdvertiseURL != "http://gw-1.lan:8090" ||
		!c.AdvertiseDefault || c.LeaseTTL != 6*time.Second {
		t.Fatalf("defaults: cluster %v %+v", c.Cluster(), c)
	}
}

func TestClusterSettings(t *testing.T) {
	withHostname(t, "gw-1", nil)
	c, err := Parse([]string{"-instance", "api-b"}, env(map[string]string{
		"API_DATABASE_URL":  "postgres://api:s3cret@db:5432/sms?sslmode=disable",
		"API_INSTANCE":      "api-a",
		"API_ADVERTISE_URL": "http://10.0.0.2:8090/",
		"API_LEASE_TTL":     "10s",
		"API_LISTEN":        "127.0.0.1:8091",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Cluster() || c.Instance != "api-b" || c.AdvertiseURL != "http://10.0.0.2:8090" || c.AdvertiseDefault ||
		c.LeaseTTL != 10*time.Second || c.DatabaseURL != "postgres://api:s3cret@db:5432/sms?sslmode=disable" {
		t.Fatalf("%+v", c)
	}
	// The advertised URL's default port is API_LISTEN's.
	c, err = Parse(nil, env(map[string]string{"API_LISTEN": "127.0.0.1:8091"}), io.Discard)
	if err != nil || c.AdvertiseURL != "http://gw-1:8091" {
		t.Fatalf("%v %+v", err, c)
	}
	// postgresql:// is PostgreSQL's other scheme.
	if _, err := Parse(nil, env(map[string]string{"API_DATABASE_URL": "postgresql://db/sms"}), io.Discard); err != nil {
		t.Fatal(err)
	}
}

func TestClusterBadValuesNamed(t *testing.T) {
	withHostname(t, "gw-1", nil)
	for _, c := range []struct {
		name string
		env  map[string]string
		want []string // in the error
		not  string   // never in the error
	}{
		{"scheme", map[string]string{"API_DATABASE_URL": "mysql://api:s3cret@db/sms"}, []string{"API_DATABASE_URL", "postgres://"}, "s3cret"},
		{"not a URL", map[string]string{"API_DATABASE_URL": "db:5432"}, []string{"API_DATABASE_URL"}, ""},
		{"bad port", map[string]string{"API_DATABASE_URL": "postgres://api:s3cret@db:port/sms"}, []string{"API_DATABASE_URL"}, "s3cret"},
		{"instance", map[string]string{"API_INSTANCE": "api 1"}, []string{"API_INSTANCE", "A-Z a-z 0-9"}, ""},
		{"instance length", map[string]string{"API_INSTANCE": strings.Repeat("a", 65)}, []string{"API_INSTANCE"}, ""},
		{"advertise scheme", map[string]string{"API_ADVERTISE_URL": "api1:8090"}, []string{"API_ADVERTISE_URL", "http://"}, ""},
		{"advertise user", map[string]string{"API_ADVERTISE_URL": "http://u:p@api1:8090"}, []string{"API_ADVERTISE_URL"}, ""},
		{"ttl", map[string]string{"API_LEASE_TTL": "soon"}, []string{"API_LEASE_TTL", "duration"}, ""},
		{"ttl below two heartbeats", map[string]string{"API_DATABASE_URL": "postgres://db/sms", "API_LEASE_TTL": "3s"},
			[]string{"API_LEASE_TTL", "twice the heartbeat", "API_HEARTBEAT", "4s"}, ""},
		{"ttl below two heartbeats by flag", map[string]string{"API_DATABASE_URL": "postgres://db/sms", "API_HEARTBEAT": "4s"},
			[]string{"API_LEASE_TTL=\"6s\" (default)", "twice the heartbeat", "8s"}, ""},
		{"ttl below a modem's two heartbeats", map[string]string{"API_DATABASE_URL": "postgres://db/sms", "API_LEASE_TTL": "3s",
			"API_HEARTBEAT": "1s", "API_MODEMS_FILE": "testdata/modems.json"}, []string{"API_LEASE_TTL", `modem "de"`, "4s"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(nil, env(c.env), io.Discard)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q:\n%v", w, err)
				}
			}
			if c.not != "" && strings.Contains(err.Error(), c.not) {
				t.Errorf("error shows %q:\n%v", c.not, err)
			}
		})
	}
}

// One instance needs no lease: a short heartbeat's lease rule does not
// apply, and a hostname that is no instance name is no error.
func TestSingleInstanceIgnoresTheLease(t *testing.T) {
	withHostname(t, "host with spaces", nil)
	c, err := Parse(nil, env(map[string]string{"API_HEARTBEAT": "4s"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Cluster() || c.Instance == "" {
		t.Fatalf("%+v", c)
	}
	withHostname(t, "", errors.New("no hostname"))
	if _, err := Parse(nil, env(nil), io.Discard); err != nil {
		t.Fatal(err)
	}
	// In a cluster the instance needs a name.
	_, err = Parse(nil, env(map[string]string{"API_DATABASE_URL": "postgres://db/sms"}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "API_INSTANCE") {
		t.Fatalf("no hostname, no API_INSTANCE: %v", err)
	}
}

// The help text names every cluster setting with its variable.
func TestClusterHelp(t *testing.T) {
	var out strings.Builder
	_, _ = Parse([]string{"-h"}, env(nil), &out)
	for _, w := range []string{"-database-url", "API_DATABASE_URL", "-instance", "API_INSTANCE", "-advertise-url", "API_ADVERTISE_URL",
		"-lease-ttl", "API_LEASE_TTL"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("help does not name %s", w)
		}
	}
}
