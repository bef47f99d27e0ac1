// Package atcmd parses AT command lines as a modem receives them (ITU-T V.250
// §5, 3GPP TS 27.007 §4).
//
// A command line is "AT" followed by a body. Parse splits the body into
// commands: basic commands ("E0", "V1", "I", "Z", "&F", "S3=13", "D*99#;")
// that may be concatenated without separator ("E0V1"), and extended commands
// ("+CMGF=0", "+ZGETICCID") separated by ';'. Each extended command has one of
// four forms: exec ("+CGMI"), set ("+CMGF=0"), read ("+CMGF?") and test
// ("+CMGF=?").
//
// As V.250 requires, spaces outside quoted strings are ignored and letters
// outside quoted strings are case-insensitive; quoted strings are kept as
// they are.
package atcmd

import (
	"errors"
	"fmt"
	"strings"
)

// Form is the form in which a command is invoked.
type Form int

// Command forms (3GPP TS 27.007 §4.1).
const (
	Exec Form = iota // AT+CGMI; basic commands with their optional number, ATE1
	Set              // AT+CMGF=0; S-parameters ATS3=13
	Read             // AT+CMGF?; ATS3?
	Test             // AT+CMGF=?; ATS3=?
)

// String names the form: "exec", "set", "read" or "test".
func (f Form) String() string {
	switch f {
	case Exec:
		return "exec"
	case Set:
		return "set"
	case Read:
		return "read"
	case Test:
		return "test"
	}
	return fmt.Sprintf("Form(%d)", int(f))
}

// Command is one command of a command line.
type Command struct {
	// Name is the upper-case command name: "E", "V", "I", "Z", "D", "&F",
	// "S3", "+CMGF", "^SYSINFO".
	Name string
	// Form is how the command is invoked.
	Form Form
	// Args is the parameter text: after '=' for the set form, the number
	// of a basic command ("1" in E1) or the dial string of D. Spaces
	// outside quotes are removed and letters outside quotes are upper-case.
	Args string
}

// Basic reports whether c is a basic (V.250 §5.3.1) or S-parameter
// command rather than an extended one.
func (c Command) Basic() bool {
	return c.Name != "" && !isExtPrefix(c.Name[0])
}

// String renders c as it would appear in a command line body, so that
// Parse(Join(cmds)) yields cmds again.
func (c Command) String() string {
	switch c.Form {
	case Set:
		return c.Name + "=" + c.Args
	case Read:
		return c.Name + "?"
	case Test:
		return c.Name + "=?"
	}
	return c.Name + c.Args
}

// Join renders commands as one command line body (without "AT"),
// separating extended commands and the dial command with ';'.
func Join(cmds []Command) string {
	var b strings.Builder
	for i, c := range cmds {
		b.WriteString(c.String())
		if i < len(cmds)-1 && (!c.Basic() || c.Name == "D" || c.Form != Exec || !cmds[i+1].Basic()) {
			b.WriteByte(';')
		}
	}
	return b.String()
}

// Errors returned by Parse and SplitParams; they are wrapped with the
// position and text that caused them.
var (
	ErrSyntax        = errors.New("syntax error")
	ErrUnterminated  = errors.New("unterminated quoted string")
	ErrNotACommand   = errors.New("no command name")
	ErrTrailingInput = errors.New("unexpected text after command")
)

// Body returns the text after the "AT" prefix of line: it skips any
// characters before the first "AT" (in any letter case), as a modem ignores
// characters until it sees the prefix. ok is false if line holds no "AT".
func Body(line string) (body string, ok bool) {
	for i := 0; i+1 < len(line); i++ {
		if (line[i] == 'A' || line[i] == 'a') && (line[i+1] == 'T' || line[i+1] == 't') {
			return line[i+2:], true
		}
	}
	return "", false
}

// Parse splits a command line body (the text after "AT") into commands.
// An empty body yields no commands and no error ("AT" alone is valid).
func Parse(body string) ([]Command, error) {
	s, err := normalize(body)
	if err != nil {
		return nil, err
	}
	var cmds []Command
	p := parser{s: s}
	for p.i < len(p.s) {
		if p.s[p.i] == ';' { // empty command, allowed after a command
			p.i++
			continue
		}
		c, err := p.command()
		if err != nil {
			return nil, err
		}
		cmds = append(cmds, c)
	}
	return cmds, nil
}

// normalize removes spaces and upper-cases letters outside quoted strings.
func normalize(s string) (string, error) {
	var b strings.Builder
	b.Grow(len(s))
	quoted := false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '"':
			quoted = !quoted
			b.WriteByte(ch)
		case quoted:
			b.WriteByte(ch)
		case ch == ' ':
		case ch >= 'a' && ch <= 'z':
			b.WriteByte(ch - 'a' + 'A')
		default:
			b.WriteByte(ch)
		}
	}
	if quoted {
		return "", fmt.Errorf("atcmd: %w in %q", ErrUnterminated, s)
	}
	return b.String(), nil
}

type parser struct {
	s string
	i int
}

func isExtPrefix(ch byte) bool { return ch == '+' || ch == '^' || ch == '%' || ch == '$' }

func isNameChar(ch byte) bool {
	return ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' ||
		ch == '!' || ch == '%' || ch == '-' || ch == '.' || ch == '/' || ch == ':' || ch == '_'
}

func isDigit(ch byte) bool { return ch >= '0' && ch <= '9' }

func (p *parser) errorf(err error) error {
	return fmt.Errorf("atcmd: %w at offset %d of %q", err, p.i, p.s)
}

func (p *parser) command() (Command, error) {
	ch := p.s[p.i]
	switch {
	case isExtPrefix(ch):
		return p.extended()
	case ch == 'D':
		return p.dial()
	case ch == 'S':
		return p.sParam()
	case ch == '&' || ch >= 'A' && ch <= 'Z':
		return p.basic()
	}
	return Command{}, p.errorf(ErrSyntax)
}

// extended parses +NAME[=args|?|=?] up to the next ';' or the end.
func (p *parser) extended() (Command, error) {
	start := p.i
	p.i++
	for p.i < len(p.s) && isNameChar(p.s[p.i]) {
		p.i++
	}
	if p.i == start+1 {
		return Command{}, p.errorf(ErrNotACommand)
	}
	c := Command{Name: p.s[start:p.i]}
	switch {
	case strings.HasPrefix(p.s[p.i:], "=?"):
		c.Form = Test
		p.i += 2
	case strings.HasPrefix(p.s[p.i:], "="):
		c.Form = Set
		p.i++
		c.Args = p.untilSemicolon()
	case strings.HasPrefix(p.s[p.i:], "?"):
		c.Form = Read
		p.i++
	}
	return c, p.endOfExtended()
}

// untilSemicolon returns the text up to the next ';' outside quotes.
func (p *parser) untilSemicolon() string {
	start := p.i
	quoted := false
	for p.i < len(p.s) {
		ch := p.s[p.i]
		if ch == '"' {
			quoted = !quoted
		} else if ch == ';' && !quoted {
			break
		}
		p.i++
	}
	return p.s[start:p.i]
}

func (p *parser) endOfExtended() error {
	if p.i == len(p.s) {
		return nil
	}
	if p.s[p.i] != ';' {
		return p.errorf(ErrTrailingInput)
	}
	p.i++
	return nil
}

// dial parses D<dial string>[;]: the rest of the line up to ';'.
func (p *parser) dial() (Command, error) {
	p.i++
	c := Command{Name: "D", Args: p.untilSemicolon()}
	return c, p.endOfExtended()
}

// sParam parses S<n>[?|=<v>|=?].
func (p *parser) sParam() (Command, error) {
	start := p.i
	p.i++
	for p.i < len(p.s) && isDigit(p.s[p.i]) {
		p.i++
	}
	if p.i == start+1 {
		return Command{}, p.errorf(ErrSyntax)
	}
	c := Command{Name: p.s[start:p.i]}
	switch {
	case strings.HasPrefix(p.s[p.i:], "=?"):
		c.Form = Test
		p.i += 2
	case strings.HasPrefix(p.s[p.i:], "="):
		c.Form = Set
		p.i++
		a := p.i
		for p.i < len(p.s) && isDigit(p.s[p.i]) {
			p.i++
		}
		c.Args = p.s[a:p.i]
	case strings.HasPrefix(p.s[p.i:], "?"):
		c.Form = Read
		p.i++
	default:
		return Command{}, p.errorf(ErrSyntax)
	}
	return c, nil
}

// basic parses a letter (or &letter) command with an optional number.
func (p *parser) basic() (Command, error) {
	start := p.i
	if p.s[p.i] == '&' {
		p.i++
		if p.i == len(p.s) || p.s[p.i] < 'A' || p.s[p.i] > 'Z' {
			return Command{}, p.errorf(ErrSyntax)
		}
	}
	p.i++
	c := Command{Name: p.s[start:p.i]}
	a := p.i
	for p.i < len(p.s) && isDigit(p.s[p.i]) {
		p.i++
	}
	c.Args = p.s[a:p.i]
	return c, nil
}
