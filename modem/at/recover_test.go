package at

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// recoverBytes is what Recover writes, exactly: ESC CR, the resync line
// with its probe value, the probe's read.
var recoverBytes = regexp.MustCompile(`^\x1b\rATQ0V1E0S7=([1-9][0-9]{1,2})\rATS7\?\r$`)

// checkRecovered checks the exact bytes Recover wrote and that the next
// command gets its own answer.
func checkRecovered(t *testing.T, e *Engine, m *fakeModem) {
	t.Helper()
	raw := m.rawReceived()
	if mm := recoverBytes.FindStringSubmatch(raw); mm == nil {
		t.Fatalf("Recover wrote %q, want ESC CR, ATQ0V1E0S7=<n> CR, ATS7? CR", raw)
	}
	if !e.InSync() {
		t.Fatal("not in sync after Recover")
	}
	r, err := e.Command(ctx5(t), "+CGMI")
	if err != nil || !slices.Equal(r.Lines, []string{"ZTE CORPORATION"}) {
		t.Fatalf("AT+CGMI after Recover: %q, %v", r.Lines, err)
	}
}

// The previous client died between AT+CMGS=<n> and the body: the modem
// waits at "> " with echo on. The ESC cancels the prompt (the modem answers
// the cancelled command with OK) and nothing the engine sends becomes
// message text.
func TestRecoverFromOpenPrompt(t *testing.T) {
	e, m := startIn(t, fakeState{echo: true, prompt: true}, zte)
	if err := e.Recover(ctx5(t)); err != nil {
		t.Fatal(err)
	}
	checkRecovered(t, e, m)
	lines := m.received()
	if lines[0] != "\x1b" {
		t.Errorf("first input the modem took: %q, want the ESC that cancels the prompt", lines[0])
	}
	for _, l := range lines {
		if strings.HasPrefix(l, "\x1a") {
			t.Errorf("something was submitted as an SMS body: %q", l)
		}
	}
}

// ATV0 (numeric result codes) and ATQ1 (none), with and without echo,
// with and without an open prompt: Recover restores the framing.
func TestRecoverFromNumericAndQuiet(t *testing.T) {
	for _, st := range []fakeState{
		{numeric: true}, {numeric: true, echo: true}, {quiet: true}, {quiet: true, echo: true},
		{numeric: true, quiet: true, echo: true, prompt: true}, {numeric: true, prompt: true},
	} {
		t.Run(fmtState(st), func(t *testing.T) {
			e, m := startIn(t, st, zte)
			if err := e.Recover(ctx5(t)); err != nil {
				t.Fatal(err)
			}
			checkRecovered(t, e, m)
		})
	}
}

func fmtState(st fakeState) string {
	b := func(n string, v bool) string {
		if v {
			return n + " "
		}
		return ""
	}
	return strings.TrimSpace(b("echo", st.echo) + b("numeric", st.numeric) + b("quiet", st.quiet) + b("prompt", st.prompt))
}

// A modem in its power-on state ignores ESC CR (a line without AT).
func TestRecoverCleanModem(t *testing.T) {
	e, m := startIn(t, fakeState{echo: true}, zte)
	if err := e.Recover(ctx5(t)); err != nil {
		t.Fatal(err)
	}
	checkRecovered(t, e, m)
	if got := m.received(); len(got) != 3 || !strings.HasPrefix(got[0], "ATQ0V1E0S7=") || got[1] != "ATS7?" {
		t.Errorf("lines the modem executed: %q, want the resync line, the probe, AT+CGMI", got)
	}
}

// In sync, a numeric "0" is information text, not a final: only a
// recovering engine takes it as one.
func TestNumericZeroIsTextInSync(t *testing.T) {
	e, _ := start(t, func(l string) string {
		if l == "AT+ZNUM" {
			return reply("OK", "0")
		}
		return zte(l)
	})
	r, err := e.Command(ctx5(t), "+ZNUM")
	if err != nil || !slices.Equal(r.Lines, []string{"0"}) {
		t.Fatalf("%q, %v", r.Lines, err)
	}
}
