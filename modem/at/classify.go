package at

import (
	"strconv"
	"strings"
)

// trim removes what surrounds a line's text: spaces, control characters
// (NUL, the Ctrl-Z and ESC of an echoed SMS body, lone CRs are already
// gone) and DEL. Bytes inside the line are kept.
func trim(b []byte) string {
	i, j := 0, len(b)
	for i < j && (b[i] <= ' ' || b[i] == 0x7f) {
		i++
	}
	for j > i && (b[j-1] <= ' ' || b[j-1] == 0x7f) {
		j--
	}
	return string(b[i:j])
}

// parseFinal reports whether line is a final result code and the error it
// stands for: OK is nil, ERROR is ErrError, +CME ERROR and +CMS ERROR are
// *CMEError and *CMSError. Other V.250 final result codes that a data
// modem sends (NO CARRIER, BUSY, NO ANSWER, NO DIALTONE) are *FinalError.
func parseFinal(line string) (final bool, err error) {
	switch line {
	case "OK":
		return true, nil
	case "ERROR":
		return true, ErrError
	case "NO CARRIER", "BUSY", "NO ANSWER", "NO DIALTONE":
		return true, &FinalError{Result: line}
	}
	if len(line) < len("+CME ERROR") || line[0] != '+' {
		return false, nil
	}
	switch {
	case hasPrefixFold(line, "+CME ERROR"):
		if arg, ok := errorArg(line[len("+CME ERROR"):]); ok {
			return true, ParseCMEError(arg)
		}
	case hasPrefixFold(line, "+CMS ERROR"):
		if arg, ok := errorArg(line[len("+CMS ERROR"):]); ok {
			return true, ParseCMSError(arg)
		}
	}
	return false, nil
}

// errorArg returns the <err> after "+CME ERROR": a colon, then the code or
// text. A line with nothing after the colon still counts (the code is then
// unknown).
func errorArg(rest string) (string, bool) {
	rest = strings.TrimLeft(rest, " ")
	if rest == "" || rest[0] != ':' {
		return "", false
	}
	return strings.TrimSpace(rest[1:]), true
}

// hasPrefixFold is strings.HasPrefix ignoring ASCII case.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// lineName returns the name an information text or URC line starts with:
// the text before the first colon ("+CREG" of "+CREG: 0,1", "+ZUSIMR" of
// "+ZUSIMR:2"), or the whole line if it has none ("RING", "+ZEND"), in
// upper case and without surrounding spaces.
func lineName(line string) string {
	if i := strings.IndexByte(line, ':'); i >= 0 {
		line = line[:i]
	}
	return strings.ToUpper(strings.TrimSpace(line))
}

// commandNames returns the names of the extended commands in a command
// line body (the text after "AT"): "+CREG" for "+CREG?", "+CMEE" and
// "+CMGF" for "+CMEE=2;+CMGF=0". Names start with '+', '^', '$', '%', '*'
// or '#' and run to the first character that is not a letter, digit,
// '_' or one of "!%-./:" (V.250 §5.4.1). Quoted strings are skipped.
func commandNames(body string) []string {
	var names []string
	inQuote := false
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c == '"' {
			inQuote = !inQuote
			continue
		}
		if inQuote || !strings.ContainsRune("+^$%*#", rune(c)) {
			continue
		}
		j := i + 1
		for j < len(body) && isNameChar(body[j]) {
			j++
		}
		if j > i+1 {
			names = append(names, strings.ToUpper(body[i:j]))
		}
		i = j - 1
	}
	return names
}

func isNameChar(c byte) bool {
	switch {
	case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		return true
	}
	return c == '_' || c == '!' || c == '-' || c == '.' || c == '/'
}

// isNonce reports whether line is the reply of the resync probe's
// S-parameter read for value n: the decimal digits of n, usually with
// leading zeros ("007").
func isNonce(line string, n int) bool {
	if line == "" || len(line) > 3 {
		return false
	}
	v, err := strconv.Atoi(line)
	return err == nil && line[0] != '+' && line[0] != '-' && v == n
}

// isNumericFinal reports whether line is the numeric form (ATV0) of OK
// ("0") or ERROR ("4"). It is only recognised while the engine recovers:
// in sync, the modem is in ATV1.
func isNumericFinal(line string) bool { return line == "0" || line == "4" }
