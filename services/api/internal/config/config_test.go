package config

import (
	"io"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	c, err := Parse(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != ":8090" || c.RelayAddr != "127.0.0.1:8080" || c.Heartbeat != 2*time.Second ||
		c.Pacing != 3500*time.Millisecond || c.Sentinel != "<heartbeat>" || c.CommandTimeout != 3*time.Second {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestFlagWinsOverEnv(t *testing.T) {
	c, err := Parse([]string{"-sms-pacing", "0"}, env(map[string]string{
		"API_SMS_PACING": "1s", "API_KEYS": " aaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbb ,", "API_DEFAULT_COUNTRY": "+43",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Pacing != 0 || len(c.Keys) != 2 || c.Keys[1] != "bbbbbbbbbbbbbbbb" || c.DefaultCountry != "43" {
		t.Fatalf("%+v", c)
	}
}

func TestBadValuesNamed(t *testing.T) {
	_, err := Parse([]string{"-heartbeat", "6s"}, env(map[string]string{
		"API_RELAY_ADDR": "nohost", "API_SMSC": "0660", "API_QUEUE_SIZE": "0", "API_KEYS": "short",
		"API_DEFAULT_COUNTRY": "AT",
	}), io.Discard)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"API_HEARTBEAT", "flag -heartbeat", "API_RELAY_ADDR", "API_SMSC", "API_QUEUE_SIZE", "API_KEYS", "API_DEFAULT_COUNTRY"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s:\n%v", want, err)
		}
	}
}

func TestMetricsListen(t *testing.T) {
	for _, c := range []struct {
		env, want string
		bad       bool
	}{
		{"", "127.0.0.1:9102", false},
		{":9102", ":9102", false},
		{"127.0.0.1:9200", "127.0.0.1:9200", false},
		{"off", "", false},
		{"OFF", "", false},
		{"9102", "", true},
		{":8090", "", true}, // the API port itself
	} {
		got, err := Parse(nil, env(map[string]string{"API_METRICS_LISTEN": c.env}), io.Discard)
		switch {
		case c.bad && err == nil:
			t.Errorf("API_METRICS_LISTEN=%q: no error", c.env)
		case c.bad && !strings.Contains(err.Error(), "API_METRICS_LISTEN"):
			t.Errorf("API_METRICS_LISTEN=%q: error does not name it: %v", c.env, err)
		case !c.bad && err != nil:
			t.Errorf("API_METRICS_LISTEN=%q: %v", c.env, err)
		case !c.bad && got.MetricsListen != c.want:
			t.Errorf("API_METRICS_LISTEN=%q: MetricsListen %q, want %q", c.env, got.MetricsListen, c.want)
		}
	}
}
