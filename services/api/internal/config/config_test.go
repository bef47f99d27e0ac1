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
