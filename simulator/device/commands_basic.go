package device

import (
	"fmt"
	"strconv"

	"github.com/sim-modem-api/sim-modem-api/simulator/atcmd"
)

// cmdE: ATE0 / ATE1 echo off/on.
func cmdE(s *session, c atcmd.Command) ([]string, error) {
	n, err := basicNumber(c, 1)
	if err != nil {
		return nil, err
	}
	s.set.echo = n == 1
	return nil, nil
}

// cmdV: ATV0 numeric / ATV1 verbose result codes.
func cmdV(s *session, c atcmd.Command) ([]string, error) {
	n, err := basicNumber(c, 1)
	if err != nil {
		return nil, err
	}
	s.set.verbose = n == 1
	return nil, nil
}

// cmdQ: ATQ0 result codes on / ATQ1 off.
func cmdQ(s *session, c atcmd.Command) ([]string, error) {
	n, err := basicNumber(c, 1)
	if err != nil {
		return nil, err
	}
	s.set.quiet = n == 1
	return nil, nil
}

// cmdI: ATI identification, in the shape of the MF823 capture.
func cmdI(s *session, c atcmd.Command) ([]string, error) {
	if _, err := basicNumber(c, 0); err != nil {
		return nil, err
	}
	cfg := s.d.cfg
	return []string{
		"Manufacturer: " + cfg.Manufacturer,
		"Model: " + cfg.Model,
		"Revision: " + cfg.Revision,
		"IMEI: " + cfg.IMEI,
		"+GCAP: +CGSM",
	}, nil
}

// cmdZ: ATZ and AT&F restore the default settings.
func cmdZ(s *session, c atcmd.Command) ([]string, error) {
	if _, err := basicNumber(c, 0); err != nil {
		return nil, err
	}
	s.factoryResetLocked()
	return nil, nil
}

// sRegister: ATS<n>? reads an S-parameter as three digits, ATS<n>=<v> sets
// it. S3, S4 and S5 (the line and editing characters) keep their defaults:
// setting another value is refused.
func (s *session) sRegister(c atcmd.Command) ([]string, error) {
	n, err := strconv.Atoi(c.Name[1:])
	if err != nil {
		return nil, errUnknown
	}
	v, ok := s.set.sregs[n]
	if !ok {
		return nil, errUnknown
	}
	switch c.Form {
	case atcmd.Read:
		return []string{fmt.Sprintf("%03d", v)}, nil
	case atcmd.Test:
		return []string{fmt.Sprintf("S%d: (0-255)", n)}, nil
	case atcmd.Set:
		nv, err := strconv.Atoi(c.Args)
		if err != nil || nv > 255 {
			return nil, errUnknown
		}
		if (n == 3 || n == 4 || n == 5) && nv != v {
			return nil, errUnknown
		}
		s.set.sregs[n] = nv
		return nil, nil
	}
	return nil, errUnknown
}
