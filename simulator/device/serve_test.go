package device

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

func TestServeReturnsOnCancel(t *testing.T) {
	d, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	dte, dce := net.Pipe()
	defer dte.Close()
	defer dce.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Serve(ctx, dce) }()
	if _, err := dte.Write([]byte("AT")); err != nil { // a half line, never answered
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve = %v; want nil", err)
		}
	case <-time.After(ioTimeout):
		t.Fatal("Serve did not return")
	}
	if d.Serving() {
		t.Error("still serving")
	}
}

func TestServeReturnsOnPortError(t *testing.T) {
	d, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	dte, dce := net.Pipe()
	done := make(chan error, 1)
	go func() { done <- d.Serve(context.Background(), dce) }()
	if err := dte.Close(); err != nil { // unplug
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, io.EOF) {
			t.Fatalf("Serve = %v; want a wrapped io.EOF", err)
		}
	case <-time.After(ioTimeout):
		t.Fatal("Serve did not return")
	}
	_ = dce.Close()
}

func TestServeBusy(t *testing.T) {
	r := newRig(t, Config{})
	r.cmd("AT", "AT\r\r\nOK\r\n")
	_, other := net.Pipe()
	defer other.Close()
	if err := r.d.Serve(context.Background(), other); !errors.Is(err, ErrBusy) {
		t.Fatalf("second Serve = %v; want ErrBusy", err)
	}
}

// A new session is a power-on: volatile settings reset, persistent state
// stays.
func TestSecondServeResetsVolatileState(t *testing.T) {
	d, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	r := serveRig(t, d)
	r.quiet()
	r.cmd("AT+CMEE=2", "\r\nOK\r\n")
	r.stop()
	r2 := serveRig(t, d)
	r2.cmd("AT+CMEE?", "AT+CMEE?\r\r\n+CMEE: 0\r\n\r\nOK\r\n")
}
