package device

import (
	"fmt"
	"strings"

	"github.com/sim-modem-api/sim-modem-api/modem/pdu"
	"github.com/sim-modem-api/sim-modem-api/simulator/atcmd"
)

// setting01 handles a 0/1 setting command (+CMGF, +CSDH): set (omitted
// parameter: 0), read "+NAME: <n>", test "+NAME: (0,1)".
func setting01(c atcmd.Command, name string, v *int) ([]string, error) {
	switch c.Form {
	case atcmd.Set:
		return setMode(c, 1, v)
	case atcmd.Read:
		return []string{name + ": " + itoa(*v)}, nil
	case atcmd.Test:
		return []string{name + ": (0,1)"}, nil
	}
	return nil, errUnknown
}

// cmdCMGF: message format, 0 PDU (power-on) or 1 text.
func cmdCMGF(s *session, c atcmd.Command) ([]string, error) {
	return setting01(c, "+CMGF", &s.set.cmgf)
}

// cmdCSDH: show text mode header details, 0 (power-on) or 1.
func cmdCSDH(s *session, c atcmd.Command) ([]string, error) {
	return setting01(c, "+CSDH", &s.set.csdh)
}

// cmdCSCA: service centre address on the SIM. Read "+CSCA: "<sca>",<tosca>"
// (in the TE character set, so UCS2 hex with +CSCS="UCS2"; "",129 if none);
// set <sca>[,<tosca>]; test OK.
func cmdCSCA(s *session, c atcmd.Command) ([]string, error) {
	d := s.d
	if c.Form == atcmd.Test {
		return nil, nil
	}
	if err := d.sim.readyCMS(); err != nil {
		return nil, err
	}
	switch c.Form {
	case atcmd.Read:
		te, err := s.teEncode(d.smsc)
		if err != nil {
			return nil, cms(cmsMEFailure)
		}
		return []string{fmt.Sprintf("+CSCA: %s,%d", quote(te), typeOfNumber(d.smsc))}, nil
	case atcmd.Set:
	default:
		return nil, errUnknown
	}
	ps, err := params(c, 1, 2)
	if err != nil {
		return nil, err
	}
	if !ps[0].Quoted {
		return nil, errParams
	}
	num, err := s.teDecode(ps[0].Value)
	if err != nil {
		return nil, errParams
	}
	tosca, err := intParam(ps, 1, 128, 255, 0)
	if err != nil {
		return nil, err
	}
	if tosca == 145 && num != "" && !strings.HasPrefix(num, "+") {
		num = "+" + num
	}
	if num != "" {
		if _, err := pdu.ParseAddress(num); err != nil || strings.ContainsAny(num, "*#") {
			return nil, errParams
		}
	}
	d.smsc = num
	return nil, nil
}

// cmdCSMP: text mode parameters <fo>,<vp>,<pid>,<dcs>; power-on 17,167,0,0.
func cmdCSMP(s *session, c atcmd.Command) ([]string, error) {
	switch c.Form {
	case atcmd.Read:
		p := s.set.csmp
		return []string{fmt.Sprintf("+CSMP: %d,%d,%d,%d", p[0], p[1], p[2], p[3])}, nil
	case atcmd.Test:
		return nil, nil
	case atcmd.Set:
	default:
		return nil, errUnknown
	}
	ps, err := params(c, 1, 4)
	if err != nil {
		return nil, err
	}
	var v [4]int
	for i := range v {
		if v[i], err = intParam(ps, i, 0, 255, s.set.csmp[i]); err != nil {
			return nil, err
		}
	}
	if v[0]&0x03 != 0x01 { // must be an SMS-SUBMIT
		return nil, errParams
	}
	s.set.csmp = v
	return nil, nil
}

// storeNames are the stores +CPMS accepts for <mem1>, <mem2>, <mem3>.
var storeNames = [3][]string{{"SM", "ME", "SR"}, {"SM", "ME"}, {"SM", "ME"}}

// cmdCPMS: preferred stores. Set <mem1>[,<mem2>[,<mem3>]] answers
// "+CPMS: <used1>,<total1>,<used2>,<total2>,<used3>,<total3>"; read
// "+CPMS: "SM",0,30,"SM",0,30,"SM",0,30" (no spaces; the MF710M puts a
// space after each comma); test "+CPMS: ("SM","ME","SR"),("SM","ME"),("SM","ME")".
func cmdCPMS(s *session, c atcmd.Command) ([]string, error) {
	d := s.d
	if c.Form == atcmd.Test {
		var lists []string
		for _, names := range storeNames {
			lists = append(lists, `("`+strings.Join(names, `","`)+`")`)
		}
		return []string{"+CPMS: " + strings.Join(lists, ",")}, nil
	}
	if err := d.sim.readyCMS(); err != nil {
		return nil, err
	}
	switch c.Form {
	case atcmd.Read:
		var f []string
		for _, m := range s.set.mem {
			st := d.stores[m]
			f = append(f, fmt.Sprintf("%q,%d,%d", m, st.used(), st.capacity()))
		}
		return []string{"+CPMS: " + strings.Join(f, ",")}, nil
	case atcmd.Set:
	default:
		return nil, errUnknown
	}
	ps, err := params(c, 1, 3)
	if err != nil {
		return nil, err
	}
	mem := s.set.mem
	for i, p := range ps {
		if p.Omitted() {
			continue
		}
		name := upper(p.Value)
		if !p.Quoted || !containsString(storeNames[i], name) {
			return nil, cms(cmsNotSupported)
		}
		mem[i] = name
	}
	s.set.mem = mem
	var f []string
	for _, m := range mem {
		st := d.stores[m]
		f = append(f, fmt.Sprintf("%d,%d", st.used(), st.capacity()))
	}
	d.retryWaitingLocked()
	return []string{"+CPMS: " + strings.Join(f, ",")}, nil
}

func containsString(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// cmdCNMI: new message indications <mode>,<mt>,<bm>,<ds>,<bfr>; read
// "+CNMI: 0,0,0,0,0" at power-on; test "+CNMI: (0-2),(0-3),(0,2),(0-2),(0,1)".
// Setting <mode> 1 or 2 flushes the URCs buffered while <mode> was 0
// (<bfr>=0) or drops them (<bfr>=1).
func cmdCNMI(s *session, c atcmd.Command) ([]string, error) {
	switch c.Form {
	case atcmd.Read:
		n := s.set.cnmi
		return []string{fmt.Sprintf("+CNMI: %d,%d,%d,%d,%d", n[0], n[1], n[2], n[3], n[4])}, nil
	case atcmd.Test:
		return []string{"+CNMI: (0-2),(0-3),(0,2),(0-2),(0,1)"}, nil
	case atcmd.Set:
	default:
		return nil, errUnknown
	}
	ps, err := params(c, 0, 5)
	if err != nil {
		return nil, err
	}
	max := [5]int{2, 3, 2, 2, 1}
	var v [5]int
	for i := range v {
		if v[i], err = intParam(ps, i, 0, max[i], s.set.cnmi[i]); err != nil {
			return nil, cms(cmsNotSupported)
		}
	}
	if v[2] == 1 {
		return nil, cms(cmsNotSupported)
	}
	s.set.cnmi = v
	if v[0] != 0 {
		if v[4] == 0 {
			for _, u := range s.cnmiBuf {
				s.queueURCLocked(u)
			}
		}
		s.cnmiBuf = nil
	}
	s.d.retryWaitingLocked()
	return nil, nil
}

// cmdCSMS: message service 0 or 1; set "+CSMS: 1,1,1" (mt, mo, bm
// supported); read "+CSMS: <service>,1,1,1"; test "+CSMS: (0,1)".
func cmdCSMS(s *session, c atcmd.Command) ([]string, error) {
	switch c.Form {
	case atcmd.Set:
		ps, err := params(c, 1, 1)
		if err != nil {
			return nil, err
		}
		n, err := intParam(ps, 0, 0, 1, 0)
		if err != nil {
			return nil, cms(cmsNotSupported)
		}
		s.set.csms = n
		return []string{"+CSMS: 1,1,1"}, nil
	case atcmd.Read:
		return []string{fmt.Sprintf("+CSMS: %d,1,1,1", s.set.csms)}, nil
	case atcmd.Test:
		return []string{"+CSMS: (0,1)"}, nil
	}
	return nil, errUnknown
}

// cmdCNMA: new message acknowledgement. Accepted (OK) with +CSMS=1, where
// +CMT and +CDS would need it (the simulator does not wait for it);
// +CMS ERROR: 340 with +CSMS=0.
func cmdCNMA(s *session, c atcmd.Command) ([]string, error) {
	switch c.Form {
	case atcmd.Exec, atcmd.Set:
		if s.set.csms != 1 {
			return nil, cms(cmsNoCNMA)
		}
		return nil, nil
	case atcmd.Test:
		return []string{"+CNMA: (0-2)"}, nil
	}
	return nil, errUnknown
}
