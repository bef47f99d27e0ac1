package smsmem

import (
	"fmt"
	"strings"
)

// Fill is how full one message store is.
type Fill struct {
	Memory string `json:"memory"`
	Used   int    `json:"used"`
	Total  int    `json:"total"`
}

// Full reports whether no further message fits.
func (f Fill) Full() bool { return f.Total > 0 && f.Used >= f.Total }

// ParseCPMSSet reads the first store's fill from the answer of
// AT+CPMS=<mem1>: "<used1>,<total1>,<used2>,<total2>,<used3>,<total3>"
// (the value after "+CPMS:", TS 27.005 §3.2.2; some modems answer only the
// pairs they changed).
func ParseCPMSSet(v string) (used, total int, err error) {
	f := splitFields(v)
	if len(f) < 2 {
		return 0, 0, fmt.Errorf("smsmem: +CPMS answer %q: want <used1>,<total1>,…", Clip(v))
	}
	used, err1 := atoi(f[0])
	total, err2 := atoi(f[1])
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("smsmem: +CPMS answer %q: want <used1>,<total1>,…", Clip(v))
	}
	return used, total, nil
}

// ParseCPMSRead reads the three selected stores from the answer of
// AT+CPMS?: `"SM",0,30,"SM",0,30,"SM",0,30` (also with spaces). It returns
// nil if the answer does not name the stores (the numbers-only form some
// ZTE sticks use) or does not have that shape.
func ParseCPMSRead(v string) []Fill {
	f := splitFields(v)
	if len(f) != 9 {
		return nil
	}
	var out []Fill
	for i := 0; i < 9; i += 3 {
		used, err1 := atoi(f[i+1])
		total, err2 := atoi(f[i+2])
		if err1 != nil || err2 != nil || !storeName(f[i]) {
			return nil
		}
		out = append(out, Fill{Memory: f[i], Used: used, Total: total})
	}
	return out
}

// storeName reports whether s looks like a TS 27.005 <mem> (two capital
// letters: SM, ME, MT, SR, BM, TA).
func storeName(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}

// splitFields splits a parameter list at commas, trimming spaces and quotes.
func splitFields(v string) []string {
	f := strings.Split(v, ",")
	for i := range f {
		f[i] = strings.Trim(strings.TrimSpace(f[i]), `"`)
	}
	return f
}
