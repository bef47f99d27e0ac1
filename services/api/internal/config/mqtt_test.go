package config

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestMQTTOffByDefault(t *testing.T) {
	c, err := Parse(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	m := c.MQTT
	if m.URL != "" || m.TopicPrefix != "sim-modem-api" || m.DiscoveryPrefix != "homeassistant" || !m.Discovery ||
		m.QoS != 1 || m.Queue != 1000 || m.ClientID != "sim-modem-api" || m.ReconnectMax != time.Minute {
		t.Fatalf("defaults: %+v", m)
	}
}

func TestMQTTBroker(t *testing.T) {
	c, err := Parse([]string{"-mqtt-qos", "0"}, env(map[string]string{
		"API_MQTT_URL": "mqtt://broker", "API_MQTT_USERNAME": "api", "API_MQTT_PASSWORD": " secret ",
		"API_MQTT_TOPIC_PREFIX": "/sms/gw/", "API_MQTT_NOTIFY_TO": "+436601234567",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	m := c.MQTT
	if m.Addr != "broker:1883" || m.TLS != nil || m.QoS != 0 || m.TopicPrefix != "sms/gw" || m.ClientID != "sms-gw" ||
		m.Password != " secret " || m.NotifyTo != "+436601234567" {
		t.Fatalf("%+v", m)
	}
	c, err = Parse(nil, env(map[string]string{"API_MQTT_URL": "mqtts://broker.lan"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.MQTT.Addr != "broker.lan:8883" || c.MQTT.TLS == nil || c.MQTT.TLS.ServerName != "broker.lan" {
		t.Fatalf("mqtts: %+v", c.MQTT)
	}
}

func TestMQTTBadValuesNamed(t *testing.T) {
	_, err := Parse(nil, env(map[string]string{
		"API_MQTT_URL": "http://user:pw@broker", "API_MQTT_QOS": "2", "API_MQTT_TOPIC_PREFIX": "a/+/b",
		"API_MQTT_DISCOVERY_PREFIX": "ha//x", "API_MQTT_QUEUE": "0", "API_MQTT_NOTIFY_TO": "0660",
		"API_MQTT_PASSWORD": "pw", "API_MQTT_RECONNECT_MIN": "2m",
	}), io.Discard)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"API_MQTT_URL", "API_MQTT_QOS", "API_MQTT_TOPIC_PREFIX", "API_MQTT_DISCOVERY_PREFIX",
		"API_MQTT_QUEUE", "API_MQTT_NOTIFY_TO", "API_MQTT_PASSWORD", "API_MQTT_RECONNECT_MAX"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s:\n%v", want, err)
		}
	}
	_, err = Parse(nil, env(map[string]string{"API_MQTT_URL": "mqtt://b", "API_MQTT_CA": "ca.pem"}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "API_MQTT_CA") {
		t.Fatalf("TLS settings on mqtt://: %v", err)
	}
	_, err = Parse(nil, env(map[string]string{"API_MQTT_URL": "mqtts://b", "API_MQTT_CA": "testdata/none.pem"}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "API_MQTT_CA") {
		t.Fatalf("missing CA file: %v", err)
	}
}
