package config

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func env(kv map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := kv[k]; return v, ok }
}

func TestDefaults(t *testing.T) {
	c, err := Parse("relay", nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Device: "/dev/ttyUSB2", Baud: 115200, Listen: ":8080",
		HeartbeatTimeout: 5 * time.Second, Sentinel: "<heartbeat>",
		SentinelHold: time.Second, WriteTimeout: 5 * time.Second,
		MetricsListen: ":9101",
	}
	if c != want {
		t.Fatalf("got %+v\nwant %+v", c, want)
	}
}

func TestEnvAndFlagPrecedence(t *testing.T) {
	e := env(map[string]string{
		"RELAY_DEVICE":             "/dev/serial/by-id/usb-ZTE*-if02-port0",
		"RELAY_BAUD":               "9600",
		"RELAY_LISTEN":             "127.0.0.1:9000",
		"RELAY_HEARTBEAT_TIMEOUT":  "3000",
		"RELAY_HEARTBEAT_SENTINEL": "<hb>",
		"RELAY_METRICS_LISTEN":     "",
	})
	c, err := Parse("relay", []string{"-baud", "57600", "-heartbeat-timeout=2s"}, e, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Device != "/dev/serial/by-id/usb-ZTE*-if02-port0" || c.Baud != 57600 || c.Listen != "127.0.0.1:9000" ||
		c.HeartbeatTimeout != 2*time.Second || c.Sentinel != "<hb>" || c.MetricsListen != "" {
		t.Fatalf("got %+v", c)
	}
	c, err = Parse("relay", nil, e, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.HeartbeatTimeout != 3*time.Second || c.Baud != 9600 {
		t.Fatalf("env milliseconds: got %+v", c)
	}
}

func TestBadValues(t *testing.T) {
	cases := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{nil, map[string]string{"RELAY_BAUD": "fast"}, `invalid RELAY_BAUD="fast": want a whole number`},
		{[]string{"-baud", "-1"}, nil, `invalid -baud="-1"`},
		{nil, map[string]string{"RELAY_LISTEN": "8080"}, `invalid RELAY_LISTEN="8080": want host:port`},
		{nil, map[string]string{"RELAY_LISTEN": ":99999"}, `port must be a number from 0 to 65535`},
		{nil, map[string]string{"RELAY_HEARTBEAT_TIMEOUT": "soon"}, `invalid RELAY_HEARTBEAT_TIMEOUT="soon": want a duration`},
		{nil, map[string]string{"RELAY_HEARTBEAT_TIMEOUT": "0"}, `must be at least 1ms`},
		{nil, map[string]string{"RELAY_HEARTBEAT_SENTINEL": ""}, `invalid RELAY_HEARTBEAT_SENTINEL="": empty`},
		{nil, map[string]string{"RELAY_DEVICE": "/dev/ttyUSB["}, `not a valid glob pattern`},
		{nil, map[string]string{"RELAY_DEVICE": " "}, `invalid RELAY_DEVICE=" ": empty`},
		{nil, map[string]string{"RELAY_METRICS_LISTEN": ":8080"}, `the same address`},
		{[]string{"extra"}, nil, `unexpected argument "extra"`},
		{[]string{"-nope"}, nil, `flag provided but not defined`},
	}
	for _, c := range cases {
		_, err := Parse("relay", c.args, env(c.env), io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("args %v env %v: got error %v, want it to contain %q", c.args, c.env, err, c.want)
		}
	}
	// All problems are reported at once.
	_, err := Parse("relay", nil, env(map[string]string{"RELAY_BAUD": "x", "RELAY_LISTEN": "y"}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "RELAY_BAUD") || !strings.Contains(err.Error(), "RELAY_LISTEN") {
		t.Fatalf("want both errors, got %v", err)
	}
}

func TestHelp(t *testing.T) {
	var out strings.Builder
	_, err := Parse("relay", []string{"-h"}, env(nil), &out)
	if !errors.Is(err, ErrHelp) {
		t.Fatalf("got %v", err)
	}
	for _, s := range []string{"RELAY_DEVICE", "RELAY_HEARTBEAT_SENTINEL", "healthcheck"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("usage does not mention %s:\n%s", s, out.String())
		}
	}
}

func TestTLSAllThreeOrNone(t *testing.T) {
	c, err := Parse("relay", []string{"-tls-cert", "relay.crt"}, env(map[string]string{
		"RELAY_TLS_KEY": "relay.key", "RELAY_TLS_CLIENT_CA": "ca.crt",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !c.TLS() || c.TLSCert != "relay.crt" || c.TLSKey != "relay.key" || c.TLSClientCA != "ca.crt" {
		t.Fatalf("got %+v", c)
	}
	_, err = Parse("relay", nil, env(map[string]string{"RELAY_TLS_CERT": "relay.crt"}), io.Discard)
	if err == nil {
		t.Fatal("one of three accepted")
	}
	for _, want := range []string{"missing -tls-key (env RELAY_TLS_KEY)", "missing -tls-client-ca (env RELAY_TLS_CLIENT_CA)", "give none for plain TCP"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "missing -tls-cert") {
		t.Errorf("error names the setting that was given:\n%v", err)
	}
	if c, err := Parse("relay", nil, env(nil), io.Discard); err != nil || c.TLS() {
		t.Fatalf("default: TLS %v, %v", c.TLS(), err)
	}
}
