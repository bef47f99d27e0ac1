package pdu

import (
	"errors"
	"fmt"
)

// Sentinel errors. Errors returned by this package wrap one of them where a
// caller may need to react, so use errors.Is.
var (
	// ErrTooLong: the user data does not fit in one PDU (140 octets,
	// 160 septets), an address has too many digits, or a field is too long.
	ErrTooLong = errors.New("too long")
	// ErrTooManyParts: a text or data needs more than 255 concatenated parts.
	ErrTooManyParts = errors.New("more than 255 parts")
	// ErrTruncated: the input ends inside a field.
	ErrTruncated = errors.New("truncated")
	// ErrTrailing: octets are left over after the last field.
	ErrTrailing = errors.New("trailing octets")
	// ErrInvalid: a field holds a value that is not allowed.
	ErrInvalid = errors.New("invalid value")
	// ErrWrongType: the TP-MTI is not the one the decoder handles.
	ErrWrongType = errors.New("wrong message type")
	// ErrInvalidAddress: an address cannot be parsed or encoded.
	ErrInvalidAddress = errors.New("invalid address")
)

// DecodeError reports where decoding a PDU failed.
type DecodeError struct {
	Field  string // the TPDU field, e.g. "TP-OA"
	Offset int    // octet offset of the field in the decoded input
	Err    error  // the cause; wraps one of the sentinel errors
}

// Error implements error.
func (e *DecodeError) Error() string {
	return fmt.Sprintf("pdu: decode %s at octet %d: %v", e.Field, e.Offset, e.Err)
}

// Unwrap returns the cause.
func (e *DecodeError) Unwrap() error { return e.Err }

// EncodeError reports which field of a PDU could not be encoded.
type EncodeError struct {
	Field string // the TPDU field, e.g. "TP-UD"
	Err   error  // the cause
}

// Error implements error.
func (e *EncodeError) Error() string {
	return fmt.Sprintf("pdu: encode %s: %v", e.Field, e.Err)
}

// Unwrap returns the cause.
func (e *EncodeError) Unwrap() error { return e.Err }
