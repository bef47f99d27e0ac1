// Package mosquittotest runs a real Mosquitto broker for tests, like
// net/http/httptest runs an HTTP server: Debian's mosquitto package on a
// free loopback port, with a password file so that anonymous clients are
// refused, and a paho.golang client that records what it receives.
//
// It is test support only: no binary imports it. Start skips the test when
// mosquitto is not installed (apt-get install mosquitto) and fails it when
// $CI is set, so that CI cannot silently skip the tests against a real
// broker.
package mosquittotest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// Broker is a Mosquitto process on a loopback port. Anonymous clients are
// refused; User and Password are the one account in its password file.
// There is no persistence: a restart loses the retained messages and the
// sessions.
//
// Addr is a plain TCP forwarder to mosquitto's own port, which listens
// only while mosquitto runs; it lets RestartSubscribed hold other clients
// back until the test's subscriber is in.
type Broker struct {
	Addr     string // host:port on 127.0.0.1
	User     string
	Password string
	Dir      string // the config, the password file and mosquitto.log

	t     testing.TB
	bin   string
	own   string // mosquitto's listener, host:port on 127.0.0.1
	front front
	cmd   *exec.Cmd
	done  chan struct{}
}

// freePorts returns n distinct loopback addresses no one listens on just
// now: all n are bound at once, since the kernel may hand a port it was
// just given back out again.
func freePorts(t testing.TB, n int) []string {
	t.Helper()
	var out []string
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		out = append(out, ln.Addr().String())
	}
	return out
}

// Start starts a broker and stops it when the test ends; the end of its log
// is shown if the test failed. It skips the test when mosquitto is not
// installed, or fails it when $CI is set.
func Start(t testing.TB) *Broker {
	t.Helper()
	bin := lookPath(t, "mosquitto")
	passwd := lookPath(t, "mosquitto_passwd")
	pw := make([]byte, 12)
	_, _ = rand.Read(pw) // never fails
	ports := freePorts(t, 2)
	b := &Broker{Addr: ports[0], own: ports[1], User: "mosquittotest", Password: hex.EncodeToString(pw), Dir: t.TempDir(), t: t, bin: bin}
	b.front = front{addr: b.Addr, broker: b.own}
	pwFile := filepath.Join(b.Dir, "passwd")
	if out, err := exec.Command(passwd, "-b", "-c", pwFile, b.User, b.Password).CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd: %v %s", err, out)
	}
	_, port, _ := net.SplitHostPort(b.own)
	conf := fmt.Sprintf("listener %s 127.0.0.1\nallow_anonymous false\npassword_file %s\npersistence false\nlog_dest stderr\n", port, pwFile)
	if os.Geteuid() == 0 {
		conf += "user root\n" // else it drops to the mosquitto user, who cannot read the test's files
	}
	if err := os.WriteFile(filepath.Join(b.Dir, "mosquitto.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	b.start(false)
	t.Cleanup(func() {
		b.Stop()
		if t.Failed() {
			t.Logf("the end of the mosquitto log (%s):\n%s", filepath.Join(b.Dir, "mosquitto.log"), tail(b.Log(), 40))
		}
	})
	return b
}

// lookPath finds a program of the mosquitto package in $PATH or /usr/sbin,
// or skips the test (fails it under $CI).
func lookPath(t testing.TB, name string) string {
	t.Helper()
	for _, p := range []string{name, "/usr/sbin/" + name, "/usr/bin/" + name} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s not found: apt-get install mosquitto (CI must run the tests against a real broker)", name)
	}
	t.Skipf("%s not found (apt-get install mosquitto): skipping the tests against a real broker", name)
	return ""
}

// start runs mosquitto, waits until it accepts connections, and opens
// Addr; held: Addr holds the connections until front.release.
func (b *Broker) start(held bool) {
	b.t.Helper()
	logPath := filepath.Join(b.Dir, "mosquitto.log")
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		b.t.Fatal(err)
	}
	b.cmd = exec.Command(b.bin, "-c", filepath.Join(b.Dir, "mosquitto.conf"))
	b.cmd.Stdout, b.cmd.Stderr = log, log
	if err := b.cmd.Start(); err != nil {
		log.Close()
		b.cmd = nil
		b.t.Fatalf("mosquitto: %v", err)
	}
	b.done = make(chan struct{})
	// Owned by the broker: it ends when the process does (Stop kills it).
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); log.Close(); close(done) }(b.cmd, b.done)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("tcp", b.own); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("mosquitto did not listen on %s within 10 s:\n%s", b.own, tail(b.Log(), 40))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := b.front.listen(held); err != nil {
		b.t.Fatal(err)
	}
}

// Stop kills the broker (its clients see the connection drop, new ones are
// refused) and waits for it to exit. Stopping a stopped broker does
// nothing.
func (b *Broker) Stop() {
	b.front.stop()
	if b.cmd == nil {
		return
	}
	_ = b.cmd.Process.Kill()
	<-b.done
	b.cmd = nil
}

// Restart stops the broker if it runs and starts it again on the same port
// with the same password file. Without persistence the retained messages
// and the sessions are gone.
func (b *Broker) Restart() {
	b.t.Helper()
	b.Stop()
	b.start(false)
}

// RestartSubscribed restarts the broker as Restart does and returns a
// Client subscribed to topics (see Client) before any other client's
// connection reaches the broker: those wait at Addr until it is
// subscribed. A test that watches what a reconnecting client publishes
// first, such as the api's queued events, misses none of it.
func (b *Broker) RestartSubscribed(t testing.TB, topics ...string) *Client {
	t.Helper()
	b.Stop()
	b.start(true)
	c := b.client(t, b.own, topics)
	b.front.release()
	return c
}

// Log returns what the broker has logged so far, over all its restarts.
func (b *Broker) Log() string {
	out, err := os.ReadFile(filepath.Join(b.Dir, "mosquitto.log"))
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return string(out)
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Client is a test subscriber and publisher connected with the broker's
// account. It records every message it receives, in order.
type Client struct {
	t    testing.TB
	cli  *paho.Client
	mu   sync.Mutex
	msgs []*paho.Publish
	ch   chan struct{} // a token when a message arrives
}

var clients atomic.Int64

// Client connects a client with a clean start and a client id of its own,
// subscribes it to topics with QoS 1, and disconnects it when the test ends.
func (b *Broker) Client(t testing.TB, topics ...string) *Client {
	t.Helper()
	return b.client(t, b.Addr, topics)
}

// client connects a Client at addr.
func (b *Broker) client(t testing.TB, addr string, topics []string) *Client {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := &Client{t: t, ch: make(chan struct{}, 1)}
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
	id := fmt.Sprintf("mosquittotest-%d-%d", os.Getpid(), clients.Add(1))
	if _, err := c.cli.Connect(ctx, &paho.Connect{ClientID: id, CleanStart: true, KeepAlive: 30,
		Username: b.User, UsernameFlag: true, Password: []byte(b.Password), PasswordFlag: true}); err != nil {
		conn.Close()
		t.Fatalf("connect %s to mosquitto on %s: %v", id, addr, err)
	}
	t.Cleanup(func() { _ = c.cli.Disconnect(&paho.Disconnect{}); <-c.cli.Done() })
	if len(topics) > 0 {
		var subs []paho.SubscribeOptions
		for _, tp := range topics {
			subs = append(subs, paho.SubscribeOptions{Topic: tp, QoS: 1})
		}
		if _, err := c.cli.Subscribe(ctx, &paho.Subscribe{Subscriptions: subs}); err != nil {
			t.Fatalf("subscribe %s to %q: %v", id, topics, err)
		}
	}
	return c
}

// Publish publishes payload on topic with QoS 1 and waits for the broker's
// acknowledgement.
func (c *Client) Publish(topic, payload string, retain bool) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.cli.Publish(ctx, &paho.Publish{Topic: topic, Payload: []byte(payload), QoS: 1, Retain: retain}); err != nil {
		c.t.Fatalf("publish on %s: %v", topic, err)
	}
}

// Messages returns a copy of the messages received so far, in order.
func (c *Client) Messages() []*paho.Publish {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*paho.Publish(nil), c.msgs...)
}

// Payloads lists the payloads received so far on topic, in order.
func (c *Client) Payloads(topic string) []string { return Payloads(c.Messages(), topic) }

// Payloads lists the payloads of the messages on topic, in order.
func Payloads(msgs []*paho.Publish, topic string) []string {
	var out []string
	for _, m := range msgs {
		if m.Topic == topic {
			out = append(out, string(m.Payload))
		}
	}
	return out
}

// Wait returns the messages received so far once done accepts them, or
// fails the test after limit, listing the last messages. done is asked
// again on each message and at least every 100 ms, so it may also look at
// other state.
func (c *Client) Wait(what string, limit time.Duration, done func([]*paho.Publish) bool) []*paho.Publish {
	c.t.Helper()
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		msgs := c.Messages()
		if done(msgs) {
			return msgs
		}
		select {
		case <-c.ch:
		case <-tick.C:
		case <-deadline.C:
			var got []string
			for _, m := range msgs[max(0, len(msgs)-30):] {
				got = append(got, m.Topic+" "+string(m.Payload))
			}
			c.t.Fatalf("%s: not within %v; the last of the %d messages received:\n%s", what, limit, len(msgs), strings.Join(got, "\n"))
		}
	}
}
