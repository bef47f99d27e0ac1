package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// ModemIdentity identifies a modem by its SIM (IMSI and ICCID, as AT+CIMI
// and AT+CCID/AT+ZGETICCID give them) and its stick (IMEI, AT+CGSN), never
// by a device path. IMEI and at least one of IMSI and ICCID are required.
type ModemIdentity struct {
	IMSI, ICCID, IMEI string
	// Name is the configured id of the api's modem entry that sees it
	// (recorded, not part of the identity: a SIM that moves to another
	// slot keeps its row and takes the new name).
	Name string
}

// Modem is a stored modem.
type Modem struct {
	ID int64
	ModemIdentity
	FirstSeen, LastSeen time.Time
}

func (m ModemIdentity) validate() error {
	ok := func(s string) bool { return len(s) <= 32 && strings.Trim(s, "0123456789ABCDEFabcdef") == "" }
	if m.IMEI == "" || (m.IMSI == "" && m.ICCID == "") {
		return fmt.Errorf("%w modem identity: the IMEI and the IMSI or ICCID are required", ErrInvalid)
	}
	if m.Name != "" && !ValidModemName(m.Name) {
		return fmt.Errorf("%w modem name %q: %s", ErrInvalid, m.Name, ModemNameRule)
	}
	if !ok(m.IMSI) || !ok(m.ICCID) || !ok(m.IMEI) {
		return fmt.Errorf("%w modem identity %+v: digits (ICCID: hex digits), at most 32", ErrInvalid, m)
	}
	return nil
}

// UpsertModem records that the modem with this identity was seen now and
// returns its id, creating the row the first time.
func (s *Store) UpsertModem(ctx context.Context, m ModemIdentity) (int64, error) {
	if err := m.validate(); err != nil {
		return 0, fmt.Errorf("store: upsert modem: %w", err)
	}
	var id int64
	err := s.write(ctx, "upsert modem", func(tx *sql.Tx) error {
		now := s.nowMs()
		return tx.QueryRowContext(ctx, `INSERT INTO modems (imsi, iccid, imei, name, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (imsi, iccid, imei) DO UPDATE SET last_seen = excluded.last_seen, name = excluded.name RETURNING id`,
			m.IMSI, m.ICCID, m.IMEI, m.Name, now, now).Scan(&id)
	})
	return id, err
}

// Modems lists the known modems, oldest first.
func (s *Store) Modems(ctx context.Context) ([]Modem, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, imsi, iccid, imei, name, first_seen, last_seen FROM modems ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: modems: %w", err)
	}
	defer rows.Close()
	var out []Modem
	for rows.Next() {
		var m Modem
		var first, last int64
		if err := rows.Scan(&m.ID, &m.IMSI, &m.ICCID, &m.IMEI, &m.Name, &first, &last); err != nil {
			return nil, fmt.Errorf("store: modems: %w", err)
		}
		m.FirstSeen, m.LastSeen = msTime(first), msTime(last)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: modems: %w", err)
	}
	return out, nil
}
