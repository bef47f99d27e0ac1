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
		if ref := appendByteByByte(nil, p); !bytes.Equal(out, ref) {
			t.Fatalf("Append(%q) = %q, the byte-by-byte reference gives %q", p, out, ref)
		}
	})
}

// appendByteByByte is the original escaper, one byte at a time: Append
// must give exactly its output.
func appendByteByByte(dst, p []byte) []byte {
	for _, b := range p {
		switch {
		case b == '\r':
			dst = append(dst, '\\', 'r')
		case b == '\n':
			dst = append(dst, '\\', 'n')
		case b == '\t':
			dst = append(dst, '\\', 't')
		case b == '\\' || b < 0x20 || b > 0x7E:
			dst = append(dst, '\\', 'x', hexDigits[b>>4], hexDigits[b&0x0F])
		default:
			dst = append(dst, b)
		}
	}
	return dst
}

func TestAppendMatchesReferenceOnEveryByte(t *testing.T) {
	all := make([]byte, 0, 3*256)
	for i := range 256 {
		all = append(all, 'A', byte(i), byte(255-i))
	}
	if got, want := Append([]byte("x"), all), appendByteByByte([]byte("x"), all); !bytes.Equal(got, want) {
		t.Fatalf("Append differs from the reference:\n got %q\nwant %q", got, want)
	}
}

// BenchmarkAppend escapes a typical modem answer (a PDU listing) and a
// 4 KiB block of every byte value (a worst case), with Append and with the
// byte-by-byte reference for comparison.
func BenchmarkAppend(b *testing.B) {
	binary := make([]byte, 4096)
	for i := range binary {
		binary[i] = byte(i)
	}
	inputs := []struct {
		name string
		p    []byte
	}{
		{"pdu", []byte("\r\n+CMGL: 0,0,,23\r\n07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37\r\n\r\nOK\r\n")},
		{"binary", binary},
	}
	for _, in := range inputs {
		for _, f := range []struct {
			name string
			fn   func(dst, p []byte) []byte
		}{{"bulk", Append}, {"reference", appendByteByByte}} {
			b.Run(in.name+"/"+f.name, func(b *testing.B) {
				buf := make([]byte, 0, 4*len(in.p))
				b.SetBytes(int64(len(in.p)))
				for b.Loop() {
					buf = f.fn(buf[:0], in.p)
				}
			})
		}
	}
}
