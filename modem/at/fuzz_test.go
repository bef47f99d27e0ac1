package at

import (
	"bytes"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"
)

var fuzzSeeds = []string{
	"\r\nOK\r\n",
	"AT+CGMI\r\r\nZTE CORPORATION\r\n\r\nOK\r\n",
	"\r\n+CSQ: 20,99\r\n\r\n+CMTI: \"SM\",5\r\n\r\nOK\r\n",
	"\r\n+CMT: ,23\r\n" + submitPDU + "\r\n",
	"\r\n> ",
	"\x00\r\r\n\x8f\xfe\r\n+CME ERROR: SIM not inserted\r\n",
	"\r\n+CMS ERROR: 330\r\n\n\r",
	"\r\n+CDS: 25\r\n",
	"> > \r\n>\r ",
}

// FuzzLines feeds arbitrary bytes, in arbitrary chunks, to the splitter
// and the classifier (with a command in flight, prompt recognition on or
// off). Nothing may panic and no byte may vanish: every byte but CR and LF
// is in a token or still pending, and every line that is not blank is
// accounted for — skipped as the echo, a final result code, part of the
// response, a URC or its PDU line, or a line for the default handler.
func FuzzLines(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), uint8(3), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8, prompt bool) {
		n := int(chunk)%64 + 1

		// Splitter: conservation of bytes.
		var sp splitter
		var got []byte
		for i := 0; i < len(data); i += n {
			sp.prompt = prompt
			sp.feed(data[i:min(i+n, len(data))], 0, func(tk token) {
				if len(tk.text) == 0 {
					t.Fatal("empty token")
				}
				got = append(got, tk.text...)
			})
		}
		got = append(got, sp.pending()...)
		want := bytes.ReplaceAll(bytes.ReplaceAll(data, []byte("\r"), nil), []byte("\n"), nil)
		if !bytes.Equal(got, want) {
			t.Fatalf("splitter lost bytes: got %q, want %q", got, want)
		}

		// Classifier: every non-blank line ends up somewhere.
		e := bareEngine()
		req := &request{line: "AT+CSQ", names: []string{"+CSQ"}, wantPrompt: prompt, body: "BODY",
			done: make(chan struct{}), promptc: make(chan struct{})}
		e.cur = req
		e.epoch = 1
		for i := 0; i < len(data); i += n {
			e.process(data[i:min(i+n, len(data))], time.Time{})
		}
		if prompt {
			return // prompts split lines differently; no panic is enough
		}
		// Count the non-blank lines with an independent pass.
		lines := 0
		var ref splitter
		ref.feed(data, 1, func(tk token) {
			if trim(tk.text) != "" {
				lines++
			}
		})
		acc := len(req.lines) + len(e.queue)
		for _, u := range e.queue {
			if u.PDU != "" {
				acc++
			}
		}
		if e.pduURC != nil {
			acc++
		}
		if req.echoed {
			acc++
		}
		select {
		case <-req.done:
			acc++ // its final result code
		default:
		}
		if acc != lines {
			t.Fatalf("classifier accounted for %d of %d lines (resp %q, queue %+v)", acc, lines, req.lines, e.queue)
		}
	})
}

// bareEngine is an engine without goroutines or stream, for driving the
// classifier directly.
func bareEngine() *Engine {
	e := &Engine{
		cfg:      defaultConfig(),
		log:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		specs:    make(map[string]URCSpec),
		handlers: make(map[string]Handler),
		owedc:    make(chan struct{}, 1),
		queuec:   make(chan struct{}, 1),
		stopped:  make(chan struct{}),
		done:     make(chan struct{}),
	}
	for _, s := range StandardURCs {
		e.specs[s.Name] = s
	}
	return e
}

// FuzzErrorCodes checks +CME/+CMS ERROR parsing: no panics, numeric and
// verbose forms agree, and a final result code line parses like its
// argument alone.
func FuzzErrorCodes(f *testing.F) {
	for _, s := range []string{"10", "SIM not inserted", "330", "SMSC address unknown", "", "-1", "99999999999", "unknown", " 5 ", "(U)SIM busy"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		for _, kind := range []string{"CME", "CMS"} {
			var code int
			var name string
			if kind == "CME" {
				e := ParseCMEError(arg)
				code, name = e.Code, e.Name
				_ = e.Error()
			} else {
				e := ParseCMSError(arg)
				code, name = e.Code, e.Name
				_ = e.Error()
			}
			if code >= 0 && name != "" {
				// The verbose form of a known code gives the same code.
				var back int
				if kind == "CME" {
					back = ParseCMEError(name).Code
				} else {
					back = ParseCMSError(name).Code
				}
				if back != code {
					t.Fatalf("%s %q: code %d name %q, but the name parses as %d", kind, arg, code, name, back)
				}
				// So does the numeric form.
				num := strconv.Itoa(code)
				var fromNum string
				if kind == "CME" {
					fromNum = ParseCMEError(num).Name
				} else {
					fromNum = ParseCMSError(num).Name
				}
				if fromNum != name {
					t.Fatalf("%s %d: name %q from text, %q from number", kind, code, name, fromNum)
				}
			}
			fin, err := parseFinal(trim([]byte("+" + kind + " ERROR: " + arg)))
			if !fin || err == nil {
				t.Fatalf("+%s ERROR: %q not a final error", kind, arg)
			}
		}
	})
}
