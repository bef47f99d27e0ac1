package mqttbridge

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// broker is a real Mosquitto (Debian's mosquitto package) on a loopback
// port, with a password file: anonymous clients are refused.
type broker struct {
	t        *testing.T
	dir      string
	addr     string
	user, pw string
	cmd      *exec.Cmd
	done     chan struct{}
}

// mosquittoPath finds the broker, or skips the test (CI installs it).
func mosquittoPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"mosquitto", "/usr/sbin/mosquitto"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("mosquitto not found: apt-get install mosquitto (CI must run the MQTT tests)")
	}
	t.Skip("mosquitto not found (apt-get install mosquitto): skipping the tests against a real broker")
	return ""
}

func startBroker(t *testing.T) *broker {
	t.Helper()
	bin := mosquittoPath(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	b := &broker{t: t, dir: t.TempDir(), addr: addr, user: "api", pw: "s3cret-pw"}
	if out, err := exec.Command("mosquitto_passwd", "-b", "-c", filepath.Join(b.dir, "passwd"), b.user, b.pw).CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd: %v %s", err, out)
	}
	_, port, _ := net.SplitHostPort(addr)
	conf := fmt.Sprintf("listener %s 127.0.0.1\nallow_anonymous false\npassword_file %s\npersistence false\nlog_dest stderr\n",
		port, filepath.Join(b.dir, "passwd"))
	if os.Geteuid() == 0 {
		conf += "user root\n" // else it drops to the mosquitto user, who cannot read the test's files
	}
	if err := os.WriteFile(filepath.Join(b.dir, "mosquitto.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	b.start(bin)
	t.Cleanup(b.stop)
	return b
}

func (b *broker) start(bin string) {
	b.t.Helper()
	log, err := os.OpenFile(filepath.Join(b.dir, "mosquitto.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		b.t.Fatal(err)
	}
	b.cmd = exec.Command(bin, "-c", filepath.Join(b.dir, "mosquitto.conf"))
	b.cmd.Stdout, b.cmd.Stderr = log, log
	if err := b.cmd.Start(); err != nil {
		b.t.Fatal(err)
	}
	b.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); log.Close(); close(done) }(b.cmd, b.done)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", b.addr)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(filepath.Join(b.dir, "mosquitto.log"))
			b.t.Fatalf("mosquitto did not listen on %s: %s", b.addr, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (b *broker) stop() {
	if b.cmd == nil {
		return
	}
	_ = b.cmd.Process.Kill()
	<-b.done
	b.cmd = nil
}

// client is a test subscriber and publisher.
type client struct {
	t    *testing.T
	cli  *paho.Client
	mu   sync.Mutex
	msgs []*paho.Publish
	ch   chan struct{}
}

func (b *broker) client(t *testing.T, topics ...string) *client {
	t.Helper()
	conn, err := net.Dial("tcp", b.addr)
	if err != nil {
		t.Fatal(err)
	}
	c := &client{t: t, ch: make(chan struct{}, 1)}
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
	if _, err := c.cli.Connect(ctx, &paho.Connect{ClientID: fmt.Sprintf("test-%d", time.Now().UnixNano()), CleanStart: true, KeepAlive: 30,
		Username: b.user, UsernameFlag: true, Password: []byte(b.pw), PasswordFlag: true}); err != nil {
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

func (c *client) publish(topic, payload string, retain bool) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.cli.Publish(ctx, &paho.Publish{Topic: topic, Payload: []byte(payload), QoS: 1, Retain: retain}); err != nil {
		c.t.Fatal(err)
	}
}

// wait returns the messages received so far once match accepts them, or
// fails after 10 s.
func (c *client) wait(what string, match func([]*paho.Publish) bool) []*paho.Publish {
	c.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		msgs := append([]*paho.Publish(nil), c.msgs...)
		c.mu.Unlock()
		if match(msgs) {
			return msgs
		}
		select {
		case <-c.ch:
		case <-deadline:
			var topics []string
			for _, m := range msgs {
				topics = append(topics, m.Topic+"="+string(m.Payload))
			}
			c.t.Fatalf("no %s within 10 s; received:\n%s", what, strings.Join(topics, "\n"))
		}
	}
}

// on lists the payloads received on topic, in order.
func on(msgs []*paho.Publish, topic string) []string {
	var out []string
	for _, m := range msgs {
		if m.Topic == topic {
			out = append(out, string(m.Payload))
		}
	}
	return out
}
