package store

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"strings"
	"time"
)

// Filter selects messages for List. Zero fields do not filter.
type Filter struct {
	Direction Direction // Out, In, or "" for both
	States    []State   // any of these states
	Since     time.Time // created at or after
	From      string    // inbound messages from this sender
	To        string    // outbound messages to this recipient
	ModemID   int64
	Unread    bool // only inbound messages not marked read
	// Oldest lists oldest first; the default is newest first.
	Oldest bool
	// Limit is the page size: default DefaultLimit, at most MaxLimit.
	Limit int
	// Cursor continues a listing from the page that returned it as Next.
	Cursor string
}

// Page sizes of List.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// Page is one page of a listing.
type Page struct {
	Messages []*Message // without parts
	// Next is the cursor of the following page, "" on the last one.
	Next string
}

// cursorVersion is the first byte of every cursor.
const cursorVersion = 1

// fingerprint identifies the filter a cursor belongs to, so a cursor
// cannot be replayed against another filter (or page order).
func (f *Filter) fingerprint() uint32 {
	h := fnv.New32a()
	fmt.Fprintf(h, "%s\x00%q\x00%d\x00%s\x00%s\x00%d\x00%t\x00%t\x00", f.Direction, f.States, timeMs(f.Since), f.From, f.To, f.ModemID, f.Unread, f.Oldest)
	return h.Sum32()
}

// encodeCursor makes the opaque cursor: version, filter fingerprint, and
// the row id of the last message on the page, in URL-safe base64.
func encodeCursor(fp uint32, row int64) string {
	b := make([]byte, 0, 1+4+binary.MaxVarintLen64)
	b = append(b, cursorVersion)
	b = binary.BigEndian.AppendUint32(b, fp)
	b = binary.AppendUvarint(b, uint64(row))
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor parses a cursor made by encodeCursor for the filter with
// fingerprint fp and returns its row id.
func decodeCursor(s string, fp uint32) (int64, error) {
	if len(s) > 32 {
		return 0, fmt.Errorf("%w: too long", ErrBadCursor)
	}
	// The decoder skips CR and LF; a cursor has only the URL-safe alphabet.
	if strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		return 0, fmt.Errorf("%w: not base64url", ErrBadCursor)
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return 0, fmt.Errorf("%w: not base64url", ErrBadCursor)
	}
	if len(b) < 6 || b[0] != cursorVersion {
		return 0, fmt.Errorf("%w: unknown format", ErrBadCursor)
	}
	if binary.BigEndian.Uint32(b[1:5]) != fp {
		return 0, fmt.Errorf("%w: made for another filter", ErrBadCursor)
	}
	row, n := binary.Uvarint(b[5:])
	if n <= 0 || 5+n != len(b) || row == 0 || row > 1<<62 || len(binary.AppendUvarint(nil, row)) != n {
		return 0, fmt.Errorf("%w: bad position", ErrBadCursor)
	}
	return int64(row), nil
}

// List returns one page of messages matching the filter, newest first (or
// oldest first). Pages are keyed by the row id, which only grows: rows
// inserted while paging never shift a page, so paging neither skips nor
// repeats a message (newest first, new messages are not listed; oldest
// first, they appear on later pages). A message whose state changes while
// paging may enter or leave a state filter.
func (s *Store) List(ctx context.Context, f Filter) (*Page, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	if limit > MaxLimit {
		return nil, fmt.Errorf("store: list: %w limit %d: at most %d", ErrInvalid, limit, MaxLimit)
	}
	fp := f.fingerprint()
	var where []string
	var args []any
	add := func(cond string, a ...any) { where = append(where, cond); args = append(args, a...) }
	if f.Cursor != "" {
		row, err := decodeCursor(f.Cursor, fp)
		if err != nil {
			return nil, fmt.Errorf("store: list: %w", err)
		}
		if f.Oldest {
			add("m.id > ?", row)
		} else {
			add("m.id < ?", row)
		}
	}
	switch f.Direction {
	case "":
	case Out, In:
		add(s.unindexed("m.direction")+" = ?", f.Direction)
	default:
		return nil, fmt.Errorf("store: list: %w direction %q", ErrInvalid, f.Direction)
	}
	if len(f.States) > 0 {
		add("m.state IN (?"+strings.Repeat(", ?", len(f.States)-1)+")", statesArgs(f.States)...)
	}
	if !f.Since.IsZero() {
		add("m.created_at >= ?", timeMs(f.Since))
	}
	if f.From != "" {
		add(s.unindexed("m.direction")+" = 'in' AND m.peer = ?", f.From)
	}
	if f.To != "" {
		add(s.unindexed("m.direction")+" = 'out' AND m.peer = ?", f.To)
	}
	if f.ModemID != 0 {
		add("m.modem_id = ?", f.ModemID)
	}
	if f.Unread {
		add("m.direction = 'in' AND m.read = 0")
	}
	// The unary + keeps SQLite from choosing the (direction, state) index
	// for a direction term and then sorting half the table by id (44 ms on
	// 100,000 messages, BenchmarkList100k); unread rows are walked in id
	// order through their partial index.
	// PostgreSQL's planner needs neither hint.
	q := `SELECT ` + messageColumns + ` FROM messages m`
	if f.Unread && !s.Postgres() {
		q += ` INDEXED BY messages_unread`
	}
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	if f.Oldest {
		q += " ORDER BY m.id ASC"
	} else {
		q += " ORDER BY m.id DESC"
	}
	q += " LIMIT ?"
	args = append(args, limit+1)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list: %w", err)
	}
	defer rows.Close()
	page := &Page{}
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list: %w", err)
		}
		page.Messages = append(page.Messages, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list: %w", err)
	}
	if len(page.Messages) > limit {
		page.Messages = page.Messages[:limit]
		page.Next = encodeCursor(fp, page.Messages[limit-1].row)
	}
	return page, nil
}

// unindexed is the column col in a condition that SQLite must not use an
// index for (its unary +, see List); PostgreSQL takes it as it is.
func (s *Store) unindexed(col string) string {
	if s.Postgres() {
		return col
	}
	return "+" + col
}

func statesArgs(states []State) []any {
	out := make([]any, len(states))
	for i, s := range states {
		out[i] = string(s)
	}
	return out
}
