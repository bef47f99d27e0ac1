package linehold

import (
	"bytes"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestFeed(t *testing.T) {
	type step struct{ in, out, held string }
	cases := []struct {
		name  string
		steps []step
	}{
		{"a command line goes straight through", []step{{"AT\r", "AT\r", ""}}},
		{"a body with Ctrl-Z goes straight through", []step{{"0011\x1a", "0011\x1a", ""}}},
		{"ESC cancels, and goes through", []step{{"00\x1b", "00\x1b", ""}}},
		{"an unterminated line is held", []step{{"AT+CFUN=0;", "", "AT+CFUN=0;"}}},
		{"held bytes go with their CR", []step{{"AT+CF", "", "AT+CF"}, {"UN?", "", "AT+CFUN?"}, {"\r", "AT+CFUN?\r", ""}}},
		{"up to the last terminator", []step{{"AT\rATI\rAT+C", "AT\rATI\r", "AT+C"}, {"GMI\rAT", "AT+CGMI\r", "AT"}}},
		{"typing one character at a time", []step{{"A", "", "A"}, {"T", "", "AT"}, {"\r", "AT\r", ""}}},
		{"empty input", []step{{"", "", ""}, {"AT", "", "AT"}, {"", "", "AT"}}},
		{"CRLF line ends", []step{{"AT\r\n", "AT\r\n", ""}, {"ATI\r", "ATI\r", ""}, {"\n", "\n", ""}, {"\nAT", "\n", "AT"}, {"\r\nA", "AT\r\n", "A"}}},
		{"an LF alone is no line end", []step{{"AT+CFUN=0;\n", "", "AT+CFUN=0;\n"}, {"\n", "", "AT+CFUN=0;\n\n"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var h Holder
			for i, s := range tc.steps {
				if got := string(h.Feed([]byte(s.in))); got != s.out {
					t.Fatalf("step %d: Feed(%q) = %q, want %q", i, s.in, got, s.out)
				}
				if got := string(h.Held()); got != s.held {
					t.Fatalf("step %d: held %q, want %q", i, got, s.held)
				}
			}
		})
	}
}

func TestBound(t *testing.T) {
	h := Holder{Max: 8}
	if got := h.Feed([]byte("ATD12345")); len(got) != 0 {
		t.Fatalf("8 bytes (the bound) released: %q", got)
	}
	// One more byte is beyond the bound: everything goes through.
	if got := string(h.Feed([]byte("6"))); got != "ATD123456" || len(h.Held()) != 0 {
		t.Fatalf("beyond the bound: released %q, held %q", got, h.Held())
	}
	// A long unterminated tail after a line goes through with it.
	if got := string(h.Feed([]byte("AT\r0123456789"))); got != "AT\r0123456789" || len(h.Held()) != 0 {
		t.Fatalf("long tail: released %q, held %q", got, h.Held())
	}
	if got := string(h.Feed([]byte("0123456789"))); got != "0123456789" {
		t.Fatalf("long unterminated write: released %q", got)
	}
}

func TestDiscard(t *testing.T) {
	var h Holder
	h.Feed([]byte("<x>AT+CFUN=0;"))
	if got := string(h.Discard()); got != "<x>AT+CFUN=0;" {
		t.Fatalf("discarded %q", got)
	}
	if got := string(h.Feed([]byte("ATE0\r"))); got != "ATE0\r" {
		t.Fatalf("after discard, Feed = %q: the discarded bytes came back", got)
	}
}

// FuzzFeed feeds a stream in chunks and checks the invariants: what is
// released, followed by what is held, is exactly the input so far (nothing
// lost, nothing reordered); every release ends in a terminator unless the
// bound forced it out; what is held has no terminator and stays within the
// bound.
func FuzzFeed(f *testing.F) {
	f.Add([]byte("AT+CMGS=23\r0011000B916407281553F80000AA0AE8329BFD4697D9EC37\x1a"), []byte{3, 7, 1, 40}, uint8(0))
	f.Add([]byte("<heartbeat>AT+CFUN=0;"), []byte{1}, uint8(4))
	f.Add([]byte("A\x1bB\rC\x1aD"), []byte{2, 2, 2}, uint8(2))
	f.Fuzz(func(t *testing.T, stream, cuts []byte, bound8 uint8) {
		h := Holder{Max: int(bound8)}
		bound := h.Max
		if bound == 0 {
			bound = DefaultMax
		}
		var released []byte
		rest, fed := stream, 0
		for i := 0; len(rest) > 0; i++ {
			n := len(rest)
			if len(cuts) > 0 {
				n = min(n, max(1, int(cuts[i%len(cuts)])))
			}
			chunk := rest[:n]
			rest = rest[n:]
			fed += n
			heldBefore := len(h.Held())
			out := h.Feed(chunk)
			if n := len(out); n > 0 && !IsTerminator(out[n-1]) && out[n-1] != '\n' && heldBefore+len(chunk) <= bound {
				t.Fatalf("released %q, which does not end a line, although it was within the bound", out)
			}
			released = append(released, out...)
			held := h.Held()
			if bytes.ContainsAny(held, "\r\x1a\x1b") {
				t.Fatalf("held %q contains a terminator", held)
			}
			if len(held) > bound {
				t.Fatalf("held %d bytes, bound %d", len(held), bound)
			}
			if got := append(append([]byte(nil), released...), held...); !bytes.Equal(got, stream[:fed]) {
				t.Fatalf("released+held = %q, want the input %q", got, stream[:fed])
			}
		}
	})
}

func BenchmarkFeedLine(b *testing.B) {
	var h Holder
	line := []byte("AT+CMGS=23\r")
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		h.Feed(line)
	}
}
