package sentinel

import (
	"bytes"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// model is the reference: the naive, obviously correct answer for the whole
// stream seen so far. out is what must have been released, held what must
// still be held back (the longest suffix after the last removed sentinel
// that is a proper prefix of the sentinel), found the sentinels removed.
func model(stream, pat []byte) (out, held []byte, found int) {
	var res []byte
	rest := stream
	for {
		i := bytes.Index(rest, pat)
		if i < 0 {
			break
		}
		res = append(res, rest[:i]...)
		rest = rest[i+len(pat):]
		found++
	}
	for n := min(len(rest), len(pat)-1); n > 0; n-- {
		if bytes.HasPrefix(pat, rest[len(rest)-n:]) {
			held = rest[len(rest)-n:]
			break
		}
	}
	res = append(res, rest[:len(rest)-len(held)]...)
	return res, held, found
}

// check feeds stream to a Stripper in chunks of the given sizes (cycled;
// zero sizes are empty chunks) and compares after every chunk with model.
func check(t *testing.T, pat, stream []byte, sizes []int) {
	t.Helper()
	s, err := New(pat)
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	total, pos := 0, 0
	for i := 0; pos < len(stream); i++ {
		n := 1
		if len(sizes) > 0 {
			n = sizes[i%len(sizes)]
		}
		if n == 0 && i > 4*len(stream)+len(sizes) {
			n = 1 // guarantee progress
		}
		n = min(n, len(stream)-pos)
		var f int
		out, f = s.Strip(out, stream[pos:pos+n])
		total += f
		pos += n
		wantOut, wantHeld, wantFound := model(stream[:pos], pat)
		if !bytes.Equal(out, wantOut) || !bytes.Equal(s.Pending(), wantHeld) || total != wantFound {
			t.Fatalf("pat %q stream %q after %d bytes (sizes %v):\n got out %q held %q found %d\nwant out %q held %q found %d",
				pat, stream, pos, sizes, out, s.Pending(), total, wantOut, wantHeld, wantFound)
		}
	}
	out = s.Flush(out)
	if want := bytes.ReplaceAll(stream, pat, nil); !bytes.Equal(out, want) {
		t.Fatalf("pat %q stream %q: after flush got %q, want %q", pat, stream, out, want)
	}
	if len(s.Pending()) != 0 {
		t.Fatalf("pending after flush: %q", s.Pending())
	}
}

func TestStripPlacements(t *testing.T) {
	hb := []byte("<heartbeat>")
	cases := []struct {
		name   string
		stream string
		want   string
		found  int
	}{
		{"alone", "<heartbeat>", "", 1},
		{"start", "<heartbeat>AT\r", "AT\r", 1},
		{"middle", "AT+CSQ<heartbeat>\r", "AT+CSQ\r", 1},
		{"end", "AT\r<heartbeat>", "AT\r", 1},
		{"twice in a row", "<heartbeat><heartbeat>", "", 2},
		{"almost", "<heartbeaX>", "<heartbeaX>", 0},
		{"restart inside", "<heart<heartbeat>", "<heart", 1},
		{"nested leftover", "<heart<heartbeat>beat>", "<heartbeat>", 1},
		{"lone lt", "AT<\r", "AT<\r", 0},
		{"binary", "\x00\xff<\x1a<heartbeat>\x1b", "\x00\xff<\x1a\x1b", 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, sizes := range [][]int{{len(c.stream)}, {1}, {2}, {3}, {5, 1}, {0, 4}} {
				s, _ := New(hb)
				var out []byte
				found := 0
				for pos, i := 0, 0; pos < len(c.stream); i++ {
					n := min(max(sizes[i%len(sizes)], 0), len(c.stream)-pos)
					if n == 0 && i > 100 {
						n = 1
					}
					var f int
					out, f = s.Strip(out, []byte(c.stream[pos:pos+n]))
					found += f
					pos += n
				}
				out = s.Flush(out)
				if string(out) != c.want || found != c.found {
					t.Errorf("sizes %v: got %q (%d), want %q (%d)", sizes, out, found, c.want, c.found)
				}
				check(t, hb, []byte(c.stream), sizes)
			}
		})
	}
}

func TestHeldOnlyUntilDecided(t *testing.T) {
	s, _ := New([]byte("<heartbeat>"))
	out, _ := s.Strip(nil, []byte("AT<"))
	if string(out) != "AT" || string(s.Pending()) != "<" {
		t.Fatalf("got out %q pending %q", out, s.Pending())
	}
	out, _ = s.Strip(out, []byte("h"))
	if string(out) != "AT" || string(s.Pending()) != "<h" {
		t.Fatalf("got out %q pending %q", out, s.Pending())
	}
	out, _ = s.Strip(out, []byte("x"))
	if string(out) != "AT<hx" || len(s.Pending()) != 0 {
		t.Fatalf("a deciding byte must release: got out %q pending %q", out, s.Pending())
	}
}

func TestSelfOverlappingSentinels(t *testing.T) {
	for _, pat := range []string{"aa", "aab", "abab", "aabaa", "abcab"} {
		for _, stream := range []string{"aaaa", "aaab", "aabaab", "ababab", "aabaabaa", "abcabcab", "xaabaaay", "abababab"} {
			for _, sizes := range [][]int{{1}, {2}, {3}, {100}} {
				check(t, []byte(pat), []byte(stream), sizes)
			}
		}
	}
}

func TestNewRejectsEmpty(t *testing.T) {
	if _, err := New(nil); err == nil {
		t.Fatal("New(nil) succeeded")
	}
}

// FuzzStrip compares the streaming Stripper with the reference model over
// arbitrary streams, chunkings and sentinels (a short sentinel from a small
// alphabet makes matches and self-overlaps frequent).
func FuzzStrip(f *testing.F) {
	f.Add([]byte("AT\r<heartbeat>AT+CSQ\r"), []byte{1, 3, 7}, "")
	f.Add([]byte("<heart<heartbeat>beat>"), []byte{0, 1, 2}, "")
	f.Add([]byte("aabaabaaab"), []byte{2}, "aab")
	f.Add([]byte("abababa"), []byte{1}, "aba")
	f.Fuzz(func(t *testing.T, stream, chunks []byte, pat string) {
		if pat == "" {
			pat = "<heartbeat>"
		}
		if len(pat) > 16 {
			pat = pat[:16]
		}
		sizes := make([]int, len(chunks))
		for i, c := range chunks {
			sizes[i] = int(c % 32)
		}
		check(t, []byte(pat), stream, sizes)
	})
}

func BenchmarkStrip(b *testing.B) {
	s, _ := New([]byte("<heartbeat>"))
	p := bytes.Repeat([]byte("AT+CMGS=23\r0011000B914306...<heartbeat>\x1a"), 100)
	dst := make([]byte, 0, len(p))
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		dst, _ = s.Strip(dst[:0], p)
	}
}
