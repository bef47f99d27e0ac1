package atcmd

import (
	"fmt"
	"strconv"
	"strings"
)

// Param is one comma-separated parameter of a set command.
type Param struct {
	// Value is the text of the parameter; for a quoted string, without the
	// quotes.
	Value string
	// Quoted is true for a string parameter given in double quotes.
	Quoted bool
}

// Omitted reports whether the parameter was left empty ("AT+CNMI=2,,0").
func (p Param) Omitted() bool { return p.Value == "" && !p.Quoted }

// Int returns the parameter as a decimal integer. An unquoted numeric value
// is required.
func (p Param) Int() (int, error) {
	if p.Quoted || p.Value == "" {
		return 0, fmt.Errorf("atcmd: parameter %q: %w: want a number", p.Value, ErrSyntax)
	}
	for i := 0; i < len(p.Value); i++ {
		if !isDigit(p.Value[i]) {
			return 0, fmt.Errorf("atcmd: parameter %q: %w: want a number", p.Value, ErrSyntax)
		}
	}
	n, err := strconv.Atoi(p.Value)
	if err != nil {
		return 0, fmt.Errorf("atcmd: parameter %q: %w", p.Value, err)
	}
	return n, nil
}

// SplitParams splits the argument text of a set command at the commas
// outside quoted strings. "" yields no parameters; "1," yields two, the
// second omitted.
func SplitParams(args string) ([]Param, error) {
	if args == "" {
		return nil, nil
	}
	var out []Param
	for {
		field, rest, more, err := nextField(args)
		if err != nil {
			return nil, err
		}
		out = append(out, field)
		if !more {
			return out, nil
		}
		args = rest
	}
}

func nextField(s string) (p Param, rest string, more bool, err error) {
	s = strings.TrimLeft(s, " ")
	if strings.HasPrefix(s, `"`) {
		end := strings.IndexByte(s[1:], '"')
		if end < 0 {
			return Param{}, "", false, fmt.Errorf("atcmd: %w in %q", ErrUnterminated, s)
		}
		p = Param{Value: s[1 : 1+end], Quoted: true}
		rest = strings.TrimLeft(s[2+end:], " ")
		switch {
		case rest == "":
			return p, "", false, nil
		case rest[0] == ',':
			return p, rest[1:], true, nil
		}
		return Param{}, "", false, fmt.Errorf("atcmd: %w: %q after quoted parameter", ErrSyntax, rest)
	}
	i := strings.IndexByte(s, ',')
	if i < 0 {
		if strings.IndexByte(s, '"') >= 0 {
			return Param{}, "", false, fmt.Errorf("atcmd: %w: quote inside parameter %q", ErrSyntax, s)
		}
		return Param{Value: strings.TrimRight(s, " ")}, "", false, nil
	}
	v := strings.TrimRight(s[:i], " ")
	if strings.IndexByte(v, '"') >= 0 {
		return Param{}, "", false, fmt.Errorf("atcmd: %w: quote inside parameter %q", ErrSyntax, v)
	}
	return Param{Value: v}, s[i+1:], true, nil
}
