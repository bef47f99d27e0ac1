package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// MQTT is the MQTT bridge's configuration (URL "": off).
type MQTT struct {
	// URL is the broker, mqtt://host[:1883] or mqtts://host[:8883].
	URL      string
	Addr     string // host:port of URL
	TLS      *tls.Config
	ClientID string
	Username string
	Password string
	// TopicPrefix starts every topic of the api's own; DiscoveryPrefix is
	// Home Assistant's discovery prefix; Discovery announces the modems
	// there.
	TopicPrefix     string
	DiscoveryPrefix string
	Discovery       bool
	QoS             byte
	// Queue is the most messages waiting for the broker; older ones are
	// dropped (and counted) when it is full.
	Queue                      int
	KeepAlive                  time.Duration
	ReconnectMin, ReconnectMax time.Duration
	// NotifyTo is the recipient of the Home Assistant notify entity's
	// messages that name none ("" : they must name one).
	NotifyTo string
}

// mqttEntries are the API_MQTT_* settings.
func mqttEntries() []*entry {
	return []*entry{
		{flag: "mqtt-url", env: "API_MQTT_URL", def: "", help: "the MQTT broker, mqtt://host:1883 or mqtts://host:8883; empty: no MQTT"},
		{flag: "mqtt-client-id", env: "API_MQTT_CLIENT_ID", def: "", help: "the MQTT client id (unique on the broker); empty: the topic prefix"},
		{flag: "mqtt-username", env: "API_MQTT_USERNAME", def: "", help: "the MQTT user name"},
		{flag: "mqtt-password", env: "API_MQTT_PASSWORD", def: "", help: "the MQTT password"},
		{flag: "mqtt-ca", env: "API_MQTT_CA", def: "", help: "CA certificate (PEM) of an mqtts:// broker; empty: the system's roots (none in the api image)"},
		{flag: "mqtt-cert", env: "API_MQTT_CERT", def: "", help: "client certificate (PEM) for an mqtts:// broker that asks for one"},
		{flag: "mqtt-key", env: "API_MQTT_KEY", def: "", help: "the key (PEM) of API_MQTT_CERT"},
		{flag: "mqtt-topic-prefix", env: "API_MQTT_TOPIC_PREFIX", def: "sim-modem-api", help: "the first level(s) of every topic the api publishes and subscribes"},
		{flag: "mqtt-discovery-prefix", env: "API_MQTT_DISCOVERY_PREFIX", def: "homeassistant", help: "Home Assistant's MQTT discovery prefix"},
		{flag: "mqtt-discovery", env: "API_MQTT_DISCOVERY", def: "true", help: "announce each modem to Home Assistant (MQTT discovery)"},
		{flag: "mqtt-qos", env: "API_MQTT_QOS", def: "1", help: "QoS of every publish and subscription: 0 or 1"},
		{flag: "mqtt-queue", env: "API_MQTT_QUEUE", def: "1000", help: "most messages waiting for the broker while it is away; when full the oldest is dropped and counted"},
		{flag: "mqtt-keepalive", env: "API_MQTT_KEEPALIVE", def: "30s", help: "MQTT keep-alive"},
		{flag: "mqtt-reconnect-min", env: "API_MQTT_RECONNECT_MIN", def: "1s", help: "first wait before reconnecting to the broker (doubles up to mqtt-reconnect-max)"},
		{flag: "mqtt-reconnect-max", env: "API_MQTT_RECONNECT_MAX", def: "1m", help: "longest wait between reconnects to the broker"},
		{flag: "mqtt-notify-to", env: "API_MQTT_NOTIFY_TO", def: "", help: "recipient (E.164) of the Home Assistant notify entity's messages that do not start with \"+<number>:\""},
	}
}

// mqtt reads the API_MQTT_* settings into c.MQTT.
func (c *Config) mqtt(get map[string]*entry, bad func(name, want string)) {
	m := &c.MQTT
	v := func(name string) string { return strings.TrimSpace(get[name].value) }
	m.URL = v("mqtt-url")
	m.TopicPrefix = strings.Trim(v("mqtt-topic-prefix"), "/")
	m.DiscoveryPrefix = strings.Trim(v("mqtt-discovery-prefix"), "/")
	if !validTopicPrefix(m.TopicPrefix) {
		bad("mqtt-topic-prefix", "topic levels without +, # or empty levels, e.g. sim-modem-api")
	}
	if !validTopicPrefix(m.DiscoveryPrefix) {
		bad("mqtt-discovery-prefix", "topic levels without +, # or empty levels, e.g. homeassistant")
	}
	switch strings.ToLower(v("mqtt-discovery")) {
	case "true", "1", "yes":
		m.Discovery = true
	case "false", "0", "no":
	default:
		bad("mqtt-discovery", "true or false")
	}
	switch v("mqtt-qos") {
	case "0":
	case "1":
		m.QoS = 1
	default:
		bad("mqtt-qos", "0 or 1")
	}
	if n, err := strconv.Atoi(v("mqtt-queue")); err != nil || n < 1 || n > 1000000 {
		bad("mqtt-queue", "a whole number between 1 and 1000000")
	} else {
		m.Queue = n
	}
	d := func(name string, min time.Duration) time.Duration {
		x, err := time.ParseDuration(v(name))
		if err != nil || x < min {
			bad(name, fmt.Sprintf("a duration of at least %v", min))
		}
		return x
	}
	m.KeepAlive = d("mqtt-keepalive", time.Second)
	if m.KeepAlive > 65535*time.Second {
		bad("mqtt-keepalive", "at most 65535s")
	}
	m.ReconnectMin = d("mqtt-reconnect-min", time.Millisecond)
	m.ReconnectMax = d("mqtt-reconnect-max", time.Millisecond)
	if m.ReconnectMax < m.ReconnectMin {
		bad("mqtt-reconnect-max", "at least mqtt-reconnect-min")
	}
	m.NotifyTo = v("mqtt-notify-to")
	if m.NotifyTo != "" && !isE164(m.NotifyTo) {
		bad("mqtt-notify-to", "an international number like +436601234567")
	}
	m.ClientID = v("mqtt-client-id")
	if m.ClientID == "" {
		m.ClientID = strings.ReplaceAll(m.TopicPrefix, "/", "-")
	}
	if len(m.ClientID) > 128 {
		bad("mqtt-client-id", "at most 128 characters")
	}
	m.Username, m.Password = v("mqtt-username"), get["mqtt-password"].value
	if m.Password != "" && m.Username == "" {
		bad("mqtt-password", "a password with API_MQTT_USERNAME")
	}
	if m.URL == "" {
		return
	}
	u, err := url.Parse(m.URL)
	if err != nil || (u.Scheme != "mqtt" && u.Scheme != "mqtts" && u.Scheme != "tcp" && u.Scheme != "ssl") || u.Hostname() == "" ||
		u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		bad("mqtt-url", "mqtt://host:1883 or mqtts://host:8883 (user and password in API_MQTT_USERNAME/API_MQTT_PASSWORD)")
		return
	}
	secure := u.Scheme == "mqtts" || u.Scheme == "ssl"
	port := u.Port()
	if port == "" {
		port = "1883"
		if secure {
			port = "8883"
		}
	}
	m.Addr = net.JoinHostPort(u.Hostname(), port)
	if !secure {
		for _, f := range []string{"mqtt-ca", "mqtt-cert", "mqtt-key"} {
			if v(f) != "" {
				bad(f, "an mqtts:// API_MQTT_URL (TLS settings on a plain connection)")
			}
		}
		return
	}
	t := &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
	if ca := v("mqtt-ca"); ca != "" {
		pem, err := os.ReadFile(ca)
		pool := x509.NewCertPool()
		if err != nil || !pool.AppendCertsFromPEM(pem) {
			bad("mqtt-ca", "a readable PEM file of CA certificates")
		}
		t.RootCAs = pool
	}
	if cert, key := v("mqtt-cert"), v("mqtt-key"); cert != "" || key != "" {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			bad("mqtt-cert", "a client certificate and its key (API_MQTT_KEY), both readable PEM: "+err.Error())
		}
		t.Certificates = []tls.Certificate{pair}
	}
	m.TLS = t
}

// validTopicPrefix reports whether p is one or more MQTT topic levels the
// api can publish under: no wildcards, no empty level, no NUL.
func validTopicPrefix(p string) bool {
	if p == "" || len(p) > 200 || strings.ContainsAny(p, "+#\x00") || strings.HasPrefix(p, "$") {
		return false
	}
	for _, l := range strings.Split(p, "/") {
		if l == "" {
			return false
		}
	}
	return true
}
