// Package escape renders the bytes of a serial line readably and reversibly,
// in the format of the original relay's log: printable ASCII (0x20–0x7E) as
// is, CR, LF and TAB as \r, \n and \t, and every other byte as \xHH with
// upper-case hex. The backslash itself is written as \x5C, so that a
// backslash in the output always starts an escape and the original bytes
// can be recovered exactly.
package escape

const hexDigits = "0123456789ABCDEF"

// Append appends the escaped form of p to dst and returns the extended
// slice; it allocates only when dst has no room.
func Append(dst, p []byte) []byte {
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

// String returns the escaped form of p.
func String(p []byte) string {
	return string(Append(make([]byte, 0, len(p)+8), p))
}
