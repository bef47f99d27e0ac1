package device

import (
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/pdu"
)

// pendingReport remembers a submitted part that asked for a status report.
type pendingReport struct {
	mr        int
	dest      pdu.Address
	submitted time.Time
	sentID    int // SentSMS.ID
	part      int // index in SentSMS.Parts
}

// submitLocked sends one SMS-SUBMIT as the network would receive it: sca
// is the SMSC part the TE gave ({0} for the +CSCA default), tpdu the TPDU.
// It returns the message reference. Device.mu must be held.
func (s *session) submitLocked(sca, tpdu []byte, mode string) (int, error) {
	d := s.d
	badParam := cms(cmsBadPDUParam)
	if mode == "text" {
		badParam = cms(cmsBadTextParam)
	}
	sb, err := pdu.DecodeSubmit(tpdu)
	if err != nil {
		d.log.Info("rejected SMS-SUBMIT", "err", err)
		return 0, badParam
	}
	if len(sca) <= 1 && d.smsc == "" {
		return 0, cms(cmsSMSCUnknown)
	}
	if !d.registered(s) {
		return 0, cms(cmsNoService)
	}
	if d.faults.SubmitError != 0 {
		s.pendingDelay += d.delay(500*time.Millisecond, 2*time.Second)
		return 0, cms(d.faults.SubmitError)
	}
	s.pendingDelay += d.delay(2*time.Second, 5*time.Second)
	mr := d.takeMR()
	now := d.clock()
	id, part := d.recordSentLocked(sb, tpdu, mr, mode, now)
	if sb.StatusReportRequest {
		d.reports = append(d.reports, pendingReport{mr: mr, dest: sb.Destination, submitted: now, sentID: id, part: part})
		if len(d.reports) > 256 {
			d.reports = d.reports[1:]
		}
		var status byte
		switch d.reportMode {
		case ReportDeliver:
			status = statusDelivered
		case ReportFail:
			status = statusFailed
		default:
			return mr, nil
		}
		s.scheduleLocked(d.delay(time.Second, 4*time.Second), func(s *session) {
			if err := d.statusReportLocked(mr, status); err != nil {
				d.log.Error("status report", "mr", mr, "err", err)
			}
		})
	}
	return mr, nil
}

// recordSentLocked adds a submitted part to the sent log, grouping parts
// by recipient and concatenation reference. It returns the message ID and
// the part's index.
func (d *Device) recordSentLocked(sb *pdu.Submit, tpdu []byte, mr int, mode string, now time.Time) (int, int) {
	alpha := sb.DCS.Alphabet()
	part := SentPart{MR: mr, PDU: upperHex(tpdu), Alphabet: alphabetName(alpha), Status: -1}
	if c, ok := sb.UD.Concat(); ok {
		part.Concat = &c
	}
	recipient := sb.Destination.Number
	var msg *SentSMS
	if part.Concat != nil {
		for i := len(d.sent) - 1; i >= 0 && msg == nil; i-- {
			m := &d.sent[i]
			if m.Recipient != recipient || len(m.Parts) == 0 || m.Parts[0].Concat == nil {
				continue
			}
			c0 := m.Parts[0].Concat
			if c0.Ref != part.Concat.Ref || c0.Ref16 != part.Concat.Ref16 || c0.Total != part.Concat.Total {
				continue
			}
			dup := false
			for _, p := range m.Parts {
				dup = dup || p.Concat.Seq == part.Concat.Seq
			}
			if !dup && len(m.Parts) < c0.Total {
				msg = m
			}
		}
	}
	if msg == nil {
		class, ok := sb.DCS.Class()
		if !ok {
			class = -1
		}
		d.sent = append(d.sent, SentSMS{
			ID: d.nextSentID, Time: now, Recipient: recipient, Alphabet: part.Alphabet,
			StatusReportRequested: sb.StatusReportRequest, Validity: sb.Validity, Class: class, Mode: mode,
		})
		d.nextSentID++
		msg = &d.sent[len(d.sent)-1]
	}
	msg.Parts = append(msg.Parts, part)
	msg.StatusReportRequested = msg.StatusReportRequested || sb.StatusReportRequest
	msg.Text = joinSentText(msg.Parts)
	d.log.Info("SMS sent", "mr", mr, "to", recipient, "id", msg.ID, "part", len(msg.Parts))
	return msg.ID, len(msg.Parts) - 1
}

// joinSentText decodes the parts and joins their text in sequence order.
func joinSentText(parts []SentPart) string {
	sorted := append([]SentPart(nil), parts...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if sorted[i].Concat == nil || sorted[j].Concat == nil {
			return false
		}
		return sorted[i].Concat.Seq < sorted[j].Concat.Seq
	})
	var b strings.Builder
	for _, p := range sorted {
		raw, err := hex.DecodeString(p.PDU)
		if err != nil {
			continue
		}
		sb, err := pdu.DecodeSubmit(raw)
		if err != nil {
			continue
		}
		if sb.DCS.Alphabet() == pdu.Alphabet8Bit {
			b.WriteString(upperHex(sb.UD.Data))
		} else {
			b.WriteString(sb.UD.Text)
		}
	}
	return b.String()
}

// heldReport is an SMS-STATUS-REPORT on its way to the modem.
type heldReport struct {
	mr   int
	sca  []byte // SMSC part, length octet first
	tpdu []byte
}

// statusReportLocked sends the status report for the latest submission
// with message reference mr. The network delivers it like an SMS: while
// the modem is not registered, or SR is full and +CNMI <ds> is 2, it is
// held "in the network" (after the reports held before it) and arrives
// once possible (TS 23.040: memory capacity exceeded, the SC retries once
// the MS signals memory available). Device.mu must be held.
func (d *Device) statusReportLocked(mr int, status byte) error {
	idx := -1
	for i := len(d.reports) - 1; i >= 0; i-- {
		if d.reports[i].mr == mr {
			idx = i
			break
		}
	}
	if idx < 0 {
		return fmt.Errorf("device: no submitted part with message reference %d requested a status report", mr)
	}
	r := d.reports[idx]
	sr := pdu.StatusReport{
		MessageRef: byte(mr), Recipient: r.dest,
		SCTimestamp: r.submitted, DischargeTime: d.clock(), Status: status,
	}
	tpdu, err := sr.Encode()
	if err != nil {
		return fmt.Errorf("device: encoding status report: %w", err)
	}
	sca, err := d.smscOctets(d.incomingSMSC())
	if err != nil {
		return err
	}
	for i := range d.sent {
		if d.sent[i].ID == r.sentID && r.part < len(d.sent[i].Parts) {
			d.sent[i].Parts[r.part].Status = int(status)
		}
	}
	h := heldReport{mr: mr, sca: sca, tpdu: tpdu}
	if len(d.netReports) > 0 {
		d.netReports = append(d.netReports, h)
		d.log.Info("status report held in the network behind earlier ones", "mr", mr, "held", len(d.netReports))
		return nil
	}
	routed, err := d.routeReportLocked(h)
	if !routed {
		d.netReports = append(d.netReports, h)
		d.log.Info("status report held in the network: modem not registered or SR full", "mr", mr)
	}
	return err
}

// routeReportLocked hands a status report to the modem, routed per +CNMI
// <ds>: 1 as +CDS, 2 stored in "SR" with +CDSI, 0 (or no session) not
// routed (the modem takes it and drops it). It returns false if the
// modem cannot take it now: not registered, or SR full with <ds> 2.
// Device.mu must be held.
func (d *Device) routeReportLocked(h heldReport) (bool, error) {
	s := d.sess
	if !d.registered(s) {
		return false, nil
	}
	ds := 0
	if s != nil {
		ds = s.set.cnmi[3]
	}
	switch ds {
	case 1:
		u, err := s.cdsURC(h.tpdu)
		if err != nil {
			return true, err
		}
		s.smsURCLocked(u)
	case 2:
		i := d.stores["SR"].add(&storedMsg{kind: kindStatus, stat: statRecUnread, sca: h.sca, tpdu: h.tpdu})
		if i < 0 {
			return false, nil
		}
		s.smsURCLocked(fmt.Sprintf("+CDSI: %q,%d", "SR", i))
	default:
		d.log.Info("status report not routed (+CNMI <ds>=0)", "mr", h.mr)
	}
	return true, nil
}

// retryHeldReportsLocked delivers the status reports held in the network,
// in order, while the modem takes them. Device.mu must be held.
func (d *Device) retryHeldReportsLocked() {
	for len(d.netReports) > 0 {
		routed, err := d.routeReportLocked(d.netReports[0])
		if !routed {
			return
		}
		if err != nil {
			d.log.Error("status report", "mr", d.netReports[0].mr, "err", err)
		}
		d.netReports = d.netReports[1:]
	}
}

// HeldReports returns how many status reports the network holds because
// the modem could not take them (not registered, or SR full).
func (d *Device) HeldReports() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.netReports)
}

// cdsURC renders +CDS: PDU mode "+CDS: <length>\r\n<pdu>" (with the SMSC
// part), text mode "+CDS: <fo>,<mr>,[<ra>],[<tora>],<scts>,<dt>,<st>".
func (s *session) cdsURC(tpdu []byte) (string, error) {
	if s.set.cmgf == 0 {
		sca, err := s.d.smscOctets(s.d.incomingSMSC())
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("+CDS: %d\r\n%s", len(tpdu), upperHex(append(sca, tpdu...))), nil
	}
	t, err := s.renderStatusText(tpdu)
	if err != nil {
		return "", err
	}
	return "+CDS: " + t, nil
}

// Sent returns the messages sent, oldest first.
func (d *Device) Sent() []SentSMS {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]SentSMS, len(d.sent))
	for i, m := range d.sent {
		m.Parts = append([]SentPart(nil), m.Parts...)
		out[i] = m
	}
	return out
}

// ClearSent empties the sent log. Status reports can still be sent for
// the cleared submissions.
func (d *Device) ClearSent() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sent = nil
}

// SetReportMode sets which status reports follow submissions that request
// one: ReportDeliver, ReportFail or ReportManual.
func (d *Device) SetReportMode(m ReportMode) error {
	switch m {
	case ReportDeliver, ReportFail, ReportManual:
	default:
		return fmt.Errorf("device: unknown report mode %q: want deliver, fail or manual", m)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.reportMode = m
	return nil
}

// ReportMode returns the report mode.
func (d *Device) ReportMode() ReportMode {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.reportMode
}

// SendStatusReport sends a status report with TP-Status status (TS 23.040
// §9.2.3.15, e.g. 0x00 delivered, 0x30 still trying, 0x41 failed) for the
// latest submitted part with message reference mr. It fails if no such
// part requested a report.
func (d *Device) SendStatusReport(mr int, status byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.statusReportLocked(mr, status)
}
