//go:build linux

package sim_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.bug.st/serial"
	"go.uber.org/goleak"

	"github.com/sim-modem-api/sim-modem-api/simulator/sim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// open opens the simulator's link the way the relay opens /dev/ttyUSB2.
func open(t *testing.T, path string) serial.Port {
	t.Helper()
	p, err := serial.Open(path, &serial.Mode{BaudRate: 115200, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	if err := p.SetReadTimeout(200 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// exchange writes cmd and reads until the answer ends with want's last line
// or 5 s pass, and returns everything read.
func exchange(t *testing.T, p serial.Port, cmd, want string) string {
	t.Helper()
	if _, err := p.Write([]byte(cmd)); err != nil {
		t.Fatalf("write %q: %v", cmd, err)
	}
	var got bytes.Buffer
	buf := make([]byte, 256)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && !strings.HasSuffix(got.String(), want) {
		n, err := p.Read(buf)
		if err != nil {
			t.Fatalf("read after %q: %v (got %q)", cmd, err, got.String())
		}
		got.Write(buf[:n])
	}
	return got.String()
}

func TestATThroughSerialPort(t *testing.T) {
	link := filepath.Join(t.TempDir(), "ttyUSB2")
	s, err := sim.Start(context.Background(), sim.Config{Link: link})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p := open(t, link)

	if got := exchange(t, p, "AT\r", "OK\r\n"); got != "AT\r\r\nOK\r\n" {
		t.Fatalf("AT answered %q, want echo then OK", got)
	}
	if got := exchange(t, p, "ATE0\r", "OK\r\n"); got != "ATE0\r\r\nOK\r\n" {
		t.Fatalf("ATE0 answered %q", got)
	}
	if got := exchange(t, p, "AT+CGMI\r", "OK\r\n"); got != "\r\nZTE CORPORATION\r\n\r\nOK\r\n" {
		t.Fatalf("AT+CGMI answered %q", got)
	}
}

// TestUnplugReplug checks what a client sees of a USB replug: its port
// fails, the link disappears, and a new device appears at the same path with
// the modem back in its power-on state (echo on).
func TestUnplugReplug(t *testing.T) {
	link := filepath.Join(t.TempDir(), "ttyUSB2")
	s, err := sim.Start(context.Background(), sim.Config{Link: link})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p := open(t, link)
	exchange(t, p, "ATE0\r", "OK\r\n")

	if err := s.Unplug(); err != nil {
		t.Fatal(err)
	}
	if s.Plugged() {
		t.Fatal("Plugged() after Unplug")
	}
	if _, err := os.Lstat(link); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("link still present after unplug: %v", err)
	}
	if _, err := p.Write([]byte("AT\r")); err == nil {
		if n, err := p.Read(make([]byte, 16)); err == nil && n > 0 {
			t.Fatalf("old port still answers after unplug (%d bytes)", n)
		}
	}
	if err := s.Unplug(); err == nil {
		t.Fatal("second Unplug did not fail")
	}

	if err := s.Replug(); err != nil {
		t.Fatal(err)
	}
	p2 := open(t, link)
	if got := exchange(t, p2, "AT\r", "OK\r\n"); got != "AT\r\r\nOK\r\n" {
		t.Fatalf("after replug AT answered %q, want echo on again", got)
	}
}

func TestUnplugForReplugsByItself(t *testing.T) {
	link := filepath.Join(t.TempDir(), "ttyUSB2")
	s, err := sim.Start(context.Background(), sim.Config{Link: link})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.UnplugFor(50 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !s.Plugged() {
		if time.Now().After(deadline) {
			t.Fatal("not plugged back in 5 s after UnplugFor(50ms)")
		}
		time.Sleep(10 * time.Millisecond)
	}
	exchange(t, open(t, link), "AT\r", "OK\r\n")
}

func TestContextCancelCloses(t *testing.T) {
	link := filepath.Join(t.TempDir(), "ttyUSB2")
	ctx, cancel := context.WithCancel(context.Background())
	s, err := sim.Start(ctx, sim.Config{Link: link})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Lstat(link); errors.Is(err, os.ErrNotExist) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("link still present 5 s after the context was cancelled")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := s.Close(); !errors.Is(err, sim.ErrClosed) {
		t.Fatalf("Close after cancel = %v, want ErrClosed", err)
	}
}
