package store

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/pdu"
)

// ReportPart is one SMS-STATUS-REPORT as the sweep reads it (AT+CMGL on
// SR) or as +CDS shows it (Storage "", Index -1).
type ReportPart struct {
	ModemID int64
	Storage string
	Index   int
	PDUHex  string // SMSC address, then the SMS-STATUS-REPORT
}

// Outcome of a status report for its part.
type Outcome string

// Outcomes by TP-ST (TS 23.040 §9.2.3.15).
const (
	OutcomeDelivered Outcome = "delivered" // 0x00–0x1F
	OutcomePending   Outcome = "pending"   // 0x20–0x3F: the SC is still trying; the state is unchanged
	OutcomeFailed    Outcome = "failed"    // 0x40 and above
	OutcomeInvalid   Outcome = "invalid"   // the PDU does not decode
)

// outcomeOf classifies TP-ST.
func outcomeOf(st int) Outcome {
	switch {
	case st < 0:
		return OutcomeInvalid
	case pdu.StatusDelivered(byte(st)):
		return OutcomeDelivered
	case pdu.StatusFailed(byte(st)):
		return OutcomeFailed
	}
	return OutcomePending
}

// Report is a stored status report.
type Report struct {
	ID            int64
	ModemID       int64
	Modem         string // the configured id of the modem entry that received it
	MR            int    // TP-MR, -1 if undecodable
	Recipient     string
	Status        int // TP-ST, -1 if undecodable
	StatusText    string
	Outcome       Outcome
	SCTime        time.Time
	DischargeTime time.Time
	Error         string // why it does not decode
	ReceivedAt    time.Time
	Matched       bool
	MessageID     string // the matched message ("" if unmatched or since deleted)
	Seq           int    // the matched part
}

// ReportResult is what SaveReport did.
type ReportResult struct {
	New     bool     // false: already stored (read again), nothing changed
	Report  *Report  //
	Message *Message // the matched message after the report, nil if unmatched
}

// SaveReport commits a status report and matches it to the part it
// reports on: the newest sent part of this modem with the same TP-MR and
// recipient, sent within Options.ReportWindow, that has no final report
// yet (TP-MR wraps at 256, so an older part with the same reference is out
// of the window or already settled). TP-ST 0x00–0x1F makes the part
// delivered, 0x40 and above failed (the reason names the status), and
// 0x20–0x3F is recorded on the part without changing its state. An
// unmatched report is stored and listed by Reports, never an error.
func (s *Store) SaveReport(ctx context.Context, r ReportPart) (ReportResult, error) {
	var res ReportResult
	r.PDUHex = strings.ToUpper(r.PDUHex)
	if r.ModemID == 0 || (r.Storage != "" && !validStorage(r.Storage)) || r.Index < -1 {
		return res, fmt.Errorf("store: save report: %w report %+v", ErrInvalid, r)
	}
	var id, msgRow int64
	err := s.write(ctx, "save report", func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT id FROM reports WHERE modem_id = ? AND storage = ? AND idx = ? AND pdu_hex = ?`,
			r.ModemID, r.Storage, r.Index, r.PDUHex).Scan(&id)
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		res.New = true
		now := s.nowMs()
		sr, decodeErr := decodeReport(r.PDUHex)
		mr, status, recipient, errText := -1, -1, "", ""
		var scTime, discharge int64
		if decodeErr != nil {
			errText = decodeErr.Error()
		} else {
			mr, status, recipient = int(sr.MessageRef), int(sr.Status), sr.Recipient.Number
			scTime, discharge = timeMs(sr.SCTimestamp), timeMs(sr.DischargeTime)
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO reports (modem_id, storage, idx, pdu_hex, mr, recipient, status, sc_time, discharge_time, error, received_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			r.ModemID, r.Storage, r.Index, r.PDUHex, mr, recipient, status, scTime, discharge, errText, now).Scan(&id)
		if err != nil {
			return fmt.Errorf("inserting the report: %w", err)
		}
		if decodeErr == nil {
			if msgRow, err = s.matchReport(ctx, tx, id, r.ModemID, mr, status, recipient, now); err != nil {
				return err
			}
		}
		if msgRow == 0 { // unmatched (or undecodable): visible as an event too
			return appendReportEvent(ctx, tx, id, now)
		}
		return nil
	})
	if err != nil {
		return ReportResult{}, err
	}
	if res.Report, err = s.report(ctx, id); err != nil {
		return ReportResult{}, err
	}
	if msgRow != 0 {
		if res.Message, err = getMessageByRow(ctx, s.r, msgRow); err != nil {
			return ReportResult{}, fmt.Errorf("store: save report: %w", err)
		}
	}
	return res, nil
}

func decodeReport(h string) (*pdu.StatusReport, error) {
	b, err := hex.DecodeString(h)
	if err != nil {
		return nil, fmt.Errorf("not hex: %w", err)
	}
	_, tpdu, err := pdu.SplitSMSC(b)
	if err != nil {
		return nil, err
	}
	return pdu.DecodeStatusReport(tpdu)
}

// matchReport finds the report's part, applies the status and returns the
// message's row (0 if unmatched).
func (s *Store) matchReport(ctx context.Context, tx *sql.Tx, reportID, modemID int64, mr, status int, recipient string, now int64) (int64, error) {
	rows, err := tx.QueryContext(ctx, `SELECT p.message_id, p.seq, m.peer, m.state, p.error FROM parts p JOIN messages m ON m.id = p.message_id
		WHERE p.state = 'sent' AND p.mr = ? AND p.sent_at >= ? AND m.modem_id = ?
		ORDER BY p.sent_at DESC, p.message_id DESC, p.seq DESC`, mr, now-s.opts.ReportWindow.Milliseconds(), modemID)
	if err != nil {
		return 0, fmt.Errorf("finding the report's part: %w", err)
	}
	var p partRow
	found := false
	for rows.Next() {
		var peer string
		if err := rows.Scan(&p.msgRow, &p.seq, &peer, &p.msgState, &p.err); err != nil {
			rows.Close()
			return 0, fmt.Errorf("finding the report's part: %w", err)
		}
		if SameNumber(peer, recipient) {
			found = true
			break
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("finding the report's part: %w", err)
	}
	if !found {
		return 0, nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE reports SET matched = 1, message_id = ?, seq = ? WHERE id = ?`, p.msgRow, p.seq, reportID); err != nil {
		return 0, fmt.Errorf("matching the report: %w", err)
	}
	to, text := PartSent, pdu.StatusText(byte(status))
	switch outcomeOf(status) {
	case OutcomeDelivered:
		to = PartDelivered
	case OutcomeFailed:
		to = PartFailed
		p.err = "status report: " + text
	}
	if _, err := tx.ExecContext(ctx, `UPDATE parts SET state = ?, status = ?, error = ?, updated_at = ? WHERE message_id = ? AND seq = ?`,
		to, status, p.err, now, p.msgRow, p.seq); err != nil {
		return 0, fmt.Errorf("applying the report: %w", err)
	}
	if err := recordTransition(ctx, tx, p.msgRow, p.seq, string(to), fmt.Sprintf("report %#02x: %s", status, text), now); err != nil {
		return 0, err
	}
	if _, err := rollUp(ctx, tx, p.msgRow, p.msgState, now); err != nil {
		return 0, err
	}
	return p.msgRow, nil
}

// SameNumber reports whether two phone numbers are the same subscriber as
// far as a status report can tell: equal digits, or (SMSCs report the
// recipient in national or international form) the shorter one's
// significant digits, at least 7, end the longer one. Alphanumeric
// addresses must be equal.
func SameNumber(a, b string) bool {
	da, db := digitsOf(a), digitsOf(b)
	if da == "" || db == "" {
		return a == b
	}
	da, db = strings.TrimLeft(da, "0"), strings.TrimLeft(db, "0")
	if da == db {
		return true
	}
	if len(da) > len(db) {
		da, db = db, da
	}
	return len(da) >= 7 && strings.HasSuffix(db, da)
}

// digitsOf returns the digits of a phone number, "" if it has other
// characters than digits, '+' and separators.
func digitsOf(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' || r == ' ' || r == '-':
		default:
			return ""
		}
	}
	return b.String()
}

const reportColumns = `r.id, r.modem_id, r.mr, r.recipient, r.status, r.sc_time, r.discharge_time, r.error, r.received_at, r.matched,
	coalesce(m.uid, ''), coalesce(r.seq, 0), coalesce((SELECT name FROM modems WHERE modems.id = r.modem_id), '')`

func scanReport(sc scanner) (*Report, error) {
	var r Report
	var scTime, discharge, received int64
	if err := sc.Scan(&r.ID, &r.ModemID, &r.MR, &r.Recipient, &r.Status, &scTime, &discharge, &r.Error, &received, &r.Matched,
		&r.MessageID, &r.Seq, &r.Modem); err != nil {
		return nil, err
	}
	r.SCTime, r.DischargeTime, r.ReceivedAt = msTime(scTime), msTime(discharge), msTime(received)
	r.Outcome = outcomeOf(r.Status)
	if r.Status >= 0 {
		r.StatusText = pdu.StatusText(byte(r.Status))
	}
	return &r, nil
}

func (s *Store) report(ctx context.Context, id int64) (*Report, error) {
	r, err := scanReport(s.r.QueryRowContext(ctx, `SELECT `+reportColumns+` FROM reports r LEFT JOIN messages m ON m.id = r.message_id WHERE r.id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("store: report %d: %w", id, err)
	}
	return r, nil
}

// Reports lists stored status reports, newest first: all, or only the
// unmatched ones; at most limit (DefaultLimit if 0, MaxLimit at most).
func (s *Store) Reports(ctx context.Context, unmatchedOnly bool, limit int) ([]*Report, error) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	q := `SELECT ` + reportColumns + ` FROM reports r LEFT JOIN messages m ON m.id = r.message_id`
	if unmatchedOnly {
		q += ` WHERE r.matched = 0`
	}
	rows, err := s.r.QueryContext(ctx, q+` ORDER BY r.id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("store: reports: %w", err)
	}
	defer rows.Close()
	var out []*Report
	for rows.Next() {
		r, err := scanReport(rows)
		if err != nil {
			return nil, fmt.Errorf("store: reports: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: reports: %w", err)
	}
	return out, nil
}
