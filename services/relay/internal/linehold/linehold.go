// Package linehold keeps a client's unterminated bytes back from the modem
// until their line terminator arrives, so that a client that goes away in
// the middle of a line leaves nothing behind that the next client's first
// command would complete.
//
// A Holder passes on a client's bytes up to and including the last
// terminator seen: CR (0x0D) ends an AT command line, Ctrl-Z (0x1A) ends and
// ESC (0x1B) cancels an SMS body at the "> " prompt; LFs right after a
// terminator (CRLF line ends) go with it. The bytes after it are held until
// a later terminator releases them with it. A write that ends in
// a terminator (a command line, a body with its Ctrl-Z) goes straight
// through. When the client goes away, Discard drops what is held.
//
// Held bytes are bounded: beyond Max bytes without a terminator (far more
// than any AT line or SMS body) everything held is passed on as it is, so
// that a client streaming something else still reaches the device.
package linehold

// DefaultMax is the default bound of held bytes, 4 KiB: an AT command line
// is at most a few hundred bytes, an SMS PDU body at most 2 × 176.
const DefaultMax = 4096

// IsTerminator reports whether b ends (CR, Ctrl-Z) or cancels (ESC) a line.
func IsTerminator(b byte) bool { return b == '\r' || b == 0x1A || b == 0x1B }

// Holder holds one client's unterminated bytes. It is not safe for
// concurrent use; the zero value holds up to DefaultMax bytes.
type Holder struct {
	// Max bounds the held bytes; 0 means DefaultMax.
	Max int

	held      []byte
	out       []byte // held bytes joined with the releasing ones
	atLineEnd bool   // nothing is held and the last byte released ended a line
}

// Feed takes the client's next bytes and returns those to write to the
// device now, in order: everything up to and including the last
// terminator in held+p, with the LFs right after it (a CRLF client such as
// nc -C ends its lines so), or all of it when more than Max would be held.
// The result may alias p or the Holder's buffer and is valid until the
// next call.
func (h *Holder) Feed(p []byte) []byte {
	if len(p) == 0 {
		return nil
	}
	limit := h.Max
	if limit <= 0 {
		limit = DefaultMax
	}
	end := h.lineEnd(p)
	left := len(p) - end // what would be held
	if end == 0 {
		left += len(h.held)
	}
	if end == len(p) || left > limit {
		// All of it goes: p ends a line (the common case, with nothing
		// held: p itself), or it is beyond the bound.
		h.atLineEnd = end == len(p)
		if len(h.held) == 0 {
			return p
		}
		h.out = append(append(h.out[:0], h.held...), p...)
		h.held = h.held[:0]
		return h.out
	}
	var out []byte
	if end > 0 {
		out = p[:end]
		if len(h.held) > 0 {
			h.out = append(append(h.out[:0], h.held...), p[:end]...)
			out = h.out
			h.held = h.held[:0]
		}
	}
	h.held = append(h.held, p[end:]...)
	h.atLineEnd = false
	return out
}

// lineEnd returns how many bytes of p end a line: up to the last
// terminator and the LFs right after it, or the leading LFs of p when the
// previous bytes ended a line; 0 if none.
func (h *Holder) lineEnd(p []byte) int {
	i := len(p) - 1
	for i >= 0 && !IsTerminator(p[i]) {
		i--
	}
	if i < 0 && !(h.atLineEnd && len(h.held) == 0) {
		return 0
	}
	j := i + 1
	for j < len(p) && p[j] == '\n' {
		j++
	}
	return j
}

// Held returns the bytes held back. The slice aliases the Holder's buffer
// until the next call.
func (h *Holder) Held() []byte { return h.held }

// Discard forgets the held bytes and returns them (for the log), valid
// until the next call.
func (h *Holder) Discard() []byte {
	d := h.held
	h.held = h.held[:0]
	h.atLineEnd = false
	return d
}
