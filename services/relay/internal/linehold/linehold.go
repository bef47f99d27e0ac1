// Package linehold keeps a client's unterminated bytes back from the modem
// until their line terminator arrives, so that a client that goes away in
// the middle of a line leaves nothing behind that the next client's first
// command would complete.
//
// A Holder passes on a client's bytes up to and including the last
// terminator seen: CR (0x0D) ends an AT command line, Ctrl-Z (0x1A) ends and
// ESC (0x1B) cancels an SMS body at the "> " prompt. The bytes after it are
// held until a later terminator releases them with it. A write that ends in
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

	held []byte
	out  []byte // held bytes joined with the releasing ones
}

// Feed takes the client's next bytes and returns those to write to the
// device now, in order: everything up to and including the last
// terminator in held+p, or all of it when more than Max would be held. The
// result may alias p or the Holder's buffer and is valid until the next
// call.
func (h *Holder) Feed(p []byte) []byte {
	limit := h.Max
	if limit <= 0 {
		limit = DefaultMax
	}
	i := len(p) - 1
	for i >= 0 && !IsTerminator(p[i]) {
		i--
	}
	if len(h.held) == 0 {
		if i == len(p)-1 {
			return p // the common case: nothing held, p ends a line
		}
		if len(p)-(i+1) > limit {
			return p
		}
		h.held = append(h.held, p[i+1:]...)
		return p[:i+1]
	}
	if i < 0 {
		if len(h.held)+len(p) > limit {
			h.out = append(append(h.out[:0], h.held...), p...)
			h.held = h.held[:0]
			return h.out
		}
		h.held = append(h.held, p...)
		return nil
	}
	h.out = append(append(h.out[:0], h.held...), p[:i+1]...)
	h.held = h.held[:0]
	if rest := p[i+1:]; len(rest) > limit {
		h.out = append(h.out, rest...)
	} else {
		h.held = append(h.held, rest...)
	}
	return h.out
}

// Held returns the bytes held back, without a terminator. The slice aliases
// the Holder's buffer until the next call.
func (h *Holder) Held() []byte { return h.held }

// Discard forgets the held bytes and returns them (for the log), valid
// until the next call.
func (h *Holder) Discard() []byte {
	d := h.held
	h.held = h.held[:0]
	return d
}
