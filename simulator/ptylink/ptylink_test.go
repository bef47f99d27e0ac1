//go:build linux

package ptylink

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.bug.st/serial"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestSerialClient opens the link with go.bug.st/serial, as the relay opens
// /dev/ttyUSB2, and checks that bytes pass unchanged in both directions
// (raw: no echo, no CR/LF translation).
func TestSerialClient(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ttyUSB2")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	port, err := serial.Open(path, &serial.Mode{BaudRate: 115200, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit})
	if err != nil {
		t.Fatalf("serial open %s: %v", path, err)
	}
	defer port.Close()

	if _, err := port.Write([]byte("AT\r")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 3)
	if _, err := io.ReadFull(l, got); err != nil {
		t.Fatal(err)
	}
	if string(got) != "AT\r" {
		t.Fatalf("modem side read %q, want %q", got, "AT\r")
	}

	want := []byte("\r\nOK\r\n\x1a\x00\xff")
	if _, err := l.Write(want); err != nil {
		t.Fatal(err)
	}
	if err := port.SetReadTimeout(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	chunk := make([]byte, 64)
	for buf.Len() < len(want) {
		n, err := port.Read(chunk)
		if err != nil || n == 0 {
			t.Fatalf("client read after %q: n=%d err=%v", buf.Bytes(), n, err)
		}
		buf.Write(chunk[:n])
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("client read %q, want %q", buf.Bytes(), want)
	}
}

// TestCloseIsUnplug checks what a client sees when the device goes away:
// the link is gone and its open port fails.
func TestCloseIsUnplug(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ttyUSB2")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	port, err := serial.Open(path, &serial.Mode{BaudRate: 115200})
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()

	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("link still there after close: %v", err)
	}
	if _, err := port.Write([]byte("AT\r")); err == nil {
		// Some kernels accept one write into the dead pty; a read must fail then.
		if err := port.SetReadTimeout(time.Second); err != nil {
			t.Fatal(err)
		}
		n, err := port.Read(make([]byte, 8))
		if err == nil && n > 0 {
			t.Fatalf("read %d bytes from an unplugged device", n)
		}
	}
}

// TestCloseUnblocksRead makes sure the simulator's reader can be stopped.
func TestCloseUnblocksRead(t *testing.T) {
	l, err := Open(filepath.Join(t.TempDir(), "ttyUSB0"))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := l.Read(make([]byte, 16))
		done <- err
	}()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("read returned no error after close")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("read still blocked 5s after close")
	}
}

func TestReplacesStaleLinkOnly(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ttyUSB2")
	if err := os.Symlink("/dev/pts/does-not-exist", path); err != nil {
		t.Fatal(err)
	}
	l, err := Open(path)
	if err != nil {
		t.Fatalf("stale link not replaced: %v", err)
	}
	if target, _ := os.Readlink(path); target != l.Device() {
		t.Fatalf("link points to %q, want %q", target, l.Device())
	}
	l.Close()

	sub := filepath.Join(dir, "adir")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(sub); err == nil {
		t.Fatal("a directory at the link path was replaced")
	}
}
