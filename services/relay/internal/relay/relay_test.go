package relay_test

import (
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/sim-modem-api/sim-modem-api/modem/relaywire"
	"github.com/sim-modem-api/sim-modem-api/services/relay/internal/relay"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestATRoundTrips(t *testing.T) {
	h := start(t)
	c := h.dialInControl()
	c.roundTrip()
	c.send("AT+CGMI\r")
	c.expect("AT+CGMI\r\r\nZTE CORPORATION\r\n\r\nOK\r\n")
	c.send("ATE0\r")
	c.expect("\r\nOK\r\n")
	c.send("AT\r")
	c.expect("\r\nOK\r\n")
	if got, want := h.serialWritten(), "AT\rAT+CGMI\rATE0\rAT\r"; got != want {
		t.Fatalf("written to serial %q, want %q", got, want)
	}
}

func TestSentinelPlacements(t *testing.T) {
	h := start(t)
	c := h.dialInControl()
	cases := []struct{ name, send, wantSerial string }{
		{"alone", "<heartbeat>", ""},
		{"start", "<heartbeat>AT\r", "AT\r"},
		{"middle", "AT<heartbeat>\r", "AT\r"},
		{"end", "AT\r<heartbeat>", "AT\r"},
		{"several", "<heartbeat>A<heartbeat>T<heartbeat>\r<heartbeat>", "AT\r"},
	}
	written := ""
	beats := 0.0
	for _, tc := range cases {
		c.send(tc.send)
		beats += float64(strings.Count(tc.send, "<heartbeat>"))
		written += tc.wantSerial
		if tc.wantSerial != "" {
			c.expect("AT\r\r\nOK\r\n")
		}
		h.eventually(tc.name+": heartbeats counted", func() bool { return testutil.ToFloat64(h.m.HeartbeatsReceived) == beats })
		if got := h.serialWritten(); got != written {
			t.Fatalf("%s: written to serial %q, want %q", tc.name, got, written)
		}
	}
}

func TestSentinelSplitAcrossSegments(t *testing.T) {
	h := start(t)
	c := h.dialInControl()
	// The relay has written "AT\r" and holds "<heart" once the modem answers.
	c.send("AT\r<heart")
	c.expect("AT\r\r\nOK\r\n")
	c.send("beat>AT\r")
	c.expect("AT\r\r\nOK\r\n")
	if got := h.serialWritten(); got != "AT\rAT\r" {
		t.Fatalf("written to serial %q, want %q", got, "AT\rAT\r")
	}
	if n := testutil.ToFloat64(h.m.HeartbeatsReceived); n != 1 {
		t.Fatalf("heartbeats %v, want 1", n)
	}
}

// TestSentinelSplitSurvivesRetransmissionAtDefaultHold: a heartbeat split
// across TCP segments whose second half comes 500 ms later (longer than
// Linux's minimum retransmission timeout, 200 ms) is still a heartbeat at
// the default sentinel hold: nothing of it reaches the modem.
func TestSentinelSplitSurvivesRetransmissionAtDefaultHold(t *testing.T) {
	h := start(t, withConfig(func(c *relay.Config) { c.SentinelHold = 0 })) // the default
	c := h.dialInControl()
	c.send("AT\r<heart")
	c.expect("AT\r\r\nOK\r\n")
	time.Sleep(500 * time.Millisecond) // the lost segment's retransmission
	c.send("beat>AT\r")
	c.expect("AT\r\r\nOK\r\n")
	if got := h.serialWritten(); got != "AT\rAT\r" {
		t.Fatalf("written to serial %q, want %q", got, "AT\rAT\r")
	}
	if n := testutil.ToFloat64(h.m.HeartbeatsReceived); n != 1 {
		t.Fatalf("heartbeats %v, want 1", n)
	}
	if n := testutil.ToFloat64(h.m.SentinelHoldReleases); n != 0 {
		t.Fatalf("sentinel hold releases %v, want 0", n)
	}
}

func TestSentinelByteAtATime(t *testing.T) {
	h := start(t)
	c := h.dialInControl()
	msg := "<heartbeat>A<heartbeat>T<heartbeat>\r"
	for i := range len(msg) {
		c.send(msg[i : i+1])
	}
	c.expect("AT\r\r\nOK\r\n")
	h.eventually("3 heartbeats", func() bool { return testutil.ToFloat64(h.m.HeartbeatsReceived) == 3 })
	if got := h.serialWritten(); got != "AT\r" {
		t.Fatalf("written to serial %q, want %q", got, "AT\r")
	}
}

func TestHeldBytesReachTheModem(t *testing.T) {
	h := start(t, withConfig(func(c *relay.Config) { c.SentinelHold = 20 * time.Millisecond }))
	c := h.dialInControl()
	// "<heart" that is not completed within the hold is data, not a
	// heartbeat: it reaches the modem with the rest of its line, and a
	// "beat>" that comes too late is data too.
	c.send("AT\r<heart")
	c.expect("AT\r\r\nOK\r\n")
	h.eventually("the hold released", func() bool { return testutil.ToFloat64(h.m.SentinelHoldReleases) == 1 })
	c.send("beat>\r")
	c.expect("<heartbeat>\r\r\nERROR\r\n") // "at>" looks like a command to the modem
	if got, want := h.serialWritten(), "AT\r<heartbeat>\r"; got != want {
		t.Fatalf("written to serial %q, want %q", got, want)
	}
	if n := testutil.ToFloat64(h.m.HeartbeatsReceived); n != 0 {
		t.Fatalf("heartbeats %v, want 0", n)
	}
}

// TestHeldLineWrittenWithItsTerminator: bytes after the last CR wait for
// the next one and then go to the modem together with it, in one write.
func TestHeldLineWrittenWithItsTerminator(t *testing.T) {
	h := start(t)
	c := h.dialInControl()
	c.send("AT+CG<heartbeat>")
	// The heartbeat counted: the relay has read "AT+CG" and holds it.
	h.eventually("heartbeat", func() bool { return testutil.ToFloat64(h.m.HeartbeatsReceived) == 1 })
	if got := h.serialWritten(); got != "" {
		t.Fatalf("an unterminated line reached the modem: %q", got)
	}
	c.send("MI\r")
	c.expect("AT+CGMI\r\r\nZTE CORPORATION\r\n\r\nOK\r\n")
	if n := strings.Count(h.logText(), "SER_W ->"); n != 1 || !strings.Contains(h.logText(), `SER_W ->AT+CGMI\r<-`) {
		t.Fatalf("want one write of the whole line, log:\n%s", h.logText())
	}
}

// TestDepartingClientsUnterminatedBytesAreDiscarded: a client that goes
// away in the middle of a line (here the first half of a command that
// would turn the radio off) leaves nothing behind: the next client's first
// command runs alone, and the modem's radio stays on.
func TestDepartingClientsUnterminatedBytesAreDiscarded(t *testing.T) {
	const partial = "AT+CFUN=0;"
	cases := []struct {
		name   string
		cfg    func(*relay.Config)
		leave  func(c *client)
		reason string
		counts bool // the relay certainly read the bytes before the client left
	}{
		{"close", func(*relay.Config) {}, func(c *client) { c.conn.Close() }, "client_closed", true},
		{"reset", func(*relay.Config) {}, func(c *client) { c.conn.(*net.TCPConn).SetLinger(0); c.conn.Close() }, "", false},
		{"heartbeat timeout", func(c *relay.Config) { c.HeartbeatTimeout = 300 * time.Millisecond }, func(c *client) {
			c.expectClosed(relaywire.MsgHeartbeatTimeout)
		}, "heartbeat_timeout", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, withConfig(tc.cfg))
			c := h.dialInControl()
			addr := c.conn.LocalAddr().String()
			c.send(relaywire.DefaultSentinel + partial)
			h.eventually("heartbeat", func() bool { return testutil.ToFloat64(h.m.HeartbeatsReceived) == 1 })
			tc.leave(c)
			h.eventually("slot free", func() bool { return testutil.ToFloat64(h.m.ClientInControl) == 0 })
			if tc.reason != "" {
				if v := testutil.ToFloat64(h.m.ClientDisconnects.WithLabelValues(tc.reason)); v != 1 {
					t.Fatalf("%s disconnects = %v", tc.reason, v)
				}
			}
			if tc.counts {
				h.waitLog(`Discarded the unterminated bytes of the client socket ` + addr + ` ->` + partial + `<-`)
				if v := testutil.ToFloat64(h.m.ClientDiscardedBytes); v != float64(len(partial)) {
					t.Fatalf("discarded bytes = %v, want %d", v, len(partial))
				}
			}

			next := h.dialInControl()
			next.send("<heartbeat>ATE0\r")
			next.expect("ATE0\r\r\nOK\r\n")
			next.send("AT+CFUN?\r")
			next.expect("\r\n+CFUN: 1\r\n\r\nOK\r\n")
			var lines []string
			for _, e := range h.sim.Device().Transcript() {
				lines = append(lines, e.Command)
			}
			if want := []string{"ATE0", "AT+CFUN?"}; !slices.Equal(lines, want) {
				t.Fatalf("the modem saw the command lines %q, want %q", lines, want)
			}
			if got := h.serialWritten(); strings.Contains(got, "CFUN=0") {
				t.Fatalf("written to serial %q", got)
			}
		})
	}
}

func TestSecondClientRejected(t *testing.T) {
	h := start(t)
	c1 := h.dialInControl()
	c1.roundTrip()
	c2 := h.dial()
	c2.send("<heartbeat>AT\r") // must neither reach the modem nor break the reject message
	c2.expectClosed(relaywire.MsgAlreadyInControl)
	c1.roundTrip()
	if got := h.serialWritten(); got != "AT\rAT\r" {
		t.Fatalf("written to serial %q", got)
	}
	if v := testutil.ToFloat64(h.m.ConnectionsRejected.WithLabelValues("client_in_control")); v != 1 {
		t.Fatalf("rejected = %v", v)
	}
	h.waitLog("Rejected the client socket " + c2.conn.LocalAddr().String() + ": there's already a client in control")
}

// TestManyRejectedClientsAllGetTheMessage: 64 clients that connect while
// one is in control, all at once and each sending a heartbeat and a
// command, each read "There's already a client in control" before the
// close, however many the relay is rejecting at the same time.
func TestManyRejectedClientsAllGetTheMessage(t *testing.T) {
	const n = 64
	h := start(t)
	c := h.dialInControl()
	c.roundTrip()
	others := make([]*client, n)
	var wg sync.WaitGroup
	for i := range others {
		wg.Go(func() {
			conn, err := net.Dial("tcp", h.addr)
			if err != nil {
				t.Error(err)
				return
			}
			others[i] = &client{t: t, conn: conn.(*net.TCPConn)}
			others[i].send("<heartbeat>AT\r")
		})
	}
	wg.Wait()
	defer func() {
		for _, o := range others {
			if o != nil {
				o.conn.Close()
			}
		}
	}()
	if t.Failed() {
		return
	}
	// All rejected before any of them reads: at most 16 linger at once.
	h.eventually("all rejected", func() bool {
		return testutil.ToFloat64(h.m.ConnectionsRejected.WithLabelValues("client_in_control")) == n
	})
	for i, o := range others {
		_ = o.conn.SetReadDeadline(time.Now().Add(waitFor))
		got, err := io.ReadAll(o.conn)
		if err != nil || string(got) != relaywire.MsgAlreadyInControl {
			t.Errorf("client %d got %q, %v; want %q and the close", i, got, err, relaywire.MsgAlreadyInControl)
		}
	}
	c.roundTrip()
	if got := h.serialWritten(); got != "AT\rAT\r" {
		t.Fatalf("written to serial %q", got)
	}
}

func TestHeartbeatKeepsAndTimeoutCloses(t *testing.T) {
	const timeout = time.Second
	h := start(t, withConfig(func(c *relay.Config) { c.HeartbeatTimeout = timeout }))
	c := h.dialInControl()
	// Heartbeats keep the client in control for longer than the timeout.
	for range 15 {
		c.send(relaywire.DefaultSentinel)
		time.Sleep(timeout / 10) // the client's pace, not synchronisation
	}
	c.send(relaywire.DefaultSentinel)
	c.roundTrip()
	c.expectClosed(relaywire.MsgHeartbeatTimeout)
	h.eventually("slot free", func() bool { return testutil.ToFloat64(h.m.ClientInControl) == 0 })
	if v := testutil.ToFloat64(h.m.ClientDisconnects.WithLabelValues("heartbeat_timeout")); v != 1 {
		t.Fatalf("heartbeat_timeout disconnects = %v", v)
	}
	h.waitLog("the heartbeat timeout elapsed")
	h.dialInControl().roundTrip()
}

func TestSilentConnectionLosesControl(t *testing.T) {
	h := start(t, withConfig(func(c *relay.Config) { c.HeartbeatTimeout = 200 * time.Millisecond }))
	silent := h.dial()
	silent.expectClosed(relaywire.MsgHeartbeatTimeout)
	c := h.dialInControl()
	c.send("<heartbeat>AT\r")
	c.expect("AT\r\r\nOK\r\n")
}

func TestClientThatStopsReading(t *testing.T) {
	cases := []struct {
		name, why string
		cfg       func(*relay.Config)
	}{
		// The write deadline: a write blocked this long disconnects.
		{"write deadline", "the client did not read for 200ms", func(c *relay.Config) { c.WriteTimeout = 200 * time.Millisecond }},
		// The queue guard: the device talks faster than any deadline. The
		// write deadline is set far out so that only the guard can act,
		// however slowly a loaded machine runs the test.
		{"queue guard", "the client fell 65536 bytes behind", func(c *relay.Config) {
			c.MaxPending = 64 << 10
			c.WriteTimeout = time.Minute
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, withConfig(tc.cfg))
			stuck := h.dialInControl()
			if err := stuck.conn.(*net.TCPConn).SetReadBuffer(4096); err != nil {
				t.Fatal(err)
			}
			// The modem talks a lot; the client in control never reads.
			noise := []byte(strings.Repeat("+CSQ: 20,99\r\n", 1000))
			read0 := testutil.ToFloat64(h.m.SerialReadBytes)
			injected := 0
			h.eventually("slow client disconnected", func() bool {
				if err := h.sim.Device().InjectNoise(noise); err != nil {
					t.Fatal(err)
				}
				injected += len(noise)
				return testutil.ToFloat64(h.m.ClientDisconnects.WithLabelValues("slow_client")) == 1
			})
			h.waitLog("Disconnected the client socket " + stuck.conn.LocalAddr().String() + ": " + tc.why)
			// The serial side kept going: it reads (and, with no client,
			// drops) everything the modem said, and the next client works.
			h.eventually("injected noise read", func() bool {
				return testutil.ToFloat64(h.m.SerialReadBytes)-read0 >= float64(injected)
			})
			h.dialInControl().roundTrip()
		})
	}
}

func TestClientVanishesMidCommand(t *testing.T) {
	h := start(t)
	c := h.dialInControl()
	c.send("AT+CGMI\r")
	c.conn.(*net.TCPConn).SetLinger(0)
	c.conn.Close() // gone before the answer
	// Whichever side notices first: the read (EOF or reset) or the write of
	// the echo (reset).
	h.eventually("disconnect", func() bool {
		return testutil.ToFloat64(h.m.ClientDisconnects.WithLabelValues("client_closed"))+
			testutil.ToFloat64(h.m.ClientDisconnects.WithLabelValues("read_error"))+
			testutil.ToFloat64(h.m.ClientDisconnects.WithLabelValues("write_error")) == 1
	})
	// The answer, if it came after the disconnect, was logged and dropped.
	h.waitLog("ZTE CORPORATION")
	c2 := h.dialInControl()
	c2.roundTrip()
}

func TestUnplugAndReplugWhileInControl(t *testing.T) {
	h := start(t)
	c := h.dialInControl()
	c.roundTrip()
	if err := h.sim.Unplug(); err != nil {
		t.Fatal(err)
	}
	c.expectClosed(relaywire.MsgSerialUnavailable)
	h.eventually("device down", func() bool { return testutil.ToFloat64(h.m.SerialDeviceUp) == 0 })
	// While there is no device, a client is told so and closed.
	h.dial().expectClosed(relaywire.MsgNoSerialDevice)
	if err := h.sim.Replug(); err != nil {
		t.Fatal(err)
	}
	h.waitDeviceUp()
	h.dialInControl().roundTrip()
	if v := testutil.ToFloat64(h.m.SerialReopens); v != 1 {
		t.Fatalf("reopens = %v", v)
	}
	for _, want := range []string{
		"became unavailable",
		"Disconnected the client socket " + c.conn.LocalAddr().String() + ": the serial device became unavailable",
		"Rejected the client socket",
	} {
		if !strings.Contains(h.logText(), want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

func TestDeviceMissingAtStart(t *testing.T) {
	h := start(t, withoutDevice())
	h.waitLog("Waiting for serial device " + h.link + " to appear")
	h.dial().expectClosed(relaywire.MsgNoSerialDevice)
	if h.r.Healthy() == nil {
		t.Fatal("healthy without a device")
	}
	h.plugIn()
	h.waitDeviceUp()
	h.dialInControl().roundTrip()
	if v := testutil.ToFloat64(h.m.SerialReopens); v != 0 {
		t.Fatalf("reopens = %v, the first open is not a reopen", v)
	}
}

func TestShutdownTellsClient(t *testing.T) {
	h := start(t)
	c := h.dialInControl()
	c.roundTrip()
	h.cancel()
	c.expectClosed(relaywire.MsgRelayShuttingDown)
	if err := <-h.done; err != nil {
		t.Fatal(err)
	}
	h.done <- nil // for Cleanup
	h.waitLog("Serial device " + h.link + " closed")
	if _, err := net.Dial("tcp", h.addr); err == nil {
		t.Fatal("still listening after shutdown")
	}
}

func TestSerialOutputWithoutClientIsLoggedAndDropped(t *testing.T) {
	h := start(t)
	if err := h.sim.Device().InjectURC("+CMTI: \"SM\",5"); err != nil {
		t.Fatal(err)
	}
	h.waitLog(`SER_R ->\r\n+CMTI: "SM",5\r\n<-`)
	h.waitLog("No client in control, dropped the bytes read from the serial device")
	if v := testutil.ToFloat64(h.m.SerialDroppedBytes); v != 17 {
		t.Fatalf("dropped bytes = %v, want 17", v)
	}
}

// TestLogFormat checks the exact log of a scripted session. Serial reads
// may be split or joined by the pty, so consecutive SER_R lines are merged
// before comparing; everything else is compared line by line.
func TestLogFormat(t *testing.T) {
	at := time.Date(2023, 10, 15, 14, 59, 40, 0, time.Local)
	h := start(t, withClock(func() time.Time { return at }))
	c := h.dialInControl()
	c.send("AT+CSCS=\"GSM\"\r<heartbeat>")
	c.expect("AT+CSCS=\"GSM\"\r\r\nOK\r\n")
	c.send("Hello\x1a\\\r")
	c.expect("Hello\x1a\\\r") // echoed; not a command, so no answer
	second := h.dial()
	second.expectClosed(relaywire.MsgAlreadyInControl)
	c.conn.Close()
	h.eventually("disconnect", func() bool { return testutil.ToFloat64(h.m.ClientInControl) == 0 })
	h.cancel()
	<-h.done
	h.done <- nil
	got := mergeReads(strings.Split(strings.TrimSuffix(h.logText(), "\n"), "\n"))
	ts := "[15.10.2023 14:59:40] "
	want := []string{
		"Socket server is bound and listening",
		"Serial device opened successfully",
		"Starting serial receive loop",
		"Successfully accepted a client socket",
		"Starting client receive loop",
		"Successfully gave control to this client socket",
		"Starting heartbeat watcher",
		`SER_W ->AT+CSCS="GSM"\r<-`,
		`SER_R ->AT+CSCS="GSM"\r\r\nOK\r\n<-`,
		`SER_W ->Hello\x1A\x5C\r<-`,
		`SER_R ->Hello\x1A\x5C\r<-`,
		"Successfully accepted a client socket",
		"Rejected the client socket " + second.conn.LocalAddr().String() + ": there's already a client in control",
		"Disconnected the client socket " + c.conn.LocalAddr().String() + ": the client closed the connection",
		"Serial device " + h.link + " closed",
	}
	// The listener's line races with the device's two (they start in
	// parallel): put it first.
	for i := 1; i < min(3, len(got)); i++ {
		if strings.HasSuffix(got[i], "Socket server is bound and listening") {
			got = append([]string{got[i]}, append(got[:i:i], got[i+1:]...)...)
			break
		}
	}
	if len(got) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if got[i] != ts+want[i] {
			t.Errorf("line %d:\n got %s\nwant %s", i, got[i], ts+want[i])
		}
	}
}

// mergeReads joins consecutive SER_R lines into one.
func mergeReads(lines []string) []string {
	var out []string
	for _, l := range lines {
		if n := len(out); n > 0 && strings.Contains(l, "] SER_R ->") && strings.Contains(out[n-1], "] SER_R ->") {
			prev := strings.TrimSuffix(out[n-1], "<-")
			out[n-1] = prev + l[strings.Index(l, "SER_R ->")+len("SER_R ->"):]
			continue
		}
		out = append(out, l)
	}
	return out
}

func TestMetricsAfterScriptedSession(t *testing.T) {
	h := start(t)
	c := h.dialInControl()
	c.send("<heartbeat>AT\r<heartbeat>")
	c.expect("AT\r\r\nOK\r\n")
	c.send("AT+CGMI\r<heartbeat>")
	c.expect("\r\nOK\r\n")
	h.dial().expectClosed(relaywire.MsgAlreadyInControl)
	c.conn.Close()
	h.eventually("disconnect", func() bool { return testutil.ToFloat64(h.m.ClientInControl) == 0 })
	if err := testutil.GatherAndCompare(h.reg, strings.NewReader(fmt.Sprintf(`
# HELP relay_client_in_control 1 while a client is in control, else 0.
# TYPE relay_client_in_control gauge
relay_client_in_control 0
# HELP relay_serial_device_up 1 while the serial device is open, 0 while it is missing or being reopened.
# TYPE relay_serial_device_up gauge
relay_serial_device_up 1
# HELP relay_connections_accepted_total TCP connections accepted, whether given control or rejected.
# TYPE relay_connections_accepted_total counter
relay_connections_accepted_total 2
# HELP relay_heartbeats_received_total Heartbeat sentinels received from the client in control.
# TYPE relay_heartbeats_received_total counter
relay_heartbeats_received_total 3
# HELP relay_serial_written_bytes_total Bytes written to the serial device (client to modem, heartbeats removed).
# TYPE relay_serial_written_bytes_total counter
relay_serial_written_bytes_total %d
# HELP relay_serial_read_bytes_total Bytes read from the serial device (modem to client).
# TYPE relay_serial_read_bytes_total counter
relay_serial_read_bytes_total %d
# HELP relay_serial_reopens_total Times the serial device was opened again after it had been lost.
# TYPE relay_serial_reopens_total counter
relay_serial_reopens_total 0
`, len("AT\rAT+CGMI\r"), len("AT\r\r\nOK\r\nAT+CGMI\r\r\nZTE CORPORATION\r\n\r\nOK\r\n"))),
		"relay_client_in_control", "relay_serial_device_up", "relay_connections_accepted_total",
		"relay_heartbeats_received_total", "relay_serial_written_bytes_total", "relay_serial_read_bytes_total",
		"relay_serial_reopens_total"); err != nil {
		t.Fatal(err)
	}
	if v := testutil.ToFloat64(h.m.ConnectionsRejected.WithLabelValues("client_in_control")); v != 1 {
		t.Errorf("rejected = %v", v)
	}
	if v := testutil.ToFloat64(h.m.ClientDisconnects.WithLabelValues("client_closed")); v != 1 {
		t.Errorf("client_closed = %v", v)
	}
	if problems, err := testutil.GatherAndLint(h.reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}

// TestSMSLikeTheOriginalRESTServer drives the simulator through the relay
// as the original REST server did: heartbeats on a timer from another
// goroutine, interleaved with an SMS send in PDU mode (prompt, PDU, Ctrl-Z).
func TestSMSLikeTheOriginalRESTServer(t *testing.T) {
	h := start(t, withConfig(func(c *relay.Config) { c.HeartbeatTimeout = 500 * time.Millisecond }))
	c := h.dialInControl()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			if _, err := c.conn.Write([]byte(relaywire.DefaultSentinel)); err != nil {
				return
			}
			select {
			case <-tick.C:
			case <-stop:
				return
			}
		}
	})
	defer func() { close(stop); wg.Wait() }()

	// SMS-SUBMIT to +43123456789, "Hi" in the GSM 7-bit alphabet; 15 octets
	// after the (empty) SMSC part.
	const pdu = "0001000B913421436587F90000" + "02C834"
	c.send("AT+CMGF=0\r")
	c.expect("\r\nOK\r\n")
	c.send("AT+CMGS=15\r")
	c.expect("\r\n> ")
	c.send(pdu + "\x1a")
	c.expectContaining("+CMGS: ", "\r\nOK\r\n")
	tr := h.sim.Device().Transcript()
	last := tr[len(tr)-1]
	if last.Command != "AT+CMGS=15" || last.Body != pdu {
		t.Fatalf("the modem saw %q with body %q", last.Command, last.Body)
	}
	if strings.Contains(h.serialWritten(), "<") {
		t.Fatalf("a heartbeat leaked to the modem: %q", h.serialWritten())
	}
}
