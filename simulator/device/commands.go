package device

import (
	"strconv"
	"strings"

	"github.com/sim-modem-api/sim-modem-api/simulator/atcmd"
)

// handler runs one command with Device.mu held and returns its
// information text lines (without framing).
type handler func(s *session, c atcmd.Command) ([]string, error)

// handlers maps upper-case command names to their handlers.
var handlers map[string]handler

func init() {
	handlers = map[string]handler{
		"E": cmdE, "V": cmdV, "Q": cmdQ, "I": cmdI, "Z": cmdZ, "&F": cmdZ,
		"+CGMI": cmdCGMI, "+GMI": cmdCGMI, "+CGMM": cmdCGMM, "+GMM": cmdCGMM,
		"+CGMR": cmdCGMR, "+GMR": cmdCGMR, "+CGSN": cmdCGSN, "+GSN": cmdCGSN,
		"+GCAP": cmdGCAP, "+CIMI": cmdCIMI, "+ZGETICCID": cmdZGETICCID,
		"+CCID": cmdCCID, "+ICCID": cmdICCID, "+CMEE": cmdCMEE,
		"+CPIN": cmdCPIN, "+ZPINPUK": cmdZPINPUK, "+CFUN": cmdCFUN,
		"+CSQ": cmdCSQ, "+CREG": cmdCREG, "+CGREG": cmdCGREG, "+CEREG": cmdCEREG,
		"+COPS": cmdCOPS, "+ZPAS": cmdZPAS, "+CNUM": cmdCNUM, "+ZCDRUN": cmdZCDRUN,
		"+CSCS": cmdCSCS, "+CUSD": cmdCUSD,
	}
	registerSMSCommands()
}

// needArgs checks a set command's parameter count.
func params(c atcmd.Command, min, max int) ([]atcmd.Param, error) {
	ps, err := atcmd.SplitParams(c.Args)
	if err != nil {
		return nil, errUnknown
	}
	if len(ps) < min || len(ps) > max {
		return nil, errParams
	}
	return ps, nil
}

// setMode handles the set form of a mode command with one optional
// integer parameter in [0, hi] (omitted or absent: 0), storing it in *v.
func setMode(c atcmd.Command, hi int, v *int) ([]string, error) {
	ps, err := params(c, 0, 1)
	if err != nil {
		return nil, err
	}
	n, err := intParam(ps, 0, 0, hi, 0)
	if err != nil {
		return nil, err
	}
	*v = n
	return nil, nil
}

// intParam parses ps[i] as an integer in [lo, hi]; def if omitted or absent.
func intParam(ps []atcmd.Param, i, lo, hi, def int) (int, error) {
	if i >= len(ps) || ps[i].Omitted() {
		return def, nil
	}
	n, err := ps[i].Int()
	if err != nil || n < lo || n > hi {
		return 0, errParams
	}
	return n, nil
}

// basicNumber parses the number of a basic command (E, V, Q) in [0, max];
// no number means 0.
func basicNumber(c atcmd.Command, max int) (int, error) {
	if c.Form != atcmd.Exec {
		return 0, errUnknown
	}
	if c.Args == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(c.Args)
	if err != nil || n > max {
		return 0, errUnknown
	}
	return n, nil
}

// quote returns s in double quotes.
func quote(s string) string { return `"` + s + `"` }

// itoa is strconv.Itoa.
func itoa(n int) string { return strconv.Itoa(n) }

// upper is strings.ToUpper, named for readability in handlers.
func upper(s string) string { return strings.ToUpper(s) }
