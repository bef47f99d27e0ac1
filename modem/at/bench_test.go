package at

import (
	"bytes"
	"testing"
	"time"
)

// BenchmarkCommand is a full round trip over net.Pipe: write the line,
// the fake modem answers, the reader classifies, the caller wakes.
func BenchmarkCommand(b *testing.B) {
	e, _ := start(b, zte)
	ctx := ctx5(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Command(ctx, "+CSQ"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSplitter measures line splitting and classification of a
// typical response stream with URCs, without I/O.
func BenchmarkSplitter(b *testing.B) {
	chunk := []byte("\r\n+CMGL: 0,0,,23\r\n" + submitPDU + "\r\n\r\n+CMTI: \"SM\",5\r\n\r\n+CSQ: 20,99\r\n\r\nOK\r\n")
	stream := bytes.Repeat(chunk, 64)
	e := bareEngine()
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		e.cur = &request{line: "AT+CMGL=4", names: []string{"+CMGL"}, done: make(chan struct{})}
		for i := 0; i < len(stream); i += 512 {
			e.process(stream[i:min(i+512, len(stream))], time.Time{})
			e.cur = &request{line: "AT+CMGL=4", names: []string{"+CMGL"}, done: make(chan struct{})}
		}
		e.queue = e.queue[:0]
	}
}

// BenchmarkSplitOnly measures the splitter alone.
func BenchmarkSplitOnly(b *testing.B) {
	chunk := []byte("\r\n+CMGL: 0,0,,23\r\n" + submitPDU + "\r\n\r\nOK\r\n")
	stream := bytes.Repeat(chunk, 64)
	var sp splitter
	n := 0
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		sp.feed(stream, 0, func(token) { n++ })
	}
	_ = n
}
