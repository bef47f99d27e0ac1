package pdu

import "fmt"

// reader walks the octets of a PDU, producing a *DecodeError with the
// offset of the field that failed.
type reader struct {
	b   []byte
	off int
}

// fail returns a *DecodeError for field at the current offset.
func (r *reader) fail(field string, err error) error {
	return &DecodeError{Field: field, Offset: r.off, Err: err}
}

// failAt returns a *DecodeError for field at offset off.
func (r *reader) failAt(field string, off int, err error) error {
	return &DecodeError{Field: field, Offset: off, Err: err}
}

// remaining is the number of octets not yet read.
func (r *reader) remaining() int { return len(r.b) - r.off }

// octet reads one octet.
func (r *reader) octet(field string) (byte, error) {
	if r.off >= len(r.b) {
		return 0, r.fail(field, ErrTruncated)
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

// take reads n octets; the result aliases the input.
func (r *reader) take(field string, n int) ([]byte, error) {
	if n < 0 || n > r.remaining() {
		return nil, r.fail(field, fmt.Errorf("%w: need %d octets, have %d", ErrTruncated, n, r.remaining()))
	}
	p := r.b[r.off : r.off+n]
	r.off += n
	return p, nil
}

// end fails if octets are left.
func (r *reader) end() error {
	if n := r.remaining(); n > 0 {
		return r.fail("end of TPDU", fmt.Errorf("%w: %d octets after the last field", ErrTrailing, n))
	}
	return nil
}
