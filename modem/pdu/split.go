package pdu

import (
	"fmt"
	"unicode/utf8"

	"github.com/sim-modem-api/sim-modem-api/modem/gsm7"
)

// Payload per part of a concatenated message: the whole PDU minus the
// concatenation header (6 octets with an 8-bit reference, 7 with a 16-bit one).
const (
	gsm7PartSeptets   = 153 // 160 - 7 septets of header
	gsm7PartSeptets16 = 152 // 160 - 8 septets of header
	ucs2Units         = 70  // 140 / 2
	ucs2PartUnits     = 67  // (140 - 6) / 2
	ucs2PartUnits16   = 66  // (140 - 7) / 2, rounded down
	dataPartOctets    = 134 // 140 - 6
	dataPartOctets16  = 133 // 140 - 7
	maxParts          = 255
)

// SplitText chooses the smallest alphabet that fits all of text and splits
// it into the user data of one or more SMS: GSM 7-bit (with the extension
// table) if every character encodes, else UCS-2 (UTF-16, so characters
// outside the BMP take two code units).
//
// Text that fits one SMS (160 septets or 70 UCS-2 code units) gives one part
// without a header. Longer text gives parts that each carry a concatenation
// IE with reference ref (its low 8 bits unless ref16): 153 septets per GSM
// part (152 with a 16-bit reference), 67 UCS-2 code units (66). An escape
// sequence or a surrogate pair is never split across parts, so a part may
// carry one unit less. More than 255 parts is an error wrapping
// ErrTooManyParts.
//
// Empty text is legal (an empty SMS) and gives one empty GSM 7-bit part.
// Invalid UTF-8 is an error wrapping ErrInvalid.
func SplitText(text string, ref uint16, ref16 bool) (Alphabet, []UserData, error) {
	alpha := AlphabetGSM7
	if _, ok := gsm7.Count(text); !ok {
		alpha = AlphabetUCS2
	}
	parts, err := SplitTextAs(text, alpha, ref, ref16)
	if err != nil {
		return 0, nil, err
	}
	return alpha, parts, nil
}

// SplitTextAs is SplitText with the alphabet given rather than chosen:
// AlphabetGSM7 (an error wrapping ErrInvalid if a character does not
// encode) or AlphabetUCS2.
func SplitTextAs(text string, alpha Alphabet, ref uint16, ref16 bool) ([]UserData, error) {
	if !utf8.ValidString(text) {
		return nil, fmt.Errorf("split text: %w: not valid UTF-8", ErrInvalid)
	}
	var total, single, part int
	var cost func(r rune) int
	switch alpha {
	case AlphabetGSM7:
		n, ok := gsm7.Count(text)
		if !ok {
			return nil, fmt.Errorf("split text: %w: a character is outside the GSM 7-bit alphabet", ErrInvalid)
		}
		total, single, part = n, MaxSeptets, gsm7PartSeptets
		if ref16 {
			part = gsm7PartSeptets16
		}
		cost = func(r rune) int { _, n := gsm7.Septets(r); return n }
	case AlphabetUCS2:
		single, part = ucs2Units, ucs2PartUnits
		if ref16 {
			part = ucs2PartUnits16
		}
		cost = func(r rune) int {
			if r > 0xFFFF {
				return 2
			}
			return 1
		}
		for _, r := range text {
			total += cost(r)
		}
	default:
		return nil, fmt.Errorf("split text: %w: alphabet %d is not a text alphabet (use SplitData for 8-bit)", ErrInvalid, alpha)
	}
	if total <= single {
		return []UserData{{Text: text}}, nil
	}
	var texts []string
	start, used := 0, 0
	for i, r := range text {
		c := cost(r)
		if used+c > part {
			texts = append(texts, text[start:i])
			if len(texts) == maxParts {
				return nil, fmt.Errorf("split text: %w: %d units need more than %d parts of %d", ErrTooManyParts, total, maxParts, part)
			}
			start, used = i, 0
		}
		used += c
	}
	texts = append(texts, text[start:])
	parts := make([]UserData, len(texts))
	for i, t := range texts {
		c := Concat{Ref: ref, Total: len(texts), Seq: i + 1, Ref16: ref16}
		if !ref16 {
			c.Ref &= 0xFF
		}
		parts[i] = UserData{Header: []InformationElement{ConcatIE(c)}, Text: t}
	}
	return parts, nil
}

// SplitData splits 8-bit data into the user data of one or more SMS: one
// part without a header if it fits 140 octets, else parts of 134 octets (133
// with a 16-bit reference) with a concatenation IE. Empty data gives one
// empty part. More than 255 parts is an error wrapping ErrTooManyParts.
func SplitData(data []byte, ref uint16, ref16 bool) ([]UserData, error) {
	if len(data) <= MaxOctets {
		return []UserData{{Data: append([]byte{}, data...)}}, nil
	}
	part := dataPartOctets
	if ref16 {
		part = dataPartOctets16
	} else {
		ref &= 0xFF
	}
	n := (len(data) + part - 1) / part
	if n > maxParts {
		return nil, fmt.Errorf("split data: %w: %d octets need %d parts of %d", ErrTooManyParts, len(data), n, part)
	}
	parts := make([]UserData, n)
	for i := range parts {
		chunk := data[i*part : min((i+1)*part, len(data))]
		c := Concat{Ref: ref, Total: n, Seq: i + 1, Ref16: ref16}
		parts[i] = UserData{Header: []InformationElement{ConcatIE(c)}, Data: append([]byte{}, chunk...)}
	}
	return parts, nil
}
