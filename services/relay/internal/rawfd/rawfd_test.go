package rawfd

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// pair returns both ends of a real loopback TCP connection.
func pair(t *testing.T) (*net.TCPConn, *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	acceptErr := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			acceptErr <- err
			return
		}
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	var s net.Conn
	select {
	case s = <-accepted:
	case err := <-acceptErr:
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

func raw(t *testing.T, c syscall.Conn) syscall.RawConn {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

// TestReadWaitsForData: Read parks until the peer writes, returns what it
// wrote, and io.EOF once the peer has closed.
func TestReadWaitsForData(t *testing.T) {
	a, b := pair(t)
	got := make(chan []byte, 1)
	errc := make(chan error, 1)
	go func() {
		buf := make([]byte, 64)
		n, err := Read(raw(t, a), buf)
		if err != nil {
			errc <- err
			return
		}
		got <- buf[:n]
	}()
	if _, err := b.Write([]byte("AT\r")); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-got:
		if string(p) != "AT\r" {
			t.Fatalf("read %q, want %q", p, "AT\r")
		}
	case err := <-errc:
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if n, err := Read(raw(t, a), make([]byte, 64)); n != 0 || err != io.EOF {
		t.Fatalf("after the peer closed: %d, %v; want 0, io.EOF", n, err)
	}
	if n, err := Read(raw(t, a), nil); n != 0 || err != nil {
		t.Fatalf("empty read: %d, %v", n, err)
	}
}

// TestReadDeadline: the connection's read deadline ends a waiting Read
// with os.ErrDeadlineExceeded, as net.Conn.Read does.
func TestReadDeadline(t *testing.T) {
	a, _ := pair(t)
	if err := a.SetReadDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(raw(t, a), make([]byte, 8)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the deadline: %v, want os.ErrDeadlineExceeded", err)
	}
}

// TestReadAfterClose: a Read parked in the poller returns when another
// goroutine closes the connection, with net.ErrClosed.
func TestReadAfterClose(t *testing.T) {
	a, _ := pair(t)
	rc := raw(t, a)
	errc := make(chan error, 1)
	go func() {
		_, err := Read(rc, make([]byte, 8))
		errc <- err
	}()
	time.Sleep(10 * time.Millisecond) // let it park (either order is correct)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read on a closed connection: %v, want net.ErrClosed", err)
	}
}

// TestWriteNowAndWrite: against a peer that does not read, WriteNow stops
// short without waiting; Write waits until the peer reads and delivers
// every byte in order; a write deadline ends a Write that cannot proceed.
func TestWriteNowAndWrite(t *testing.T) {
	a, b := pair(t)
	rc := raw(t, a)
	// More than the kernel's socket buffers can hold, however tuned.
	big := bytes.Repeat([]byte("0123456789abcdef"), 2<<20) // 32 MiB
	n, err := WriteNow(rc, big)
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 || n >= len(big) {
		t.Fatalf("WriteNow wrote %d of %d bytes to a peer that does not read", n, len(big))
	}

	if err := a.SetWriteDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if k, err := Write(rc, big[n:]); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Write past the deadline: %d, %v; want os.ErrDeadlineExceeded", k, err)
	} else {
		n += k
	}
	if err := a.SetWriteDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}

	got := make(chan []byte, 1)
	go func() {
		p, _ := io.ReadAll(b)
		got <- p
	}()
	if k, err := Write(rc, big[n:]); err != nil || k != len(big)-n {
		t.Fatalf("Write: %d of %d, %v", k, len(big)-n, err)
	}
	if err := a.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if p := <-got; !bytes.Equal(p, big) {
		t.Fatalf("the peer read %d bytes, not the %d written in order", len(p), len(big))
	}
}

// TestWriteError: writing to a connection the peer has reset fails with
// the system call's error.
func TestWriteError(t *testing.T) {
	a, b := pair(t)
	if err := b.SetLinger(0); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil { // RST
		t.Fatal(err)
	}
	rc := raw(t, a)
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		_, err = Write(rc, []byte("x"))
		time.Sleep(time.Millisecond)
	}
	var se *os.SyscallError
	if !errors.As(err, &se) || se.Syscall != "write" {
		t.Fatalf("write after reset: %v, want a write SyscallError", err)
	}
}
