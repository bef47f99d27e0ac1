package mqttbridge

import (
	"encoding/json"
	"strings"

	"github.com/sim-modem-api/sim-modem-api/modem/poller"
)

// State is a modem's retained state, <prefix>/<modem>/state.
type State struct {
	Connected        bool        `json:"connected"` // the last poll answered
	Reason           string      `json:"reason,omitempty"`
	Signal           StateSignal `json:"signal"`
	Registration     string      `json:"registration"`
	Operator         string      `json:"operator"`
	AccessTechnology string      `json:"accessTechnology"`
	SIM              string      `json:"sim"`
	Queued           int         `json:"queued"` // outbound messages queued or sending
	IMEI             string      `json:"imei,omitempty"`
}

// StateSignal is the signal in the state: nil when unknown.
type StateSignal struct {
	DBm     *int `json:"dbm"`
	Percent *int `json:"percent"` // AT+CSQ 0..31 as 0..100
	CSQ     int  `json:"csq"`
	Bars    int  `json:"bars"`
}

// stateOf is the state of snapshot s with queued messages waiting.
func stateOf(s *poller.Snapshot, queued int) State {
	st := State{
		Connected: s.Reachable, Reason: s.Reason, Registration: s.Status.Registration, Operator: s.Status.Operator,
		AccessTechnology: s.Status.AccessTechnology, SIM: s.Status.SIM, Queued: queued, IMEI: s.Identity.IMEI,
		Signal: StateSignal{DBm: s.Status.Signal.RSSIdBm, CSQ: s.Status.Signal.CSQ, Bars: s.Status.Signal.Bars},
	}
	if csq := s.Status.Signal.CSQ; csq >= 0 && csq <= 31 {
		p := (csq*100 + 15) / 31
		st.Signal.Percent = &p
	}
	return st
}

// Origin is the software in every discovery config (Home Assistant shows
// and logs it).
var origin = map[string]string{"name": "SIM-Modem-API", "support_url": "https://github.com/sim-modem-api/sim-modem-api"}

// entity is one Home Assistant entity of a modem's device.
type entity struct {
	component string // sensor, binary_sensor, event, notify
	object    string // the object id: unique per device
	config    map[string]any
}

// entities are a modem's entities; every state entity reads the modem's
// one retained state topic with a template.
func entities(stateTopic, smsTopic, notifyTopic string, qos byte) []entity {
	sensor := func(object, name, tmpl string, extra map[string]any) entity {
		c := map[string]any{"name": name, "state_topic": stateTopic, "value_template": tmpl}
		for k, v := range extra {
			c[k] = v
		}
		return entity{"sensor", object, c}
	}
	diag := map[string]any{"entity_category": "diagnostic"}
	return []entity{
		sensor("signal_dbm", "Signal", "{{ value_json.signal.dbm }}", map[string]any{
			"device_class": "signal_strength", "unit_of_measurement": "dBm", "state_class": "measurement", "icon": "mdi:signal"}),
		sensor("signal_percent", "Signal quality", "{{ value_json.signal.percent }}", map[string]any{
			"unit_of_measurement": "%", "state_class": "measurement", "icon": "mdi:signal-cellular-3"}),
		sensor("operator", "Operator", "{{ value_json.operator }}", map[string]any{"icon": "mdi:radio-tower"}),
		sensor("registration", "Registration", "{{ value_json.registration }}", map[string]any{"icon": "mdi:sim-outline"}),
		sensor("access_technology", "Access technology", "{{ value_json.accessTechnology }}", map[string]any{"icon": "mdi:signal-4g"}),
		sensor("sim", "SIM", "{{ value_json.sim }}", merge(diag, map[string]any{"icon": "mdi:sim"})),
		sensor("queued", "Messages queued", "{{ value_json.queued }}", map[string]any{
			"state_class": "measurement", "unit_of_measurement": "messages", "icon": "mdi:tray-full"}),
		{"binary_sensor", "connected", merge(diag, map[string]any{"name": "Modem connected", "state_topic": stateTopic,
			"value_template": "{{ 'ON' if value_json.connected else 'OFF' }}", "device_class": "connectivity"})},
		// SMS text can exceed an entity state's 255 characters: an event
		// entity carries it as an attribute of the event.
		{"event", "sms", map[string]any{"name": "SMS received", "state_topic": smsTopic,
			"event_types": []string{EventSMSReceived}, "icon": "mdi:message-text"}},
		{"notify", "sms", map[string]any{"name": "Send SMS", "command_topic": notifyTopic, "qos": qos, "icon": "mdi:message-arrow-right"}},
	}
}

func merge(a, b map[string]any) map[string]any {
	c := map[string]any{}
	for k, v := range a {
		c[k] = v
	}
	for k, v := range b {
		c[k] = v
	}
	return c
}

// EventSMSReceived is the event type of the event entity.
const EventSMSReceived = "sms_received"

// nodeID is a device's node in discovery topics: the IMEI, or a name
// made of characters discovery topics allow.
func nodeID(imei string) string {
	var b strings.Builder
	b.WriteString("simmodem_")
	for _, r := range imei {
		if r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_' || r == '-' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// discovery is the retained configs announcing modem id (IMEI imei) to
// Home Assistant under prefix disc; the device's availability is the
// api's status topic. An empty payload instead removes the entity.
func (b *Bridge) discovery(m *modem, imei string, s *poller.Snapshot, remove bool) []message {
	node := nodeID(imei)
	var out []message
	device := map[string]any{
		"identifiers":   []string{node},
		"name":          "SIM modem " + m.ID,
		"manufacturer":  s.Identity.Manufacturer,
		"model":         s.Identity.Model,
		"sw_version":    s.Identity.Firmware,
		"serial_number": imei,
	}
	for _, e := range entities(b.topic(m.ID, "state"), b.topic(m.ID, "sms"), b.topic(m.ID, "notify"), b.cfg.QoS) {
		topic := b.cfg.DiscoveryPrefix + "/" + e.component + "/" + node + "/" + e.object + "/config"
		if remove {
			out = append(out, message{topic: topic, payload: []byte{}, retain: true, kind: "discovery"})
			continue
		}
		c := merge(e.config, map[string]any{
			"unique_id": node + "_" + e.object, "object_id": "sim_modem_" + m.ID + "_" + e.object,
			"device": device, "origin": origin,
			"availability_topic": b.availability, "payload_available": Online, "payload_not_available": Offline,
		})
		if _, ok := c["state_topic"]; ok && e.component != "event" {
			c["qos"] = b.cfg.QoS
		}
		p, _ := json.Marshal(c) // maps of strings, numbers and string slices
		out = append(out, message{topic: topic, payload: p, retain: true, kind: "discovery"})
	}
	return out
}
