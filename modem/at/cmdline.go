package at

import (
	"fmt"
	"strings"
)

// Form is the form of a command on a command line.
type Form uint8

// Command forms (V.250 §5.3, §5.4).
const (
	FormExec Form = iota // "E0", "+CSQ", "Z"
	FormSet              // "+CMGF=1", "S7=20"
	FormRead             // "+CMGF?", "S7?"
	FormTest             // "+CMGF=?", "S7=?"
)

// LineCommand is one command of a command line, as the modem parses it.
type LineCommand struct {
	// Name in upper case: a basic command's letter ("E", "V", "D"), with
	// its '&' ("&F"), an S-parameter with its number ("S3"), or an
	// extended command's name with its prefix ("+CMGS", "^SYSINFO").
	Name string
	Form Form
	// Arg is what follows the name: the number of a basic command ("1"
	// of "E1", "" of "E"), the value of a set ("10" of "+CMGS=10", "0"
	// of "S7=0"), the dial string of D. Spaces outside quotes are gone.
	Arg string
}

// Basic reports whether c is a basic command or S-parameter (no prefix
// character).
func (c LineCommand) Basic() bool { return !strings.ContainsRune(extendedPrefixes, rune(c.Name[0])) }

// extendedPrefixes start extended commands: '+' (V.250), the others
// vendor-specific.
const extendedPrefixes = "+^$%*#"

// ParseLine splits the body of a command line (the text after "AT") into
// its commands the way a V.250 modem does: case does not matter; spaces
// outside quoted strings are ignored ("AT +CMGS = 10" is "AT+CMGS=10");
// basic commands follow each other without separator ("E1V0Q0",
// "E1+CMGS=10", "&F+CMGS=5"); an extended command runs to the next ';'
// outside quotes; ';' may also separate basic commands; D takes the rest
// of the line up to ';' as its dial string. A body it cannot split (an
// unknown character, an unterminated quote) is an error: the modem
// would answer ERROR, but a caller deciding whether a line is safe must
// not guess.
func ParseLine(body string) ([]LineCommand, error) {
	s, err := squeeze(body)
	if err != nil {
		return nil, err
	}
	var cmds []LineCommand
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ';':
			i++
		case strings.IndexByte(extendedPrefixes, c) >= 0:
			j := i + 1
			for j < len(s) && isNameChar(s[j]) {
				j++
			}
			if j == i+1 {
				return nil, fmt.Errorf("at: command line: %q without a name at %d", c, i)
			}
			cmd := LineCommand{Name: strings.ToUpper(s[i:j])}
			k := j
			inQuote := false
			for k < len(s) && (inQuote || s[k] != ';') {
				if s[k] == '"' {
					inQuote = !inQuote
				}
				k++
			}
			cmd.Form, cmd.Arg = form(s[j:k])
			cmds = append(cmds, cmd)
			i = k
		case c == 'D' || c == 'd':
			k := strings.IndexByte(s[i:], ';')
			if k < 0 {
				k = len(s) - i
			}
			cmds = append(cmds, LineCommand{Name: "D", Arg: s[i+1 : i+k]})
			i += k
		case c == 'S' || c == 's':
			j := i + 1
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			if j == i+1 {
				return nil, fmt.Errorf("at: command line: S without a number at %d", i)
			}
			cmd := LineCommand{Name: "S" + s[i+1:j]}
			k := j
			switch {
			case strings.HasPrefix(s[j:], "=?"):
				cmd.Form, k = FormTest, j+2
			case strings.HasPrefix(s[j:], "?"):
				cmd.Form, k = FormRead, j+1
			case strings.HasPrefix(s[j:], "="):
				k = j + 1
				for k < len(s) && isDigit(s[k]) {
					k++
				}
				cmd.Form, cmd.Arg = FormSet, s[j+1:k]
			default:
				return nil, fmt.Errorf("at: command line: S%s without =, ? or =?", s[i+1:j])
			}
			cmds = append(cmds, cmd)
			i = k
		case isLetter(c) || c == '&' && i+1 < len(s) && isLetter(s[i+1]):
			j := i + 1
			if c == '&' {
				j++
			}
			name := strings.ToUpper(s[i:j])
			k := j
			for k < len(s) && isDigit(s[k]) {
				k++
			}
			cmds = append(cmds, LineCommand{Name: name, Arg: s[j:k]})
			i = k
		default:
			return nil, fmt.Errorf("at: command line: unexpected %q at %d", c, i)
		}
	}
	return cmds, nil
}

// form splits what follows an extended command's name.
func form(rest string) (Form, string) {
	switch {
	case rest == "":
		return FormExec, ""
	case rest == "?":
		return FormRead, ""
	case rest == "=?":
		return FormTest, ""
	case rest[0] == '=':
		return FormSet, rest[1:]
	}
	return FormExec, rest
}

// squeeze removes the spaces outside quoted strings and refuses control
// bytes and an unterminated quote.
func squeeze(body string) (string, error) {
	var b strings.Builder
	inQuote := false
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c < 0x20 || c >= 0x7f:
			return "", fmt.Errorf("at: command line: control or non-ASCII byte 0x%02X at %d", c, i)
		case c == '"':
			inQuote = !inQuote
		case c == ' ' && !inQuote:
			continue
		}
		b.WriteByte(c)
	}
	if inQuote {
		return "", fmt.Errorf("at: command line: unterminated quoted string")
	}
	return b.String(), nil
}

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' }
