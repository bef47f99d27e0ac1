//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/sim-modem-api/sim-modem-api/simulator/control"
)

// The api's MQTT bridge against a real Mosquitto (Debian's mosquitto
// package) with a password file, the simulator, the relay and the api as
// processes: an SMS received by the modem arrives on the broker, an SMS
// published to the command topic reaches the modem exactly once, the
// broker's restart, Home Assistant's online status, wrong credentials.

const (
	mqttUser = "sim-modem-api"
	mqttPW   = "e2e-mqtt-password"
	mqttIMEI = "861234567890131"
	mqttNode = "simmodem_" + mqttIMEI
)

// mosquitto is a broker process on a loopback port.
type mosquitto struct {
	t    *testing.T
	bin  string
	dir  string
	addr string
	cmd  *exec.Cmd
	done chan struct{}
}

func startMosquitto(t *testing.T) *mosquitto {
	t.Helper()
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		if bin, err = exec.LookPath("/usr/sbin/mosquitto"); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatal("mosquitto not found: apt-get install mosquitto (CI runs the MQTT tests)")
			}
			t.Skip("mosquitto not found (apt-get install mosquitto): skipping the MQTT end-to-end tests")
		}
	}
	b := &mosquitto{t: t, bin: bin, dir: t.TempDir(), addr: freeAddr(t)}
	if out, err := exec.Command("mosquitto_passwd", "-b", "-c", filepath.Join(b.dir, "passwd"), mqttUser, mqttPW).CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd: %v %s", err, out)
	}
	_, port, _ := net.SplitHostPort(b.addr)
	conf := fmt.Sprintf("listener %s 127.0.0.1\nallow_anonymous false\npassword_file %s\npersistence false\nlog_dest stderr\n",
		port, filepath.Join(b.dir, "passwd"))
	if os.Geteuid() == 0 {
		conf += "user root\n" // else it drops to the mosquitto user, who cannot read the test's files
	}
	if err := os.WriteFile(filepath.Join(b.dir, "mosquitto.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	b.start()
	t.Cleanup(b.stop)
	return b
}

func (b *mosquitto) start() {
	b.t.Helper()
	log, err := os.OpenFile(filepath.Join(b.dir, "mosquitto.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		b.t.Fatal(err)
	}
	b.cmd = exec.Command(b.bin, "-c", filepath.Join(b.dir, "mosquitto.conf"))
	b.cmd.Stdout, b.cmd.Stderr = log, log
	if err := b.cmd.Start(); err != nil {
		b.t.Fatal(err)
	}
	b.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); log.Close(); close(done) }(b.cmd, b.done)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("tcp", b.addr); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("mosquitto did not listen on %s", b.addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (b *mosquitto) stop() {
	if b.cmd == nil {
		return
	}
	_ = b.cmd.Process.Kill()
	<-b.done
	b.cmd = nil
}

// mqttClient records what it receives on its subscriptions.
type mqttClient struct {
	t    *testing.T
	cli  *paho.Client
	mu   sync.Mutex
	msgs []*paho.Publish
	ch   chan struct{}
}

func (b *mosquitto) client(t *testing.T, topics ...string) *mqttClient {
	t.Helper()
	conn, err := net.Dial("tcp", b.addr)
	if err != nil {
		t.Fatal(err)
	}
	c := &mqttClient{t: t, ch: make(chan struct{}, 1)}
	c.cli = paho.NewClient(paho.ClientConfig{Conn: conn, OnPublishReceived: []func(paho.PublishReceived) (bool, error){
		func(pr paho.PublishReceived) (bool, error) {
			c.mu.Lock()
			c.msgs = append(c.msgs, pr.Packet)
			c.mu.Unlock()
			select {
			case c.ch <- struct{}{}:
			default:
			}
			return true, nil
		}}})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.cli.Connect(ctx, &paho.Connect{ClientID: fmt.Sprintf("e2e-%d", time.Now().UnixNano()), CleanStart: true, KeepAlive: 30,
		Username: mqttUser, UsernameFlag: true, Password: []byte(mqttPW), PasswordFlag: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.cli.Disconnect(&paho.Disconnect{}); <-c.cli.Done() })
	if len(topics) > 0 {
		var subs []paho.SubscribeOptions
		for _, tp := range topics {
			subs = append(subs, paho.SubscribeOptions{Topic: tp, QoS: 1})
		}
		if _, err := c.cli.Subscribe(ctx, &paho.Subscribe{Subscriptions: subs}); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func (c *mqttClient) publish(topic, payload string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.cli.Publish(ctx, &paho.Publish{Topic: topic, Payload: []byte(payload), QoS: 1}); err != nil {
		c.t.Fatal(err)
	}
}

// payloads lists what arrived on topic, in order.
func (c *mqttClient) payloads(topic string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, m := range c.msgs {
		if m.Topic == topic {
			out = append(out, string(m.Payload))
		}
	}
	return out
}

// wait waits up to limit until cond holds.
func (c *mqttClient) wait(what string, limit time.Duration, cond func() bool) {
	c.t.Helper()
	deadline := time.After(limit)
	for !cond() {
		select {
		case <-c.ch:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			c.mu.Lock()
			var got []string
			for _, m := range c.msgs {
				got = append(got, m.Topic+" "+string(m.Payload))
			}
			c.mu.Unlock()
			if len(got) > 30 {
				got = got[len(got)-30:]
			}
			c.t.Fatalf("%s: not within %v; the last messages:\n%s", what, limit, strings.Join(got, "\n"))
		}
	}
}

func mqttEnv(b *mosquitto, extra ...string) []string {
	return append([]string{"API_MQTT_URL=mqtt://" + b.addr, "API_MQTT_USERNAME=" + mqttUser, "API_MQTT_PASSWORD=" + mqttPW,
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
	b := startMosquitto(t)
	s := newStack(t, stackOpts{apiEnv: mqttEnv(b), simArgs: []string{"--imei", mqttIMEI}})
	w := b.client(t, "sma/#", "homeassistant/#")

	// Discovery: one device with its entities, retained; the state.
	w.wait("the discovery configs and the state", 20*time.Second, func() bool {
		return len(w.payloads("homeassistant/notify/"+mqttNode+"/sms/config")) > 0 && len(w.payloads("sma/modem/state")) > 0
	})
	late := b.client(t, "homeassistant/#", "sma/modem/state", "sma/status")
	entities := []string{"sensor/%s/signal_dbm", "sensor/%s/signal_percent", "sensor/%s/operator", "sensor/%s/registration",
		"sensor/%s/access_technology", "sensor/%s/sim", "sensor/%s/queued", "binary_sensor/%s/connected", "event/%s/sms", "notify/%s/sms"}
	late.wait("every config retained", 10*time.Second, func() bool {
		for _, e := range entities {
			if len(late.payloads("homeassistant/"+fmt.Sprintf(e, mqttNode)+"/config")) == 0 {
				return false
			}
		}
		return len(late.payloads("sma/modem/state")) > 0 && slices.Equal(late.payloads("sma/status"), []string{"online"})
	})
	var cfg struct {
		Device struct {
			Identifiers  []string `json:"identifiers"`
			Manufacturer string   `json:"manufacturer"`
			Model        string   `json:"model"`
			Firmware     string   `json:"sw_version"`
		} `json:"device"`
	}
	if err := json.Unmarshal([]byte(late.payloads("homeassistant/sensor/" + mqttNode + "/signal_dbm/config")[0]), &cfg); err != nil {
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
	states := late.payloads("sma/modem/state")
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
	w.wait("the received SMS on the broker", 30*time.Second, func() bool {
		return len(w.payloads("sma/events/sms.received")) > 0 && len(w.payloads("sma/modem/sms")) > 0
	})
	var ev struct {
		EventType string `json:"event_type"`
		From      string `json:"from"`
		Text      string `json:"text"`
	}
	_ = json.Unmarshal([]byte(w.payloads("sma/modem/sms")[0]), &ev)
	if ev.EventType != "sms_received" || ev.From != "+436609876543" || ev.Text != text {
		t.Errorf("event entity payload: %+v", ev)
	}

	// Sent by publishing: the command published twice (a QoS 1
	// redelivery), then a malformed one, then the notify entity's.
	pub := b.client(t)
	cmd := `{"id":"e2e-alarm-1","to":"+436601234567","text":"Alarm: motion in the hall"}`
	pub.publish("sma/send", cmd)
	pub.publish("sma/send", cmd)
	pub.publish("sma/send", `{"to":"+436601234567","text":`)
	pub.publish("sma/modem/notify", "Door bell")
	w.wait("four results", 20*time.Second, func() bool { return len(w.payloads("sma/send/result")) >= 4 })
	res := w.payloads("sma/send/result")
	for i, want := range []string{`"status":"accepted"`, `"status":"duplicate"`, `"status":"error"`, `"status":"accepted"`} {
		if !strings.Contains(res[i], want) {
			t.Errorf("result %d: %s, want %s", i, res[i], want)
		}
	}
	s.waitFor("the alarm and the door bell sent", 30*time.Second, func() bool {
		return s.sentText("Alarm: motion in the hall") >= 1 && s.sentText("Door bell") >= 1
	})
	w.wait("message.sent events", 20*time.Second, func() bool { return len(w.payloads("sma/events/message.sent")) >= 2 })
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
	pub.publish("sma/send", `{"id":"e2e-away-1","to":"+436601234567","text":"Sent while the api was away"}`)
	s.apiProc = start(t, s.dir, "api", s.apiEnv)
	s.waitFor("the command from the api's absence sent", 40*time.Second, func() bool { return s.sentText("Sent while the api was away") == 1 })

	// Home Assistant restarts: its status says online, the configs come
	// again.
	n := len(w.payloads("homeassistant/sensor/" + mqttNode + "/operator/config"))
	pub.publish("homeassistant/status", "online")
	w.wait("the configs announced again", 10*time.Second, func() bool {
		return len(w.payloads("homeassistant/sensor/"+mqttNode+"/operator/config")) > n
	})
	if m := s.metrics(); !strings.Contains(m, `simmodem_api_mqtt_commands_total{result="accepted"} `) ||
		!strings.Contains(m, "simmodem_api_mqtt_connected 1") {
		t.Errorf("metrics: %s", grepLines(m, "simmodem_api_mqtt_"))
	}
}

func TestMQTTBrokerRestart(t *testing.T) {
	b := startMosquitto(t)
	s := newStack(t, stackOpts{apiEnv: mqttEnv(b), simArgs: []string{"--imei", mqttIMEI}})
	w := b.client(t, "sma/#")
	w.wait("the state", 20*time.Second, func() bool { return len(w.payloads("sma/modem/state")) > 0 })

	// The broker goes away; the modem receives an SMS meanwhile.
	b.stop()
	s.deliver(control.IncomingSMS{From: "+436609876543", Text: "While the broker was down"})
	s.waitFor("the SMS in the inbox", 30*time.Second, func() bool { return len(s.inbox()) == 1 })
	if !strings.Contains(s.metrics(), "simmodem_api_mqtt_connected 0") {
		t.Error("the metric says connected while the broker is down")
	}
	b.start() // no persistence: its retained messages are gone

	// The api reconnects, announces and publishes the state again, and the
	// event it queued arrives.
	w = b.client(t, "sma/#", "homeassistant/#")
	w.wait("the api back on the restarted broker", 30*time.Second, func() bool {
		return slices.Contains(w.payloads("sma/status"), "online") && len(w.payloads("sma/modem/state")) > 0 &&
			len(w.payloads("homeassistant/sensor/"+mqttNode+"/signal_dbm/config")) > 0 &&
			len(w.payloads("sma/events/sms.received")) == 1
	})
	if !strings.Contains(w.payloads("sma/events/sms.received")[0], "While the broker was down") {
		t.Errorf("event: %s", w.payloads("sma/events/sms.received")[0])
	}
	m := s.metrics()
	if !strings.Contains(m, `simmodem_api_mqtt_dropped_total{reason="queue_full"} 0`) ||
		!regexp.MustCompile(`simmodem_api_mqtt_connect_failures_total\{reason="network"\} [1-9]`).MatchString(m) {
		t.Errorf("metrics: %s", grepLines(m, "simmodem_api_mqtt_"))
	}
}

func TestMQTTWrongCredentials(t *testing.T) {
	b := startMosquitto(t)
	s := newStack(t, stackOpts{apiEnv: mqttEnv(b, "API_MQTT_PASSWORD=wrong-password")})
	auth := regexp.MustCompile(`simmodem_api_mqtt_connect_failures_total\{reason="auth"\} [1-9]`)
	s.waitFor("the auth failure counted", 20*time.Second, func() bool { return auth.MatchString(s.metrics()) })
	log, _ := os.ReadFile(s.apiProc.log)
	if !strings.Contains(string(log), "the broker refused the api's credentials: check API_MQTT_USERNAME and API_MQTT_PASSWORD") {
		t.Errorf("no clear log line:\n%s", grepLines(string(log), "mqtt"))
	}
	if strings.Contains(string(log), mqttPW) || strings.Contains(string(log), "wrong-password") {
		t.Error("the log shows the password")
	}
}
