package escape

import (
	"bytes"
	"strconv"
	"testing"
)

func TestString(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"AT+CMGF=1\r\n", `AT+CMGF=1\r\n`},
		{"\r\n> ", `\r\n> `},
		{"Hello World!\x1a", `Hello World!\x1A`},
		{"a\\b\tc", `a\x5Cb\tc`},
		{"\x00\x7f\x80\xff", `\x00\x7F\x80\xFF`},
		{"ü", `\xC3\xBC`},
		{"", ""},
	} {
		if got := String([]byte(c.in)); got != c.want {
			t.Errorf("String(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// FuzzAppend checks that the output is printable ASCII and that the bytes
// can be recovered from it.
func FuzzAppend(f *testing.F) {
	f.Add([]byte("AT\r\r\nOK\r\n"))
	f.Add([]byte{0, '\\', 0x1a, 0xff})
	f.Fuzz(func(t *testing.T, p []byte) {
		out := Append([]byte("prefix "), p)
		if !bytes.HasPrefix(out, []byte("prefix ")) {
			t.Fatal("Append lost dst")
		}
		out = out[len("prefix "):]
		for _, b := range out {
			if b < 0x20 || b > 0x7E {
				t.Fatalf("output byte %#x is not printable", b)
			}
		}
		// \xHH, \r, \n and \t are also Go string escapes, and no other
		// backslash sequence occurs, so strconv.Unquote recovers the bytes.
		back, err := strconv.Unquote(`"` + string(bytes.ReplaceAll(out, []byte(`"`), []byte(`\x22`))) + `"`)
		if err != nil {
			t.Fatalf("unquote %q: %v", out, err)
		}
		if back != string(p) {
			t.Fatalf("recovered %q, want %q", back, p)
		}
	})
}

func BenchmarkAppend(b *testing.B) {
	p := []byte("\r\n+CMGL: 0,0,,23\r\n07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37\r\n\r\nOK\r\n")
	buf := make([]byte, 0, 256)
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		buf = Append(buf[:0], p)
	}
}
