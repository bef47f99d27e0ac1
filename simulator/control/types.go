//go:build linux

package control

import (
	"encoding/hex"
	"fmt"
	"time"

	"github.com/sim-modem-api/sim-modem-api/simulator/device"
)

// Network is the network part of State and the body of PUT /network; fields
// left out of a PUT keep their current values.
type Network struct {
	RSSI            int    `json:"rssi"`     // +CSQ <rssi>: 0..31, 99 unknown
	BER             int    `json:"ber"`      // +CSQ <ber>: 0..7, 99 unknown
	Reg             int    `json:"reg"`      // +CREG <stat>: 0..5
	Operator        string `json:"operator"` // long alphanumeric name
	OperatorNumeric string `json:"operatorNumeric"`
	AcT             int    `json:"act"` // 0 GSM, 2 UTRAN, 7 E-UTRAN
	LAC             string `json:"lac"`
	CI              string `json:"ci"`
}

func fromNetwork(n device.Network) Network {
	return Network{RSSI: n.RSSI, BER: n.BER, Reg: n.Reg, Operator: n.Operator,
		OperatorNumeric: n.OperatorNumeric, AcT: n.AcT, LAC: n.LAC, CI: n.CI}
}

func (n Network) toDevice() device.Network {
	return device.Network{RSSI: n.RSSI, BER: n.BER, Reg: n.Reg, Operator: n.Operator,
		OperatorNumeric: n.OperatorNumeric, AcT: n.AcT, LAC: n.LAC, CI: n.CI}
}

// Faults is the faults part of State and the body of PUT /faults; fields
// left out of a PUT keep their current values.
type Faults struct {
	Hang          bool    `json:"hang"`
	Delay         string  `json:"delay"` // Go duration, e.g. "1.5s"
	NoiseRate     float64 `json:"noiseRate"`
	InterleaveURC bool    `json:"interleaveUrc"`
	DropEcho      bool    `json:"dropEcho"`
	SubmitError   int     `json:"submitError"` // +CMS ERROR cause the network answers every submission with, 0 none
}

func fromFaults(f device.Faults) Faults {
	return Faults{Hang: f.Hang, Delay: f.Delay.String(), NoiseRate: f.NoiseRate,
		InterleaveURC: f.InterleaveURC, DropEcho: f.DropEcho, SubmitError: f.SubmitError}
}

func (f Faults) toDevice() (device.Faults, error) {
	d, err := time.ParseDuration(f.Delay)
	if err != nil {
		return device.Faults{}, fmt.Errorf(`"delay": %w`, err)
	}
	if d < 0 {
		return device.Faults{}, fmt.Errorf(`"delay" %v is negative`, d)
	}
	if f.NoiseRate < 0 || f.NoiseRate > 1 {
		return device.Faults{}, fmt.Errorf(`"noiseRate" %v is outside 0..1`, f.NoiseRate)
	}
	if f.SubmitError < 0 || f.SubmitError > 255 {
		return device.Faults{}, fmt.Errorf(`"submitError" %d is outside 0..255`, f.SubmitError)
	}
	return device.Faults{Hang: f.Hang, Delay: d, NoiseRate: f.NoiseRate,
		InterleaveURC: f.InterleaveURC, DropEcho: f.DropEcho, SubmitError: f.SubmitError}, nil
}

func (in IncomingSMS) toDevice() (device.IncomingSMS, error) {
	out := device.IncomingSMS{From: in.From, Text: in.Text, Alphabet: in.Alphabet,
		Flash: in.Flash, Ref16: in.Ref16, Order: in.Order, PDU: in.PDU}
	if in.DataHex != "" {
		b, err := decodeHex("dataHex", in.DataHex)
		if err != nil {
			return out, err
		}
		out.Data = b
	}
	if in.Time != "" {
		t, err := time.Parse(time.RFC3339, in.Time)
		if err != nil {
			return out, fmt.Errorf(`"time": %w`, err)
		}
		out.Time = t
	}
	if in.PDU == "" && in.From == "" {
		return out, fmt.Errorf(`"from" is required (or a raw "pdu")`)
	}
	return out, nil
}

func decodeHex(field, s string) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", field, err)
	}
	return b, nil
}

// Injected is the answer of POST /sms: where the parts went.
type Injected struct {
	Parts   int   `json:"parts"`
	Stored  []int `json:"stored"`  // indices in the receive store
	Waiting int   `json:"waiting"` // held "in the network" while the store is full
	Direct  int   `json:"direct"`  // routed to the client as +CMT
}

func fromInjected(in device.Injected) Injected {
	stored := in.Stored
	if stored == nil {
		stored = []int{}
	}
	return Injected{Parts: in.Parts, Stored: stored, Waiting: in.Waiting, Direct: in.Direct}
}

// SentSMS is one element of GET /sent.
type SentSMS struct {
	ID                    int        `json:"id"`
	Time                  time.Time  `json:"time"`
	Recipient             string     `json:"recipient"`
	Text                  string     `json:"text"`
	Alphabet              string     `json:"alphabet"`
	Parts                 []SentPart `json:"parts"`
	StatusReportRequested bool       `json:"statusReportRequested"`
	Validity              string     `json:"validity,omitempty"` // Go duration
	Class                 *int       `json:"class,omitempty"`
	Mode                  string     `json:"mode"`
}

// SentPart is one submitted part of a SentSMS.
type SentPart struct {
	MR       int    `json:"mr"`
	PDU      string `json:"pdu"`
	Seq      int    `json:"seq,omitempty"`
	Total    int    `json:"total,omitempty"`
	Ref      *int   `json:"ref,omitempty"`
	Alphabet string `json:"alphabet"`
	Status   *int   `json:"status,omitempty"` // TP-ST of the last status report sent for it
}

func fromSent(in []device.SentSMS) []SentSMS {
	out := make([]SentSMS, 0, len(in))
	for _, m := range in {
		s := SentSMS{ID: m.ID, Time: m.Time, Recipient: m.Recipient, Text: m.Text, Alphabet: m.Alphabet,
			StatusReportRequested: m.StatusReportRequested, Mode: m.Mode, Parts: make([]SentPart, 0, len(m.Parts))}
		if m.Validity > 0 {
			s.Validity = m.Validity.String()
		}
		if m.Class >= 0 {
			s.Class = &m.Class
		}
		for _, p := range m.Parts {
			sp := SentPart{MR: p.MR, PDU: p.PDU, Alphabet: p.Alphabet}
			if p.Concat != nil {
				ref := int(p.Concat.Ref)
				sp.Seq, sp.Total, sp.Ref = p.Concat.Seq, p.Concat.Total, &ref
			}
			if p.Status >= 0 {
				st := p.Status
				sp.Status = &st
			}
			s.Parts = append(s.Parts, sp)
		}
		out = append(out, s)
	}
	return out
}

// StoredSMS is one element of GET /messages/{store}.
type StoredSMS struct {
	Store string `json:"store"`
	Index int    `json:"index"`
	Stat  string `json:"stat"` // REC UNREAD, REC READ, STO UNSENT, STO SENT
	PDU   string `json:"pdu"`
	From  string `json:"from"`
	Text  string `json:"text"`
}

var statNames = [...]string{"REC UNREAD", "REC READ", "STO UNSENT", "STO SENT"}

func fromStored(in []device.StoredSMS) []StoredSMS {
	out := make([]StoredSMS, 0, len(in))
	for _, m := range in {
		stat := fmt.Sprint(m.Stat)
		if m.Stat >= 0 && m.Stat < len(statNames) {
			stat = statNames[m.Stat]
		}
		out = append(out, StoredSMS{Store: m.Store, Index: m.Index, Stat: stat, PDU: m.PDU, From: m.From, Text: m.Text})
	}
	return out
}

// Exchange is one element of GET /transcript.
type Exchange struct {
	Time     time.Time `json:"time"`
	Command  string    `json:"command"`
	Body     string    `json:"body,omitempty"`
	Response string    `json:"response"`
}

func fromTranscript(in []device.Exchange) []Exchange {
	out := make([]Exchange, 0, len(in))
	for _, e := range in {
		out = append(out, Exchange(e))
	}
	return out
}
