//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/sim-modem-api/sim-modem-api/services/api/mosquittotest"
	"github.com/sim-modem-api/sim-modem-api/simulator/control"
)

// The api's MQTT bridge against a real Mosquitto (Debian's mosquitto
// package) with a password file, the simulator, the relay and the api as
// processes: an SMS received by the modem arrives on the broker, an SMS
// published to the command topic reaches the modem exactly once, the
// broker's restart, Home Assistant's online status, wrong credentials.

const (
	mqttIMEI = "861234567890131"
	mqttNode = "simmodem_" + mqttIMEI
)

func mqttEnv(b *mosquittotest.Broker, extra ...string) []string {
	return append([]string{"API_MQTT_URL=mqtt://" + b.Addr, "API_MQTT_USERNAME=" + b.User, "API_MQTT_PASSWORD=" + b.Password,
		"API_MQTT_TOPIC_PREFIX=sma", "API_MQTT_RECONNECT_MIN=50ms", "API_MQTT_RECONNECT_MAX=500ms",
		"API_MQTT_NOTIFY_TO=+436601111111"}, extra...)
}

// sentText counts the messages the simulated modem sent with text.
func (s *stack) sentText(text string) int {
	n := 0
	for _, m := range s.sent() {
		if m.Text == text {
			n++
		}
	}
	return n
}

func TestMQTTHomeAssistant(t *testing.T) {
	b := mosquittotest.Start(t)
	s := newStack(t, stackOpts{apiEnv: mqttEnv(b), simArgs: []string{"--imei", mqttIMEI}})
	w := b.Client(t, "sma/#", "homeassistant/#")

	// Discovery: one device with its entities, retained; the state.
	w.Wait("the discovery configs and the state", 20*time.Second, func([]*paho.Publish) bool {
		return len(w.Payloads("homeassistant/notify/"+mqttNode+"/sms/config")) > 0 && len(w.Payloads("sma/modem/state")) > 0
	})
	late := b.Client(t, "homeassistant/#", "sma/modem/state", "sma/status")
	entities := []string{"sensor/%s/signal_dbm", "sensor/%s/signal_percent", "sensor/%s/operator", "sensor/%s/registration",
		"sensor/%s/access_technology", "sensor/%s/sim", "sensor/%s/queued", "binary_sensor/%s/connected", "event/%s/sms", "notify/%s/sms"}
	late.Wait("every config retained", 10*time.Second, func([]*paho.Publish) bool {
		for _, e := range entities {
			if len(late.Payloads("homeassistant/"+fmt.Sprintf(e, mqttNode)+"/config")) == 0 {
				return false
			}
		}
		return len(late.Payloads("sma/modem/state")) > 0 && slices.Equal(late.Payloads("sma/status"), []string{"online"})
	})
	var cfg struct {
		Device struct {
			Identifiers  []string `json:"identifiers"`
			Manufacturer string   `json:"manufacturer"`
			Model        string   `json:"model"`
			Firmware     string   `json:"sw_version"`
		} `json:"device"`
	}
	if err := json.Unmarshal([]byte(late.Payloads("homeassistant/sensor/" + mqttNode + "/signal_dbm/config")[0]), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Device.Identifiers[0] != mqttNode || cfg.Device.Manufacturer == "" || cfg.Device.Model == "" || cfg.Device.Firmware == "" {
		t.Errorf("device: %+v", cfg.Device)
	}
	var st struct {
		Connected bool `json:"connected"`
		Signal    struct {
			DBm *int `json:"dbm"`
		} `json:"signal"`
		Operator string `json:"operator"`
		SIM      string `json:"sim"`
	}
	states := late.Payloads("sma/modem/state")
	if err := json.Unmarshal([]byte(states[len(states)-1]), &st); err != nil {
		t.Fatal(err)
	}
	if !st.Connected || st.Signal.DBm == nil || st.Operator == "" || st.SIM != "ready" {
		t.Errorf("state: %s", states[len(states)-1])
	}

	// An SMS delivered to the modem arrives on the broker: the event and
	// the event entity's payload, the text longer than 255 characters.
	text := strings.Repeat("Hallo aus dem Keller! ", 14)
	s.deliver(control.IncomingSMS{From: "+436609876543", Text: text})
	w.Wait("the received SMS on the broker", 30*time.Second, func([]*paho.Publish) bool {
		return len(w.Payloads("sma/events/sms.received")) > 0 && len(w.Payloads("sma/modem/sms")) > 0
	})
	var ev struct {
		EventType string `json:"event_type"`
		From      string `json:"from"`
		Text      string `json:"text"`
	}
	_ = json.Unmarshal([]byte(w.Payloads("sma/modem/sms")[0]), &ev)
	if ev.EventType != "sms_received" || ev.From != "+436609876543" || ev.Text != text {
		t.Errorf("event entity payload: %+v", ev)
	}

	// Sent by publishing: the command published twice (a QoS 1
	// redelivery), then a malformed one, then the notify entity's.
	pub := b.Client(t)
	cmd := `{"id":"e2e-alarm-1","to":"+436601234567","text":"Alarm: motion in the hall"}`
	pub.Publish("sma/send", cmd, false)
	pub.Publish("sma/send", cmd, false)
	pub.Publish("sma/send", `{"to":"+436601234567","text":`, false)
	pub.Publish("sma/modem/notify", "Door bell", false)
	w.Wait("four results", 20*time.Second, func([]*paho.Publish) bool { return len(w.Payloads("sma/send/result")) >= 4 })
	res := w.Payloads("sma/send/result")
	for i, want := range []string{`"status":"accepted"`, `"status":"duplicate"`, `"status":"error"`, `"status":"accepted"`} {
		if !strings.Contains(res[i], want) {
			t.Errorf("result %d: %s, want %s", i, res[i], want)
		}
	}
	s.waitFor("the alarm and the door bell sent", 30*time.Second, func() bool {
		return s.sentText("Alarm: motion in the hall") >= 1 && s.sentText("Door bell") >= 1
	})
	w.Wait("message.sent events", 20*time.Second, func([]*paho.Publish) bool { return len(w.Payloads("sma/events/message.sent")) >= 2 })
	time.Sleep(500 * time.Millisecond) // a second copy would have gone out by now
	if n := s.sentText("Alarm: motion in the hall"); n != 1 {
		t.Errorf("the alarm was sent %d times, want once", n)
	}
	for _, m := range s.sent() {
		if m.Text == "Door bell" && m.Recipient != "+436601111111" {
			t.Errorf("notify went to %s, want API_MQTT_NOTIFY_TO", m.Recipient)
		}
	}

	// A command published while the api is away waits in its session on
	// the broker and is taken once the api is back.
	s.apiProc.stop(t)
	pub.Publish("sma/send", `{"id":"e2e-away-1","to":"+436601234567","text":"Sent while the api was away"}`, false)
	s.apiProc = start(t, s.dir, "api", s.apiEnv)
	s.waitFor("the command from the api's absence sent", 40*time.Second, func() bool { return s.sentText("Sent while the api was away") == 1 })

	// Home Assistant restarts: its status says online, the configs come
	// again.
	n := len(w.Payloads("homeassistant/sensor/" + mqttNode + "/operator/config"))
	pub.Publish("homeassistant/status", "online", false)
	w.Wait("the configs announced again", 10*time.Second, func([]*paho.Publish) bool {
		return len(w.Payloads("homeassistant/sensor/"+mqttNode+"/operator/config")) > n
	})
	if m := s.metrics(); !strings.Contains(m, `simmodem_api_mqtt_commands_total{result="accepted"} `) ||
		!strings.Contains(m, "simmodem_api_mqtt_connected 1") {
		t.Errorf("metrics: %s", grepLines(m, "simmodem_api_mqtt_"))
	}
}

func TestMQTTBrokerRestart(t *testing.T) {
	b := mosquittotest.Start(t)
	s := newStack(t, stackOpts{apiEnv: mqttEnv(b), simArgs: []string{"--imei", mqttIMEI}})
	w := b.Client(t, "sma/#")
	w.Wait("the state", 20*time.Second, func([]*paho.Publish) bool { return len(w.Payloads("sma/modem/state")) > 0 })

	// The broker goes away; the modem receives an SMS meanwhile.
	b.Stop()
	s.deliver(control.IncomingSMS{From: "+436609876543", Text: "While the broker was down"})
	s.waitFor("the SMS in the inbox", 30*time.Second, func() bool { return len(s.inbox()) == 1 })
	if !strings.Contains(s.metrics(), "simmodem_api_mqtt_connected 0") {
		t.Error("the metric says connected while the broker is down")
	}
	// No persistence: its retained messages are gone. The watcher is in
	// before the api reconnects, so that it sees what the api publishes
	// first: the event it queued.
	w = b.RestartSubscribed(t, "sma/#", "homeassistant/#")

	// The api reconnects, announces and publishes the state again, and the
	// event it queued arrives.
	w.Wait("the api back on the restarted broker", 30*time.Second, func([]*paho.Publish) bool {
		return slices.Contains(w.Payloads("sma/status"), "online") && len(w.Payloads("sma/modem/state")) > 0 &&
			len(w.Payloads("homeassistant/sensor/"+mqttNode+"/signal_dbm/config")) > 0 &&
			len(w.Payloads("sma/events/sms.received")) == 1
	})
	if !strings.Contains(w.Payloads("sma/events/sms.received")[0], "While the broker was down") {
		t.Errorf("event: %s", w.Payloads("sma/events/sms.received")[0])
	}
	m := s.metrics()
	if !strings.Contains(m, `simmodem_api_mqtt_dropped_total{reason="queue_full"} 0`) ||
		!regexp.MustCompile(`simmodem_api_mqtt_connect_failures_total\{reason="network"\} [1-9]`).MatchString(m) {
		t.Errorf("metrics: %s", grepLines(m, "simmodem_api_mqtt_"))
	}
}

func TestMQTTWrongCredentials(t *testing.T) {
	b := mosquittotest.Start(t)
	s := newStack(t, stackOpts{apiEnv: mqttEnv(b, "API_MQTT_PASSWORD=wrong-password")})
	auth := regexp.MustCompile(`simmodem_api_mqtt_connect_failures_total\{reason="auth"\} [1-9]`)
	s.waitFor("the auth failure counted", 20*time.Second, func() bool { return auth.MatchString(s.metrics()) })
	log, _ := os.ReadFile(s.apiProc.log)
	if !strings.Contains(string(log), "the broker refused the api's credentials: check API_MQTT_USERNAME and API_MQTT_PASSWORD") {
		t.Errorf("no clear log line:\n%s", grepLines(string(log), "mqtt"))
	}
	if strings.Contains(string(log), b.Password) || strings.Contains(string(log), "wrong-password") {
		t.Error("the log shows the password")
	}
}
