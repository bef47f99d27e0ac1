package device

// settings are the volatile settings of a session: ATZ, AT&F and a new
// Serve (power-on) reset them to these values.
type settings struct {
	echo    bool   // ATE: on
	verbose bool   // ATV: 1
	quiet   bool   // ATQ: 0
	cmee    int    // +CMEE: 0 (plain ERROR, as the ZTE answers unknown commands)
	cmgf    int    // +CMGF: 0 (PDU mode)
	cscs    string // +CSCS: "GSM" (as ZTE sticks report)
	csdh    int    // +CSDH: 0
	csmp    [4]int // +CSMP: 17,167,0,0
	cnmi    [5]int // +CNMI: 0,0,0,0,0
	creg    int    // +CREG: 0
	cgreg   int    // +CGREG: 0
	cereg   int    // +CEREG: 0
	copsFmt int    // +COPS format: 0 (long alphanumeric)
	copsMod int    // +COPS mode: 0 (automatic)
	cfun    int    // +CFUN: 1
	cusd    int    // +CUSD: 0
	csms    int    // +CSMS: 0
	mem     [3]string
	sregs   map[int]int
}

func powerOnSettings() settings {
	return settings{
		echo:    true,
		verbose: true,
		cscs:    "GSM",
		csmp:    [4]int{17, 167, 0, 0},
		cfun:    1,
		mem:     [3]string{"SM", "SM", "SM"},
		sregs:   map[int]int{0: 0, 3: 13, 4: 10, 5: 8, 6: 2, 7: 50, 8: 2, 10: 14},
	}
}

// factorySettings are the settings after ATZ / AT&F: the power-on values,
// except that the registration and network selection state of the radio
// is kept (it is not part of the profile) and +CFUN stays.
func (s *session) factoryResetLocked() {
	keep := s.set
	s.set = powerOnSettings()
	s.set.cfun = keep.cfun
	s.set.copsMod = keep.copsMod
}
