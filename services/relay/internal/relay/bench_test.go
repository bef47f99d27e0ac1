package relay_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sim-modem-api/sim-modem-api/services/relay/internal/metrics"
	"github.com/sim-modem-api/sim-modem-api/services/relay/internal/relay"
	"github.com/sim-modem-api/sim-modem-api/services/relay/internal/serialport"
	"github.com/sim-modem-api/sim-modem-api/services/relay/internal/tracelog"
	"github.com/sim-modem-api/sim-modem-api/simulator/ptylink"
	"github.com/sim-modem-api/sim-modem-api/simulator/sim"
)

// benchRelay runs a relay in front of the device at link, logging in full
// to a file (real write system calls), and returns its address.
func benchRelay(b *testing.B, link string) string {
	addr, _ := benchRelayPending(b, link, 0)
	return addr
}

func benchRelayPending(b *testing.B, link string, maxPending int) (string, *tracelog.Logger) {
	b.Helper()
	f, err := os.Create(filepath.Join(b.TempDir(), "relay.log"))
	if err != nil {
		b.Fatal(err)
	}
	log := tracelog.New(f, tracelog.Options{})
	m := metrics.New(prometheus.NewRegistry())
	r := relay.New(relay.Config{Device: link, HeartbeatTimeout: time.Hour, PollInterval: 10 * time.Millisecond, MaxPending: maxPending},
		&serialport.Device{Pattern: link, Baud: 115200}, log, m)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Serve(ctx, ln) }()
	b.Cleanup(func() {
		cancel()
		<-done
		log.Close()
		if b.Failed() || testing.Verbose() {
			fi, _ := f.Stat()
			b.Logf("log: %d bytes, %d lines dropped", fi.Size(), log.Dropped())
		}
		f.Close()
	})
	for deadline := time.Now().Add(10 * time.Second); r.Healthy() != nil; {
		if time.Now().After(deadline) {
			b.Fatal("device not opened")
		}
		time.Sleep(time.Millisecond)
	}
	return ln.Addr().String(), log
}

// roundTrips times n `AT\r` → `OK` exchanges on rw and returns the durations.
func roundTrips(b *testing.B, rw io.ReadWriter, n int) []time.Duration {
	b.Helper()
	buf := make([]byte, 256)
	want := []byte("AT\r\r\nOK\r\n")
	lat := make([]time.Duration, 0, n)
	for range n {
		t0 := time.Now()
		if _, err := rw.Write([]byte("AT\r")); err != nil {
			b.Fatal(err)
		}
		got := 0
		for got < len(want) {
			k, err := rw.Read(buf[got:])
			if err != nil {
				b.Fatal(err)
			}
			got += k
		}
		lat = append(lat, time.Since(t0))
		if !bytes.Equal(buf[:got], want) {
			b.Fatalf("got %q", buf[:got])
		}
	}
	return lat
}

func report(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	b.ReportMetric(us(lat[len(lat)/2]), "p50-µs")
	b.ReportMetric(us(lat[len(lat)*99/100]), "p99-µs")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkRoundTrip compares `AT\r` → `OK` on the simulator's pty directly
// with the same exchange through the relay (full logging to a file), in the
// same run. The difference of the medians is what the relay adds.
func BenchmarkRoundTrip(b *testing.B) {
	link := filepath.Join(b.TempDir(), "ttyUSB2")
	s, err := sim.Start(context.Background(), sim.Config{Link: link})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.Run("direct", func(b *testing.B) {
		p, _, err := (&serialport.Device{Pattern: link, Baud: 115200}).Open()
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close()
		roundTrips(b, p, 100) // warm up
		b.ResetTimer()
		report(b, roundTrips(b, p, b.N))
	})
	b.Run("relay", func(b *testing.B) {
		addr := benchRelay(b, link)
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		roundTrips(b, c, 100)
		b.ResetTimer()
		report(b, roundTrips(b, c, b.N))
	})
}

// BenchmarkThroughput pushes bytes both ways at once through the relay in
// front of an echoing pty (every byte written to the device comes back),
// with full logging to a file. MB/s counts one direction; the same amount
// flows the other way at the same time.
func BenchmarkThroughput(b *testing.B) {
	link := filepath.Join(b.TempDir(), "ttyUSB2")
	modem, err := ptylink.Open(link)
	if err != nil {
		b.Fatal(err)
	}
	var echo sync.WaitGroup
	echo.Go(func() { _, _ = io.Copy(modem, modem) })
	defer func() { modem.Close(); echo.Wait() }()
	// Unpaced, the pty runs at tens of MB/s: allow a deep queue so that a
	// scheduling hiccup of the client does not count as a slow client.
	addr, log := benchRelayPending(b, link, 64<<20)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()

	// Every byte value but '<' (which would be held back as a possible
	// heartbeat start), so the log escapes a realistic mix; ending in CR,
	// so that the relay holds nothing back as an unterminated line.
	chunk := make([]byte, 4096)
	for i := range chunk {
		chunk[i] = byte(i % 256)
		if chunk[i] == '<' {
			chunk[i] = '>'
		}
	}
	chunk[len(chunk)-1] = '\r'
	b.SetBytes(int64(len(chunk)))
	b.ResetTimer()
	total := int64(b.N) * int64(len(chunk))
	var wg sync.WaitGroup
	wg.Go(func() {
		for range b.N {
			if _, err := c.Write(chunk); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if _, err := io.CopyN(io.Discard, c, total); err != nil {
		b.Fatal(err)
	}
	wg.Wait()
	b.StopTimer()
	log.Flush()
	b.ReportMetric(float64(log.Dropped()), "log-lines-dropped")
}
