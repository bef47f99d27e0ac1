package config

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/phone"
	"github.com/sim-modem-api/sim-modem-api/modem/relaytls"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
)

// DefaultModemID is the id of the one modem the API_RELAY_* settings
// describe when no modems file (API_MODEMS_FILE) or list (API_MODEMS) is
// given.
const DefaultModemID = "modem"

// Modem is one modem entry: a relay the api drives, and how.
type Modem struct {
	// ID is the short name the user chose: in URLs (/v1/modems/{id}),
	// the metric label modem, events and MQTT topics.
	ID        string
	RelayAddr string
	// Heartbeat is the api's heartbeat period towards the relay;
	// HeartbeatTimeout is the relay's own timeout (its -heartbeat-timeout),
	// which Heartbeat must stay well below.
	Heartbeat        time.Duration
	HeartbeatTimeout time.Duration
	Sentinel         string
	SMSC             string // "" for the SIM's own
	DefaultCountry   string // calling code digits for national numbers of a message pinned to it
	Pacing           time.Duration
	// TLS is the client configuration for a relay that listens with TLS
	// (nil: plain TCP); TLSFiles are the files it was loaded from.
	TLS      *tls.Config
	TLSFiles TLSFiles
}

// TLSFiles name the PEM files of a modem entry's relay TLS: the CA that
// signed the relay's certificate, the api's client certificate and key,
// and the name the relay's certificate is checked against ("" for the
// relay address's host).
type TLSFiles struct {
	CA         string `json:"ca"`
	Cert       string `json:"cert"`
	Key        string `json:"key"`
	ServerName string `json:"serverName"`
}

func (f TLSFiles) set() bool { return f.CA != "" || f.Cert != "" || f.Key != "" || f.ServerName != "" }

// Route narrows the modems a message may go out on by its recipient: the
// first rule whose prefix the normalised recipient starts with applies.
type Route struct {
	Prefix string   `json:"prefix"` // "+43", "+4366"
	Modems []string `json:"modems"`
}

// modemsFile is the format of API_MODEMS_FILE (see services/api/README.md).
type modemsFile struct {
	Modems []struct {
		ID                    string    `json:"id"`
		Relay                 string    `json:"relay"`
		Heartbeat             string    `json:"heartbeat"`
		RelayHeartbeatTimeout string    `json:"relayHeartbeatTimeout"`
		Sentinel              string    `json:"sentinel"`
		SMSC                  string    `json:"smsc"`
		DefaultCountry        string    `json:"defaultCountry"`
		Pacing                string    `json:"pacing"`
		TLS                   *TLSFiles `json:"tls"`
	} `json:"modems"`
	Routes   []Route `json:"routes"`
	Failover *bool   `json:"failover"`
}

// modems builds c.Modems, c.Routes and c.Failover: from the modems file,
// else from API_MODEMS (id=host:port,…), else the one modem of the
// API_RELAY_* settings; per-entry settings a file leaves out take the
// API_* values. Every problem is reported through bad/fail.
func (c *Config) modems(get map[string]*entry, bad func(name, want string), fail func(error)) {
	base := Modem{
		ID: strings.TrimSpace(get["modem-id"].value), RelayAddr: c.RelayAddr, Heartbeat: c.Heartbeat, Sentinel: c.Sentinel,
		SMSC: c.SMSC, DefaultCountry: c.DefaultCountry, Pacing: c.Pacing,
		TLSFiles: TLSFiles{CA: get["relay-tls-ca"].value, Cert: get["relay-tls-cert"].value, Key: get["relay-tls-key"].value,
			ServerName: get["relay-tls-server-name"].value},
	}
	base.HeartbeatTimeout = c.RelayHeartbeatTimeout
	switch v := strings.ToLower(strings.TrimSpace(get["failover"].value)); v {
	case "true", "1", "yes":
		c.Failover = true
	case "false", "0", "no":
	default:
		bad("failover", "true or false")
	}
	file, list := strings.TrimSpace(get["modems-file"].value), strings.TrimSpace(get["modems"].value)
	switch {
	case file != "" && list != "":
		bad("modems", "not together with API_MODEMS_FILE")
		return
	case file != "":
		c.modemsFromFile(file, base, fail)
	case list != "":
		for _, item := range strings.Split(list, ",") {
			id, addr, ok := strings.Cut(strings.TrimSpace(item), "=")
			if !ok {
				bad("modems", "a comma-separated list of id=host:port, e.g. at=127.0.0.1:8080,de=10.0.0.7:8080")
				return
			}
			m := base
			m.ID, m.RelayAddr = strings.TrimSpace(id), strings.TrimSpace(addr)
			c.Modems = append(c.Modems, m)
		}
	default:
		if !store.ValidModemName(base.ID) {
			bad("modem-id", store.ModemNameRule)
		}
		c.Modems = []Modem{base}
	}
	for i := range c.Modems {
		if err := c.Modems[i].check(); err != nil {
			fail(err)
		}
	}
	seen := map[string]bool{}
	for _, m := range c.Modems {
		if seen[m.ID] {
			fail(fmt.Errorf("modem %q: the id is used twice", m.ID))
		}
		seen[m.ID] = true
	}
	for _, r := range c.Routes {
		if !strings.HasPrefix(r.Prefix, "+") || !phone.Digits(r.Prefix[1:], 1, 15) {
			fail(fmt.Errorf("route %q: the prefix must be + and 1 to 15 digits, e.g. +43", r.Prefix))
		}
		if len(r.Modems) == 0 {
			fail(fmt.Errorf("route %q: names no modem", r.Prefix))
		}
		for _, id := range r.Modems {
			if !seen[id] {
				fail(fmt.Errorf("route %q: no modem %q", r.Prefix, id))
			}
		}
	}
}

func (c *Config) modemsFromFile(path string, base Modem, fail func(error)) {
	b, err := os.ReadFile(path)
	if err != nil {
		fail(fmt.Errorf("API_MODEMS_FILE: %w", err))
		return
	}
	var f modemsFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		fail(fmt.Errorf("API_MODEMS_FILE %s: %w", path, err))
		return
	}
	if len(f.Modems) == 0 {
		fail(fmt.Errorf("API_MODEMS_FILE %s: no modems", path))
		return
	}
	for i, e := range f.Modems {
		m := base
		m.ID, m.RelayAddr = e.ID, e.Relay
		where := fmt.Sprintf("API_MODEMS_FILE %s: modems[%d] (%q)", path, i, e.ID)
		dur := func(field, v string, into *time.Duration) {
			if v == "" {
				return
			}
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				fail(fmt.Errorf("%s: %s %q: want a duration like 2s", where, field, v))
				return
			}
			*into = d
		}
		dur("heartbeat", e.Heartbeat, &m.Heartbeat)
		dur("relayHeartbeatTimeout", e.RelayHeartbeatTimeout, &m.HeartbeatTimeout)
		dur("pacing", e.Pacing, &m.Pacing)
		if e.Sentinel != "" {
			m.Sentinel = e.Sentinel
		}
		if e.SMSC != "" {
			m.SMSC = e.SMSC
		}
		if e.DefaultCountry != "" {
			m.DefaultCountry = strings.TrimPrefix(e.DefaultCountry, "+")
		}
		if e.TLS != nil {
			m.TLSFiles = *e.TLS
		}
		c.Modems = append(c.Modems, m)
	}
	c.Routes = f.Routes
	if f.Failover != nil {
		c.Failover = *f.Failover
	}
}

// check validates one entry and loads its TLS files.
func (m *Modem) check() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("modem %q: "+format, append([]any{m.ID}, args...)...))
	}
	if !store.ValidModemName(m.ID) {
		bad("id: %s", store.ModemNameRule)
	}
	if host, port, err := net.SplitHostPort(m.RelayAddr); err != nil || host == "" || port == "" {
		bad("relay %q: want host:port, e.g. 127.0.0.1:8080", m.RelayAddr)
	}
	if m.Heartbeat < 10*time.Millisecond {
		bad("heartbeat %v: at least 10ms", m.Heartbeat)
	}
	if m.HeartbeatTimeout > 0 && m.Heartbeat >= m.HeartbeatTimeout {
		bad("heartbeat %v: less than the relay's heartbeat timeout %v (API_RELAY_HEARTBEAT_TIMEOUT or relayHeartbeatTimeout)", m.Heartbeat, m.HeartbeatTimeout)
	}
	if n := len(m.Sentinel); n < 1 || n > 64 || strings.Trim(m.Sentinel, "0123456789ABCDEFabcdef") == "" {
		bad("sentinel: 1 to 64 bytes, not all hex digits (so that it can never occur in a PDU)")
	}
	if m.SMSC != "" && !isE164(m.SMSC) {
		bad("smsc %q: an international number like +4365009000000", m.SMSC)
	}
	if m.DefaultCountry != "" && !phone.Digits(m.DefaultCountry, 1, 3) {
		bad("defaultCountry %q: a country calling code of 1 to 3 digits, e.g. 43", m.DefaultCountry)
	}
	if m.TLSFiles.set() {
		if m.TLSFiles.CA == "" || m.TLSFiles.Cert == "" || m.TLSFiles.Key == "" {
			bad("relay TLS: the CA, the client certificate and its key are all required (API_RELAY_TLS_CA, _CERT, _KEY)")
		} else if t, err := relaytls.Client(m.TLSFiles.CA, m.TLSFiles.Cert, m.TLSFiles.Key, m.TLSFiles.ServerName); err != nil {
			bad("relay TLS: %v", err)
		} else {
			m.TLS = t
		}
	}
	return errors.Join(errs...)
}

// Modem returns the entry with this id.
func (c *Config) Modem(id string) (Modem, bool) {
	i := slices.IndexFunc(c.Modems, func(m Modem) bool { return m.ID == id })
	if i < 0 {
		return Modem{}, false
	}
	return c.Modems[i], true
}
