package device

import (
	"testing"
)

// step is one command line and the exact bytes expected in reply.
type step struct{ send, want string }

func runSteps(t *testing.T, r *rig, steps []step) {
	t.Helper()
	for _, s := range steps {
		r.send(s.send + "\r")
		r.expect(s.want)
	}
}

func ok(info ...string) string {
	out := ""
	for _, l := range info {
		out += "\r\n" + l + "\r\n"
	}
	return out + "\r\nOK\r\n"
}

const errorReply = "\r\nERROR\r\n"

func TestCommandsEchoOff(t *testing.T) {
	r := newRig(t, Config{})
	r.quiet()
	runSteps(t, r, []step{
		{"AT+CGSN", ok("866948015551230")},
		{"AT+GSN", ok("866948015551230")},
		{"AT+CGSN=?", ok()},
		{"AT+CGMI?", errorReply},
		{"AT+GMI", ok("ZTE CORPORATION")},
		{"AT+CIMI", ok("232031234567890")},
		{"AT+ZGETICCID", ok("+ZGETICCID: 89430310005551234567")},
		{"AT+CCID", ok("+CCID: 89430310005551234567")},
		{"AT+ICCID", ok("+ICCID: 89430310005551234567")},
		{"AT+GCAP", ok("+GCAP: +CGSM")},
		{"ATZ", ok()},
		{"AT", "AT\r\r\nOK\r\n"}, // ATZ turned echo back on
		{"ATE0", "ATE0\r\r\nOK\r\n"},
		{"AT&F", ok()},
		{"ATE0", "ATE0\r\r\nOK\r\n"},
		{"ATS3?", ok("013")},
		{"ATS3=13", ok()},
		{"ATS3=10", errorReply},
		{"ATS0=0", ok()},
		{"ATS99?", errorReply},
		{"AT+CSQ", ok("+CSQ: 20,99")},
		{"AT+CSQ=?", ok("+CSQ: (0-31,99),(0-7,99)")},
		{"AT+CSQ?", errorReply},
		{"AT+CREG?", ok("+CREG: 0,1")},
		{"AT+CREG=?", ok("+CREG: (0-2)")},
		{"AT+CREG=2", ok()},
		{"AT+CREG?", ok(`+CREG: 2,1,"1A2B","01A2B3C4",7`)},
		{"AT+CREG=1", ok()},
		{"AT+CREG?", ok("+CREG: 1,1")},
		{"AT+CREG=3", errorReply},
		{"AT+CREG=0", ok()},
		{"AT+CGREG?", ok("+CGREG: 0,1")},
		{"AT+CEREG=2", ok()},
		{"AT+CEREG?", ok(`+CEREG: 2,1,"1A2B","01A2B3C4",7`)},
		{"AT+CEREG=0", ok()},
		{"AT+COPS?", ok(`+COPS: 0,0,"Magenta",7`)},
		{"AT+COPS=3,2", ok()},
		{"AT+COPS?", ok(`+COPS: 0,2,"23203",7`)},
		{"AT+COPS=3,0", ok()},
		{"AT+COPS=?", ok(`+COPS: (2,"Magenta","Magenta","23203",7),(1,"A1","A1","23201",7),(1,"3 AT","3 AT","23210",7),,(0-4),(0-2)`)},
		{`AT+COPS=1,2,"23203"`, ok()},
		{"AT+COPS?", ok(`+COPS: 1,2,"23203",7`)},
		{`AT+COPS=1,2,"23201"`, errorReply},
		{"AT+COPS=0,0", ok()},
		{"AT+COPS=2", ok()},
		{"AT+COPS?", ok("+COPS: 2")},
		{"AT+ZPAS?", ok(`+ZPAS: "No Service","CS_ONLY"`)},
		{"AT+COPS=0", ok()},
		{"AT+ZPAS?", ok(`+ZPAS: "LTE","PS_ONLY"`)},
		{"AT+CNUM", ok(`+CNUM: "","+436641234567",145`)},
		{"AT+CMEE?", ok("+CMEE: 0")},
		{"AT+CMEE=?", ok("+CMEE: (0-2)")},
		{"AT+CSCS?", ok(`+CSCS: "GSM"`)},
		{"AT+CSCS=?", ok(`+CSCS: ("IRA","GSM","UCS2")`)},
		{`AT+CSCS="XYZ"`, errorReply},
		{`AT+CSCS="UCS2"`, ok()},
		{"AT+CSCA?", ok(`+CSCA: "002B0034003300360035003000300039003000300030003000300030",145`)},
		{`at+cscs="ira"`, ok()},
		{"AT+CSCA?", ok(`+CSCA: "+4365009000000",145`)},
		{"AT+CSCA=?", ok()},
		{"AT+CMGF?", ok("+CMGF: 0")},
		{"AT+CMGF=?", ok("+CMGF: (0,1)")},
		{"AT+CMGF=2", errorReply},
		{"AT+CSDH?", ok("+CSDH: 0")},
		{"AT+CSDH=?", ok("+CSDH: (0,1)")},
		{"AT+CSMP?", ok("+CSMP: 17,167,0,0")},
		{"AT+CSMS?", ok("+CSMS: 0,1,1,1")},
		{"AT+CSMS=1", ok("+CSMS: 1,1,1")},
		{"AT+CSMS=?", ok("+CSMS: (0,1)")},
		{"AT+CNMA", ok()},
		{"AT+CPMS?", ok(`+CPMS: "SM",0,30,"SM",0,30,"SM",0,30`)},
		{"AT+CPMS=?", ok(`+CPMS: ("SM","ME","SR"),("SM","ME"),("SM","ME")`)},
		{`AT+CPMS="ME","ME","ME"`, ok("+CPMS: 0,100,0,100,0,100")},
		{`AT+CPMS="SR"`, ok("+CPMS: 0,20,0,100,0,100")},
		{`AT+CPMS="SM","SR"`, errorReply},
		{`AT+CPMS="SM","SM","SM"`, ok("+CPMS: 0,30,0,30,0,30")},
		{"AT+CNMI?", ok("+CNMI: 0,0,0,0,0")},
		{"AT+CNMI=?", ok("+CNMI: (0-2),(0-3),(0,2),(0-2),(0,1)")},
		{"AT+CNMI=2,1,0,2,0", ok()},
		{"AT+CNMI?", ok("+CNMI: 2,1,0,2,0")},
		{"AT+CNMI=3,1", errorReply},
		{"AT+CMGL=?", ok("+CMGL: (0-4)")},
		{"AT+CMGL=4", ok()},
		{"AT+CMGD=?", ok("+CMGD: (),(0-4)")},
		{"AT+CFUN?", ok("+CFUN: 1")},
		{"AT+CFUN=?", ok("+CFUN: (0,1,4),(0-1)")},
		{"AT+CFUN=2", errorReply},
		{"AT+CPIN?", ok("+CPIN: READY")},
		{"AT+CPIN=?", ok()},
		{"AT+ZPINPUK=?", ok("+ZPINPUK: 3,10")},
		{"AT+CUSD?", ok("+CUSD: 0")},
		{"AT+CUSD=?", ok("+CUSD: (0-2)")},
		{"AT+ZCDRUN=8", ok("Close autorun state result(0:FAIL 1:SUCCESS):1")},
		{"AT+ZCDRUN=F", ok("Close download mode result(0:FAIL 1:SUCCESS):1")},
		{"AT+ZCDRUN=?", errorReply},
		{"ATI", ok("Manufacturer: ZTE CORPORATION\r\nModel: MF831\r\nRevision: BD_HOFATMF831V1.0.0B02\r\nIMEI: 866948015551230\r\n+GCAP: +CGSM")},
		{"AT+FOO", errorReply},
		{"AT+CSCS=\"GSM", errorReply},
		{"AT^SYSINFO", errorReply},
		{"AT  +  CSQ", ok("+CSQ: 20,99")},
		{"xyzAT+CSQ", ok("+CSQ: 20,99")},
	})
}

func TestConcatenatedCommands(t *testing.T) {
	r := newRig(t, Config{})
	runSteps(t, r, []step{
		{"ATE0V1", "ATE0V1\r\r\nOK\r\n"},
		{`AT+CMGF=0;+CSCS="GSM"`, ok()},
		{"AT+CMGF?;+CSCS?", ok("+CMGF: 0", `+CSCS: "GSM"`)},
		{"AT+CSQ;+FOO;+CGMI", "\r\n+CSQ: 20,99\r\n\r\nERROR\r\n"},
		{"AT+CGMI;+CGMM", ok("ZTE CORPORATION", "MF831")},
		{"ATE1+CMGF=1;+CMGF?", ok("+CMGF: 1")}, // echo was off while the line came in
		{"ATE0;+CMEE=1", "ATE0;+CMEE=1\r" + ok()},
		{"AT+CMEE?;+FOO", "\r\n+CMEE: 1\r\n\r\n+CME ERROR: 100\r\n"},
	})
}

func TestCMEEModes(t *testing.T) {
	r := newRig(t, Config{})
	r.quiet()
	runSteps(t, r, []step{
		{"AT+FOO", errorReply},
		{"AT+CMGR=5", errorReply},
		{"AT+CMEE=1", ok()},
		{"AT+FOO", "\r\n+CME ERROR: 100\r\n"},
		{"AT+CREG=9", "\r\n+CME ERROR: 50\r\n"},
		{"AT+CMGR=5", "\r\n+CMS ERROR: 321\r\n"},
		{"AT+CPIN=\"1234\"", "\r\n+CME ERROR: 3\r\n"},
		{"AT+CMEE=2", ok()},
		{"AT+FOO", "\r\n+CME ERROR: unknown\r\n"},
		{"AT+CREG=9", "\r\n+CME ERROR: incorrect parameters\r\n"},
		{"AT+CMGR=5", "\r\n+CMS ERROR: invalid memory index\r\n"},
		{"AT+CMEE=0", ok()},
		{"AT+CREG=9", errorReply},
	})
}

func TestNumericResultCodes(t *testing.T) {
	r := newRig(t, Config{})
	r.quiet()
	runSteps(t, r, []step{
		{"ATV0", "0\r"},
		{"AT+CSQ", "+CSQ: 20,99\r\n0\r"},
		{"AT+FOO", "4\r"},
		{"AT+CMEE=1", "0\r"},
		{"AT+FOO", "+CME ERROR: 100\r"},
		{"ATV1", ok()},
		{"ATQ1", ""},
		{"AT+CSQ", "\r\n+CSQ: 20,99\r\n"},
		{"ATQ0", ok()},
	})
}

func TestRepeatLastCommand(t *testing.T) {
	r := newRig(t, Config{})
	r.quiet()
	r.cmd("AT+CSQ", ok("+CSQ: 20,99"))
	r.send("A/")
	r.expect(ok("+CSQ: 20,99"))
}

func TestPINFlow(t *testing.T) {
	r := newRig(t, Config{SIM: SIMPIN})
	r.quiet()
	runSteps(t, r, []step{
		{"AT+CPIN?", ok("+CPIN: SIM PIN")},
		{"AT+CIMI", errorReply},
		{"AT+CMEE=1", ok()},
		{"AT+CIMI", "\r\n+CME ERROR: 11\r\n"},
		{"AT+CMGL=4", "\r\n+CMS ERROR: 311\r\n"},
		{"AT+CREG?", ok("+CREG: 0,0")},
		{"AT+COPS?", ok("+COPS: 0")},
		{"AT+ZGETICCID", ok("+ZGETICCID: 89430310005551234567")},
		{`AT+CPIN="0000"`, "\r\n+CME ERROR: 16\r\n"},
		{"AT+ZPINPUK?", ok("+ZPINPUK: 2,10")},
		{"AT+CREG=1", ok()},
	})
	if st, pin, puk := r.d.SIM(); st != SIMPIN || pin != 2 || puk != 10 {
		t.Errorf("SIM() = %v, %d, %d", st, pin, puk)
	}
	r.cmd(`AT+CPIN="1234"`, ok()+"\r\n+CREG: 1\r\n")
	runSteps(t, r, []step{
		{"AT+CPIN?", ok("+CPIN: READY")},
		{"AT+CIMI", ok("232031234567890")},
		{`AT+CPIN="1234"`, "\r\n+CME ERROR: 3\r\n"},
	})
	// Lock it again and use up the PIN attempts.
	if err := r.d.SetSIM(SIMPIN); err != nil {
		t.Fatal(err)
	}
	r.expect("\r\n+CREG: 0\r\n")
	runSteps(t, r, []step{
		{`AT+CPIN="0000"`, "\r\n+CME ERROR: 16\r\n"},
		{`AT+CPIN="0000"`, "\r\n+CME ERROR: 16\r\n"},
		{`AT+CPIN="0000"`, "\r\n+CME ERROR: 16\r\n"},
		{"AT+CPIN?", ok("+CPIN: SIM PUK")},
		{"AT+CIMI", "\r\n+CME ERROR: 12\r\n"},
		{"AT+CMGL=4", "\r\n+CMS ERROR: 316\r\n"},
		{`AT+CPIN="1234"`, "\r\n+CME ERROR: 50\r\n"},
		{`AT+CPIN="00000000","4321"`, "\r\n+CME ERROR: 16\r\n"},
		{"AT+ZPINPUK?", ok("+ZPINPUK: 0,9")},
	})
	r.cmd(`AT+CPIN="12345678","4321"`, ok()+"\r\n+CREG: 1\r\n")
	r.cmd("AT+CPIN?", ok("+CPIN: READY"))
	if err := r.d.SetSIM(SIMPIN); err != nil {
		t.Fatal(err)
	}
	r.expect("\r\n+CREG: 0\r\n")
	r.cmd(`AT+CPIN="4321"`, ok()+"\r\n+CREG: 1\r\n")

	if err := r.d.SetSIM(SIMAbsent); err != nil {
		t.Fatal(err)
	}
	r.expect("\r\n+CREG: 0\r\n")
	runSteps(t, r, []step{
		{"AT+CPIN?", "\r\n+CME ERROR: 10\r\n"},
		{"AT+CIMI", "\r\n+CME ERROR: 10\r\n"},
		{"AT+ZGETICCID", "\r\n+CME ERROR: 10\r\n"},
		{"AT+CMGF=1", ok()},
		{`AT+CMGS="+431234"`, "\r\n+CMS ERROR: 310\r\n"},
	})
	if err := r.d.SetSIM("broken"); err == nil {
		t.Error("SetSIM(broken) succeeded")
	}
}

func TestRegistrationURCs(t *testing.T) {
	r := newRig(t, Config{})
	r.quiet()
	n := r.d.Network()
	// Mode 0: no URC.
	n.Reg = 5
	if err := r.d.SetNetwork(n); err != nil {
		t.Fatal(err)
	}
	r.cmd("AT+CREG=1", ok())
	n.Reg = 2
	if err := r.d.SetNetwork(n); err != nil {
		t.Fatal(err)
	}
	r.expect("\r\n+CREG: 2\r\n")
	r.cmd("AT+CREG=2;+CGREG=1;+CEREG=2", ok())
	n.Reg, n.CI = 1, "BEEF"
	if err := r.d.SetNetwork(n); err != nil {
		t.Fatal(err)
	}
	r.expect("\r\n+CREG: 1,\"1A2B\",\"BEEF\",7\r\n\r\n+CGREG: 1\r\n\r\n+CEREG: 1,\"1A2B\",\"BEEF\",7\r\n")
	// A cell change in mode 2 reports; mode 1 does not.
	n.CI = "CAFE"
	if err := r.d.SetNetwork(n); err != nil {
		t.Fatal(err)
	}
	r.expect("\r\n+CREG: 1,\"1A2B\",\"CAFE\",7\r\n\r\n+CEREG: 1,\"1A2B\",\"CAFE\",7\r\n")
	// 3G: CEREG loses EPS registration.
	n.AcT = 2
	if err := r.d.SetNetwork(n); err != nil {
		t.Fatal(err)
	}
	r.expect("\r\n+CREG: 1,\"1A2B\",\"CAFE\",2\r\n\r\n+CEREG: 0\r\n")
	r.cmd("AT+ZPAS?", ok(`+ZPAS: "UMTS","CS_PS"`))
	// Radio off deregisters.
	r.cmd("AT+CFUN=4", ok()+"\r\n+CREG: 0\r\n\r\n+CGREG: 0\r\n")
	r.cmd("AT+CFUN=1", ok()+"\r\n+CREG: 1,\"1A2B\",\"CAFE\",2\r\n\r\n+CGREG: 1\r\n")
	if err := r.d.SetNetwork(Network{RSSI: 40}); err == nil {
		t.Error("SetNetwork accepted RSSI 40")
	}
	if err := r.d.SetNetwork(Network{RSSI: 10, BER: 99, Reg: 1, AcT: 7, LAC: "1", CI: "1"}); err == nil {
		t.Error("SetNetwork accepted a registration without operator")
	}
}

func TestUSSD(t *testing.T) {
	r := newRig(t, Config{})
	r.quiet()
	runSteps(t, r, []step{
		{`AT+CUSD=1,"*100#",15`, ok() + "\r\n+CUSD: 0,\"Your balance is EUR 12.34\",15\r\n"},
		{`AT+CUSD=1,"*101#",15`, ok() + "\r\n+CUSD: 1,\"Menu\n1 Balance\n2 Data packages\n3 Exit\",15\r\n"},
		{`AT+CUSD=1,"2",15`, ok() + "\r\n+CUSD: 1,\"Data packages\n1 1 GB for EUR 5\n2 5 GB for EUR 15\",15\r\n"},
		{`AT+CUSD=1,"1",15`, ok() + "\r\n+CUSD: 0,\"1 GB booked. Thank you!\",15\r\n"},
		{`AT+CUSD=1,"*101#"`, ok() + "\r\n+CUSD: 1,\"Menu\n1 Balance\n2 Data packages\n3 Exit\",15\r\n"},
		{`AT+CUSD=2`, ok()},
		{`AT+CUSD=1,"*999#",15`, ok() + "\r\n+CUSD: 4\r\n"},
		{`AT+CUSD=0,"*100#",15`, ok()},
		{`AT+CUSD?`, ok("+CUSD: 0")},
	})
	u := r.d.USSD()
	u.UCS2Quirk = true
	if err := r.d.SetUSSD(u); err != nil {
		t.Fatal(err)
	}
	r.cmd(`AT+CUSD=1,"*100#",15`, ok()+"\r\n+CUSD: 0,\"0059006F00750072002000620061006C0061006E006300650020006900730020004500550052002000310032002E00330034\",7\r\n")
}
