package modemops

import (
	"errors"
	"unicode/utf16"

	"github.com/sim-modem-api/sim-modem-api/modem/gsm7"
	"github.com/sim-modem-api/sim-modem-api/modem/pdu"
)

// Units of TP-UD per part, by the codec's split rules (modem/pdu, TS
// 23.040 §9.2.3.24.1): a single part holds 160 septets or 70 UTF-16
// units; a part of a concatenated message loses the 6-octet header with
// the 8-bit reference the api uses (153 septets, 67 units). The tests check
// these figures against pdu.SplitText at every boundary.
const (
	gsm7Single = pdu.MaxSeptets
	gsm7Part   = 153
	ucs2Single = 70
	ucs2Part   = 67
)

// maxForcing bounds Preview.ForcingUCS2.
const maxForcing = 10

// Preview is what sending a text would take: the encoding and the parts
// Prepare would produce for it, with the units left in the last part. It
// touches neither the modem nor the message reference.
type Preview struct {
	Encoding string `json:"encoding"` // gsm7 or ucs2
	Parts    int    `json:"parts"`    // SMS parts (more than MaxParts when TooLong)
	// Units is the text's length in the encoding's units: septets (an
	// extension-table character such as € counts two) or UTF-16 units (an
	// emoji outside the BMP counts two).
	Units int `json:"units"`
	// UnitsPerPart is the capacity of one part: 160 or 153 septets, 70 or
	// 67 UTF-16 units (with the concatenation header).
	UnitsPerPart int `json:"unitsPerPart"`
	// UnitsLeft is how many units still fit in the last part before one
	// more part is needed.
	UnitsLeft int `json:"unitsLeft"`
	// MaxParts is the most parts a message may have (API_MAX_PARTS);
	// TooLong says the text is over it and would be refused.
	MaxParts int  `json:"maxParts"`
	TooLong  bool `json:"tooLong"`
	// ForcingUCS2 lists (up to 10, in order, without repeats) the
	// characters outside the GSM 7-bit alphabet that make the text UCS-2.
	ForcingUCS2 []string `json:"forcingUcs2,omitempty"`
}

// Preview says how text would be sent (see Preview), by the rules of
// Prepare: GSM 7-bit if every character fits, else UCS-2; split as the
// codec splits. Invalid UTF-8 is a *FieldError for "text".
func (o *Ops) Preview(text string) (Preview, error) {
	p := Preview{MaxParts: o.cfg.MaxParts}
	alpha, parts, err := pdu.SplitText(text, 0, false)
	switch {
	case errors.Is(err, pdu.ErrTooManyParts):
		alpha = pdu.AlphabetGSM7
		if _, ok := gsm7.Count(text); !ok {
			alpha = pdu.AlphabetUCS2
		}
	case err != nil:
		return p, fieldErr("text", "%v", err)
	}
	count := func(s string) int {
		if alpha == pdu.AlphabetGSM7 {
			n, _ := gsm7.Count(s)
			return n
		}
		return len(utf16.Encode([]rune(s)))
	}
	single, part := gsm7Single, gsm7Part
	p.Encoding = "gsm7"
	if alpha == pdu.AlphabetUCS2 {
		single, part = ucs2Single, ucs2Part
		p.Encoding = "ucs2"
		seen := map[rune]bool{}
		for _, r := range text {
			if _, n := gsm7.Septets(r); n == 0 && !seen[r] && len(p.ForcingUCS2) < maxForcing {
				seen[r] = true
				p.ForcingUCS2 = append(p.ForcingUCS2, string(r))
			}
		}
	}
	p.Units = count(text)
	if err != nil { // more than 255 parts: an estimate is enough
		p.Parts = (p.Units + part - 1) / part
		p.UnitsPerPart, p.TooLong = part, true
		p.UnitsLeft = p.Parts*part - p.Units
		return p, nil
	}
	p.Parts = len(parts)
	p.UnitsPerPart = single
	if p.Parts > 1 {
		p.UnitsPerPart = part
	}
	p.UnitsLeft = p.UnitsPerPart - count(parts[len(parts)-1].Text)
	p.TooLong = p.Parts > p.MaxParts
	return p, nil
}
