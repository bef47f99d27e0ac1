package device

import "github.com/sim-modem-api/sim-modem-api/simulator/atcmd"

// cmdCSCS: TE character set: set "GSM", "IRA" or "UCS2"; read
// "+CSCS: "GSM""; test "+CSCS: ("IRA","GSM","UCS2")".
func cmdCSCS(s *session, c atcmd.Command) ([]string, error) {
	switch c.Form {
	case atcmd.Set:
		ps, err := params(c, 1, 1)
		if err != nil {
			return nil, err
		}
		cs := upper(ps[0].Value)
		switch cs {
		case "GSM", "IRA", "UCS2":
		default:
			return nil, errParams
		}
		s.set.cscs = cs
		return nil, nil
	case atcmd.Read:
		return []string{`+CSCS: "` + s.set.cscs + `"`}, nil
	case atcmd.Test:
		return []string{`+CSCS: ("IRA","GSM","UCS2")`}, nil
	}
	return nil, errUnknown
}
