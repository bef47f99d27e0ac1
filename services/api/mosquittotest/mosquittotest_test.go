package mosquittotest

import (
	"context"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestPublishSubscribeRestart(t *testing.T) {
	b := Start(t)
	if !strings.HasPrefix(b.Addr, "127.0.0.1:") || b.User == "" || b.Password == "" || b.Dir == "" {
		t.Fatalf("broker: %+v", b)
	}
	sub := b.Client(t, "t/#")
	pub := b.Client(t)
	pub.Publish("t/a", "one", false)
	pub.Publish("t/b", "kept", true)
	pub.Publish("t/a", "two", false)
	msgs := sub.Wait("three messages", 10*time.Second, func(m []*paho.Publish) bool { return len(m) >= 3 })
	if got := Payloads(msgs, "t/a"); !slices.Equal(got, []string{"one", "two"}) {
		t.Errorf("t/a: %q", got)
	}
	if msgs[0].QoS != 1 {
		t.Errorf("QoS %d, want 1", msgs[0].QoS)
	}

	// A late subscriber gets the retained message.
	late := b.Client(t, "t/b")
	late.Wait("the retained message", 10*time.Second, func([]*paho.Publish) bool { return len(late.Payloads("t/b")) == 1 })
	if got := late.Messages(); !got[0].Retain {
		t.Errorf("not retained: %+v", got[0])
	}

	// A restart keeps the port and the password, but not the retained
	// message.
	addr := b.Addr
	b.Restart()
	if b.Addr != addr {
		t.Errorf("address %s after the restart, want %s", b.Addr, addr)
	}
	again := b.Client(t, "t/#")
	b.Client(t).Publish("t/c", "after", false)
	msgs = again.Wait("the message after the restart", 10*time.Second, func(m []*paho.Publish) bool { return len(m) >= 1 })
	if len(msgs) != 1 || msgs[0].Topic != "t/c" {
		t.Errorf("after the restart: %+v", msgs)
	}
	if !strings.Contains(b.Log(), "mosquitto") {
		t.Errorf("log:\n%s", b.Log())
	}
}

func TestRefusesWrongPassword(t *testing.T) {
	b := Start(t)
	for _, c := range []struct{ user, pw string }{{b.User, "wrong"}, {"", ""}} {
		conn, err := net.Dial("tcp", b.Addr)
		if err != nil {
			t.Fatal(err)
		}
		cli := paho.NewClient(paho.ClientConfig{Conn: conn})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ack, err := cli.Connect(ctx, &paho.Connect{ClientID: "wrong", CleanStart: true,
			Username: c.user, UsernameFlag: c.user != "", Password: []byte(c.pw), PasswordFlag: c.pw != ""})
		cancel()
		if err == nil {
			t.Errorf("user %q password %q: connected (%+v)", c.user, c.pw, ack)
			_ = cli.Disconnect(&paho.Disconnect{})
		}
		<-cli.Done()
	}
}

func TestStopDropsClients(t *testing.T) {
	b := Start(t)
	c := b.Client(t)
	b.Stop()
	b.Stop() // twice is fine
	select {
	case <-c.cli.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the client still runs after the broker stopped")
	}
}

// TestRestartSubscribedComesFirst: a client that connects while the broker
// restarts is held at Addr, its CONNECT unanswered, until the test's
// subscriber is in; then it gets through and the subscriber receives what
// it publishes first.
func TestRestartSubscribedComesFirst(t *testing.T) {
	b := Start(t)
	b.Stop()
	b.start(true) // RestartSubscribed's steps, with a client in between
	conn, err := net.Dial("tcp", b.Addr)
	if err != nil {
		t.Fatal(err)
	}
	eager := paho.NewClient(paho.ClientConfig{Conn: conn})
	defer func() { conn.Close(); <-eager.Done() }() // also ends a CONNECT still held
	connected := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_, err := eager.Connect(ctx, &paho.Connect{ClientID: "eager", CleanStart: true,
			Username: b.User, UsernameFlag: true, Password: []byte(b.Password), PasswordFlag: true})
		connected <- err
	}()
	select {
	case err := <-connected:
		t.Fatalf("the held client's CONNECT was answered (err %v) before the release", err)
	case <-time.After(300 * time.Millisecond):
	}
	if strings.Contains(b.Log(), "eager") {
		t.Fatalf("the broker saw the held client:\n%s", b.Log())
	}
	sub := b.client(t, b.own, []string{"t/#"})
	b.front.release()
	if err := <-connected; err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := eager.Publish(ctx, &paho.Publish{Topic: "t/first", Payload: []byte("first"), QoS: 1}); err != nil {
		t.Fatal(err)
	}
	_ = eager.Disconnect(&paho.Disconnect{})
	sub.Wait("the eager client's first message", 10*time.Second, func([]*paho.Publish) bool {
		return len(sub.Payloads("t/first")) == 1
	})

	// RestartSubscribed itself: the subscriber gets what is published after.
	again := b.RestartSubscribed(t, "t/#")
	b.Client(t).Publish("t/second", "second", false)
	again.Wait("the message after RestartSubscribed", 10*time.Second, func([]*paho.Publish) bool {
		return len(again.Payloads("t/second")) == 1
	})
}
