package device

import (
	"fmt"
	"strings"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/charset"
	"github.com/sim-modem-api/sim-modem-api/simulator/atcmd"
)

// USSDNode is one screen of a scripted USSD dialogue.
type USSDNode struct {
	// Text is what the network shows.
	Text string
	// Choices maps the user's replies to the next screen. With choices the
	// session stays open (+CUSD: 1,...) and waits for AT+CUSD=1,"<reply>";
	// without, it ends (+CUSD: 0,...).
	Choices map[string]*USSDNode
}

// USSDService is a scripted USSD service of the network.
type USSDService struct {
	// Codes maps service codes ("*100#") to their first screen. Unknown
	// codes answer "+CUSD: 4" (operation not supported).
	Codes map[string]*USSDNode
	// UCS2Quirk answers as ZTE sticks do: the text as UCS-2 hex while
	// <dcs> says 7, whatever +CSCS is. Without it the text is in the TE
	// character set with <dcs> 15.
	UCS2Quirk bool
}

// DefaultUSSD is the service used when Config.USSD is nil: *100# answers
// the balance, *101# opens a menu.
func DefaultUSSD() USSDService {
	balance := &USSDNode{Text: "Your balance is EUR 12.34"}
	return USSDService{Codes: map[string]*USSDNode{
		"*100#": balance,
		"*101#": {
			Text: "Menu\n1 Balance\n2 Data packages\n3 Exit",
			Choices: map[string]*USSDNode{
				"1": balance,
				"2": {
					Text: "Data packages\n1 1 GB for EUR 5\n2 5 GB for EUR 15",
					Choices: map[string]*USSDNode{
						"1": {Text: "1 GB booked. Thank you!"},
						"2": {Text: "5 GB booked. Thank you!"},
					},
				},
				"3": {Text: "Goodbye"},
			},
		},
	}}
}

func (u USSDService) validate() error {
	for code, n := range u.Codes {
		if code == "" || n == nil {
			return fmt.Errorf("device: USSD code %q: want a code and a screen", code)
		}
	}
	return nil
}

// SetUSSD replaces the USSD service; an open USSD session is ended.
func (d *Device) SetUSSD(u USSDService) error {
	if err := u.validate(); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ussd = u
	if d.sess != nil {
		d.sess.ussd = nil
	}
	return nil
}

// USSD returns the USSD service.
func (d *Device) USSD() USSDService {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ussd
}

// ussdSession is an open USSD dialogue, waiting for a reply.
type ussdSession struct {
	node *USSDNode
}

// cmdCUSD: AT+CUSD=<n>[,<str>[,<dcs>]] with n 0 (no result codes), 1
// (result codes), 2 (cancel the session). A request answers OK at once;
// the network's answer follows as "+CUSD: <m>,"<str>",<dcs>" (m 0 done,
// 1 further action required, 2 terminated, 4 not supported). Read
// "+CUSD: <n>", test "+CUSD: (0-2)".
func cmdCUSD(s *session, c atcmd.Command) ([]string, error) {
	switch c.Form {
	case atcmd.Read:
		return []string{"+CUSD: " + itoa(s.set.cusd)}, nil
	case atcmd.Test:
		return []string{"+CUSD: (0-2)"}, nil
	case atcmd.Set:
	default:
		return nil, errUnknown
	}
	ps, err := params(c, 1, 3)
	if err != nil {
		return nil, err
	}
	n, err := intParam(ps, 0, 0, 2, 0)
	if err != nil {
		return nil, err
	}
	if _, err := intParam(ps, 2, 0, 255, 15); err != nil {
		return nil, err
	}
	if n == 2 {
		s.ussd = nil
		return nil, nil
	}
	s.set.cusd = n
	if len(ps) < 2 || ps[1].Omitted() {
		return nil, nil
	}
	d := s.d
	if err := d.sim.readyCME(); err != nil {
		return nil, err
	}
	if !d.registered(s) {
		return nil, cme(cmeNoService)
	}
	req, err := s.teDecode(ps[1].Value)
	if err != nil {
		return nil, errParams
	}
	var next *USSDNode
	m := 0
	if s.ussd != nil {
		next = s.ussd.node.Choices[strings.TrimSpace(req)]
		if next == nil {
			next, m = &USSDNode{Text: "Invalid selection"}, 2
		}
	} else {
		next = d.ussd.Codes[req]
	}
	s.ussd = nil
	var urc string
	switch {
	case next == nil:
		urc = "+CUSD: 4"
	default:
		if len(next.Choices) > 0 {
			m = 1
			s.ussd = &ussdSession{node: next}
		}
		urc, err = s.ussdURC(m, next.Text)
		if err != nil {
			d.log.Error("rendering USSD answer", "err", err)
			urc = "+CUSD: 4"
		}
	}
	d.log.Info("USSD", "request", req, "answer", urc)
	if s.set.cusd == 1 {
		s.scheduleLocked(d.delay(time.Second, 3*time.Second), func(s *session) { s.queueURCLocked(urc) })
	}
	return nil, nil
}

// ussdURC renders the network's answer.
func (s *session) ussdURC(m int, text string) (string, error) {
	if s.d.ussd.UCS2Quirk {
		hexText, err := charset.Encode(charset.UCS2, text)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("+CUSD: %d,%q,7", m, hexText), nil
	}
	te, err := s.teEncode(text)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("+CUSD: %d,%s,15", m, quote(te)), nil
}
