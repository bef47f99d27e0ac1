package device

import (
	"fmt"
	"strings"
	"time"

	"github.com/sim-modem-api/sim-modem-api/simulator/atcmd"
)

// cmdCSQ: "+CSQ: <rssi>,<ber>"; 99,99 while the radio is off.
func cmdCSQ(s *session, c atcmd.Command) ([]string, error) {
	switch c.Form {
	case atcmd.Exec:
		n := s.d.net
		if s.set.cfun != 1 || s.d.sim.state == SIMAbsent {
			return []string{"+CSQ: 99,99"}, nil
		}
		return []string{fmt.Sprintf("+CSQ: %d,%d", n.RSSI, n.BER)}, nil
	case atcmd.Test:
		return []string{"+CSQ: (0-31,99),(0-7,99)"}, nil
	}
	return nil, errUnknown
}

func cmdCREG(s *session, c atcmd.Command) ([]string, error) {
	return regCommand(s, c, "+CREG", &s.set.creg, false)
}

func cmdCGREG(s *session, c atcmd.Command) ([]string, error) {
	return regCommand(s, c, "+CGREG", &s.set.cgreg, false)
}

func cmdCEREG(s *session, c atcmd.Command) ([]string, error) {
	return regCommand(s, c, "+CEREG", &s.set.cereg, true)
}

// regCommand: +CREG=<n> (0 off, 1 stat URC, 2 stat,lac,ci,AcT URC); read
// "+CREG: <n>,<stat>[,"<lac>","<ci>",<AcT>]"; test "+CREG: (0-2)".
func regCommand(s *session, c atcmd.Command, name string, mode *int, eps bool) ([]string, error) {
	switch c.Form {
	case atcmd.Set:
		return setMode(c, 2, mode)
	case atcmd.Read:
		v := s.d.regView(s)
		stat := v.stat
		if eps {
			stat = v.estat
		}
		return []string{regLine(name, *mode, stat, v, true)}, nil
	case atcmd.Test:
		return []string{name + ": (0-2)"}, nil
	}
	return nil, errUnknown
}

// operatorName renders the current operator in +COPS format f.
func operatorName(n Network, f int) string {
	switch f {
	case 1:
		return shortName(n.Operator)
	case 2:
		return n.OperatorNumeric
	}
	return n.Operator
}

func shortName(long string) string {
	for _, o := range knownOperators {
		if o.long == long {
			return o.short
		}
	}
	if len(long) > 8 {
		return long[:8]
	}
	return long
}

// cmdCOPS: read "+COPS: <mode>[,<format>,"<oper>",<AcT>]"; set
// <mode>[,<format>[,<oper>[,<AcT>]]] with mode 0 automatic, 1 manual (only
// the current operator succeeds, others give +CME ERROR: 32), 2
// deregister, 3 set format, 4 manual/automatic; test lists the current and
// the known operators.
func cmdCOPS(s *session, c atcmd.Command) ([]string, error) {
	d := s.d
	switch c.Form {
	case atcmd.Read:
		if !d.registered(s) {
			return []string{fmt.Sprintf("+COPS: %d", s.set.copsMod)}, nil
		}
		return []string{fmt.Sprintf("+COPS: %d,%d,%q,%d", s.set.copsMod, s.set.copsFmt, operatorName(d.net, s.set.copsFmt), d.net.AcT)}, nil
	case atcmd.Test:
		s.pendingDelay += d.delay(8*time.Second, 15*time.Second)
		if err := d.sim.readyCME(); err != nil {
			return nil, err
		}
		if s.set.cfun != 1 {
			return nil, cme(cmeNoService)
		}
		var list []string
		cur := d.net.OperatorNumeric
		if d.net.registered() {
			list = append(list, fmt.Sprintf("(2,%q,%q,%q,%d)", d.net.Operator, shortName(d.net.Operator), cur, d.net.AcT))
		}
		for _, o := range knownOperators {
			if o.numeric == cur {
				continue
			}
			list = append(list, fmt.Sprintf("(1,%q,%q,%q,%d)", o.long, o.short, o.numeric, o.act))
		}
		return []string{"+COPS: " + strings.Join(list, ",") + ",,(0-4),(0-2)"}, nil
	case atcmd.Set:
	default:
		return nil, errUnknown
	}
	ps, err := params(c, 1, 4)
	if err != nil {
		return nil, err
	}
	mode, err := intParam(ps, 0, 0, 4, 0)
	if err != nil {
		return nil, err
	}
	format, err := intParam(ps, 1, 0, 2, s.set.copsFmt)
	if err != nil {
		return nil, err
	}
	if _, err := intParam(ps, 3, 0, 7, 7); err != nil {
		return nil, err
	}
	if mode == 1 || mode == 4 {
		if len(ps) < 3 || !ps[2].Quoted {
			return nil, errParams
		}
		if err := d.sim.readyCME(); err != nil {
			return nil, err
		}
		if ps[2].Value != operatorName(d.net, format) || !d.net.registered() {
			if mode == 1 {
				return nil, cme(cmeNotAllowedNet)
			}
			mode = 0 // manual failed: automatic
		}
	}
	s.set.copsFmt = format
	if mode != 3 {
		if mode == 4 {
			mode = 1
		}
		s.set.copsMod = mode
		s.pendingDelay += d.delay(500*time.Millisecond, 2*time.Second)
	}
	return nil, nil
}

// cmdZPAS: ZTE access technology and service domain, read or exec:
// "+ZPAS: "LTE","PS_ONLY"" on LTE, "+ZPAS: "UMTS","CS_PS"" on 3G,
// "+ZPAS: "No Service","CS_ONLY"" when not registered.
func cmdZPAS(s *session, c atcmd.Command) ([]string, error) {
	switch c.Form {
	case atcmd.Read, atcmd.Exec:
		if err := s.d.sim.readyCME(); err != nil {
			return nil, err
		}
		if !s.d.registered(s) {
			return []string{`+ZPAS: "No Service","CS_ONLY"`}, nil
		}
		domain := "CS_PS"
		if s.d.net.AcT == 7 {
			domain = "PS_ONLY"
		}
		return []string{fmt.Sprintf("+ZPAS: %q,%q", zpasMode(s.d.net), domain)}, nil
	case atcmd.Test:
		return nil, nil
	}
	return nil, errUnknown
}

// cmdCNUM: "+CNUM: "","<msisdn>",<type>" or just OK if the SIM has no
// number.
func cmdCNUM(s *session, c atcmd.Command) ([]string, error) {
	switch c.Form {
	case atcmd.Exec:
		if err := s.d.sim.readyCME(); err != nil {
			return nil, err
		}
		num := s.d.cfg.MSISDN
		if num == "" {
			return nil, nil
		}
		return []string{fmt.Sprintf("+CNUM: \"\",%q,%d", num, typeOfNumber(num))}, nil
	case atcmd.Test:
		return nil, nil
	}
	return nil, errUnknown
}

// typeOfNumber is 145 for an international number ("+..."), else 129.
func typeOfNumber(num string) int {
	if strings.HasPrefix(num, "+") {
		return 145
	}
	return 129
}
