//go:build linux

package device

import (
	"context"
	"io"
	"os"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// makeRaw puts a terminal in raw mode (no echo, no CR/LF translation), as
// the relay opens /dev/ttyUSB2.
func makeRaw(t *testing.T, f *os.File) {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	tio.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	tio.Oflag &^= unix.OPOST
	tio.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	tio.Cflag &^= unix.CSIZE | unix.PARENB
	tio.Cflag |= unix.CS8
	tio.Cc[unix.VMIN], tio.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(int(f.Fd()), unix.TCSETS, tio); err != nil {
		t.Fatal(err)
	}
}

// TestOverPTY runs a session on a real pty master and talks to it through
// the slave, as a client of /dev/ttyUSB2 does; cancelling the context ends
// the session although its Read is blocked.
func TestOverPTY(t *testing.T) {
	master, slave, err := pty.Open()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	defer slave.Close()
	makeRaw(t, slave)
	makeRaw(t, master)
	// creack/pty hands out the master in blocking mode; as the simulator's
	// ptylink does, use a non-blocking duplicate so that deadlines work.
	fd, err := unix.Dup(int(master.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		t.Fatal(err)
	}
	if err := master.Close(); err != nil {
		t.Fatal(err)
	}
	master = os.NewFile(uintptr(fd), "ptmx")
	defer master.Close()

	d, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Serve(ctx, master) }()

	exchange := func(send, want string) {
		t.Helper()
		if _, err := io.WriteString(slave, send); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(want))
		if err := slave.SetReadDeadline(time.Now().Add(ioTimeout)); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(slave, got); err != nil {
			t.Fatalf("reading %q: got %q: %v", want, got, err)
		}
		if string(got) != want {
			t.Fatalf("got %q; want %q", got, want)
		}
	}
	exchange("AT\r", "AT\r\r\nOK\r\n")
	exchange("ATE0\r", "ATE0\r\r\nOK\r\n")
	exchange("AT+CGMM\r", "\r\nMF831\r\n\r\nOK\r\n")
	exchange("AT+CMGS=23\r", "\r\n> ")
	exchange("0011000B916407281553F80000AA0AE8329BFD4697D9EC37\x1a", "\r\n+CMGS: ")

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve = %v; want nil", err)
		}
	case <-time.After(ioTimeout):
		t.Fatal("Serve did not return after cancel on a pty")
	}

	// A second session on the same master works (deadlines were reset),
	// and closing the master (an unplug) ends it with an error.
	done2 := make(chan error, 1)
	go func() { done2 <- d.Serve(context.Background(), master) }()
	if _, err := io.WriteString(slave, "\r\nAT\r"); err != nil { // drains the rest of the +CMGS answer first
		t.Fatal(err)
	}
	if err := slave.SetReadDeadline(time.Now().Add(ioTimeout)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 256)
	var got string
	for len(got) < 6 || got[len(got)-6:] != "\r\nOK\r\n" || !containsEcho(got) {
		n, err := slave.Read(buf)
		if err != nil {
			t.Fatalf("second session: got %q: %v", got, err)
		}
		got += string(buf[:n])
	}
	if err := master.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done2:
		if err == nil {
			t.Fatal("Serve = nil after the port was closed; want an error")
		}
	case <-time.After(ioTimeout):
		t.Fatal("Serve did not return after the port was closed")
	}
}

func containsEcho(s string) bool {
	for i := 0; i+3 <= len(s); i++ {
		if s[i:i+3] == "AT\r" {
			return true
		}
	}
	return false
}
