//go:build linux

package test

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.bug.st/serial"

	"github.com/sim-modem-api/sim-modem-api/modem/at"
	"github.com/sim-modem-api/sim-modem-api/modem/pdu"
	"github.com/sim-modem-api/sim-modem-api/simulator/device"
	"github.com/sim-modem-api/sim-modem-api/simulator/sim"
)

// rig is a simulated modem on a pty and an AT engine on its serial port.
type rig struct {
	t    *testing.T
	sim  *sim.Simulator
	dev  *device.Device
	e    *at.Engine
	urcs chan at.URC // everything unsolicited: handled URCs and the rest
	link string
	opts []at.Option
}

func newRig(t *testing.T, cfg device.Config, opts ...at.Option) *rig {
	t.Helper()
	link := filepath.Join(t.TempDir(), "ttyUSB2")
	s, err := sim.Start(context.Background(), sim.Config{Link: link, Device: cfg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	r := &rig{t: t, sim: s, dev: s.Device(), urcs: make(chan at.URC, 256), link: link, opts: opts}
	r.connect()
	return r
}

// connect opens the port and starts an engine on it, as the API does
// after every (re)connect.
func (r *rig) connect() {
	r.t.Helper()
	p, err := serial.Open(r.link, &serial.Mode{BaudRate: 115200})
	if err != nil {
		r.t.Fatalf("open %s: %v", r.link, err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	opts := append([]at.Option{
		at.WithLogger(quiet),
		at.WithDefaultHandler(func(u at.URC) { r.urcs <- u }),
	}, r.opts...)
	e := at.New(context.Background(), p, opts...)
	r.t.Cleanup(func() { _ = e.Close() })
	r.e = e
}

// cmd runs a command that must succeed and returns its lines.
func (r *rig) cmd(command string, opts ...at.CommandOption) []string {
	r.t.Helper()
	resp, err := r.e.Command(ctx(r.t), command, opts...)
	if err != nil {
		r.t.Fatalf("AT%s: %v", command, err)
	}
	return resp.Lines
}

// value runs a command that must succeed and returns the value of its
// "name: value" line.
func (r *rig) value(command, name string) string {
	r.t.Helper()
	resp, err := r.e.Command(ctx(r.t), command)
	if err != nil {
		r.t.Fatalf("AT%s: %v", command, err)
	}
	v, ok := resp.Value(name)
	if !ok {
		r.t.Fatalf("AT%s: no %s line in %q", command, name, resp.Lines)
	}
	return v
}

// initModem runs the API's init sequence. The modem has just been powered
// on, so echo is still on for ATE0 itself.
func (r *rig) initModem() {
	r.t.Helper()
	for _, c := range []string{"E0", "+CMEE=2", "+CMGF=0", `+CSCS="GSM"`, "+CNMI=2,1,0,2,0"} {
		r.cmd(c)
	}
}

// nextURC waits for an unsolicited line named name (5 s upper bound).
func (r *rig) nextURC(name string) at.URC {
	r.t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case u := <-r.urcs:
			if u.Name == name {
				return u
			}
		case <-timeout:
			r.t.Fatalf("no %s URC within 5 s", name)
		}
	}
}

// ctx is a per-step context: a generous upper bound, never a measurement.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestInitAndIdentity(t *testing.T) {
	r := newRig(t, device.Config{})
	r.initModem()
	want := map[string]string{
		"+CGMI": device.DefaultManufacturer,
		"+CGMM": device.DefaultModel,
		"+CGMR": device.DefaultRevision,
		"+CGSN": device.DefaultIMEI,
		"+CIMI": device.DefaultIMSI,
	}
	for c, w := range want {
		if got := r.cmd(c); len(got) != 1 || got[0] != w {
			t.Errorf("AT%s: %q, want %q", c, got, w)
		}
	}
	if got := r.value("+ZGETICCID", "+ZGETICCID"); got != device.DefaultICCID {
		t.Errorf("ICCID %q", got)
	}
	if got := r.value("+CSQ", "+CSQ"); got != "20,99" {
		t.Errorf("+CSQ: %q", got)
	}
	if got := r.value("+CREG?", "+CREG"); got != "0,1" {
		t.Errorf("+CREG: %q", got)
	}
	if got := r.value("+COPS?", "+COPS"); !strings.Contains(got, "Magenta") {
		t.Errorf("+COPS: %q", got)
	}
	if got := r.cmd("I"); len(got) < 3 {
		t.Errorf("ATI: %q", got)
	}
	// The echo was on for ATE0: it must not have leaked anywhere.
	select {
	case u := <-r.urcs:
		t.Errorf("unexpected unsolicited line %+v", u)
	default:
	}
}

func TestErrorsNumericAndVerbose(t *testing.T) {
	r := newRig(t, device.Config{})
	r.initModem()
	if err := r.dev.SetSIM(device.SIMAbsent); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"2", "1"} {
		r.cmd("+CMEE=" + mode)
		_, err := r.e.Command(ctx(t), "+CPIN?")
		var cme *at.CMEError
		if !errors.As(err, &cme) || cme.Code != 10 || cme.Name != "SIM not inserted" {
			t.Errorf("CMEE=%s: AT+CPIN? gave %v, want +CME ERROR 10", mode, err)
		}
	}
	r.cmd("+CMEE=0")
	if _, err := r.e.Command(ctx(t), "+CPIN?"); !errors.Is(err, at.ErrError) {
		t.Errorf("CMEE=0: %v, want ERROR", err)
	}
	if _, err := r.e.Command(ctx(t), "+NOSUCHCOMMAND"); !errors.Is(err, at.ErrError) {
		t.Errorf("unknown command: %v", err)
	}
}

// submitBody builds the PDU-mode body of an SMS-SUBMIT (default SMSC) and
// the length AT+CMGS wants.
func submitBody(t *testing.T, to, text string) (cmd, body string) {
	t.Helper()
	addr, err := pdu.ParseAddress(to)
	if err != nil {
		t.Fatal(err)
	}
	s := pdu.Submit{Destination: addr, DCS: pdu.NewDCS(pdu.AlphabetGSM7, -1), UD: pdu.UserData{Text: text}}
	tpdu, err := s.Encode()
	if err != nil {
		t.Fatal(err)
	}
	smsc, err := pdu.EncodeSMSC(pdu.Address{})
	if err != nil {
		t.Fatal(err)
	}
	return "+CMGS=" + strconv.Itoa(len(tpdu)), strings.ToUpper(hex.EncodeToString(append(smsc, tpdu...)))
}

func TestSendSMS(t *testing.T) {
	r := newRig(t, device.Config{})
	r.initModem()
	cmd, body := submitBody(t, "+436641234567", "hello from the engine")
	resp, err := r.e.SMSCommand(ctx(t), cmd, body)
	if err != nil {
		t.Fatalf("AT%s: %v", cmd, err)
	}
	mr, ok := resp.Value("+CMGS")
	if _, err := strconv.Atoi(mr); !ok || err != nil {
		t.Fatalf("+CMGS: %q", resp.Lines)
	}
	sent := r.dev.Sent()
	if len(sent) != 1 || sent[0].Text != "hello from the engine" || sent[0].Recipient != "+436641234567" {
		t.Fatalf("sent %+v", sent)
	}
	// A broken PDU: the modem rejects it after the body.
	_, err = r.e.SMSCommand(ctx(t), "+CMGS=5", "00FFFF")
	var cms *at.CMSError
	if !errors.As(err, &cms) || cms.Code != 304 {
		t.Errorf("bad PDU: %v, want +CMS ERROR: 304", err)
	}
	// And the engine is still in step.
	if got := r.cmd("+CGMI"); got[0] != device.DefaultManufacturer {
		t.Errorf("after SMS: %q", got)
	}
}

func TestSendSMSWithoutSMSC(t *testing.T) {
	r := newRig(t, device.Config{NoSMSC: true})
	r.initModem()
	cmd, body := submitBody(t, "+436641234567", "no smsc")
	_, err := r.e.SMSCommand(ctx(t), cmd, body)
	var cms *at.CMSError
	if !errors.As(err, &cms) || cms.Code != 330 || cms.Name != "SMSC address unknown" {
		t.Fatalf("got %v, want +CMS ERROR: 330", err)
	}
}

func TestIncomingSMSURCs(t *testing.T) {
	r := newRig(t, device.Config{})
	r.initModem()
	cmti := make(chan at.URC, 4)
	r.e.Handle("+CMTI", func(u at.URC) { cmti <- u })
	if _, err := r.dev.InjectSMS(device.IncomingSMS{From: "+436601111111", Text: "stored"}); err != nil {
		t.Fatal(err)
	}
	var u at.URC
	select {
	case u = <-cmti:
	case <-time.After(5 * time.Second):
		t.Fatal("no +CMTI")
	}
	idx := u.Value()[strings.LastIndexByte(u.Value(), ',')+1:]
	lines := r.cmd("+CMGR=" + idx)
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "+CMGR:") {
		t.Fatalf("AT+CMGR=%s: %q", idx, lines)
	}
	raw, err := hex.DecodeString(lines[1])
	if err != nil {
		t.Fatal(err)
	}
	_, tpdu, err := pdu.SplitSMSC(raw)
	if err != nil {
		t.Fatal(err)
	}
	d, err := pdu.DecodeDeliver(tpdu)
	if err != nil || d.UD.Text != "stored" {
		t.Fatalf("deliver %+v, %v", d, err)
	}

	// Direct delivery: +CMT with the PDU on its second line.
	cmt := make(chan at.URC, 4)
	r.e.Handle("+CMT", func(u at.URC) { cmt <- u })
	r.cmd("+CNMI=2,2,0,0,0")
	if _, err := r.dev.InjectSMS(device.IncomingSMS{From: "+436602222222", Text: "direct"}); err != nil {
		t.Fatal(err)
	}
	select {
	case u = <-cmt:
	case <-time.After(5 * time.Second):
		t.Fatal("no +CMT")
	}
	raw, err = hex.DecodeString(u.PDU)
	if err != nil {
		t.Fatalf("+CMT PDU %q: %v", u.PDU, err)
	}
	_, tpdu, _ = pdu.SplitSMSC(raw)
	if d, err := pdu.DecodeDeliver(tpdu); err != nil || d.UD.Text != "direct" {
		t.Fatalf("+CMT deliver %+v, %v", d, err)
	}
}

func TestFaultInterleavedURCs(t *testing.T) {
	r := newRig(t, device.Config{})
	r.initModem()
	zpasr := make(chan at.URC, 64)
	r.e.Handle("+ZPASR", func(u at.URC) { zpasr <- u })
	r.dev.SetFaults(device.Faults{InterleaveURC: true})
	for range 10 {
		if got := r.cmd("I"); len(got) < 3 || strings.Contains(strings.Join(got, "|"), "ZPASR") {
			t.Fatalf("ATI with interleaved URC: %q", got)
		}
		if got := r.value("+CSQ", "+CSQ"); got != "20,99" {
			t.Fatalf("+CSQ: %q", got)
		}
	}
	select {
	case <-zpasr:
	case <-time.After(5 * time.Second):
		t.Fatal("interleaved +ZPASR not dispatched")
	}
}

func TestFaultNoiseAndInjectedURC(t *testing.T) {
	r := newRig(t, device.Config{Seed: 7})
	r.initModem()
	r.dev.SetFaults(device.Faults{NoiseRate: 1})
	for i := range 20 {
		if got := r.cmd("+CGMI"); len(got) != 1 || got[0] != device.DefaultManufacturer {
			t.Fatalf("round %d with noise: %q", i, got)
		}
	}
	r.dev.SetFaults(device.Faults{})
	if err := r.dev.InjectNoise([]byte("\x00\x00\r\xff")); err != nil {
		t.Fatal(err)
	}
	if err := r.dev.InjectURC(`+ZDONR: "Magenta",232,3,"PS_ONLY","ROAM_OFF"`); err != nil {
		t.Fatal(err)
	}
	r.nextURC("+ZDONR")
	if got := r.cmd("+CGMI"); got[0] != device.DefaultManufacturer {
		t.Fatalf("after noise: %q", got)
	}
}

func TestFaultDelayTimeoutAndResync(t *testing.T) {
	r := newRig(t, device.Config{})
	r.initModem()
	// The modem answers later than the command waits (the timeout is an
	// upper bound the delay is made to exceed, not a measurement).
	r.dev.SetFaults(device.Faults{Delay: 400 * time.Millisecond})
	_, err := r.e.Command(ctx(t), "+CGSN", at.Timeout(20*time.Millisecond))
	if !errors.Is(err, at.ErrDeadlineExceeded) {
		t.Fatalf("got %v, want timeout", err)
	}
	r.dev.SetFaults(device.Faults{})
	// The IMEI comes late; AT+CGMI must still get its own answer.
	if got := r.cmd("+CGMI"); len(got) != 1 || got[0] != device.DefaultManufacturer {
		t.Fatalf("after timeout: %q", got)
	}
	for {
		u := <-r.urcs
		if u.Late && u.Line == device.DefaultIMEI {
			break // the late answer went to the default handler
		}
	}
}

func TestFaultHang(t *testing.T) {
	r := newRig(t, device.Config{}, at.WithResyncTimeout(300*time.Millisecond))
	r.initModem()
	r.dev.SetFaults(device.Faults{Hang: true})
	if _, err := r.e.Command(ctx(t), "+CSQ", at.Timeout(50*time.Millisecond)); !errors.Is(err, at.ErrDeadlineExceeded) {
		t.Fatalf("hung: %v", err)
	}
	if _, err := r.e.Command(ctx(t), "+CSQ"); !errors.Is(err, at.ErrOutOfSync) {
		t.Fatalf("still hung: %v, want ErrOutOfSync", err)
	}
	r.dev.SetFaults(device.Faults{})
	if got := r.value("+CSQ", "+CSQ"); got != "20,99" {
		t.Fatalf("recovered: %q", got)
	}
}

func TestFaultDropEcho(t *testing.T) {
	r := newRig(t, device.Config{})
	r.dev.SetFaults(device.Faults{DropEcho: true})
	r.initModem()
	r.cmd("E1")
	if got := r.cmd("+CGMI"); got[0] != device.DefaultManufacturer {
		t.Fatalf("%q", got)
	}
	r.dev.SetFaults(device.Faults{})
	if got := r.cmd("+CGMI"); len(got) != 1 || got[0] != device.DefaultManufacturer {
		t.Fatalf("echo back on: %q", got)
	}
}

func TestConcurrentCommandsOnPTY(t *testing.T) {
	r := newRig(t, device.Config{})
	r.initModem()
	r.dev.SetFaults(device.Faults{InterleaveURC: true})
	want := map[string]string{"+CGMI": device.DefaultManufacturer, "+CGSN": device.DefaultIMEI, "+CIMI": device.DefaultIMSI}
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := []string{"+CGMI", "+CGSN", "+CIMI"}[i%3]
			resp, err := r.e.Command(ctx(t), c)
			if err != nil || len(resp.Lines) != 1 || resp.Lines[0] != want[c] {
				t.Errorf("AT%s: %q, %v", c, resp.Lines, err)
			}
		}()
	}
	wg.Wait()
	// The modem saw one complete exchange at a time.
	for _, x := range r.dev.Transcript() {
		if strings.Count(x.Response, "OK") > 1 {
			t.Errorf("interleaved exchange %+v", x)
		}
	}
}

func TestUnplugStopsEngineAndReplugWorks(t *testing.T) {
	r := newRig(t, device.Config{})
	r.initModem()
	if err := r.sim.Unplug(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.e.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("engine did not stop on unplug")
	}
	if err := r.e.Err(); !errors.Is(err, at.ErrClosed) {
		t.Fatalf("Err() = %v", err)
	}
	if err := r.sim.Replug(); err != nil {
		t.Fatal(err)
	}
	r.connect()
	// Power-on state: echo is on again, the engine copes.
	if got := r.cmd("+CGMI"); len(got) != 1 || got[0] != device.DefaultManufacturer {
		t.Fatalf("after replug: %q", got)
	}
	r.initModem()
}
