package mqttbridge

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/sim-modem-api/sim-modem-api/modem/modemops"
	"github.com/sim-modem-api/sim-modem-api/modem/poller"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/submit"
	"github.com/sim-modem-api/sim-modem-api/services/api/mosquittotest"
)

// fakeModem is a modem whose snapshot the test sets.
type fakeModem struct {
	mu   sync.Mutex
	snap *poller.Snapshot
	ch   chan struct{}
}

func newFakeModem(imei string, dbm int) *fakeModem {
	return &fakeModem{ch: make(chan struct{}), snap: &poller.Snapshot{Reachable: true,
		Identity: modemops.Identity{Manufacturer: "ZTE CORPORATION", Model: "MF831", Firmware: "BD_MF831V1.0.0B06", IMEI: imei},
		Status: modemops.Status{SIM: "ready", Registration: "home", Operator: "A1", AccessTechnology: "LTE",
			Signal: modemops.Signal{CSQ: 21, RSSIdBm: &dbm, Bars: 3}}}}
}

func (f *fakeModem) set(mod func(s *poller.Snapshot)) {
	f.mu.Lock()
	n := *f.snap
	mod(&n)
	f.snap = &n
	close(f.ch)
	f.ch = make(chan struct{})
	f.mu.Unlock()
}

func (f *fakeModem) Snapshot() *poller.Snapshot { f.mu.Lock(); defer f.mu.Unlock(); return f.snap }
func (f *fakeModem) Changed() <-chan struct{}   { f.mu.Lock(); defer f.mu.Unlock(); return f.ch }

type anyRoute struct{}

func (anyRoute) Route(modem, to string) ([]string, error) { return nil, nil }
func (anyRoute) DefaultCountry(string) string             { return "43" }

// counts records the hooks.
type counts struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counts) inc(k string) { c.mu.Lock(); c.n[k]++; c.mu.Unlock() }
func (c *counts) get(k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[k]
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

type rig struct {
	st     *store.Store
	modem  *fakeModem
	counts *counts
	logs   *syncBuf
	stop   func()
}

func startBridge(t *testing.T, b *mosquittotest.Broker, mod func(*Config)) *rig {
	t.Helper()
	st, err := store.OpenDir(context.Background(), t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r := &rig{st: st, modem: newFakeModem("867035012345678", -71), counts: &counts{n: map[string]int{}}, logs: &syncBuf{}}
	ops := modemops.New(modemops.Config{})
	sub := submit.New(submit.Config{Store: st, Prepare: ops.Prepare, Router: anyRoute{}})
	after, err := st.LastEventSeq(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Addr: b.Addr, ClientID: "sim-modem-api", Username: b.User, Password: b.Password,
		TopicPrefix: "sma", DiscoveryPrefix: "homeassistant", Discovery: true, QoS: 1, Queue: 100,
		KeepAlive: 30 * time.Second, ReconnectMin: 20 * time.Millisecond, ReconnectMax: 200 * time.Millisecond,
		NotifyTo: "+436601111111",
		Modems:   []Modem{{ID: "modem", Snapshot: r.modem.Snapshot, Changed: r.modem.Changed}},
		Events:   st, After: after, Submit: sub.Submit,
		Queued: func(ctx context.Context, _ string) (int, error) {
			s, err := st.Stats(ctx)
			if err != nil {
				return 0, err
			}
			return s.OutboxDepth, nil
		},
		Logger: slog.New(slog.NewTextHandler(r.logs, nil)),
		Hooks: Hooks{
			Published:     func(k string) { r.counts.inc("published_" + k) },
			Dropped:       func(k string) { r.counts.inc("dropped_" + k) },
			ConnectFailed: func(k string) { r.counts.inc("failed_" + k) },
			Command:       func(k string) { r.counts.inc("command_" + k) },
			Connected: func(up bool) {
				if up {
					r.counts.inc("connected")
				}
			},
		},
	}
	if mod != nil {
		mod(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	br := New(cfg)
	go func() { br.Run(ctx); close(done) }()
	r.stop = func() { cancel(); <-done }
	t.Cleanup(r.stop)
	return r
}

const node = "simmodem_867035012345678"

// within is how long a test client waits for what it expects.
const within = 10 * time.Second

// on lists the payloads of msgs on topic, in order.
var on = mosquittotest.Payloads

func TestDiscoveryStateAndAvailability(t *testing.T) {
	b := mosquittotest.Start(t)
	r := startBridge(t, b, nil)
	watcher := b.Client(t, "sma/#", "homeassistant/#")
	watcher.Wait("the discovery configs and the state", within, func(m []*paho.Publish) bool {
		return len(on(m, "homeassistant/notify/"+node+"/sms/config")) > 0 && len(on(m, "sma/modem/state")) > 0
	})
	// A client that connects later gets them all retained.
	late := b.Client(t, "sma/#", "homeassistant/#")
	msgs := late.Wait("the retained configs", within, func(m []*paho.Publish) bool {
		return len(on(m, "sma/status")) > 0 && len(on(m, "sma/modem/state")) > 0 &&
			len(on(m, "homeassistant/sensor/"+node+"/signal_dbm/config")) > 0 && len(on(m, "homeassistant/event/"+node+"/sms/config")) > 0 &&
			len(on(m, "homeassistant/binary_sensor/"+node+"/connected/config")) > 0
	})
	for _, m := range msgs {
		if !m.Retain {
			t.Errorf("%s came to a new subscriber without retain", m.Topic)
		}
	}
	if got := on(msgs, "sma/status"); got[0] != Online {
		t.Errorf("availability: %q", got)
	}
	var cfg map[string]any
	if err := json.Unmarshal([]byte(on(msgs, "homeassistant/sensor/"+node+"/signal_dbm/config")[0]), &cfg); err != nil {
		t.Fatal(err)
	}
	dev := cfg["device"].(map[string]any)
	if cfg["state_topic"] != "sma/modem/state" || cfg["unique_id"] != node+"_signal_dbm" || cfg["unit_of_measurement"] != "dBm" ||
		cfg["availability_topic"] != "sma/status" || dev["manufacturer"] != "ZTE CORPORATION" || dev["model"] != "MF831" ||
		dev["sw_version"] != "BD_MF831V1.0.0B06" || dev["identifiers"].([]any)[0] != node {
		t.Errorf("signal config: %v", cfg)
	}
	var ev map[string]any
	_ = json.Unmarshal([]byte(on(msgs, "homeassistant/event/"+node+"/sms/config")[0]), &ev)
	if ev["state_topic"] != "sma/modem/sms" || ev["event_types"].([]any)[0] != EventSMSReceived {
		t.Errorf("event entity config: %v", ev)
	}
	var st State
	if err := json.Unmarshal([]byte(on(msgs, "sma/modem/state")[0]), &st); err != nil {
		t.Fatal(err)
	}
	if !st.Connected || *st.Signal.DBm != -71 || *st.Signal.Percent != 68 || st.Operator != "A1" || st.Registration != "home" ||
		st.AccessTechnology != "LTE" || st.SIM != "ready" || st.Queued != 0 {
		t.Errorf("state: %+v", st)
	}

	// A change of the snapshot is a new retained state.
	r.modem.set(func(s *poller.Snapshot) { s.Reachable, s.Reason = false, "relay session lost" })
	watcher.Wait("the state after the change", within, func(m []*paho.Publish) bool {
		s := on(m, "sma/modem/state")
		return strings.Contains(s[len(s)-1], `"connected":false`)
	})

	// Home Assistant restarts: its status topic says online, the configs
	// come again.
	before := len(watcher.Payloads("homeassistant/sensor/" + node + "/operator/config"))
	ha := b.Client(t)
	ha.Publish("homeassistant/status", "online", false)
	watcher.Wait("the configs announced again", within, func(m []*paho.Publish) bool {
		return len(on(m, "homeassistant/sensor/"+node+"/operator/config")) > before
	})

	// Another stick: the old device's entities are removed (empty
	// retained configs), the new one announced.
	r.modem.set(func(s *poller.Snapshot) { s.Identity.IMEI = "867035099999999" })
	watcher.Wait("the old entities removed and the new announced", within, func(m []*paho.Publish) bool {
		old := on(m, "homeassistant/sensor/"+node+"/operator/config")
		return old[len(old)-1] == "" && len(on(m, "homeassistant/sensor/simmodem_867035099999999/operator/config")) > 0
	})

	// At shutdown the availability goes offline.
	r.stop()
	watcher.Wait("offline", within, func(m []*paho.Publish) bool {
		s := on(m, "sma/status")
		return s[len(s)-1] == Offline
	})
}

func TestEventsAndReceivedSMS(t *testing.T) {
	b := mosquittotest.Start(t)
	r := startBridge(t, b, nil)
	watcher := b.Client(t, "sma/#")
	watcher.Wait("the state", within, func(m []*paho.Publish) bool { return len(on(m, "sma/modem/state")) > 0 })
	long := strings.Repeat("Grüße aus Wien! ", 30) // over 255 characters
	e, err := r.st.AppendEvent(context.Background(), store.EventSMSReceived, map[string]any{"message": store.EventMessage{
		ID: "msg_in1", Direction: store.In, Peer: "+436601234567", State: store.StateReceived, Text: long, PartCount: 4}})
	if err != nil {
		t.Fatal(err)
	}
	msgs := watcher.Wait("the event and the event entity's payload", within, func(m []*paho.Publish) bool {
		return len(on(m, "sma/events/sms.received")) > 0 && len(on(m, "sma/modem/sms")) > 0
	})
	if got := on(msgs, "sma/events/sms.received")[0]; got != string(e.Body()) {
		t.Errorf("event: %s, want %s", got, e.Body())
	}
	var ent map[string]any
	_ = json.Unmarshal([]byte(on(msgs, "sma/modem/sms")[0]), &ent)
	if ent["event_type"] != EventSMSReceived || ent["from"] != "+436601234567" || ent["text"] != long {
		t.Errorf("event entity payload: %v", ent)
	}
}

func TestSendCommandOnceWithResult(t *testing.T) {
	b := mosquittotest.Start(t)
	r := startBridge(t, b, nil)
	watcher := b.Client(t, "sma/send/result", "sma/events/#", "sma/modem/state")
	// The state comes after the bridge subscribed.
	watcher.Wait("the state", within, func(m []*paho.Publish) bool { return len(on(m, "sma/modem/state")) > 0 })
	pub := b.Client(t)
	cmd := `{"id":"ha-1","to":"+436601234567","text":"Alarm: the door opened"}`
	pub.Publish("sma/send", cmd, false)
	pub.Publish("sma/send", cmd, false) // a redelivery of the same command
	pub.Publish("sma/send", `{"to":"+436601234567"`, false)
	pub.Publish("sma/send", `{"id":"ha-2","to":"12","text":"x"}`, false)
	pub.Publish("sma/send", `{"id":"ha-1","to":"+436601234567","text":"another text"}`, false)
	pub.Publish("sma/modem/notify", "Water in the cellar", false)
	pub.Publish("sma/modem/notify", "+436609999999: Smoke", false)
	msgs := watcher.Wait("seven results", within, func(m []*paho.Publish) bool { return len(on(m, "sma/send/result")) >= 7 })
	var res []Result
	for _, p := range on(msgs, "sma/send/result") {
		var x Result
		if err := json.Unmarshal([]byte(p), &x); err != nil {
			t.Fatal(err)
		}
		res = append(res, x)
	}
	if res[0].Status != "accepted" || res[0].ID != "ha-1" || res[0].Message == nil || res[0].Message.To != "+436601234567" {
		t.Errorf("first: %+v", res[0])
	}
	if res[1].Status != "duplicate" || res[1].Message.ID != res[0].Message.ID {
		t.Errorf("redelivery: %+v", res[1])
	}
	if res[2].Status != "error" || res[2].Error.Code != "invalid" || !strings.Contains(res[2].Error.Message, "JSON") {
		t.Errorf("malformed: %+v", res[2].Error)
	}
	if res[3].Status != "error" || res[3].ID != "ha-2" || len(res[3].Error.Fields) == 0 || res[3].Error.Fields[0].Field != "to" {
		t.Errorf("bad number: %+v", res[3].Error)
	}
	if res[4].Status != "error" || res[4].Error.Code != "conflict" {
		t.Errorf("reused id: %+v", res[4].Error)
	}
	if res[5].Status != "accepted" || res[5].Message.To != "+436601111111" || res[5].Source != "sma/modem/notify" {
		t.Errorf("notify to the default: %+v", res[5])
	}
	if res[6].Status != "accepted" || res[6].Message.To != "+436609999999" {
		t.Errorf("notify to a named number: %+v", res[6])
	}
	msgs = watcher.Wait("three message.queued events", within, func(m []*paho.Publish) bool { return len(on(m, "sma/events/message.queued")) >= 3 })
	if n := len(on(msgs, "sma/events/message.queued")); n != 3 {
		t.Errorf("%d message.queued events, want 3 (one per accepted message)", n)
	}
	list, err := r.st.List(context.Background(), store.Filter{Direction: store.Out})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Messages) != 3 {
		t.Errorf("%d messages in the outbox, want 3", len(list.Messages))
	}
	if r.counts.get("command_accepted") != 3 || r.counts.get("command_duplicate") != 1 || r.counts.get("command_invalid") != 2 {
		t.Errorf("command counts: %v", r.counts.n)
	}
}

func TestWrongCredentials(t *testing.T) {
	b := mosquittotest.Start(t)
	r := startBridge(t, b, func(c *Config) { c.Password = "wrong" })
	deadline := time.Now().Add(10 * time.Second)
	for r.counts.get("failed_auth") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("no auth failures counted: %v\n%s", r.counts.n, r.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(r.logs.String(), "refused the api's credentials: check API_MQTT_USERNAME and API_MQTT_PASSWORD") ||
		!strings.Contains(r.logs.String(), "CONNACK reason 0x8") {
		t.Errorf("log:\n%s", r.logs.String())
	}
	if r.counts.get("connected") != 0 {
		t.Error("connected with a wrong password")
	}
}

func TestBrokerRestart(t *testing.T) {
	b := mosquittotest.Start(t)
	r := startBridge(t, b, nil)
	watcher := b.Client(t, "sma/#")
	watcher.Wait("the state", within, func(m []*paho.Publish) bool { return len(on(m, "sma/modem/state")) > 0 })
	b.Stop()
	// Events while the broker is away wait in the queue.
	var want []string
	for i := range 5 {
		e, err := r.st.AppendEvent(context.Background(), store.EventModemRegistration, map[string]any{"i": i})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, string(e.Body()))
	}
	time.Sleep(300 * time.Millisecond)
	watcher = b.RestartSubscribed(t, "sma/#") // in before the bridge, which publishes the queue first
	msgs := watcher.Wait("the retained state again and the queued events", within, func(m []*paho.Publish) bool {
		return len(on(m, "sma/modem/state")) > 0 && len(on(m, "sma/events/modem.registration")) >= 5 && slices.Contains(on(m, "sma/status"), Online)
	})
	if got := on(msgs, "sma/events/modem.registration"); !slices.Equal(got[len(got)-5:], want) {
		t.Errorf("events after the restart:\n%q\nwant\n%q", got, want)
	}
	if r.counts.get("connected") < 2 || r.counts.get("dropped_queue_full") != 0 {
		t.Errorf("counts: %v", r.counts.n)
	}
}

func TestQueueFullDropsTheOldest(t *testing.T) {
	q := newQueue(3)
	for i := range 5 {
		d := q.push(message{topic: string(rune('a' + i))})
		if (d != nil) != (i >= 3) {
			t.Fatalf("push %d dropped %v", i, d)
		}
	}
	var got string
	for {
		m, ok := q.peek()
		if !ok {
			break
		}
		got += m.topic
		q.pop(m)
	}
	if got != "cde" {
		t.Errorf("left %q, want cde", got)
	}
}
