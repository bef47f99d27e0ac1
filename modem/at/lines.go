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
	// arrived, termTag the one in effect when the terminator before it
	// arrived (0 at the start of the stream). The engine tags bytes with
	// the command they may answer, so it can tell lines that began, or
	// whose framing began, before the command was sent.
	tag, termTag uint64
}

// splitter cuts a byte stream into lines. CR and LF both end a line, so
// CR LF, LF CR, a lone CR or a lone LF all work, and empty lines are
// dropped: stray terminators (noise) never produce tokens. Every other
// byte ends up in exactly one emitted token or is still pending; nothing
// is dropped. With prompt set, "> " at the start of a line is emitted as
// a prompt token at once, since the modem sends no terminator after it.
type splitter struct {
	buf      []byte
	tag      uint64 // tag of the line in buf
	termTag  uint64 // tag of the terminator before the line in buf
	lastTerm uint64 // tag of the last terminator seen (the CR of a CR LF)
	afterCR  bool   // the last byte was CR
	prompt   bool   // recognise the "> " prompt
}

// feed splits p, calling emit for each complete line or prompt. tag is
// recorded for lines whose first byte is in p.
func (s *splitter) feed(p []byte, tag uint64, emit func(token)) {
	for _, c := range p {
		switch c {
		case '\r', '\n':
			if len(s.buf) > 0 {
				emit(token{kind: tokLine, text: s.buf, tag: s.tag, termTag: s.termTag})
				s.buf = s.buf[:0]
			}
			if c == '\r' || !s.afterCR {
				// The LF of a CR LF belongs to the CR: if a command is
				// sent between the two, the LF does not frame it.
				s.lastTerm = tag
			}
			s.afterCR = c == '\r'
			continue
		}
		s.afterCR = false
		if len(s.buf) == 0 {
			s.tag, s.termTag = tag, s.lastTerm
		}
		s.buf = append(s.buf, c)
		switch {
		case s.prompt && len(s.buf) == 2 && s.buf[0] == '>' && c == ' ':
			emit(token{kind: tokPrompt, text: s.buf, tag: s.tag, termTag: s.termTag})
			s.buf = s.buf[:0]
		case len(s.buf) >= maxLine:
			emit(token{kind: tokLine, text: s.buf, tag: s.tag, termTag: s.termTag})
			s.buf = s.buf[:0]
			s.lastTerm = tag // an overlong line is cut as if terminated
		}
	}
}

// pending returns the bytes of the incomplete line.
func (s *splitter) pending() []byte { return s.buf }
