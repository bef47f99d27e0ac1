package at

// maxLine bounds a line: longer runs of bytes without a terminator are
// emitted in pieces of this size, so that a babbling port cannot make the
// engine buffer without limit. PDU lines are at most a few hundred bytes.
const maxLine = 4096

// tokenKind tells what the splitter found.
type tokenKind uint8

const (
	tokLine   tokenKind = iota // a line without its terminator
	tokPrompt                  // the "> " prompt of AT+CMGS/AT+CMGW (no terminator)
)

// token is one line or prompt. text aliases the splitter's buffer and is
// valid only during the emit call.
type token struct {
	kind tokenKind
	text []byte
	// tag is the splitter tag in effect when the first byte of the line
	// arrived; the engine uses it to tell lines that began before the
	// current command was sent.
	tag uint64
}

// splitter cuts a byte stream into lines. CR and LF both end a line, so
// CR LF, LF CR, a lone CR or a lone LF all work, and empty lines are
// dropped: stray terminators (noise) never produce tokens. Every other
// byte ends up in exactly one emitted token or is still pending; nothing
// is dropped. With prompt set, "> " at the start of a line is emitted as
// a prompt token at once, since the modem sends no terminator after it.
type splitter struct {
	buf    []byte
	tag    uint64 // tag of the line in buf
	prompt bool   // recognise the "> " prompt
}

// feed splits p, calling emit for each complete line or prompt. tag is
// recorded for lines whose first byte is in p.
func (s *splitter) feed(p []byte, tag uint64, emit func(token)) {
	for _, c := range p {
		switch c {
		case '\r', '\n':
			if len(s.buf) > 0 {
				emit(token{kind: tokLine, text: s.buf, tag: s.tag})
				s.buf = s.buf[:0]
			}
			continue
		}
		if len(s.buf) == 0 {
			s.tag = tag
		}
		s.buf = append(s.buf, c)
		switch {
		case s.prompt && len(s.buf) == 2 && s.buf[0] == '>' && c == ' ':
			emit(token{kind: tokPrompt, text: s.buf, tag: s.tag})
			s.buf = s.buf[:0]
		case len(s.buf) >= maxLine:
			emit(token{kind: tokLine, text: s.buf, tag: s.tag})
			s.buf = s.buf[:0]
		}
	}
}

// pending returns the bytes of the incomplete line.
func (s *splitter) pending() []byte { return s.buf }
