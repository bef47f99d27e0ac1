package device

import (
	"context"
	"io"
	"net"
	"testing"
	"time"
)

// FuzzSession feeds arbitrary bytes to a session: it must never panic,
// and it must return nil when cancelled, whatever state the bytes left it
// in (half a line, an open prompt, a hang fault...).
func FuzzSession(f *testing.F) {
	for _, s := range []string{
		"AT\r", "ATE0V1\r", "AT+CMGS=23\r0011000B916407281553F80000AA0AE8329BFD4697D9EC37\x1a",
		"AT+CMGF=1\rAT+CMGS=\"+431\"\rhi\x1b", "AT+CNMI=2,2\rAT+CMGL=4\r", "A/", "\x08\x08AT\n",
		"AT+CPMS=\"SR\";+CMGR=0\r", "AT+CUSD=1,\"*101#\",15\rAT+CUSD=1,\"2\"\r", "AT+CSCS=\"UCS2\";+CSCA?\r",
		"AT+CMGW=5,1\r0000\x1a", "ATV0Q1\rAT+FOO\r", "AT+CFUN=0\rAT+COPS=?\r",
	} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, input []byte, inject bool) {
		d, err := New(Config{Seed: 1, Clock: fixedClock, SMCapacity: 2})
		if err != nil {
			t.Fatal(err)
		}
		dte, dce := net.Pipe()
		defer dce.Close()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- d.Serve(ctx, dce) }()
		drained := make(chan struct{})
		go func() {
			defer close(drained)
			_, _ = io.Copy(io.Discard, dte)
		}()
		if inject {
			for i := 0; i < 3; i++ {
				if _, err := d.InjectSMS(IncomingSMS{From: "+4366", Text: "fuzz"}); err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, err := dte.Write(input); err != nil {
			t.Fatalf("write: %v", err)
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
		_ = dte.Close()
		<-drained
		// The device is still usable.
		_ = d.Transcript()
		_, _ = d.Messages("SM")
	})
}
