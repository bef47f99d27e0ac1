package at

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

// ztE answers like the MF831 with echo off and CMEE=2.
func zte(line string) string {
	switch line {
	case "AT":
		return reply("OK")
	case "AT+CGMI":
		return reply("OK", "ZTE CORPORATION")
	case "ATI":
		return "\r\nManufacturer: ZTE CORPORATION\r\nModel: MF831\r\nRevision: BD_HOFATMF831V1.0.0B02\r\nIMEI: 866948015551230\r\n+GCAP: +CGSM\r\n\r\nOK\r\n"
	case "AT+CSQ":
		return reply("OK", "+CSQ: 20,99")
	case "AT+CREG?":
		return reply("OK", "+CREG: 0,1")
	case "AT+CPMS?":
		return reply("OK", `+CPMS: "ME", 0, 50, "ME", 0, 50, "ME", 0, 50`)
	case "AT+CMGL=4":
		return "\r\n+CMGL: 0,0,,23\r\n0011000B916407281553F80000AA0AE8329BFD4697D9EC37\r\n\r\nOK\r\n"
	case "AT+CMGL=1":
		return reply("OK")
	case "AT+CMGR=9":
		return reply("+CMS ERROR: 321")
	case "AT+CPIN?":
		return reply("+CME ERROR: SIM not inserted")
	case "AT+CMGS=23":
		return "\r\n> "
	case "\x1a0011000B916407281553F80000AA0AE8329BFD4697D9EC37":
		return reply("OK", "+CMGS: 7")
	case "\x1b0011000B916407281553F80000AA0AE8329BFD4697D9EC37":
		return reply("OK")
	}
	return reply("ERROR")
}

func TestCommandOK(t *testing.T) {
	e, _ := start(t, zte)
	tests := []struct {
		cmd  string
		want []string
	}{
		{"", nil},
		{"+CGMI", []string{"ZTE CORPORATION"}},
		{"I", []string{"Manufacturer: ZTE CORPORATION", "Model: MF831", "Revision: BD_HOFATMF831V1.0.0B02", "IMEI: 866948015551230", "+GCAP: +CGSM"}},
		{"+CSQ", []string{"+CSQ: 20,99"}},
		{"+CREG?", []string{"+CREG: 0,1"}},
		{"+CPMS?", []string{`+CPMS: "ME", 0, 50, "ME", 0, 50, "ME", 0, 50`}},
		{"+CMGL=4", []string{"+CMGL: 0,0,,23", "0011000B916407281553F80000AA0AE8329BFD4697D9EC37"}},
		{"+CMGL=1", nil},
	}
	for _, tc := range tests {
		r, err := e.Command(ctx5(t), tc.cmd)
		if err != nil {
			t.Fatalf("AT%s: %v", tc.cmd, err)
		}
		if !slices.Equal(r.Lines, tc.want) {
			t.Errorf("AT%s: lines %q, want %q", tc.cmd, r.Lines, tc.want)
		}
	}
	r, _ := e.Command(ctx5(t), "+CSQ")
	if v, ok := r.Value("+csq"); !ok || v != "20,99" {
		t.Errorf("Value(+CSQ) = %q, %v", v, ok)
	}
}

func TestCommandErrors(t *testing.T) {
	answers := map[string]string{
		"AT+A": reply("ERROR"),
		"AT+B": reply("+CME ERROR: 10"),
		"AT+C": reply("+CME ERROR: SIM not inserted"),
		"AT+D": reply("+CMS ERROR: 330"),
		"AT+E": reply("+CMS ERROR: SMSC address unknown"),
		"AT+F": reply("+CME ERROR: 100"),
		"AT+G": reply("+CME ERROR: unknown"),
		"AT+H": reply("+CME ERROR: frobnicated"),
		"AT+I": reply("+CMS ERROR: 21"),
		"AT+J": reply("+CMS ERROR: 500"),
		"AT+K": reply("+CME ERROR: network not allowed, emergency calls only"),
		"AT+L": reply("NO CARRIER"),
	}
	e, _ := start(t, func(l string) string { return answers[l] })
	tests := []struct {
		cmd  string
		want error
	}{
		{"+A", ErrError},
		{"+B", &CMEError{10, "SIM not inserted"}},
		{"+C", &CMEError{10, "SIM not inserted"}},
		{"+D", &CMSError{330, "SMSC address unknown"}},
		{"+E", &CMSError{330, "SMSC address unknown"}},
		{"+F", &CMEError{100, "unknown"}},
		{"+G", &CMEError{100, "unknown"}},
		{"+H", &CMEError{-1, "frobnicated"}},
		{"+I", &CMSError{21, "short message transfer rejected"}},
		{"+J", &CMSError{500, "unknown error"}},
		{"+K", &CMEError{32, "network not allowed - emergency calls only"}},
		{"+L", &FinalError{"NO CARRIER"}},
	}
	for _, tc := range tests {
		_, err := e.Command(ctx5(t), tc.cmd)
		switch want := tc.want.(type) {
		case *CMEError:
			var got *CMEError
			if !errors.As(err, &got) || *got != *want {
				t.Errorf("AT%s: %v, want %v", tc.cmd, err, want)
			}
		case *CMSError:
			var got *CMSError
			if !errors.As(err, &got) || *got != *want {
				t.Errorf("AT%s: %v, want %v", tc.cmd, err, want)
			}
		case *FinalError:
			var got *FinalError
			if !errors.As(err, &got) || *got != *want {
				t.Errorf("AT%s: %v, want %v", tc.cmd, err, want)
			}
		default:
			if !errors.Is(err, tc.want) {
				t.Errorf("AT%s: %v, want %v", tc.cmd, err, tc.want)
			}
		}
		if err != nil && !strings.Contains(err.Error(), "AT"+tc.cmd) {
			t.Errorf("error %q does not name the command", err)
		}
	}
}

func TestEchoOn(t *testing.T) {
	e, m := start(t, zte)
	m.echo = true // before any command: power-on state
	r, err := e.Command(ctx5(t), "+CGMI")
	if err != nil || !slices.Equal(r.Lines, []string{"ZTE CORPORATION"}) {
		t.Fatalf("echo on: %q, %v", r.Lines, err)
	}
	// Echo of a command whose name also heads its answer.
	r, err = e.Command(ctx5(t), "+CSQ")
	if err != nil || !slices.Equal(r.Lines, []string{"+CSQ: 20,99"}) {
		t.Fatalf("echo on: %q, %v", r.Lines, err)
	}
	if _, err := e.Command(ctx5(t), "E0"); err != nil {
		t.Fatal(err)
	}
	r, err = e.Command(ctx5(t), "+CGMI")
	if err != nil || !slices.Equal(r.Lines, []string{"ZTE CORPORATION"}) {
		t.Fatalf("echo off: %q, %v", r.Lines, err)
	}
}

const submitPDU = "0011000B916407281553F80000AA0AE8329BFD4697D9EC37"

func TestSMSCommand(t *testing.T) {
	for _, echo := range []bool{false, true} {
		e, m := start(t, zte)
		m.echo = echo
		r, err := e.SMSCommand(ctx5(t), "+CMGS=23", submitPDU)
		if err != nil {
			t.Fatalf("echo %v: %v", echo, err)
		}
		if v, _ := r.Value("+CMGS"); v != "7" || len(r.Lines) != 1 {
			t.Errorf("echo %v: lines %q", echo, r.Lines)
		}
		if got := m.received(); !slices.Equal(got, []string{"AT+CMGS=23", "\x1a" + submitPDU}) {
			t.Errorf("echo %v: modem got %q", echo, got)
		}
	}
}

func TestSMSCommandNoPrompt(t *testing.T) {
	e, m := start(t, func(l string) string {
		switch l {
		case "AT+CMGS=23":
			return reply("+CMS ERROR: 330")
		case "AT+CMGS=24":
			return reply("OK")
		}
		return reply("OK")
	})
	_, err := e.SMSCommand(ctx5(t), "+CMGS=23", submitPDU)
	var cms *CMSError
	if !errors.As(err, &cms) || cms.Code != 330 {
		t.Fatalf("got %v, want +CMS ERROR: 330", err)
	}
	if _, err := e.SMSCommand(ctx5(t), "+CMGS=24", submitPDU); !errors.Is(err, ErrPrompt) {
		t.Fatalf("got %v, want ErrPrompt", err)
	}
	if _, err := e.Command(ctx5(t), ""); err != nil {
		t.Fatal(err)
	}
	if got := m.received(); !slices.Equal(got, []string{"AT+CMGS=23", "AT+CMGS=24", "AT"}) {
		t.Errorf("modem got %q: the body must never be sent", got)
	}
}

func TestURCs(t *testing.T) {
	var e *Engine
	var m *fakeModem
	e, m = start(t, func(l string) string {
		switch l {
		case "AT+CSQ":
			// URCs between lines and in the middle of the response.
			return "\r\n+CSQ: 20,99\r\n\r\n+CMTI: \"SM\",5\r\n\r\n+CREG: 1\r\n\r\nOK\r\n"
		case "AT+CREG?":
			return "\r\n+CREG: 0,1\r\n\r\n+ZPASR: \"LTE\"\r\n\r\nOK\r\n"
		case "AT+CMGL=4":
			return "\r\n+CMGL: 0,0,,23\r\n\r\n+CMT: ,23\r\n" + submitPDU + "\r\n" + submitPDU + "\r\n\r\nOK\r\n"
		}
		return reply("OK")
	})
	rec := newRecorder()
	for _, n := range []string{"+CMTI", "+CREG", "+ZPASR", "+CMT", "+CDS", "RING", "+ZUSIMR"} {
		e.Handle(n, rec.handle)
	}
	r, err := e.Command(ctx5(t), "+CSQ")
	if err != nil || !slices.Equal(r.Lines, []string{"+CSQ: 20,99"}) {
		t.Fatalf("AT+CSQ: %q, %v", r.Lines, err)
	}
	if u := rec.next(t); u.Name != "+CMTI" || u.Value() != `"SM",5` {
		t.Errorf("URC %+v", u)
	}
	if u := rec.next(t); u.Name != "+CREG" || u.Line != "+CREG: 1" {
		t.Errorf("URC %+v", u)
	}
	r, err = e.Command(ctx5(t), "+CREG?")
	if err != nil || !slices.Equal(r.Lines, []string{"+CREG: 0,1"}) {
		t.Fatalf("AT+CREG?: %q, %v", r.Lines, err)
	}
	if u := rec.next(t); u.Name != "+ZPASR" {
		t.Errorf("URC %+v", u)
	}
	r, err = e.Command(ctx5(t), "+CMGL=4")
	if err != nil || !slices.Equal(r.Lines, []string{"+CMGL: 0,0,,23", submitPDU}) {
		t.Fatalf("AT+CMGL=4: %q, %v", r.Lines, err)
	}
	if u := rec.next(t); u.Name != "+CMT" || u.PDU != submitPDU || u.Value() != ",23" {
		t.Errorf("URC %+v", u)
	}
	// Idle URCs, two-line +CDS, no space after the colon.
	m.inject("\r\nRING\r\n\r\n+CDS: 25\r\n07911326040000F0060B911326880736F4111011719551401110117195714000\r\n\r\n+ZUSIMR:2\r\n")
	if u := rec.next(t); u.Name != "RING" {
		t.Errorf("URC %+v", u)
	}
	if u := rec.next(t); u.Name != "+CDS" || !strings.HasPrefix(u.PDU, "0791") {
		t.Errorf("URC %+v", u)
	}
	if u := rec.next(t); u.Name != "+ZUSIMR" || u.Value() != "2" {
		t.Errorf("URC %+v", u)
	}
}

func TestDefaultHandler(t *testing.T) {
	rec := newRecorder()
	e, m := start(t, zte, WithDefaultHandler(rec.handle))
	m.inject("\r\n+ZDONR: \"Orange\",234,33,\"CS_PS\",\"ROAM_OFF\"\r\n")
	if u := rec.next(t); u.Name != "+ZDONR" || u.Late {
		t.Errorf("unhandled known URC: %+v", u)
	}
	m.inject("\r\nYour heartbeat timeout elapsed\r\n")
	if u := rec.next(t); u.Name != "" || u.Line != "Your heartbeat timeout elapsed" || u.Late {
		t.Errorf("unknown line: %+v", u)
	}
	if _, err := e.Command(ctx5(t), "+CGMI"); err != nil {
		t.Fatal(err)
	}
}

func TestNoise(t *testing.T) {
	rec := newRecorder()
	e, m := start(t, func(l string) string {
		switch l {
		case "AT+CGMI":
			// NULs, lone CRs and LFs between and around lines.
			return "\x00\r\r\nZTE CORPORATION\r\n\x00\r\n\n\rOK\r\n"
		case "AT+CSQ":
			return reply("OK", "+CSQ: 20,99") + "\x8f\xfe\x03"
		}
		return reply("OK")
	}, WithDefaultHandler(rec.handle))
	r, err := e.Command(ctx5(t), "+CGMI")
	if err != nil || !slices.Equal(r.Lines, []string{"ZTE CORPORATION"}) {
		t.Fatalf("%q, %v", r.Lines, err)
	}
	// Garbage after a final, no terminator: it began before the next
	// command was sent, so it must not become part of that response.
	if _, err := e.Command(ctx5(t), "+CSQ"); err != nil {
		t.Fatal(err)
	}
	m.inject("\xaa\xbb")
	r, err = e.Command(ctx5(t), "+CGMI")
	if err != nil || !slices.Equal(r.Lines, []string{"ZTE CORPORATION"}) {
		t.Fatalf("%q, %v", r.Lines, err)
	}
	if u := rec.next(t); u.Line != "\x8f\xfe\x03\xaa\xbb" {
		t.Errorf("noise line %q", u.Line)
	}
}

func TestHeartbeatNeverSplitsALine(t *testing.T) {
	e, m := start(t, zte)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		for ctx.Err() == nil {
			if err := e.WriteRaw([]byte(heartbeat)); err != nil {
				return
			}
		}
	}()
	for range 50 {
		if _, err := e.SMSCommand(ctx5(t), "+CMGS=23", submitPDU); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Command(ctx5(t), "+CSQ"); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	<-hbDone
	raw := m.rawReceived()
	// The stream must be a sequence of whole heartbeats and whole lines.
	for len(raw) > 0 {
		switch {
		case strings.HasPrefix(raw, heartbeat):
			raw = raw[len(heartbeat):]
		case strings.HasPrefix(raw, "AT+CMGS=23\r"):
			raw = raw[len("AT+CMGS=23\r"):]
		case strings.HasPrefix(raw, submitPDU+"\x1a"):
			raw = raw[len(submitPDU)+1:]
		case strings.HasPrefix(raw, "AT+CSQ\r"):
			raw = raw[len("AT+CSQ\r"):]
		default:
			t.Fatalf("stream broken at %q", raw[:min(len(raw), 40)])
		}
	}
}

func TestReadErrorStopsEngine(t *testing.T) {
	m, conn := newFake(t, zte)
	e := New(context.Background(), conn, WithDefaultHandler(func(URC) {}))
	defer e.Close()
	_ = m.conn.Close() // the relay hangs up
	<-e.Done()
	if err := e.Err(); !errors.Is(err, ErrClosed) || !errors.Is(err, io.EOF) {
		t.Errorf("Err() = %v, want ErrClosed and io.EOF", err)
	}
	if _, err := e.Command(ctx5(t), ""); !errors.Is(err, ErrClosed) {
		t.Errorf("command after stop: %v", err)
	}
}

func TestContextEndsEngine(t *testing.T) {
	_, conn := newFake(t, zte)
	ctx, cancel := context.WithCancel(context.Background())
	e := New(ctx, conn)
	cancel()
	<-e.Done()
	if err := e.Err(); !errors.Is(err, ErrClosed) {
		t.Errorf("Err() = %v", err)
	}
}

// TestNoiseFramingRace drives the classifier directly with the worst
// chunking: the LF of the previous final arrives after the next command
// was sent, followed by noise, then the real answer.
func TestNoiseFramingRace(t *testing.T) {
	e := bareEngine()
	a := &request{line: "AT+CSQ", names: []string{"+CSQ"}, done: make(chan struct{})}
	e.epoch, e.cur = 1, a
	e.process([]byte("\r\n+CSQ: 20,99\r\n\r\nOK\r"), time.Time{})
	b := &request{line: "AT+CGMI", done: make(chan struct{})}
	e.epoch, e.cur = 2, b
	e.process([]byte("\n\x91\xef"), time.Time{})
	e.process([]byte("\r\nZTE CORPORATION\r\n\r\nOK\r\n"), time.Time{})
	if !slices.Equal(a.lines, []string{"+CSQ: 20,99"}) || !slices.Equal(b.lines, []string{"ZTE CORPORATION"}) {
		t.Fatalf("a %q, b %q", a.lines, b.lines)
	}
	if len(e.queue) != 1 || e.queue[0].Line != "\x91\xef" {
		t.Fatalf("noise not reported: %+v", e.queue)
	}
}

func TestTwoLineURCWithoutSecondLine(t *testing.T) {
	e, _ := start(t, func(l string) string {
		return "\r\n+CMT: ,23\r\n\r\nOK\r\n" // broken: no PDU line
	})
	rec := newRecorder()
	e.Handle("+CMT", rec.handle)
	if _, err := e.Command(ctx5(t), "+CSQ"); err != nil {
		t.Fatalf("the final was taken for a PDU: %v", err)
	}
	if u := rec.next(t); u.Name != "+CMT" || u.PDU != "" {
		t.Errorf("URC %+v", u)
	}
}
