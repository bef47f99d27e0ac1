package pdu

import "time"

// TP-Validity-Period-Format values (TS 23.040 §9.2.3.3), bits 4-3 of the
// first octet of an SMS-SUBMIT.
const (
	vpfNone     = 0x00
	vpfEnhanced = 0x08
	vpfRelative = 0x10
	vpfAbsolute = 0x18
)

// relativeValidity returns the duration of a relative TP-VP octet
// (TS 23.040 §9.2.3.12.1).
func relativeValidity(vp byte) time.Duration {
	v := time.Duration(vp)
	switch {
	case vp <= 143:
		return (v + 1) * 5 * time.Minute
	case vp <= 167:
		return 12*time.Hour + (v-143)*30*time.Minute
	case vp <= 196:
		return (v - 166) * 24 * time.Hour
	default:
		return (v - 192) * 7 * 24 * time.Hour
	}
}

// encodeRelativeValidity returns the TP-VP octet whose duration is nearest
// to d (ties go to the longer period). Durations beyond 63 weeks give 255,
// below 5 minutes 0.
func encodeRelativeValidity(d time.Duration) byte {
	best, bestDiff := byte(0), time.Duration(-1)
	for v := 0; v <= 255; v++ {
		diff := relativeValidity(byte(v)) - d
		if diff < 0 {
			diff = -diff
		}
		if bestDiff < 0 || diff <= bestDiff {
			best, bestDiff = byte(v), diff
		}
	}
	return best
}

// RelativeValidity returns the validity period that encoding d as a relative
// TP-VP gives, i.e. d rounded to the nearest representable value.
func RelativeValidity(d time.Duration) time.Duration {
	return relativeValidity(encodeRelativeValidity(d))
}
