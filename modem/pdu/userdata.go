package pdu

import (
	"fmt"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/sim-modem-api/sim-modem-api/modem/gsm7"
)

// Limits of TP-User-Data (TS 23.040 §9.2.3.24).
const (
	MaxOctets  = 140 // octets of TP-UD
	MaxSeptets = 160 // septets of TP-UD in the GSM 7-bit alphabet
)

// encodeHeader encodes a user data header with its length octet (UDHL);
// it returns nil for no information elements.
func encodeHeader(ies []InformationElement) ([]byte, error) {
	if len(ies) == 0 {
		return nil, nil
	}
	h := []byte{0}
	for i, ie := range ies {
		if len(ie.Data) > 255 {
			return nil, fmt.Errorf("%w: information element %d (id %#02x) has %d octets of data", ErrTooLong, i, ie.ID, len(ie.Data))
		}
		h = append(h, ie.ID, byte(len(ie.Data)))
		h = append(h, ie.Data...)
	}
	if len(h)-1 > MaxOctets-1 {
		return nil, fmt.Errorf("%w: user data header of %d octets", ErrTooLong, len(h))
	}
	h[0] = byte(len(h) - 1)
	return h, nil
}

// decodeHeader decodes the information elements of a user data header
// without its length octet.
func decodeHeader(h []byte) ([]InformationElement, error) {
	var ies []InformationElement
	for i := 0; i < len(h); {
		if i+2 > len(h) {
			return nil, fmt.Errorf("%w: information element at header octet %d lacks its length", ErrTruncated, i+1)
		}
		id, n := h[i], int(h[i+1])
		if i+2+n > len(h) {
			return nil, fmt.Errorf("%w: information element %#02x at header octet %d claims %d octets, header has %d left",
				ErrTruncated, id, i+1, n, len(h)-i-2)
		}
		ies = append(ies, InformationElement{ID: id, Data: append([]byte{}, h[i+2:i+2+n]...)})
		i += 2 + n
	}
	return ies, nil
}

// headerSeptets returns the fill bits after a header of h octets (UDHL
// included) and the number of septets header and fill bits occupy.
func headerSeptets(h int) (fill, septets int) {
	fill = (7 - h*8%7) % 7
	return fill, (h*8 + fill) / 7
}

// encodeUserData encodes ud in the alphabet; it returns TP-UDL and TP-UD.
// It also reports whether a header is present (TP-UDHI).
func encodeUserData(ud UserData, a Alphabet) (udl byte, body []byte, udhi bool, err error) {
	hdr, err := encodeHeader(ud.Header)
	if err != nil {
		return 0, nil, false, err
	}
	switch a {
	case AlphabetGSM7, AlphabetUCS2:
		if len(ud.Data) > 0 {
			return 0, nil, false, fmt.Errorf("%w: Data set for a text alphabet; use Text", ErrInvalid)
		}
	default:
		if ud.Text != "" {
			return 0, nil, false, fmt.Errorf("%w: Text set for 8-bit data; use Data", ErrInvalid)
		}
	}
	switch a {
	case AlphabetGSM7:
		septets, err := gsm7.Encode(ud.Text)
		if err != nil {
			return 0, nil, false, err
		}
		fill, hs := headerSeptets(len(hdr))
		n := hs + len(septets)
		if n > MaxSeptets {
			return 0, nil, false, fmt.Errorf("%w: %d septets (%d of header), at most %d fit", ErrTooLong, n, hs, MaxSeptets)
		}
		body = append(hdr, gsm7.Pack(septets, fill)...)
		// TP-UD is ceil(7*TP-UDL/8) octets: a header with fill bits and no
		// text still ends in an octet holding the fill bits, which Pack of
		// no septets does not make.
		for len(body) < gsm7.PackedLen(n, 0) {
			body = append(body, 0)
		}
		return byte(n), body, hdr != nil, nil
	case AlphabetUCS2:
		if !utf8.ValidString(ud.Text) {
			return 0, nil, false, fmt.Errorf("%w: text is not valid UTF-8", ErrInvalid)
		}
		body = hdr
		for _, u := range utf16.Encode([]rune(ud.Text)) {
			body = append(body, byte(u>>8), byte(u))
		}
	default:
		body = append(hdr, ud.Data...)
	}
	if len(body) > MaxOctets {
		return 0, nil, false, fmt.Errorf("%w: %d octets (%d of header), at most %d fit", ErrTooLong, len(body), len(hdr), MaxOctets)
	}
	return byte(len(body)), body, hdr != nil, nil
}

// decodeUserData reads TP-UDL and TP-UD up to the end of the input.
func decodeUserData(r *reader, udhi bool, a Alphabet) (UserData, error) {
	udlOff := r.off
	udl, err := r.octet("TP-UDL")
	if err != nil {
		return UserData{}, err
	}
	n := int(udl)
	octets := n
	if a == AlphabetGSM7 {
		if n > MaxSeptets {
			return UserData{}, r.failAt("TP-UDL", udlOff, fmt.Errorf("%w: %d septets exceeds %d", ErrInvalid, n, MaxSeptets))
		}
		octets = gsm7.PackedLen(n, 0)
	} else if n > MaxOctets {
		return UserData{}, r.failAt("TP-UDL", udlOff, fmt.Errorf("%w: %d octets exceeds %d", ErrInvalid, n, MaxOctets))
	}
	if rem := r.remaining(); rem != octets {
		err := ErrTruncated
		if rem > octets {
			err = ErrTrailing
		}
		return UserData{}, r.failAt("TP-UD", r.off, fmt.Errorf("%w: TP-UDL %d needs %d octets, %d present", err, n, octets, rem))
	}
	udOff := r.off
	body, _ := r.take("TP-UD", octets)
	var ud UserData
	h := 0 // header octets including UDHL
	if udhi && octets > 0 {
		h = int(body[0]) + 1
		if h > octets {
			return UserData{}, r.failAt("TP-UDH", udOff, fmt.Errorf("%w: header length %d exceeds the %d octets of user data", ErrInvalid, h-1, octets))
		}
		ud.Header, err = decodeHeader(body[1:h])
		if err != nil {
			return UserData{}, r.failAt("TP-UDH", udOff, err)
		}
	} else if udhi {
		return UserData{}, r.failAt("TP-UDH", udOff, fmt.Errorf("%w: TP-UDHI set but no user data", ErrInvalid))
	}
	switch a {
	case AlphabetGSM7:
		fill, hs := headerSeptets(h)
		if h == 0 {
			fill, hs = 0, 0
		}
		if hs > n {
			return UserData{}, r.failAt("TP-UDH", udOff, fmt.Errorf("%w: header takes %d septets, TP-UDL is %d", ErrInvalid, hs, n))
		}
		ud.Text = gsm7.Decode(gsm7.Unpack(body[h:], fill, n-hs))
	case AlphabetUCS2:
		text := body[h:]
		if len(text)%2 != 0 {
			return UserData{}, r.failAt("TP-UD", udOff+h, fmt.Errorf("%w: odd number (%d) of UCS-2 octets", ErrInvalid, len(text)))
		}
		ud.Text = decodeUCS2(text)
	default:
		ud.Data = append([]byte{}, body[h:]...)
	}
	return ud, nil
}

// decodeUCS2 decodes UTF-16BE; unpaired surrogates become U+FFFD.
func decodeUCS2(b []byte) string {
	units := make([]uint16, len(b)/2)
	for i := range units {
		units[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	return string(utf16.Decode(units))
}
