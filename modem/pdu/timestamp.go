package pdu

import (
	"fmt"
	"time"
)

// Time stamps (TP-SCTS, TP-DT, absolute TP-VP; TS 23.040 §9.2.3.11) are 7
// octets of swapped semi-octets: year, month, day, hour, minute, second and
// the time zone in quarter hours, whose bit 3 is the sign (1 = west of UTC).
//
// The two-digit year is read as 1990..2089. Seven zero octets, which some
// networks send when they have no time, decode as the zero time.Time, and
// the zero time.Time encodes as seven zero octets.

const timestampLen = 7

// encodeTimestamp encodes t in its own offset. If the offset is not a whole
// number of quarter hours or is beyond ±79 quarters (19h45), t is encoded
// in UTC instead, which keeps the instant.
func encodeTimestamp(t time.Time) ([]byte, error) {
	out := make([]byte, timestampLen)
	if t.IsZero() {
		return out, nil
	}
	_, off := t.Zone()
	if off%(15*60) != 0 || off/(15*60) > 79 || off/(15*60) < -79 {
		t = t.UTC()
		off = 0
	}
	y := t.Year()
	if y < 1990 || y > 2089 {
		return nil, fmt.Errorf("%w: year %d outside 1990..2089", ErrInvalid, y)
	}
	for i, v := range []int{y % 100, int(t.Month()), t.Day(), t.Hour(), t.Minute(), t.Second()} {
		out[i] = swappedBCD(v)
	}
	q := off / (15 * 60)
	sign := byte(0)
	if q < 0 {
		q, sign = -q, 0x08
	}
	out[6] = swappedBCD(q) | sign
	return out, nil
}

// swappedBCD encodes 0..99 as two semi-octets, tens in the low nibble.
func swappedBCD(v int) byte {
	return byte(v/10) | byte(v%10)<<4
}

// unswapBCD decodes two semi-octets; ok is false if a nibble is above 9.
func unswapBCD(b byte) (int, bool) {
	lo, hi := b&0x0F, b>>4
	if lo > 9 || hi > 9 {
		return 0, false
	}
	return int(lo)*10 + int(hi), true
}

// decodeTimestamp decodes 7 octets into a time in a time.FixedZone.
func decodeTimestamp(b []byte) (time.Time, error) {
	if len(b) != timestampLen {
		return time.Time{}, fmt.Errorf("%w: time stamp of %d octets", ErrTruncated, len(b))
	}
	zero := true
	for _, c := range b {
		if c != 0 {
			zero = false
		}
	}
	if zero {
		return time.Time{}, nil
	}
	var f [6]int
	for i := range f {
		v, ok := unswapBCD(b[i])
		if !ok {
			return time.Time{}, fmt.Errorf("%w: octet %d of the time stamp (%#02x) is not BCD", ErrInvalid, i, b[i])
		}
		f[i] = v
	}
	tzTens, tzUnits := int(b[6]&0x07), int(b[6]>>4)
	if tzUnits > 9 {
		return time.Time{}, fmt.Errorf("%w: time zone octet %#02x is not BCD", ErrInvalid, b[6])
	}
	q := tzTens*10 + tzUnits
	if b[6]&0x08 != 0 {
		q = -q
	}
	year := 2000 + f[0]
	if f[0] >= 90 {
		year = 1900 + f[0]
	}
	loc := zone(q * 15 * 60)
	t := time.Date(year, time.Month(f[1]), f[2], f[3], f[4], f[5], 0, loc)
	if t.Month() != time.Month(f[1]) || t.Day() != f[2] || t.Hour() != f[3] || t.Minute() != f[4] || t.Second() != f[5] {
		return time.Time{}, fmt.Errorf("%w: no such time %02d-%02d-%02d %02d:%02d:%02d", ErrInvalid, f[0], f[1], f[2], f[3], f[4], f[5])
	}
	return t, nil
}

// zones caches the fixed zones of the 159 offsets a time stamp can carry.
var zones = func() (z [2*79 + 1]*time.Location) {
	for q := -79; q <= 79; q++ {
		z[q+79] = newZone(q * 15 * 60)
	}
	return z
}()

// zone returns a fixed zone named like "+02:00" for an offset in seconds.
func zone(off int) *time.Location {
	if off%(15*60) == 0 && off >= -79*15*60 && off <= 79*15*60 {
		return zones[off/(15*60)+79]
	}
	return newZone(off)
}

// newZone builds a fixed zone named like "+02:00".
func newZone(off int) *time.Location {
	sign := '+'
	a := off
	if a < 0 {
		sign, a = '-', -a
	}
	return time.FixedZone(fmt.Sprintf("%c%02d:%02d", sign, a/3600, a%3600/60), off)
}

// readTimestamp reads and decodes a 7-octet time stamp field.
func readTimestamp(r *reader, field string) (time.Time, error) {
	off := r.off
	b, err := r.take(field, timestampLen)
	if err != nil {
		return time.Time{}, err
	}
	t, err := decodeTimestamp(b)
	if err != nil {
		return time.Time{}, r.failAt(field, off, err)
	}
	return t, nil
}
