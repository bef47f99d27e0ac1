package relay_test

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/sim-modem-api/sim-modem-api/modem/relaywire"
	"github.com/sim-modem-api/sim-modem-api/services/relay/internal/relay"
	"github.com/sim-modem-api/sim-modem-api/simulator/ptylink"
)

// TestDeviceThatStopsReading: the client sends far more than the pty
// takes while the modem side does not read; the relay queues the rest,
// stops reading the client meanwhile, and once the modem reads again every
// byte reaches it, in order. The modem's answer still reaches the client.
func TestDeviceThatStopsReading(t *testing.T) {
	h := start(t, withoutDevice())
	modem, err := ptylink.Open(h.link)
	if err != nil {
		t.Fatal(err)
	}
	defer modem.Close()
	h.waitDeviceUp()
	c := h.dialInControl()

	// 256 KiB of terminated lines: far beyond the pty's buffer (4 KiB).
	var want bytes.Buffer
	for i := 0; want.Len() < 256<<10; i++ {
		fmt.Fprintf(&want, "AT+CMGS=%07d,0123456789abcdef0123456789abcdef\r", i)
	}
	var sendErr error
	var wg sync.WaitGroup
	wg.Go(func() { _, sendErr = c.conn.Write(want.Bytes()) })

	// The relay cannot have written it all: the modem has not read.
	h.waitLog("SER_W ->AT+CMGS=0000000,")
	got := make([]byte, 0, want.Len())
	buf := make([]byte, 64<<10)
	_ = modem.SetReadDeadline(time.Now().Add(waitFor))
	for len(got) < want.Len() {
		n, err := modem.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			t.Fatalf("modem read after %d of %d bytes: %v", len(got), want.Len(), err)
		}
	}
	wg.Wait()
	if sendErr != nil {
		t.Fatal(sendErr)
	}
	if !bytes.Equal(got, want.Bytes()) {
		i := 0
		for i < len(got) && got[i] == want.Bytes()[i] {
			i++
		}
		t.Fatalf("the modem got %d bytes, first difference at %d", len(got), i)
	}
	if h.serialWritten() != want.String() {
		t.Fatal("the SER_W lines are not the bytes written, in order")
	}

	if _, err := modem.Write([]byte("\r\nOK\r\n")); err != nil {
		t.Fatal(err)
	}
	c.expect("\r\nOK\r\n")
}

// TestSingleProcessor: with GOMAXPROCS=1 the I/O loop waits as an ordinary
// system call (it must not keep the only P); everything else still runs:
// round trips, a rejected second client, heartbeats and their timeout.
func TestSingleProcessor(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	h := start(t, withConfig(func(c *relay.Config) { c.HeartbeatTimeout = 300 * time.Millisecond }))
	c := h.dialInControl()
	for range 50 {
		c.send("<heartbeat>")
		c.roundTrip()
	}
	h.dial().expectClosed(relaywire.MsgAlreadyInControl)
	c.expectClosed(relaywire.MsgHeartbeatTimeout)
}

// TestRoundTripsWhileBusy: many quick round trips and a flood of modem
// output interleaved, so that the loop stays in its fast path (keeping its
// P) across garbage collections, which must still stop it in time.
func TestRoundTripsWhileBusy(t *testing.T) {
	h := start(t)
	c := h.dialInControl()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { // garbage, so that the collector runs meanwhile
		var keep [][]byte
		for {
			select {
			case <-stop:
				return
			default:
			}
			keep = append(keep, make([]byte, 64<<10))
			if len(keep) > 64 {
				keep = keep[:0]
				runtime.GC()
			}
		}
	})
	for range 500 {
		c.roundTrip()
	}
	close(stop)
	wg.Wait()
	if _, err := io.WriteString(c.conn, "AT\r"); err != nil {
		t.Fatal(err)
	}
	c.expect("AT\r\r\nOK\r\n")
}

// TestClientThatReadsLate: the modem talks while the client in control
// does not read (within the write timeout), more than the sockets' buffers
// hold; the relay queues the rest and, once the client reads, every byte
// arrives in order.
func TestClientThatReadsLate(t *testing.T) {
	// 16 MiB through a pty takes 6 s under -race on an idle machine and
	// several times that while other packages' tests load it: this test
	// is about bytes, not timing, so neither the client's silence (no
	// heartbeats while it waits) nor a deadline may end it early.
	const slow = 2 * time.Minute
	h := start(t, withConfig(func(c *relay.Config) {
		c.MaxPending = 64 << 20
		c.HeartbeatTimeout = slow
		c.WriteTimeout = slow
	}))
	c := h.dialInControl()
	read0 := testutil.ToFloat64(h.m.SerialReadBytes)
	var want bytes.Buffer
	for i := 0; want.Len() < 16<<20; i++ {
		var chunk bytes.Buffer
		for j := 0; chunk.Len() < 64<<10; j++ {
			fmt.Fprintf(&chunk, "+CMTI: \"SM\",%d\r\n", i*10000+j)
		}
		if err := h.sim.Device().InjectNoise(chunk.Bytes()); err != nil {
			t.Fatal(err)
		}
		want.Write(chunk.Bytes())
	}
	// Everything is read from the modem before the client reads anything.
	h.eventuallyWithin(slow, "the noise read from the modem", func() bool {
		return testutil.ToFloat64(h.m.SerialReadBytes)-read0 >= float64(want.Len())
	})
	got := make([]byte, want.Len())
	_ = c.conn.SetReadDeadline(time.Now().Add(slow))
	if _, err := io.ReadFull(c.conn, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatal("the client got the modem's bytes changed or out of order")
	}
	c.roundTrip()
}
