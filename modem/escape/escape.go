// Package escape renders the bytes of a serial line readably and reversibly,
// in the format of the original relay's log: printable ASCII (0x20–0x7E) as
// is, CR, LF and TAB as \r, \n and \t, and every other byte as \xHH with
// upper-case hex. The backslash itself is written as \x5C, so that a
// backslash in the output always starts an escape and the original bytes
// can be recovered exactly.
package escape

const hexDigits = "0123456789ABCDEF"

// plain marks the bytes written as they are: printable ASCII but the
// backslash.
var plain = func() (t [256]bool) {
	for b := 0x20; b <= 0x7E; b++ {
		t[b] = b != '\\'
	}
	return t
}()

// Append appends the escaped form of p to dst and returns the extended
// slice; it allocates only when dst has no room. Runs of plain bytes (most
// of an AT line) are copied in one piece, not byte by byte.
func Append(dst, p []byte) []byte {
	if cap(dst)-len(dst) < len(p)+8 {
		// Room for the usual case (few escapes) at once.
		grown := make([]byte, len(dst), len(dst)+len(p)+len(p)/2+16)
		copy(grown, dst)
		dst = grown
	}
	run := 0 // start of the current run of plain bytes
	for i, b := range p {
		if plain[b] {
			continue
		}
		if run < i {
			dst = append(dst, p[run:i]...)
		}
		run = i + 1
		switch b {
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'x', hexDigits[b>>4], hexDigits[b&0x0F])
		}
	}
	return append(dst, p[run:]...)
}

// String returns the escaped form of p.
func String(p []byte) string {
	return string(Append(nil, p))
}
