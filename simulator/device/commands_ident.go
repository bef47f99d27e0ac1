package device

import "github.com/sim-modem-api/sim-modem-api/simulator/atcmd"

// identity answers exec (and test with OK) forms of an identification
// command with one line.
func identity(c atcmd.Command, line string) ([]string, error) {
	switch c.Form {
	case atcmd.Exec:
		return []string{line}, nil
	case atcmd.Test:
		return nil, nil
	}
	return nil, errUnknown
}

// cmdCGMI: manufacturer.
func cmdCGMI(s *session, c atcmd.Command) ([]string, error) {
	return identity(c, s.d.cfg.Manufacturer)
}

// cmdCGMM: model.
func cmdCGMM(s *session, c atcmd.Command) ([]string, error) {
	return identity(c, s.d.cfg.Model)
}

// cmdCGMR: firmware revision.
func cmdCGMR(s *session, c atcmd.Command) ([]string, error) {
	return identity(c, s.d.cfg.Revision)
}

// cmdCGSN: IMEI, bare digits.
func cmdCGSN(s *session, c atcmd.Command) ([]string, error) {
	return identity(c, s.d.cfg.IMEI)
}

// cmdGCAP: capabilities.
func cmdGCAP(s *session, c atcmd.Command) ([]string, error) {
	return identity(c, "+GCAP: +CGSM")
}

// cmdCIMI: IMSI, bare digits; needs an unlocked SIM.
func cmdCIMI(s *session, c atcmd.Command) ([]string, error) {
	if c.Form == atcmd.Exec {
		if err := s.d.sim.readyCME(); err != nil {
			return nil, err
		}
	}
	return identity(c, s.d.cfg.IMSI)
}

// cmdZGETICCID: ZTE ICCID query, "+ZGETICCID: <iccid>". The ICCID is
// readable without PIN (EF ICCID is not PIN protected), but not without SIM.
func cmdZGETICCID(s *session, c atcmd.Command) ([]string, error) {
	return iccid(s, c, "+ZGETICCID: ")
}

// cmdCCID: "+CCID: <iccid>".
func cmdCCID(s *session, c atcmd.Command) ([]string, error) {
	return iccid(s, c, "+CCID: ")
}

// cmdICCID: "+ICCID: <iccid>".
func cmdICCID(s *session, c atcmd.Command) ([]string, error) {
	return iccid(s, c, "+ICCID: ")
}

func iccid(s *session, c atcmd.Command, prefix string) ([]string, error) {
	if c.Form == atcmd.Exec && s.d.sim.state == SIMAbsent {
		return nil, cme(cmeSIMNotInserted)
	}
	return identity(c, prefix+s.d.cfg.ICCID)
}

// cmdCMEE: +CMEE=<n> 0 ERROR, 1 numeric, 2 verbose; read, test.
func cmdCMEE(s *session, c atcmd.Command) ([]string, error) {
	switch c.Form {
	case atcmd.Set:
		return setMode(c, 2, &s.set.cmee)
	case atcmd.Read:
		return []string{"+CMEE: " + itoa(s.set.cmee)}, nil
	case atcmd.Test:
		return []string{"+CMEE: (0-2)"}, nil
	}
	return nil, errUnknown
}

// cmdZCDRUN: ZTE mode switch commands. The stick acknowledges them
// (=8 disables the automatic switch to the CD-ROM mode, =F restores
// the factory default mode); the simulator only answers.
func cmdZCDRUN(s *session, c atcmd.Command) ([]string, error) {
	if c.Form != atcmd.Set {
		return nil, errUnknown
	}
	switch upper(c.Args) {
	case "8":
		return []string{"Close autorun state result(0:FAIL 1:SUCCESS):1"}, nil
	case "9":
		return []string{"Open autorun state result(0:FAIL 1:SUCCESS):1"}, nil
	case "E":
		return []string{"Open download mode result(0:FAIL 1:SUCCESS):1"}, nil
	case "F":
		return []string{"Close download mode result(0:FAIL 1:SUCCESS):1"}, nil
	}
	return nil, errParams
}
