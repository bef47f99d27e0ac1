package config

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func parseEnv(t *testing.T, env map[string]string) (*Config, error) {
	t.Helper()
	return Parse(nil, func(k string) string { return env[k] }, io.Discard)
}

func TestOneModemFromTheRelaySettings(t *testing.T) {
	c, err := parseEnv(t, map[string]string{"API_RELAY_ADDR": "relay:8080", "API_SMSC": "+4365009000000", "API_RELAY_HEARTBEAT_TIMEOUT": "8s",
		"API_HEARTBEAT": "6s"})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Modems) != 1 {
		t.Fatalf("modems %+v", c.Modems)
	}
	m := c.Modems[0]
	if m.ID != DefaultModemID || m.RelayAddr != "relay:8080" || m.SMSC != "+4365009000000" || m.HeartbeatTimeout != 8*time.Second ||
		m.Heartbeat != 6*time.Second || m.TLS != nil || !c.Failover {
		t.Fatalf("modem %+v failover %v", m, c.Failover)
	}
	// The heartbeat is checked against the relay's configured timeout,
	// not the relay's default.
	if _, err := parseEnv(t, map[string]string{"API_HEARTBEAT": "6s"}); err == nil || !strings.Contains(err.Error(), "API_HEARTBEAT") {
		t.Fatalf("heartbeat above the default timeout: %v", err)
	}
}

func TestModemsList(t *testing.T) {
	c, err := parseEnv(t, map[string]string{"API_MODEMS": "at=127.0.0.1:8081, de=10.0.0.7:8080", "API_DEFAULT_COUNTRY": "43", "API_FAILOVER": "false"})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Modems) != 2 || c.Modems[0].ID != "at" || c.Modems[1].RelayAddr != "10.0.0.7:8080" || c.Modems[1].DefaultCountry != "43" || c.Failover {
		t.Fatalf("modems %+v", c.Modems)
	}
	for _, bad := range []string{"at", "at=nohost", "At=h:1", "a=h:1,a=h:2"} {
		if _, err := parseEnv(t, map[string]string{"API_MODEMS": bad}); err == nil {
			t.Errorf("API_MODEMS=%q accepted", bad)
		}
	}
	if _, err := parseEnv(t, map[string]string{"API_MODEMS": "a=h:1", "API_MODEMS_FILE": "x.json"}); err == nil {
		t.Error("API_MODEMS with API_MODEMS_FILE accepted")
	}
}

func TestModemsFile(t *testing.T) {
	good, err := filepath.Abs("testdata/modems.json")
	if err != nil {
		t.Fatal(err)
	}
	c, err := parseEnv(t, map[string]string{"API_MODEMS_FILE": good, "API_SMS_PACING": "3s"})
	if err != nil {
		t.Fatal(err)
	}
	at, ok := c.Modem("at")
	de, ok2 := c.Modem("de")
	if !ok || !ok2 || len(c.Modems) != 2 {
		t.Fatalf("modems %+v", c.Modems)
	}
	if at.RelayAddr != "127.0.0.1:8080" || at.Pacing != 3*time.Second || at.DefaultCountry != "43" || at.SMSC != "+436640501" {
		t.Fatalf("at %+v", at)
	}
	if de.RelayAddr != "pi2.example:8443" || de.Pacing != 5*time.Second || de.HeartbeatTimeout != 10*time.Second || de.DefaultCountry != "49" {
		t.Fatalf("de %+v", de)
	}
	if len(c.Routes) != 2 || c.Routes[0].Prefix != "+43" || c.Routes[1].Modems[1] != "at" || c.Failover {
		t.Fatalf("routes %+v failover %v", c.Routes, c.Failover)
	}

	dir := t.TempDir()
	for name, body := range map[string]string{
		"unknown field":    `{"modems":[{"id":"a","relay":"h:1","color":"red"}]}`,
		"no modems":        `{"modems":[]}`,
		"route to nobody":  `{"modems":[{"id":"a","relay":"h:1"}],"routes":[{"prefix":"+43","modems":["b"]}]}`,
		"bad prefix":       `{"modems":[{"id":"a","relay":"h:1"}],"routes":[{"prefix":"43","modems":["a"]}]}`,
		"heartbeat":        `{"modems":[{"id":"a","relay":"h:1","heartbeat":"5s","relayHeartbeatTimeout":"5s"}]}`,
		"half tls":         `{"modems":[{"id":"a","relay":"h:1","tls":{"ca":"ca.pem"}}]}`,
		"missing tls file": `{"modems":[{"id":"a","relay":"h:1","tls":{"ca":"nope.pem","cert":"c.pem","key":"k.pem"}}]}`,
		"not json":         `modems: [a]`,
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".json")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := parseEnv(t, map[string]string{"API_MODEMS_FILE": p}); err == nil {
			t.Errorf("%s: accepted", name)
		} else if !strings.Contains(err.Error(), p) && !strings.Contains(err.Error(), "modem \"a\"") && !strings.Contains(err.Error(), "route") {
			t.Errorf("%s: the error does not say where: %v", name, err)
		}
	}
}
