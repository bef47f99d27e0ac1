package device

import (
	"strings"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/escape"
	"github.com/sim-modem-api/sim-modem-api/simulator/atcmd"
)

// interleavedURC is the URC that the InterleaveURC fault puts between the
// lines of a response: the ZTE access technology report.
func (d *Device) interleavedURC() string {
	return `+ZPASR: "` + zpasMode(d.net) + `"`
}

// execute runs one command line and writes its response.
func (s *session) execute(line string, overflow bool) error {
	d := s.d
	if err := s.flushEcho(); err != nil {
		return err
	}
	body, ok := atcmd.Body(line)
	if !ok {
		d.log.Info("ignored line without AT prefix", "line", escape.String([]byte(line)))
		s.lineEcho = nil
		return nil
	}
	d.log.Info("command", "line", escape.String([]byte(line)))
	s.exch = &Exchange{Time: d.clock(), Command: line, Response: string(s.lineEcho)}
	s.lineEcho = nil

	d.mu.Lock()
	s.pendingDelay += d.delay(10*time.Millisecond, 60*time.Millisecond)
	var blocks [][]string
	var err error
	if overflow {
		err = errUnknown
	} else if cmds, perr := atcmd.Parse(body); perr != nil {
		d.log.Info("syntax error", "err", perr)
		err = errUnknown
	} else {
		for _, c := range cmds {
			info, herr := s.dispatchLocked(c)
			if len(info) > 0 {
				blocks = append(blocks, info)
			}
			if herr != nil {
				err = herr
				break
			}
			if s.prompt != nil {
				break // the rest of the line is not executed
			}
		}
	}
	s.emitRegChangesLocked()
	d.retryWaitingLocked()
	wait := s.pendingDelay + d.faults.Delay
	s.pendingDelay = 0
	if s.prompt != nil {
		segs := s.frameInfoLocked(blocks)
		segs = append(segs, "\r\n> ")
		d.mu.Unlock()
		return s.writeResponse(segs, wait, false)
	}
	segs := s.frameLocked(blocks, err)
	d.mu.Unlock()
	return s.respond(segs, wait)
}

// dispatchLocked runs one command. Device.mu must be held.
func (s *session) dispatchLocked(c atcmd.Command) ([]string, error) {
	h, ok := handlers[c.Name]
	if !ok {
		if strings.HasPrefix(c.Name, "S") && c.Basic() {
			return s.sRegister(c)
		}
		return nil, errUnknown
	}
	return h(s, c)
}

// frameInfoLocked frames information text: "\r\n<line>\r\n" for the first
// line of each command, "<line>\r\n" for the following ones (V1); each
// line "<line>\r\n" in V0.
func (s *session) frameInfoLocked(blocks [][]string) []string {
	var segs []string
	for _, b := range blocks {
		for i, l := range b {
			if i == 0 && s.set.verbose {
				segs = append(segs, "\r\n"+l+"\r\n")
			} else {
				segs = append(segs, l+"\r\n")
			}
		}
	}
	return segs
}

// frameLocked frames information text and the final result code for err.
func (s *session) frameLocked(blocks [][]string, err error) []string {
	segs := s.frameInfoLocked(blocks)
	if !s.set.quiet {
		segs = append(segs, s.finalLocked(err))
	}
	if s.d.faults.InterleaveURC && len(segs) >= 2 {
		u := "\r\n" + s.d.interleavedURC() + "\r\n"
		segs = append(segs[:1], append([]string{u}, segs[1:]...)...)
	}
	return segs
}

// finalLocked renders the final result code of err.
func (s *session) finalLocked(err error) string {
	if s.set.verbose {
		if err == nil {
			return "\r\nOK\r\n"
		}
		return "\r\n" + finalError(err, s.set.cmee) + "\r\n"
	}
	if err == nil {
		return "0\r"
	}
	f := finalError(err, s.set.cmee)
	if f == "ERROR" {
		return "4\r"
	}
	return f + "\r"
}

// respond writes a complete response and closes the exchange: the
// exchange is recorded and the noise fault drawn before the bytes go out,
// so that what a test reads is already in the transcript.
func (s *session) respond(segs []string, wait time.Duration) error {
	return s.writeResponse(segs, wait, true)
}

func (s *session) writeResponse(segs []string, wait time.Duration, final bool) error {
	if err := s.sleep(wait); err != nil {
		return err
	}
	d := s.d
	out := strings.Join(segs, "")
	d.mu.Lock()
	if s.exch != nil {
		s.exch.Response += out
		if final {
			d.recordLocked(*s.exch)
			s.exch = nil
		}
	}
	var noise []byte
	if r := d.faults.NoiseRate; final && r > 0 && d.rng.Float64() < r {
		noise = make([]byte, 1+d.rng.IntN(8))
		for i := range noise {
			noise[i] = byte(d.rng.IntN(256))
		}
	}
	d.mu.Unlock()
	d.log.Info("response", "bytes", escape.String([]byte(out)))
	if err := s.write([]byte(out)); err != nil {
		return err
	}
	if len(noise) > 0 {
		d.log.Info("noise", "bytes", escape.String(noise))
		return s.write(noise)
	}
	return nil
}

// maxTranscript bounds the transcript.
const maxTranscript = 10000

func (d *Device) recordLocked(e Exchange) {
	if len(d.transcript) >= maxTranscript {
		d.transcript = append(d.transcript[:0], d.transcript[len(d.transcript)-maxTranscript+1:]...)
	}
	d.transcript = append(d.transcript, e)
}
