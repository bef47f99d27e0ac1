// Package mqttbridge connects the api to an MQTT broker (MQTT 5, with
// github.com/eclipse/paho.golang's client): it publishes every event of
// the event log and each modem's state, takes SMS to send from a command
// topic into the outbox, and announces every modem to Home Assistant by
// MQTT discovery (discovery.go).
//
// Topics, under the prefix P (API_MQTT_TOPIC_PREFIX):
//
//	P/status                 online / offline (retained; offline is the last will)
//	P/events/<type>          every event of the log, as webhooks and SSE send it
//	P/<modem>/state          the modem's state (retained JSON)
//	P/<modem>/sms            each received SMS for Home Assistant's event entity
//	P/<modem>/notify         Home Assistant's notify entity: the text to send
//	P/send                   {"to","text","id","modem"}: a message for the outbox
//	P/send/result            the outcome of every command (accepted, duplicate, error)
//
// The bridge never blocks the modem work: events are read from the store
// after they are committed, into a bounded queue whose oldest message is
// dropped (and counted) when it is full while the broker is away. States
// and discovery configs are not queued: they are published anew from the
// current snapshot after every (re)connect and whenever they change.
package mqttbridge

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
	"github.com/eclipse/paho.golang/paho/session/state"
	"github.com/sim-modem-api/sim-modem-api/modem/poller"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/submit"
)

// The payloads of the availability topic P/status.
const (
	Online  = "online"
	Offline = "offline"
)

// SessionExpiry is how long the broker keeps the api's session (its
// subscriptions and the QoS 1 commands published to them) while the api
// is away.
const SessionExpiry = 24 * time.Hour

// publishTimeout bounds one publish (its PUBACK at QoS 1).
const publishTimeout = 10 * time.Second

// Modem is one modem the bridge reports: its configured id (a topic
// level), its status snapshot and the channel closed at its next change.
type Modem struct {
	ID       string
	Snapshot func() *poller.Snapshot
	Changed  func() <-chan struct{}
}

// EventLog is the store's event log.
type EventLog interface {
	Events(ctx context.Context, after int64, patterns []string, limit int) ([]store.Event, error)
	EventsChanged() <-chan struct{}
}

// Hooks report to the metrics; nil ones are skipped.
type Hooks struct {
	Published     func(kind string)   // event, sms, state, discovery, result, status
	Dropped       func(reason string) // queue_full, refused (the broker's PUBACK), shutdown
	Connected     func(up bool)
	ConnectFailed func(reason string) // auth, refused, network
	Command       func(result string) // accepted, duplicate, invalid, conflict, internal
	Queue         func(n int)
}

// Config configures the bridge.
type Config struct {
	Addr                         string      // host:port of the broker
	TLS                          *tls.Config // nil: plain TCP
	ClientID, Username, Password string
	TopicPrefix, DiscoveryPrefix string
	Discovery                    bool
	QoS                          byte
	Queue                        int
	KeepAlive                    time.Duration
	ReconnectMin, ReconnectMax   time.Duration
	NotifyTo                     string // the notify entity's default recipient
	Modems                       []Modem
	Events                       EventLog
	// After is the event log's seq the bridge starts after: main passes
	// the newest at start, so events from the start on are published.
	After int64
	// Queued counts the outbound messages queued or sending (for the
	// modem's id); nil: 0.
	Queued func(ctx context.Context, modem string) (int, error)
	// Submit is the outbox's accept path (submit.Submitter.Submit).
	Submit func(ctx context.Context, r submit.Request) (*store.Message, bool, error)
	Logger *slog.Logger
	Hooks  Hooks
}

// Bridge is the MQTT client; Run runs it.
type Bridge struct {
	cfg          Config
	log          *slog.Logger
	q            *queue
	availability string
	kick         chan struct{}
	modems       []*modem

	mu       sync.Mutex
	announce bool // publish every discovery config again
	dirty    bool // re-read the states
}

// modem is a Modem and what was last published of it (owned by the
// connection loop).
type modem struct {
	Modem
	announced string // the IMEI whose discovery configs are retained, "" none
	state     []byte // the last state published on this connection
}

// New returns a bridge for cfg.
func New(cfg Config) *Bridge {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Queue <= 0 {
		cfg.Queue = 1000
	}
	if cfg.ReconnectMin <= 0 {
		cfg.ReconnectMin = time.Second
	}
	cfg.ReconnectMax = max(cfg.ReconnectMax, cfg.ReconnectMin)
	if cfg.KeepAlive <= 0 {
		cfg.KeepAlive = 30 * time.Second
	}
	h := &cfg.Hooks
	if h.Published == nil {
		h.Published = func(string) {}
	}
	if h.Dropped == nil {
		h.Dropped = func(string) {}
	}
	if h.Connected == nil {
		h.Connected = func(bool) {}
	}
	if h.ConnectFailed == nil {
		h.ConnectFailed = func(string) {}
	}
	if h.Command == nil {
		h.Command = func(string) {}
	}
	if h.Queue == nil {
		h.Queue = func(int) {}
	}
	b := &Bridge{cfg: cfg, log: cfg.Logger.With("component", "mqtt"), q: newQueue(cfg.Queue),
		availability: cfg.TopicPrefix + "/status", kick: make(chan struct{}, 1)}
	for _, m := range cfg.Modems {
		b.modems = append(b.modems, &modem{Modem: m})
	}
	return b
}

func (b *Bridge) topic(modem, leaf string) string {
	return b.cfg.TopicPrefix + "/" + modem + "/" + leaf
}

func (b *Bridge) wake() {
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

func (b *Bridge) markDirty(announce bool) {
	b.mu.Lock()
	b.dirty = true
	b.announce = b.announce || announce
	b.mu.Unlock()
	b.wake()
}

// enqueue queues m for the broker, dropping the oldest if full.
func (b *Bridge) enqueue(m message) {
	if d := b.q.push(m); d != nil {
		b.cfg.Hooks.Dropped("queue_full")
		b.log.Warn("mqtt: queue full, dropped the oldest message", "topic", d.topic, "queue", b.cfg.Queue)
	}
	b.cfg.Hooks.Queue(b.q.len())
	b.wake()
}

// Run connects, reconnects with backoff, and publishes until ctx ends;
// then it publishes offline and disconnects.
func (b *Bridge) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(1 + len(b.modems))
	go func() { defer wg.Done(); b.follow(ctx) }()
	for _, m := range b.modems {
		go func() { defer wg.Done(); b.watch(ctx, m) }()
	}
	defer wg.Wait()
	sess := state.NewInMemory() // one session across connections: the broker's is resumed
	defer sess.Close()
	wait := b.cfg.ReconnectMin
	for ctx.Err() == nil {
		cli, lost, err := b.connect(ctx, sess)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			var ce *connectError
			reason := "network"
			if errors.As(err, &ce) {
				reason = ce.reason
			}
			b.cfg.Hooks.ConnectFailed(reason)
			d := wait/2 + rand.N(wait/2+1) // jitter
			if reason == "auth" {
				b.log.Error("mqtt: the broker refused the api's credentials: check API_MQTT_USERNAME and API_MQTT_PASSWORD",
					"broker", b.cfg.Addr, "err", err, "retry_in", d.Round(time.Millisecond))
			} else {
				b.log.Warn("mqtt: cannot connect to the broker", "broker", b.cfg.Addr, "err", err, "retry_in", d.Round(time.Millisecond))
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(d):
			}
			wait = min(2*wait, b.cfg.ReconnectMax)
			continue
		}
		wait = b.cfg.ReconnectMin
		b.log.Info("mqtt: connected to the broker", "broker", b.cfg.Addr, "client_id", b.cfg.ClientID)
		b.cfg.Hooks.Connected(true)
		err = b.serve(ctx, cli, lost)
		b.cfg.Hooks.Connected(false)
		if ctx.Err() != nil {
			b.shutdown(cli)
			return
		}
		b.log.Warn("mqtt: connection to the broker lost; reconnecting", "broker", b.cfg.Addr, "err", err)
		_ = cli.Disconnect(&paho.Disconnect{ReasonCode: 0x04}) // a no-op if it is gone; else the will says offline
		<-cli.Done()
	}
}

// shutdown publishes offline, disconnects, and counts what is left.
func (b *Bridge) shutdown(cli *paho.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := b.publish(ctx, cli, message{topic: b.availability, payload: []byte(Offline), retain: true, kind: "status"}); err != nil {
		b.log.Warn("mqtt: publishing offline at shutdown", "err", err)
	}
	_ = cli.Disconnect(&paho.Disconnect{ReasonCode: 0})
	<-cli.Done()
	if n := b.q.len(); n > 0 {
		for range n {
			b.cfg.Hooks.Dropped("shutdown")
		}
		b.log.Warn("mqtt: messages not published before the shutdown", "count", n)
	}
}

// connectError is a failed connection attempt and its metric reason.
type connectError struct {
	reason string
	err    error
}

func (e *connectError) Error() string { return e.err.Error() }
func (e *connectError) Unwrap() error { return e.err }

// connect dials the broker and sends CONNECT with the last will.
func (b *Bridge) connect(ctx context.Context, sess *state.State) (*paho.Client, <-chan error, error) {
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var conn net.Conn
	var err error
	if b.cfg.TLS != nil {
		d := tls.Dialer{Config: b.cfg.TLS}
		conn, err = d.DialContext(dctx, "tcp", b.cfg.Addr)
	} else {
		var d net.Dialer
		conn, err = d.DialContext(dctx, "tcp", b.cfg.Addr)
	}
	if err != nil {
		return nil, nil, &connectError{"network", err}
	}
	lost := make(chan error, 1)
	report := func(err error) {
		select {
		case lost <- err:
		default:
		}
	}
	cli := paho.NewClient(paho.ClientConfig{
		ClientID: b.cfg.ClientID, Conn: packets.NewThreadSafeConn(conn), Session: sess,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){b.received},
		OnClientError:     report,
		OnServerDisconnect: func(d *paho.Disconnect) {
			report(fmt.Errorf("the broker disconnected the api (reason 0x%02x)", d.ReasonCode))
		},
		PacketTimeout: publishTimeout,
	})
	expiry := uint32(SessionExpiry / time.Second)
	cp := &paho.Connect{
		ClientID: b.cfg.ClientID, KeepAlive: uint16(b.cfg.KeepAlive / time.Second), CleanStart: false,
		Properties:  &paho.ConnectProperties{SessionExpiryInterval: &expiry},
		WillMessage: &paho.WillMessage{Topic: b.availability, Payload: []byte(Offline), Retain: true, QoS: b.cfg.QoS},
	}
	if b.cfg.Username != "" {
		cp.Username, cp.UsernameFlag = b.cfg.Username, true
	}
	if b.cfg.Password != "" {
		cp.Password, cp.PasswordFlag = []byte(b.cfg.Password), true
	}
	ca, err := cli.Connect(dctx, cp)
	if err != nil {
		if ca != nil && ca.ReasonCode >= 0x80 {
			reason := "refused"
			switch ca.ReasonCode {
			case 0x86, 0x87, 0x8C: // bad user name or password, not authorized, bad authentication method
				reason = "auth"
			}
			return nil, nil, &connectError{reason, fmt.Errorf("CONNACK reason 0x%02x (%s)", ca.ReasonCode, connackText(ca.ReasonCode))}
		}
		return nil, nil, &connectError{"network", err}
	}
	return cli, lost, nil
}

// connackText names the CONNACK reason codes a user can act on.
func connackText(code byte) string {
	switch code {
	case 0x85:
		return "client identifier not valid"
	case 0x86:
		return "bad user name or password"
	case 0x87:
		return "not authorized"
	case 0x88:
		return "server unavailable"
	case 0x89:
		return "server busy"
	case 0x8A:
		return "banned"
	case 0x8C:
		return "bad authentication method"
	}
	return "refused"
}

// serve runs one connection: online, subscriptions, discovery, states,
// then the queue, until the connection or ctx ends.
func (b *Bridge) serve(ctx context.Context, cli *paho.Client, lost <-chan error) error {
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { // owned by serve: ends with cctx
		select {
		case <-cli.Done():
			cancel()
		case <-cctx.Done():
		}
	}()
	if err := b.publish(cctx, cli, message{topic: b.availability, payload: []byte(Online), retain: true, kind: "status"}); err != nil {
		return err
	}
	subs := []paho.SubscribeOptions{
		{Topic: b.cfg.TopicPrefix + "/send", QoS: b.cfg.QoS},
		{Topic: b.cfg.TopicPrefix + "/+/notify", QoS: b.cfg.QoS},
	}
	if b.cfg.Discovery {
		subs = append(subs, paho.SubscribeOptions{Topic: b.cfg.DiscoveryPrefix + "/status", QoS: b.cfg.QoS})
	}
	if _, err := cli.Subscribe(cctx, &paho.Subscribe{Subscriptions: subs}); err != nil {
		return fmt.Errorf("subscribing: %w", err)
	}
	for _, m := range b.modems { // the broker may have lost its retained messages: publish them anew
		m.state = nil
	}
	b.markDirty(true)
	for {
		if err := b.flush(cctx, cli); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-lost:
			return err
		case <-cli.Done():
			return errors.New("connection closed")
		case <-b.kick:
		}
	}
}

// flush publishes what is due: discovery configs, changed states, then
// the queue in order.
func (b *Bridge) flush(ctx context.Context, cli *paho.Client) error {
	b.mu.Lock()
	announce, dirty := b.announce, b.dirty
	b.announce, b.dirty = false, false
	b.mu.Unlock()
	if dirty || announce {
		for _, m := range b.modems {
			if err := b.publishModem(ctx, cli, m, announce); err != nil {
				b.markDirty(announce)
				return err
			}
		}
	}
	for {
		msg, ok := b.q.peek()
		if !ok {
			return nil
		}
		err := b.publish(ctx, cli, msg)
		var refused *refusedError
		switch {
		case errors.As(err, &refused):
			b.cfg.Hooks.Dropped("refused")
			b.log.Warn("mqtt: the broker refused a publish (its ACL?)", "topic", msg.topic, "err", err)
		case err != nil:
			return err
		}
		b.q.pop(msg)
		b.cfg.Hooks.Queue(b.q.len())
	}
}

// publishModem publishes m's discovery configs (when announce is set or
// its IMEI changed) and its state (when it changed).
func (b *Bridge) publishModem(ctx context.Context, cli *paho.Client, m *modem, announce bool) error {
	s := m.Snapshot()
	if b.cfg.Discovery {
		imei := s.Identity.IMEI
		var msgs []message
		if m.announced != "" && m.announced != imei && imei != "" { // another stick: remove the old device's entities
			msgs = append(msgs, b.discovery(m, m.announced, s, true)...)
		}
		if imei != "" && (announce || m.announced != imei) {
			msgs = append(msgs, b.discovery(m, imei, s, false)...)
		}
		for _, msg := range msgs {
			if err := b.publish(ctx, cli, msg); err != nil {
				return err
			}
		}
		if imei != "" && len(msgs) > 0 {
			m.announced = imei
			if announce {
				m.state = nil // Home Assistant (re)started: it reads the state anew
			}
		}
	}
	queued := 0
	if b.cfg.Queued != nil {
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		n, err := b.cfg.Queued(qctx, m.ID)
		cancel()
		if err != nil {
			b.log.Warn("mqtt: counting the queued messages", "err", err)
		}
		queued = n
	}
	p, _ := json.Marshal(stateOf(s, queued)) // plain struct
	if string(p) == string(m.state) {
		return nil
	}
	if err := b.publish(ctx, cli, message{topic: b.topic(m.ID, "state"), payload: p, retain: true, kind: "state"}); err != nil {
		return err
	}
	m.state = p
	return nil
}

// refusedError is a publish the broker answered with an error reason
// (not authorized to the topic, say): retrying it would not help.
type refusedError struct{ err error }

func (e *refusedError) Error() string { return e.err.Error() }

// publish sends one message and waits for its PUBACK at QoS 1.
func (b *Bridge) publish(ctx context.Context, cli *paho.Client, m message) error {
	pctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	resp, err := cli.Publish(pctx, &paho.Publish{Topic: m.topic, Payload: m.payload, Retain: m.retain, QoS: b.cfg.QoS})
	if err != nil {
		if resp != nil && resp.ReasonCode >= 0x80 {
			return &refusedError{fmt.Errorf("PUBACK reason 0x%02x: %w", resp.ReasonCode, err)}
		}
		return fmt.Errorf("publishing to %s: %w", m.topic, err)
	}
	b.cfg.Hooks.Published(m.kind)
	return nil
}

// watch marks the states dirty on every snapshot change of m.
func (b *Bridge) watch(ctx context.Context, m *modem) {
	for {
		ch := m.Changed()
		select {
		case <-ctx.Done():
			return
		case <-ch:
			b.markDirty(false)
		}
	}
}

// eventBatch is how many events one read of the log returns.
const eventBatch = 500

// follow reads the event log from cfg.After on and queues every event.
func (b *Bridge) follow(ctx context.Context) {
	after := b.cfg.After
	for {
		ch := b.cfg.Events.EventsChanged()
		evs, err := b.cfg.Events.Events(ctx, after, nil, eventBatch)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			b.log.Warn("mqtt: reading the event log", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		for _, e := range evs {
			after = e.Seq
			b.enqueue(message{topic: b.cfg.TopicPrefix + "/events/" + e.Type, payload: e.Body(), kind: "event"})
			switch {
			case e.Type == store.EventSMSReceived:
				if m, p := b.smsEntityEvent(e); m != nil {
					b.enqueue(message{topic: b.topic(m.ID, "sms"), payload: p, kind: "sms"})
				}
			case strings.HasPrefix(e.Type, "message."):
				b.markDirty(false) // the queued count changed
			}
		}
		if len(evs) == eventBatch {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-ch:
		}
	}
}

// smsEntityEvent is the event entity's payload of an sms.received event,
// and the modem it belongs to (by IMEI; the first modem if none matches).
func (b *Bridge) smsEntityEvent(e store.Event) (*modem, []byte) {
	var d struct {
		Message store.EventMessage `json:"message"`
	}
	if err := json.Unmarshal(e.Data, &d); err != nil || len(b.modems) == 0 {
		return nil, nil
	}
	m := b.modems[0]
	if d.Message.Modem != nil {
		for _, x := range b.modems {
			if s := x.Snapshot(); s.Identity.IMEI != "" && s.Identity.IMEI == d.Message.Modem.IMEI {
				m = x
				break
			}
		}
	}
	p, _ := json.Marshal(map[string]any{
		"event_type": EventSMSReceived, "from": d.Message.Peer, "text": d.Message.Text, "id": d.Message.ID,
		"received": d.Message.CreatedAt, "incomplete": d.Message.Incomplete, "event_id": e.ID,
	})
	return m, p
}

// received handles a message on a subscribed topic, in the client's
// router goroutine; the client acknowledges it (PUBACK) when this returns,
// so a command is acknowledged only once the outbox has it.
func (b *Bridge) received(pr paho.PublishReceived) (bool, error) {
	p := pr.Packet
	switch {
	case b.cfg.Discovery && p.Topic == b.cfg.DiscoveryPrefix+"/status":
		if strings.TrimSpace(string(p.Payload)) == Online {
			b.log.Info("mqtt: Home Assistant is online; announcing the modems again")
			b.markDirty(true)
		}
	case p.Topic == b.cfg.TopicPrefix+"/send":
		c, err := ParseCommand(p.Payload)
		if err != nil {
			b.cfg.Hooks.Command("invalid")
			b.result(Result{Source: p.Topic, Status: "error", Error: &ResultError{Code: "invalid", Message: err.Error()}})
			return true, nil
		}
		b.submit(p.Topic, c.ID, c.Request())
	case strings.HasPrefix(p.Topic, b.cfg.TopicPrefix+"/") && strings.HasSuffix(p.Topic, "/notify"):
		id := strings.TrimSuffix(strings.TrimPrefix(p.Topic, b.cfg.TopicPrefix+"/"), "/notify")
		var m *modem
		for _, x := range b.modems {
			if x.ID == id {
				m = x
			}
		}
		if m == nil {
			b.cfg.Hooks.Command("invalid")
			b.result(Result{Source: p.Topic, Status: "error", Error: &ResultError{Code: "invalid", Message: "no modem " + id}})
			return true, nil
		}
		to, text, err := ParseNotify(p.Payload, b.cfg.NotifyTo)
		if err != nil {
			b.cfg.Hooks.Command("invalid")
			b.result(Result{Source: p.Topic, Status: "error", Error: &ResultError{Code: "invalid", Message: err.Error()}})
			return true, nil
		}
		r := submit.Request{To: to, Text: &text}
		if len(b.modems) > 1 {
			r.Modem = m.ID
		}
		b.submit(p.Topic, "", r)
	}
	return true, nil
}

// submit takes r into the outbox and publishes the outcome.
func (b *Bridge) submit(source, id string, r submit.Request) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res := Result{ID: id, Source: source}
	msg, created, err := b.cfg.Submit(ctx, r)
	switch {
	case err != nil:
		res.Status, res.Error = "error", errorResult(err)
		b.cfg.Hooks.Command(res.Error.Code)
		if res.Error.Code == "internal" {
			b.log.Error("mqtt: a send command failed", "source", source, "id", id, "err", err)
		}
	default:
		res.Status = "accepted"
		if !created {
			res.Status = "duplicate"
		}
		b.cfg.Hooks.Command(res.Status)
		res.Message = &ResultMessage{ID: msg.ID, To: msg.Peer, State: string(msg.State), PartCount: msg.PartCount}
	}
	b.result(res)
}

func (b *Bridge) result(r Result) {
	p, _ := json.Marshal(r) // plain structs
	b.enqueue(message{topic: b.cfg.TopicPrefix + "/send/result", payload: p, kind: "result"})
}

// isConflict reports whether err is a reused id with another body.
func isConflict(err error) bool { return errors.Is(err, store.ErrConflict) }
